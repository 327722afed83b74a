"""Properties of the weights engine on generated tilings (hypothesis)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import box

from observatoire.ponderation import table_poids, ventiler
from observatoire.ponderation.intersection import intersecter

X0, Y0 = 850_000.0, 6_250_000.0  # Lambert-93, around the Étang de Berre

REGLAGES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def pavages(draw):
    """IRIS: a grid of rectangles cut at random abscissas/ordinates; zones: a partition."""
    nx = draw(st.integers(1, 4))
    ny = draw(st.integers(1, 4))
    xs = np.cumsum([0.0, *draw(st.lists(st.floats(50, 500), min_size=nx, max_size=nx))])
    ys = np.cumsum([0.0, *draw(st.lists(st.floats(50, 500), min_size=ny, max_size=ny))])
    iris = gpd.GeoDataFrame(
        {"code_iris": [f"13047{k:04d}" for k in range(nx * ny)]},
        geometry=[
            box(X0 + xs[i], Y0 + ys[j], X0 + xs[i + 1], Y0 + ys[j + 1])
            for i in range(nx)
            for j in range(ny)
        ],
        crs="EPSG:2154",
    )
    # zones: vertical bands cutting the whole extent at other abscissas
    coupe = sorted(draw(st.lists(st.integers(1, 19), min_size=1, max_size=3, unique=True)))
    bornes = [0.0, *[c / 20 * xs[-1] for c in coupe], xs[-1]]
    zones = gpd.GeoDataFrame(
        {"code_zone": [f"Z{k}" for k in range(len(bornes) - 1)]},
        geometry=[
            box(X0 + a, Y0, X0 + b, Y0 + ys[-1]) for a, b in zip(bornes, bornes[1:], strict=False)
        ],
        crs="EPSG:2154",
    )
    comptes = draw(st.lists(st.integers(0, 5000), min_size=nx * ny, max_size=nx * ny))
    table = pd.DataFrame({"code_iris": iris["code_iris"], "pop": np.array(comptes, float)})
    return iris, zones, table


@REGLAGES
@given(pavages())
def test_masse_conservee_sur_une_partition(p):
    iris, zones, table = p
    poids = table_poids(iris, zones, methode="surface", part_min=0)
    par_iris = poids.groupby("code_iris")["poids"].sum()
    assert np.allclose(par_iris.to_numpy(), 1.0, atol=1e-9)
    v = ventiler(poids, table, ["pop"])
    assert v["pop"].sum() == pytest.approx(table["pop"].sum(), rel=1e-9, abs=1e-6)


@REGLAGES
@given(pavages())
def test_part_zone_somme_a_un_quand_les_iris_couvrent_la_zone(p):
    iris, zones, _ = p
    poids = table_poids(iris, zones, methode="surface", part_min=0)
    assert np.allclose(poids.groupby("code_zone")["part_zone"].sum().to_numpy(), 1.0, atol=1e-9)


def _trie(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["code_zone", "code_iris"]).reset_index(drop=True)


@REGLAGES
@given(pavages(), st.randoms(use_true_random=False))
def test_invariance_a_l_ordre_des_entites(p, hasard):
    iris, zones, _ = p
    a = _trie(table_poids(iris, zones, methode="surface", part_min=0))
    ordre_i = list(range(len(iris)))
    ordre_z = list(range(len(zones)))
    hasard.shuffle(ordre_i)
    hasard.shuffle(ordre_z)
    b = _trie(table_poids(iris.iloc[ordre_i], zones.iloc[ordre_z], methode="surface", part_min=0))
    pd.testing.assert_frame_equal(a[["code_zone", "code_iris"]], b[["code_zone", "code_iris"]])
    assert np.allclose(a["poids"], b["poids"], atol=1e-12)


@REGLAGES
@given(pavages())
def test_invariance_a_un_aller_retour_de_projection(p):
    iris, zones, _ = p
    a = _trie(intersecter(iris, zones, part_min=0))
    b = _trie(intersecter(iris.to_crs("EPSG:4326"), zones.to_crs("EPSG:4326"), part_min=0))
    pd.testing.assert_frame_equal(a[["code_zone", "code_iris"]], b[["code_zone", "code_iris"]])
    assert np.allclose(a["part_zone"], b["part_zone"], atol=1e-6)
    assert np.allclose(a["part_iris"], b["part_iris"], atol=1e-6)
