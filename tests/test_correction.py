"""Dilution correction: known synthetic answer, grouped folds, application, real data, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from observatoire.cli import main
from observatoire.correction import (
    COLONNES_RAPPORT,
    ajuster,
    corriger,
    donnees_entrainement,
    plis_par_commune,
    valider,
    zones_iris_coupes,
)


def _synthetique(k: float = 2.0, bruit: float = 0.0, n_communes: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    lignes = []
    for j in range(n_communes):
        c = 20.0 + 5 * j
        for i in range(4):
            e = c + rng.uniform(-8, 8)
            y = c + k * (e - c) + bruit * rng.normal()
            lignes.append(
                {
                    "code_zone": f"Z{j}{i}",
                    "code_commune": f"C{j}",
                    "indicateur": "taux_emploi_1564",
                    "sexe": "ensemble",
                    "officiel": y,
                    "estimation": e,
                    "commune": c,
                    "annee_officielle": 2020,
                    "annee_estimation": 2022,
                }
            )
    return pd.DataFrame(lignes)


def test_known_dilution_is_recovered():
    e = _synthetique()
    r = valider(e, formes=["dilution", "lineaire"])
    ligne = r.iloc[0]
    assert ligne["n"] == 24 and ligne["n_communes"] == 6
    assert ligne["mae_apres"] < 1e-8 < ligne["mae_avant"]
    assert bool(ligne["applique"])
    m = ajuster(e, validation=r.assign(modele="dilution"))
    mi = m.modele("taux_emploi_1564")
    assert mi.forme == "dilution"
    assert mi.coefficients["k"] == pytest.approx(2.0)
    assert mi.n == 24 and mi.communes == [f"C{j}" for j in range(6)]
    d = json.loads(json.dumps(m.to_dict()))
    assert d["modeles"][0]["coefficients"]["k"] == pytest.approx(2.0)
    assert d["annee_officielle"] == 2020 and d["annee_estimation"] == 2022


def test_folds_never_mix_communes():
    e = _synthetique(bruit=1.0)
    plis = plis_par_commune(e["code_commune"])
    assert len(plis) == e["code_commune"].nunique()
    vus = []
    for train, test in plis:
        a = set(e["code_commune"].iloc[train])
        t = set(e["code_commune"].iloc[test])
        assert len(t) == 1 and not a & t
        assert len(train) + len(test) == len(e)
        vus.extend(test.tolist())
    assert sorted(vus) == list(range(len(e)))


def test_report_columns_and_not_applied_when_worse():
    e = _synthetique(k=1.0, bruit=3.0)  # the estimate is already unbiased: nothing to learn
    r = valider(e)
    assert list(r.columns[: len(COLONNES_RAPPORT)]) == COLONNES_RAPPORT
    assert r["modele"].iloc[0] in ("dilution", "dilution_constante", "lineaire")
    ok = r["mae_apres"] < r["mae_avant"]
    assert (r["applique"] <= ok).all()
    assert 0 <= r["couverture_intervalle"].iloc[0] <= 1


def _table_zones():
    base = {
        "sexe": "ensemble",
        "annee": 2022,
        "unite": "%",
        "source": "s",
        "origine": "ptod",
        "indicateur": "taux_emploi_1564",
        "numerateur": 1.0,
        "denominateur": 2.0,
    }
    lignes = [
        {
            "territoire_code": "Q1",
            "niveau": "qpv",
            "valeur": 80.0,
            "statut": "approximation",
            "methode": "taux_iris_pondere_par_p_pop",
        },
        {
            "territoire_code": "Q2",
            "niveau": "qpv",
            "valeur": 5.0,
            "statut": "approximation",
            "methode": "taux_iris_pondere_par_p_pop",
        },
        {
            "territoire_code": "Q3",
            "niveau": "qpv",
            "valeur": 41.0,
            "statut": "approximation",
            "methode": "taux_iris_pondere_par_p_pop",
        },
        {
            "territoire_code": "V1",
            "niveau": "veille",
            "valeur": 50.0,
            "statut": "approximation",
            "methode": "somme_iris",
        },
        {
            "territoire_code": "Q1",
            "niveau": "qpv",
            "valeur": 60.0,
            "statut": "officiel",
            "methode": "valeur_publiee_qpv",
        },
        {
            "territoire_code": "C",
            "niveau": "commune",
            "valeur": 40.0,
            "statut": "officiel",
            "methode": "valeur_publiee",
        },
        {
            "territoire_code": "C",
            "niveau": "commune",
            "valeur": 39.0,
            "statut": "approximation",
            "methode": "taux_iris_pondere_par_p_pop",
        },
    ]
    return pd.DataFrame([{**base, **r} for r in lignes])


def test_corriger_whole_iris_untouched_and_clipped():
    m = ajuster(_synthetique())
    t = _table_zones()
    poids = pd.DataFrame(
        {
            "code_zone": ["Q1", "Q1", "Q2", "Q3", "V1", "V1"],
            "code_iris": ["1", "2", "3", "4", "5", "6"],
            "poids": [0.4, 0.1, 0.2, 0.3, 1.0, 1.0],
        }
    )
    coupees = zones_iris_coupes(poids)
    assert coupees == {"Q1", "Q2", "Q3"}
    n = corriger(t, m, zones_coupees=coupees, communes={"Q1": "C", "Q2": "C", "Q3": "C", "V1": "C"})
    assert len(t) == 7  # original rows untouched
    assert sorted(n["territoire_code"]) == ["Q1", "Q2", "Q3"]  # not V1, not the official row
    assert (n["statut"] == "estime_corrige").all()
    assert n["methode"].str.startswith("correction").all()
    v = n.set_index("territoire_code")
    assert v.loc["Q1", "valeur"] == 100.0 and v.loc["Q2", "valeur"] == 0.0  # 120 and -30
    assert v.loc["Q3", "valeur"] == pytest.approx(42.0)  # official commune value 40 used
    assert v.loc["Q1", "valeur_non_corrigee"] == 80.0
    assert ((n["intervalle_bas"] >= 0) & (n["intervalle_haut"] <= 100)).all()
    assert (n["intervalle_bas"] <= n["valeur"]).all()
    assert (n["valeur"] <= n["intervalle_haut"]).all()
    assert n["note"].str.contains("dilution").all()
    assert n["numerateur"].isna().all()
    # commune values given as a frame; a zone outside zones_coupees gets nothing
    ref = pd.DataFrame(
        {
            "territoire_code": ["Q3", "V1"],
            "indicateur": "taux_emploi_1564",
            "valeur_commune": [30.0, 30.0],
        }
    )
    n2 = corriger(t, m, zones_coupees={"Q3"}, communes=ref)
    assert n2["territoire_code"].tolist() == ["Q3"]
    assert n2["valeur"].iloc[0] == pytest.approx(52.0)
    assert corriger(t, m, zones_coupees=set(), communes=ref).empty


@pytest.fixture(scope="module")
def entrainement(donnees):
    return donnees_entrainement(donnees)


def test_real_training_set_and_report(donnees, entrainement):
    from observatoire.chargement import lire_qpv, lire_qpv_officiel

    codes = set(lire_qpv(donnees / "qpv/qpv2024_dep13_anct_simplifie.geojson")["code_zone"])
    off = lire_qpv_officiel(donnees / "stats/qpv2024_indicateurs_sigville_dep13.csv")
    off = off[off["code_zone"].isin(codes)]
    r = valider(entrainement, ["taux_emploi_1564", "part_etrangers"]).set_index("indicateur")
    assert r.loc["taux_emploi_1564", "n"] == off["taux_emploi"].notna().sum() == 71
    assert r.loc["part_etrangers", "n"] == off["part_etrangers"].notna().sum() == 66
    assert r.loc["taux_emploi_1564", "n_communes"] == entrainement["code_commune"].nunique()
    assert "13055" in set(entrainement["code_commune"])  # Marseille as one commune
    assert not entrainement["code_commune"].str.match(r"^132[01]\d$").any()
    assert entrainement["part_population"].between(0, 1.5).all()
    assert list(r.reset_index().columns[: len(COLONNES_RAPPORT)]) == COLONNES_RAPPORT
    # the employment rate is improved out of sample; the share of foreigners is not
    assert bool(r.loc["taux_emploi_1564", "applique"])
    assert r.loc["taux_emploi_1564", "mae_apres"] < r.loc["taux_emploi_1564", "mae_avant"]
    assert not bool(r.loc["part_etrangers", "applique"])


def test_cli_writes_report(donnees, tmp_path):
    sortie = tmp_path / "rapport.csv"
    modele = tmp_path / "modele.json"
    res = CliRunner().invoke(
        main,
        [
            "correction",
            "valider",
            "--from",
            str(donnees),
            "-o",
            str(sortie),
            "--modele",
            str(modele),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "taux_emploi_1564" in res.output
    r = pd.read_csv(sortie, dtype={"applique": str})
    for c in (
        "indicateur",
        "n",
        "mae_avant",
        "mae_apres",
        "biais_avant",
        "biais_apres",
        "couverture_intervalle",
        "applique",
    ):
        assert c in r.columns
    assert set(r["applique"]) <= {"true", "false"}
    assert json.loads(modele.read_text(encoding="utf-8"))["modeles"]


def test_prediction_sans_statsmodels_egale_statsmodels():
    """The interval computed from the stored numbers equals statsmodels' prediction."""
    from observatoire.correction.modeles import _predire

    rng = np.random.default_rng(3)
    commune = rng.uniform(5, 30, 40)
    estimation = commune + rng.uniform(-5, 15, 40)
    officiel = commune + 1.7 * (estimation - commune) + rng.normal(0, 2, 40)
    d = pd.DataFrame(
        {
            "code_zone": [f"Z{i}" for i in range(40)],
            "code_commune": [f"C{i % 8}" for i in range(40)],
            "indicateur": "taux_emploi_1564",
            "sexe": "ensemble",
            "officiel": officiel,
            "estimation": estimation,
            "commune": commune,
        }
    )
    comparees = 0
    for forme in ("dilution", "dilution_constante", "lineaire"):
        m = ajuster(d, validation=valider(d, formes=[forme]))
        mi = m.modele("taux_emploi_1564")
        if mi is None:
            continue
        a = _predire(mi.resultat, mi.forme, [12.0, 25.0], [10.0, 20.0])
        b = mi.sans_resultat().predire([12.0, 25.0], [10.0, 20.0])
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9)
        comparees += 1
    assert comparees >= 2
