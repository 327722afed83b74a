"""Consolidation and secret statistique on hand-made fixtures with known answers.

Acceptance fixture: three IRIS (A, B, C) of one commune K, two zones Z1 = A + ½B and
Z2 = ½B + C (a partition of K), unemployment counts:

    IRIS   chômeurs  actifs
    A        20       100
    B         6        40     (< 50 = threshold of taux_chomage_1564 → secret)
    C        30       200

Z1 = (20 + 3) / (100 + 20) = 19.1666… %, Z2 = (3 + 30) / (20 + 200) = 15 %,
K = 56 / 340 = 16.470588… %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatoire.indicateurs import (
    appliquer_secret,
    charger_codebook,
    consolider,
    indicateurs_comptages,
    indicateurs_taux,
    poids_appartenance,
)
from observatoire.rapport import ErreurDonnees, Rapport

CB = charger_codebook().selection(["taux_chomage_1564", "population", "revenu_declare_median_uc"])
CHOM = charger_codebook().selection(["taux_chomage_1564"])


@pytest.fixture
def fixture():
    comptages = pd.DataFrame(
        {
            "code_iris": ["A", "B", "C"],
            "annee": 2016,
            "p_chom1564": [20.0, 6.0, 30.0],
            "p_act1564": [100.0, 40.0, 200.0],
        }
    )
    zones = pd.DataFrame(
        {
            "code_zone": ["Z1", "Z1", "Z2", "Z2"],
            "code_iris": ["A", "B", "B", "C"],
            "poids": [1.0, 0.5, 0.5, 1.0],
            "methode": "surface",
        }
    )
    commune = poids_appartenance(pd.DataFrame({"code_iris": ["A", "B", "C"], "code_commune": "K"}))
    return comptages, {"iris": None, "qpv": zones, "commune": commune}


def _val(r, niveau, code, col="valeur"):
    s = r.loc[(r["niveau"] == niveau) & (r["territoire_code"] == code), col]
    assert len(s) == 1, (niveau, code)
    return s.iloc[0]


def test_exact_rates_before_secret(fixture):
    comptages, niveaux = fixture
    r = consolider(niveaux, comptages=comptages, codebook=CHOM, secret=False)
    assert _val(r, "qpv", "Z1") == pytest.approx(100 * 23 / 120, rel=1e-15)
    assert _val(r, "qpv", "Z2") == pytest.approx(15.0, rel=1e-15)
    assert _val(r, "commune", "K") == pytest.approx(100 * 56 / 340, rel=1e-15)
    assert (_val(r, "qpv", "Z1", "numerateur"), _val(r, "qpv", "Z1", "denominateur")) == (23, 120)
    assert _val(r, "iris", "B") == pytest.approx(15.0)
    # Mass preservation over the partition Z1 + Z2 = K.
    for c in ("numerateur", "denominateur"):
        assert _val(r, "qpv", "Z1", c) + _val(r, "qpv", "Z2", c) == _val(r, "commune", "K", c)
    # Never an average of rates: (20 % + 15 % + 15 %) / 3 ≠ 16.47 %.
    assert _val(r, "commune", "K") != pytest.approx((20 + 15 + 15) / 3)
    assert _val(r, "iris", "A", "statut") == "officiel"
    assert _val(r, "qpv", "Z1", "statut") == "estime"
    assert _val(r, "qpv", "Z1", "methode") == "ventilation_iris(surface)"
    assert _val(r, "commune", "K", "methode") == "somme_iris"


def test_secret_and_complement_suppression(fixture):
    comptages, niveaux = fixture
    rapport = Rapport()
    r = consolider(niveaux, comptages=comptages, codebook=CHOM, rapport=rapport)
    # B is below the threshold: secret, with no number left anywhere on its row.
    assert _val(r, "iris", "B", "statut") == "secret"
    for c in ("valeur", "numerateur", "denominateur"):
        assert np.isnan(_val(r, "iris", "B", c))
    # With A, C and K published, B = K − A − C: A is suppressed (smallest IRIS); then
    # Z2 − C = ½B, so C is suppressed too. Z1, Z2 and K stay published.
    assert _val(r, "iris", "A", "statut") == "secret"
    assert _val(r, "iris", "C", "statut") == "secret"
    assert "complément" in _val(r, "iris", "A", "note")
    assert _val(r, "qpv", "Z1") == pytest.approx(100 * 23 / 120)
    assert _val(r, "qpv", "Z2") == pytest.approx(15.0)
    assert _val(r, "commune", "K") == pytest.approx(100 * 56 / 340)
    assert any("complément" in e.message for e in rapport.evenements)
    # Check with linear algebra that B's counts cannot be derived from what is published.
    pub = r[r["statut"] != "secret"]
    vect = {
        ("qpv", "Z1"): [1, 0.5, 0],
        ("qpv", "Z2"): [0, 0.5, 1],
        ("commune", "K"): [1, 1, 1],
        ("iris", "A"): [1, 0, 0],
        ("iris", "C"): [0, 0, 1],
    }
    M = np.array(
        [vect[(n, c)] for n, c in zip(pub["niveau"], pub["territoire_code"], strict=True)],
        dtype=float,
    )
    coef, *_ = np.linalg.lstsq(M.T, np.array([0, 1.0, 0]), rcond=None)
    assert np.linalg.norm(M.T @ coef - [0, 1, 0]) > 0.1


def test_zone_secret_protected_against_commune_minus_other_zone():
    """Z1 (30 actifs) is secret; K − Z2 would give it back, so Z2 is suppressed, not K."""
    t = pd.DataFrame(
        {
            "code_iris": ["A", "B", "C"],
            "annee": 2016,
            "p_chom1564": [5.0, 20.0, 40.0],
            "p_act1564": [30.0, 100.0, 200.0],
        }
    )
    zones = pd.DataFrame(
        {"code_zone": ["Z1", "Z2", "Z2"], "code_iris": ["A", "B", "C"], "poids": 1.0}
    )
    k = poids_appartenance(pd.DataFrame({"code_iris": ["A", "B", "C"], "code_commune": "K"}))
    r = consolider({"qpv": zones, "commune": k}, comptages=t, codebook=CHOM)
    assert _val(r, "qpv", "Z1", "statut") == "secret"
    assert _val(r, "qpv", "Z2", "statut") == "secret"
    assert _val(r, "commune", "K") == pytest.approx(100 * 65 / 330)


def test_commune_secret_protected_against_epci_minus_other_communes():
    t = pd.DataFrame(
        {
            "code_iris": ["A", "B", "C"],
            "annee": 2016,
            "p_chom1564": [5.0, 20.0, 40.0],
            "p_act1564": [30.0, 100.0, 200.0],
        }
    )
    ic = pd.DataFrame(
        {"code_iris": ["A", "B", "C"], "code_commune": ["K1", "K2", "K3"], "code_epci": "E"}
    )
    niveaux = {
        "commune": poids_appartenance(ic),
        "epci": poids_appartenance(ic, code_zone="code_epci"),
    }
    r = consolider(niveaux, comptages=t, codebook=CHOM)
    assert _val(r, "commune", "K1", "statut") == "secret"
    assert _val(r, "commune", "K2", "statut") == "secret"  # smallest other commune
    assert _val(r, "commune", "K3", "statut") == "estime"
    assert _val(r, "epci", "E", "statut") == "estime"


def test_missing_stays_missing_never_zero(fixture):
    comptages, niveaux = fixture
    t = comptages.copy()
    t.loc[t["code_iris"] == "C", "p_chom1564"] = np.nan
    r = consolider(niveaux, comptages=t, codebook=CHOM, secret=False)
    assert _val(r, "qpv", "Z2", "statut") == "manquant"
    assert np.isnan(_val(r, "qpv", "Z2")) and np.isnan(_val(r, "commune", "K"))
    assert _val(r, "qpv", "Z1") == pytest.approx(100 * 23 / 120)


def test_iris_absent_from_table_reported_with_population(fixture):
    comptages, niveaux = fixture
    t = comptages[comptages["code_iris"] != "C"]  # e.g. an activity IRIS (type A)
    pop = pd.DataFrame(
        {"code_iris": ["A", "B", "C"], "annee": 2016, "population": [300.0, 120.0, 60.0]}
    )
    r = indicateurs_comptages(t, {"commune": niveaux["commune"]}, codebook=CHOM, population=pop)
    k = r.iloc[0]
    assert k["valeur"] == pytest.approx(100 * 26 / 140)
    assert (k["n_iris"], k["n_iris_absents"]) == (2, 1)
    assert (k["population_couverte"], k["population_non_couverte"]) == (420.0, 60.0)
    assert "population non couverte 60 sur 480" in k["note"]


def test_input_frames_not_mutated(fixture):
    comptages, niveaux = fixture
    avant = comptages.copy(), niveaux["qpv"].copy()
    consolider(niveaux, comptages=comptages, codebook=CHOM)
    pd.testing.assert_frame_equal(comptages, avant[0])
    pd.testing.assert_frame_equal(niveaux["qpv"], avant[1])


def test_weights_outside_unit_interval_rejected(fixture):
    comptages, niveaux = fixture
    mauvais = niveaux["qpv"].assign(poids=[1.0, 0.5, 1.5, 1.0])
    with pytest.raises(ErreurDonnees, match="niveau 'qpv'.*hors de"):
        consolider({"qpv": mauvais}, comptages=comptages, codebook=CHOM)


def test_missing_weight_column_names_it(fixture):
    comptages, niveaux = fixture
    with pytest.raises(ErreurDonnees, match="poids"):
        consolider(
            {"qpv": niveaux["qpv"].drop(columns="poids")}, comptages=comptages, codebook=CHOM
        )


def test_rates_without_counts_are_approximations():
    """ptod rates: Σ w·t·P / Σ w·P; an IRIS with no inhabitants contributes nothing."""
    t = pd.DataFrame(
        {
            "code_iris": ["A", "B", "C"],
            "annee": 2022,
            "soc_txchom_1564": [10.0, 30.0, np.nan],
            "p_pop": [300.0, 100.0, 0.0],
        }
    )
    p = pd.DataFrame({"code_zone": "Z", "code_iris": ["A", "B", "C"], "poids": [1.0, 0.5, 1.0]})
    r = indicateurs_taux(t, {"iris": None, "qpv": p}, codebook=CB)
    z = r[(r["niveau"] == "qpv") & (r["indicateur"] == "taux_chomage_1564")].iloc[0]
    assert z["valeur"] == pytest.approx((10 * 300 + 30 * 50) / 350)
    assert z["statut"] == "approximation" and z["methode"] == "taux_iris_pondere_par_p_pop"
    pop = r[(r["niveau"] == "qpv") & (r["indicateur"] == "population")].iloc[0]
    assert (pop["valeur"], pop["statut"]) == (350.0, "estime")
    a = r[
        (r["niveau"] == "iris")
        & (r["territoire_code"] == "A")
        & (r["indicateur"] == "taux_chomage_1564")
    ].iloc[0]
    assert (a["valeur"], a["statut"], a["denominateur"]) == (10.0, "officiel", 300.0)


def test_medians_never_averaged():
    t = pd.DataFrame({"code_iris": ["A", "B"], "annee": 2011, "rfucq2": [11860.0, 20000.0]})
    p = pd.DataFrame({"code_zone": "Z", "code_iris": ["A", "B"], "poids": [1.0, 1.0]})
    r = consolider({"iris": None, "qpv": p}, comptages=t, codebook=CB)
    med = r[r["indicateur"] == "revenu_declare_median_uc"]
    assert med.loc[med["niveau"] == "iris", "valeur"].tolist() == [11860.0, 20000.0]
    z = med[med["niveau"] == "qpv"].iloc[0]
    assert np.isnan(z["valeur"]) and z["statut"] == "manquant" and z["methode"] == "non_additif"


def test_zone_flagged_approximate_by_configuration(fixture):
    comptages, niveaux = fixture
    veille = pd.DataFrame(
        {"code_zone": "V", "code_iris": ["A", "B"], "poids": 1.0, "statut": "approximation"}
    )
    r = consolider({"veille": veille}, comptages=comptages, codebook=CHOM, secret=False)
    assert r["statut"].tolist() == ["approximation"]
    assert "approximativement" in r["note"].iloc[0]


def test_corrected_weights_give_estime_corrige(fixture):
    comptages, niveaux = fixture
    cal = niveaux["qpv"].assign(methode="calibrated")
    r = consolider({"qpv": cal}, comptages=comptages, codebook=CHOM, secret=False)
    assert set(r["statut"]) == {"estime_corrige"}


def test_count_threshold_on_effectif():
    cb = charger_codebook().selection(["taux_chomage_1564"])
    t = pd.DataFrame(
        {
            "territoire_code": ["Z"],
            "niveau": ["qpv"],
            "indicateur": ["taux_chomage_1564"],
            "sexe": ["ensemble"],
            "annee": [2016],
            "valeur": [10.0],
            "numerateur": [4.0],
            "denominateur": [40.0],
            "statut": ["estime"],
            "origine": ["insee"],
            "note": [None],
        }
    )
    r = appliquer_secret(t, None, codebook=cb)
    assert r["statut"].tolist() == ["secret"] and np.isnan(r["valeur"].iloc[0])
    assert t["statut"].tolist() == ["estime"]  # input untouched


def test_non_additive_approximation_only_when_asked():
    t = pd.DataFrame({"code_iris": ["A", "B"], "annee": 2011, "rfucq2": [10000.0, 20000.0]})
    pop = pd.DataFrame({"code_iris": ["A", "B"], "annee": 2011, "population": [300.0, 100.0]})
    p = pd.DataFrame({"code_zone": "Z", "code_iris": ["A", "B"], "poids": [1.0, 0.5]})
    r = consolider(
        {"qpv": p}, comptages=t, codebook=CB, population=pop, approximer_non_additifs=True
    )
    z = r[r["indicateur"] == "revenu_declare_median_uc"].iloc[0]
    assert z["valeur"] == pytest.approx((10000 * 300 + 20000 * 50) / 350)
    assert (z["statut"], z["methode"]) == ("approximation", "moyenne_ponderee_population")
    assert "pas une médiane" in z["note"]
    r = consolider({"qpv": p}, comptages=t, codebook=CB, population=pop)
    assert r.loc[r["indicateur"] == "revenu_declare_median_uc", "statut"].tolist() == ["manquant"]


def test_two_small_iris_not_recoverable_together():
    """A and B (20 actifs each) are secret; K − C − D would give A + B (40 < 50)."""
    t = pd.DataFrame(
        {
            "code_iris": ["A", "B", "C", "D"],
            "annee": 2016,
            "p_chom1564": [2.0, 3.0, 20.0, 30.0],
            "p_act1564": [20.0, 20.0, 200.0, 300.0],
        }
    )
    k = poids_appartenance(pd.DataFrame({"code_iris": ["A", "B", "C", "D"], "code_commune": "K"}))
    r = consolider({"iris": None, "commune": k}, comptages=t, codebook=CHOM)
    statut = r.set_index("territoire_code")["statut"].to_dict()
    assert statut == {"A": "secret", "B": "secret", "C": "secret", "D": "officiel", "K": "estime"}


def test_zero_population_iris_counts_as_known():
    """An IRIS with no inhabitants (denominator 0) does not hide its neighbour."""
    t = pd.DataFrame(
        {
            "code_iris": ["A", "B", "C"],
            "annee": 2022,
            "soc_txchom_1564": [10.0, np.nan, 20.0],
            "p_pop": [30.0, 0.0, 500.0],
        }
    )
    k = poids_appartenance(pd.DataFrame({"code_iris": ["A", "B", "C"], "code_commune": "K"}))
    r = consolider({"iris": None, "commune": k}, taux=t, codebook=CHOM)
    statut = r.set_index("territoire_code")["statut"].to_dict()
    # A is secret (30 < 50); B is empty but known to be 0, so C must go too.
    assert statut == {"A": "secret", "B": "manquant", "C": "secret", "K": "approximation"}


def test_iris_absent_from_table_does_not_shield_a_secret():
    """C is absent from the count table (e.g. activity IRIS): K − B gives A back."""
    t = pd.DataFrame(
        {
            "code_iris": ["A", "B"],
            "annee": 2016,
            "p_chom1564": [2.0, 20.0],
            "p_act1564": [20.0, 200.0],
        }
    )
    k = poids_appartenance(pd.DataFrame({"code_iris": ["A", "B", "C"], "code_commune": "K"}))
    r = consolider({"iris": None, "commune": k}, comptages=t, codebook=CHOM)
    statut = r.set_index("territoire_code")["statut"].to_dict()
    assert statut == {"A": "secret", "B": "secret", "K": "estime"}
