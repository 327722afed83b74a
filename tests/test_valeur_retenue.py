"""Value of record, census vintages, reliability grades and the synthesis table (hand-made)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatoire.ecarts import LECTURE_EFFECTIF, calculer_ecarts
from observatoire.indicateurs.fiabilite import fiabilite, infos_zones
from observatoire.indicateurs.synthese import table_synthese
from observatoire.indicateurs.valeur_retenue import (
    RANGS,
    millesime_proche,
    rang_valeurs,
    valeurs_retenues,
)


def _l(code, niveau, ind, annee, valeur, statut="estime", methode="m", origine="ptod"):
    return {
        "territoire_code": code,
        "territoire_nom": code,
        "niveau": niveau,
        "indicateur": ind,
        "sexe": "ensemble",
        "annee": annee,
        "valeur": valeur,
        "unite": "%",
        "methode": methode,
        "statut": statut,
        "origine": origine,
        "source": "s",
        "note": None,
    }


def test_rangs_sont_des_donnees_ordonnees():
    assert [r.rang for r in RANGS] == sorted(r.rang for r in RANGS)
    assert [r.nom for r in RANGS][:4] == ["officiel", "grille", "corrige", "iris_entiers"]


@pytest.mark.parametrize(
    "statut, methode, attendu",
    [
        ("officiel", "valeur_publiee_qpv", "officiel"),
        ("estime", "grille(filosofi)", "grille"),
        ("estime_corrige", "correction_dilution", "corrige"),
        ("estime", "somme_iris", "iris_entiers"),
        ("estime_corrige", "ventilation_iris(calibrated)", "iris_cale"),
        ("estime_corrige", "ventilation_iris(dasymetric)", "iris_dasymetrique"),
        ("estime", "ventilation_iris(surface)", "iris_surface"),
        ("estime", "ventilation_iris(iris_list-dasymetric)", "iris_dasymetrique"),
        ("approximation", "taux_iris_pondere_par_p_pop", "approximation"),
    ],
)
def test_chaque_regle(statut, methode, attendu):
    _, nom = rang_valeurs(pd.DataFrame({"statut": [statut], "methode": [methode], "valeur": [1.0]}))
    assert nom[0] == attendu


def test_valeur_absente_perd_toujours():
    t = pd.DataFrame(
        [
            _l("Q", "qpv", "x", 2020, np.nan, "officiel"),
            _l("Q", "qpv", "x", 2020, 12.0, "approximation"),
        ]
    )
    r = valeurs_retenues(t)
    assert r["valeur"].tolist() == [12.0] and r["rang_valeur"].tolist() == ["approximation"]


def test_millesime_proche_egalite_vers_le_plus_recent():
    assert millesime_proche([2020, 2019, 2013, 2014, 2008], [2011, 2016, 2022]).tolist() == [
        2022,
        2022,
        2011,
        2016,
        2011,
    ]


def _table_ecarts():
    return pd.DataFrame(
        [
            _l(
                "Q",
                "qpv",
                "part_etrangers",
                2020,
                21.3,
                "officiel",
                "valeur_publiee_qpv",
                "qpv_officiel",
            ),
            _l("Q", "qpv", "part_etrangers", 2022, 8.0, "approximation", "taux", "ptod"),
            _l("K", "commune", "part_etrangers", 2016, 6.0, "approximation", "taux", "ptod"),
            _l("K", "commune", "part_etrangers", 2022, 7.5, "approximation", "taux", "ptod"),
            _l(
                "Q",
                "qpv",
                "taux_pauvrete_60",
                2020,
                45.0,
                "officiel",
                "valeur_publiee_qpv",
                "qpv_officiel",
            ),
            _l(
                "K",
                "commune",
                "taux_pauvrete_60",
                2019,
                20.0,
                "officiel",
                "valeur_publiee",
                "ptod_officiel",
            ),
            _l(
                "K",
                "commune",
                "taux_pauvrete_60",
                2021,
                21.0,
                "officiel",
                "valeur_publiee",
                "ptod_officiel",
            ),
            _l(
                "Q",
                "qpv",
                "indice_jeunesse",
                2020,
                1.3,
                "officiel",
                "valeur_publiee_qpv",
                "qpv_officiel",
            ),
            _l(
                "Q",
                "qpv",
                "population",
                2020,
                1093.0,
                "officiel",
                "valeur_publiee_qpv",
                "qpv_officiel",
            ),
            _l("Q", "qpv", "population", 2022, 79.0, "estime", "ventilation_iris(surface)"),
            _l("K", "commune", "population", 2022, 8510.0, "officiel", "valeur_publiee"),
            _l(
                "Q",
                "qpv",
                "taux_emploi_1564",
                2015,
                40.0,
                "officiel",
                "valeur_publiee_qpv",
                "qpv_officiel",
            ),
            _l("K", "commune", "taux_emploi_1564", 2011, 55.0, "officiel", "valeur_publiee"),
        ]
    )


REFS = pd.DataFrame(
    {
        "territoire_code": ["Q"],
        "niveau": ["qpv"],
        "reference_niveau": ["commune"],
        "reference_code": ["K"],
    }
)


def test_ecart_au_millesime_le_plus_proche():
    e, _ = calculer_ecarts(_table_ecarts(), REFS)
    e = e.set_index(["indicateur", "annee"])
    # official 2020 against the commune's 2022 value (2 years: nearest), stated
    r = e.loc[("part_etrangers", 2020)]
    assert r["reference_annee"] == 2022 and r["ecart_annees"] == 2
    assert r["ecart_points"] == pytest.approx(21.3 - 7.5)
    assert r["avertissement"] is None
    # 2019 and 2021 are both 1 year from 2020: the later one
    r = e.loc[("taux_pauvrete_60", 2020)]
    assert r["reference_annee"] == 2021 and r["ecart_points"] == pytest.approx(24.0)
    # 4 years apart: compared, and flagged
    r = e.loc[("taux_emploi_1564", 2015)]
    assert r["reference_annee"] == 2011 and r["ecart_points"] == pytest.approx(-15.0)
    assert "4 ans" in r["avertissement"]
    # no reference of the same indicator: nothing invented
    r = e.loc[("indice_jeunesse", 2020)]
    assert np.isnan(r["reference_valeur"]) and np.isnan(r["ecart_points"])


def test_effectifs_sans_ecart_en_points():
    e, ev = calculer_ecarts(_table_ecarts(), REFS)
    pop = e[e["indicateur"] == "population"]
    assert pop["ecart_points"].isna().all()
    assert (pop["lecture"] == LECTURE_EFFECTIF).all()
    assert pop["ratio"].notna().all()


def test_fiabilite_regles():
    poids = pd.DataFrame(
        {
            "code_zone": ["S", "S", "C", "C", "E", "G"],
            "code_iris": ["1", "2", "3", "4", "5", "6"],
            "poids": [0.01, 0.2, 0.8, 1.0, 1.0, 0.5],
            "part_iris": [0.01, 0.2, 0.5, 1.0, np.nan, 0.3],
            "methode": [
                "surface",
                "surface",
                "calibrated",
                "calibrated",
                "iris_list",
                "dasymetric",
            ],
            "facteur_calibration": [np.nan, np.nan, 1.5, 1.5, np.nan, np.nan],
        }
    )
    z = infos_zones(poids, iris_redessines=["6"])
    t = pd.DataFrame(
        {
            "niveau": ["qpv", "qpv", "veille", "qpv", "qpv", "commune", "qpv"],
            "territoire_code": ["S", "C", "E", "G", "S", "K", "S"],
            "valeur": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, np.nan],
            "statut": [
                "estime",
                "estime_corrige",
                "estime",
                "estime_corrige",
                "officiel",
                "approximation",
                "secret",
            ],
            "methode": [
                "ventilation_iris(surface)",
                "ventilation_iris(calibrated)",
                "somme_iris",
                "ventilation_iris(dasymetric)",
                "valeur_publiee_qpv",
                "taux",
                "x",
            ],
        }
    )
    g, m = fiabilite(t, z)
    assert g.tolist() == ["faible", "moyenne", "bonne", "faible", "bonne", "moyenne", None]
    assert m[3] == "IRIS redessinés entre éditions"
    # a vintage gap above 2 years makes even an official value 'faible'
    g, _ = fiabilite(t.iloc[[4]], z, ecart_annees=pd.Series([3]))
    assert g.tolist() == ["faible"]


def test_facteur_de_calage_superieur_a_2():
    poids = pd.DataFrame(
        {
            "code_zone": ["Q"],
            "code_iris": ["1"],
            "poids": [0.6],
            "part_iris": [0.05],
            "methode": ["calibrated"],
            "facteur_calibration": [12.0],
        }
    )
    g, m = fiabilite(
        pd.DataFrame(
            {
                "niveau": ["qpv"],
                "territoire_code": ["Q"],
                "valeur": [3.0],
                "statut": ["approximation"],
                "methode": ["taux"],
            }
        ),
        infos_zones(poids),
    )
    assert g.tolist() == ["faible"] and m[0] == "facteur de calage supérieur à 2"


def test_synthese_titre_officiel_et_ecarts():
    ind = _table_ecarts()
    e, _ = calculer_ecarts(ind, REFS)
    refs = pd.concat([REFS, REFS.assign(reference_niveau="epci", reference_code="E")])
    s = table_synthese(
        ind,
        e,
        millesimes=[2011, 2016, 2022],
        references=refs,
        niveaux_reference=["commune", "epci"],
    )
    s = s.set_index(["indicateur", "reference_niveau"])
    pop = s.loc[("population", "commune")]
    # the official 2020 value stands for 2022 and wins over the 79 estimate
    assert pop["valeur"] == 1093.0 and pop["statut"] == "officiel"
    assert pop["annee"] == 2020 and pop["annee_recensement"] == 2022
    assert np.isnan(pop["ecart_points"]) and pop["fiabilite"] == "bonne"
    etr = s.loc[("part_etrangers", "commune")]
    assert etr["valeur"] == 21.3 and etr["reference_annee"] == 2022
    assert etr["ecart_points"] == pytest.approx(13.8)
    # one row per reference level, even without a reference value
    ij = s.loc[("indice_jeunesse", "epci")]
    assert np.isnan(ij["reference_valeur"])
    assert "pas de référence de même définition" in ij["note"]
    # a 2015 official value is not within 3 years of 2022: not a 2022 headline
    assert "taux_emploi_1564" not in s.index.get_level_values(0)
