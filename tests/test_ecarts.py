"""Gaps (écarts) against references and their evolution, on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatoire.ecarts import (
    COLONNES_ECARTS,
    COLONNES_EVOLUTION,
    calculer_ecarts,
    lecture_ecart,
    valeurs_de_reference,
)
from observatoire.indicateurs.references import references_territoires


def _ligne(
    code, niveau, ind, annee, valeur, statut="estime", origine="insee", methode="m", sexe="ensemble"
):
    return {
        "territoire_code": code,
        "territoire_nom": code,
        "niveau": niveau,
        "indicateur": ind,
        "sexe": sexe,
        "annee": annee,
        "valeur": valeur,
        "unite": "%",
        "methode": methode,
        "statut": statut,
        "origine": origine,
        "note": None,
    }


@pytest.fixture
def table():
    lignes = []
    for a, q, k, e, d in [
        (2011, 30.0, 15.0, 14.0, 13.0),
        (2016, 28.0, 14.0, 13.5, 14.0),
        (2022, 22.0, 12.0, 12.5, 12.0),
    ]:
        lignes += [
            _ligne("Q", "qpv", "taux_chomage_1564", a, q),
            _ligne("K", "commune", "taux_chomage_1564", a, k),
            _ligne("E", "epci", "taux_chomage_1564", a, e),
            _ligne("13", "departement", "taux_chomage_1564", a, d),
        ]
    # Official commune value in 2022 wins over the IRIS aggregate.
    lignes.append(
        _ligne(
            "K",
            "commune",
            "taux_chomage_1564",
            2022,
            11.12,
            "officiel",
            "ptod_officiel",
            "valeur_publiee",
        )
    )
    lignes += [
        _ligne("Q", "qpv", "taux_emploi_1564", 2016, 40.0),
        _ligne("K", "commune", "taux_emploi_1564", 2016, 55.0),
    ]
    return pd.DataFrame(lignes)


@pytest.fixture
def refs():
    return pd.DataFrame(
        {
            "territoire_code": "Q",
            "niveau": "qpv",
            "reference_niveau": ["commune", "epci", "departement", "france"],
            "reference_code": ["K", "E", "13", "FR"],
        }
    )


def test_gaps_points_ratio_and_reading(table, refs):
    e, _ = calculer_ecarts(table, refs)
    assert list(e.columns[: len(COLONNES_ECARTS)]) == COLONNES_ECARTS
    c = e[(e["indicateur"] == "taux_chomage_1564") & (e["reference_niveau"] == "commune")]
    c = c.set_index("annee")
    assert c.loc[2011, "ecart_points"] == pytest.approx(15.0)
    assert c.loc[2011, "ratio"] == pytest.approx(2.0)
    # 2022: the official commune value (11.12) is the reference, not the aggregate (12.0).
    assert c.loc[2022, "reference_valeur"] == 11.12
    assert c.loc[2022, "reference_statut"] == "officiel"
    assert c.loc[2022, "ecart_points"] == pytest.approx(22.0 - 11.12)
    assert c.loc[2022, "lecture"] == "moins favorable que la référence"
    emploi = e[(e["indicateur"] == "taux_emploi_1564") & (e["reference_niveau"] == "commune")]
    # Lower employment is unfavourable: 40 vs 55 reads "moins favorable".
    assert emploi["lecture"].tolist() == ["moins favorable que la référence"]
    assert emploi["ecart_points"].tolist() == [-15.0]


def test_missing_reference_is_manquant(table, refs):
    e, _ = calculer_ecarts(table, refs)
    fr = e[e["reference_niveau"] == "france"]
    assert (fr["reference_statut"] == "manquant").all()
    assert fr["ecart_points"].isna().all() and (fr["statut"] == "manquant").all()


def test_status_of_gap_is_the_weakest(table, refs):
    t = table.copy()
    t.loc[(t["territoire_code"] == "Q") & (t["annee"] == 2016), "statut"] = "approximation"
    e, _ = calculer_ecarts(t, refs)
    c = e[(e["reference_niveau"] == "epci") & (e["indicateur"] == "taux_chomage_1564")]
    assert c.set_index("annee")["statut"].to_dict() == {
        2011: "estime",
        2016: "approximation",
        2022: "estime",
    }


def test_secret_value_gives_secret_gap(table, refs):
    t = table.copy()
    sel = (t["territoire_code"] == "Q") & (t["annee"] == 2011)
    t.loc[sel, ["valeur", "statut"]] = [np.nan, "secret"]
    e, ev = calculer_ecarts(t, refs)
    row = e[
        (e["annee"] == 2011)
        & (e["reference_niveau"] == "commune")
        & (e["indicateur"] == "taux_chomage_1564")
    ].iloc[0]
    assert row["statut"] == "secret" and np.isnan(row["ecart_points"])
    assert (ev.loc[ev["annee_debut"] == 2011, "statut"] == "secret").all()


def test_evolution_five_years_apart_by_default(table, refs):
    _, ev = calculer_ecarts(table, refs)
    assert list(ev.columns) == COLONNES_EVOLUTION
    c = ev[(ev["reference_niveau"] == "epci") & (ev["indicateur"] == "taux_chomage_1564")]
    paires = sorted(zip(c["annee_debut"], c["annee_fin"], strict=True))
    assert paires == [(2011, 2016), (2011, 2022), (2016, 2022)]
    assert c["comparable"].all()
    r = c[(c["annee_debut"] == 2011) & (c["annee_fin"] == 2022)].iloc[0]
    assert (r["ecart_debut"], r["ecart_fin"]) == (16.0, 9.5)
    assert r["evolution_ecart"] == pytest.approx(-6.5)
    assert r["evolution_valeur"] == pytest.approx(-8.0)
    assert r["lecture"] == "écart réduit ; situation relative améliorée"


def test_closer_vintages_dropped_or_flagged(refs):
    t = pd.DataFrame(
        [_ligne("Q", "qpv", "taux_chomage_1564", a, v) for a, v in [(2016, 20.0), (2019, 18.0)]]
        + [
            _ligne("K", "commune", "taux_chomage_1564", a, v)
            for a, v in [(2016, 10.0), (2019, 10.0)]
        ]
    )
    _, ev = calculer_ecarts(t, refs)
    assert ev.empty
    _, ev = calculer_ecarts(t, refs, inclure_rapprochees=True)
    r = ev[ev["reference_niveau"] == "commune"].iloc[0]
    assert not r["comparable"] and "moins de 5 ans" in r["avertissement"]


def test_reference_status_change_is_warned(table, refs):
    _, ev = calculer_ecarts(table, refs)
    r = ev[
        (ev["reference_niveau"] == "commune")
        & (ev["annee_debut"] == 2016)
        & (ev["annee_fin"] == 2022)
    ].iloc[0]
    assert "estime → officiel" in r["avertissement"]


def test_evolution_stays_within_one_origin(refs):
    t = pd.DataFrame(
        [
            _ligne("Q", "qpv", "taux_chomage_1564", 2011, 30.0, "approximation", "ptod"),
            _ligne("Q", "qpv", "taux_chomage_1564", 2016, 25.0, "estime", "insee"),
            _ligne("K", "commune", "taux_chomage_1564", 2011, 15.0),
            _ligne("K", "commune", "taux_chomage_1564", 2016, 14.0),
        ]
    )
    _, ev = calculer_ecarts(t, refs)
    assert ev.empty  # 2011 ptod approximation is not compared with the 2016 INSEE count


def test_sign_change_reading():
    lec = lecture_ecart(
        pd.Series([1.0, -1.0, 0.0, 2.0, np.nan]),
        pd.Series(["baisse_defavorable", "baisse_defavorable", "neutre", "neutre", "neutre"]),
    )
    assert lec.tolist() == [
        "plus favorable que la référence",
        "moins favorable que la référence",
        "égal à la référence",
        "supérieur à la référence",
        "non calculable",
    ]


def test_value_of_record_prefers_official_then_values():
    t = pd.DataFrame(
        [
            _ligne("K", "commune", "x", 2022, 12.0, "approximation"),
            _ligne("K", "commune", "x", 2022, np.nan, "officiel"),
            _ligne("K", "commune", "x", 2022, 11.5, "estime"),
        ]
    )
    assert valeurs_de_reference(t)[["valeur", "statut"]].values.tolist() == [[11.5, "estime"]]


def test_references_from_weights():
    p = pd.DataFrame({"code_zone": ["Q", "Q"], "code_iris": ["1", "2"], "poids": [0.4, 0.1]})
    ic = pd.DataFrame({"code_iris": ["1", "2"], "code_commune": ["13047", "13063"]})
    r = references_territoires(
        {"qpv": p}, ic, communes_epci={"SAN": ["13047", "13063"]}, zones=("qpv",)
    )
    assert r[["reference_niveau", "reference_code"]].values.tolist() == [
        ["commune", "13047"],
        ["commune", "13063"],
        ["epci", "SAN"],
        ["departement", "13"],
        ["france", "FR"],
    ]
