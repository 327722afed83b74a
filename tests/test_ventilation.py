"""ventiler: apportionment of IRIS counts, by hand and by invariant."""

import numpy as np
import pandas as pd
import pytest

from observatoire.ponderation import ventiler
from observatoire.rapport import ErreurDonnees


def test_hand_computed():
    poids = pd.DataFrame(
        {
            "code_zone": ["A", "A", "B", "B"],
            "code_iris": ["1", "2", "2", "3"],
            "poids": [0.5, 0.25, 0.75, 1.0],
        }
    )
    table = pd.DataFrame(
        {"code_iris": ["1", "2", "3"], "pop": [100.0, 40.0, 7.0], "act": [50.0, 20.0, np.nan]}
    )
    out = ventiler(poids, table, ["pop", "act"]).set_index("code_zone")
    assert out.loc["A", "pop"] == 60.0  # 0.5*100 + 0.25*40
    assert out.loc["B", "pop"] == 37.0  # 0.75*40 + 7
    assert out.loc["A", "act"] == 30.0
    assert np.isnan(out.loc["B", "act"])  # one contributing IRIS is missing: NaN, not 15
    assert out.loc["B", "act__manquant"] == 1
    assert out.loc["A", "n_iris"] == 2


def test_iris_absent_from_table_is_missing_not_zero():
    poids = pd.DataFrame({"code_zone": ["A", "A"], "code_iris": ["1", "9"], "poids": [1.0, 0.5]})
    table = pd.DataFrame({"code_iris": ["1"], "pop": [10.0]})
    out = ventiler(poids, table, ["pop"])
    assert np.isnan(out.loc[0, "pop"]) and out.loc[0, "pop__manquant"] == 1


def test_mass_preservation_over_a_partition():
    rng = np.random.default_rng(0)
    n = 50
    table = pd.DataFrame(
        {"code_iris": [f"{i:09d}" for i in range(n)], "pop": rng.uniform(0, 5000, n)}
    )
    # each IRIS split into 3 zones (2 zones + the complement) with weights summing to 1
    w = rng.dirichlet([1, 1, 1], size=n)
    poids = pd.DataFrame(
        {
            "code_zone": np.repeat([["Z1", "Z2", "reste"]], n, axis=0).ravel(),
            "code_iris": np.repeat(table.code_iris.to_numpy(), 3),
            "poids": w.ravel(),
        }
    )
    out = ventiler(poids, table, ["pop"])
    assert out["pop"].sum() == pytest.approx(table["pop"].sum(), rel=1e-9)


def test_inputs_not_mutated_and_errors():
    poids = pd.DataFrame({"code_zone": ["A"], "code_iris": ["1"], "poids": [0.5]})
    table = pd.DataFrame({"code_iris": ["1"], "pop": [10]})
    avant = (poids.copy(), table.copy())
    ventiler(poids, table, ["pop"])
    pd.testing.assert_frame_equal(poids, avant[0])
    pd.testing.assert_frame_equal(table, avant[1])
    with pytest.raises(ErreurDonnees, match="men"):
        ventiler(poids, table, ["men"])
    with pytest.raises(ErreurDonnees, match="codes IRIS répétés"):
        ventiler(poids, pd.concat([table, table]), ["pop"])
