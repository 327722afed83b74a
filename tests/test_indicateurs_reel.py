"""Indicators, official values and gaps on the real data of ``../shared/data`` (SAN Ouest Provence).

Regression literals come from the files named in each comment (PROVENANCE.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatoire.chargement import (
    lire_indicateurs_ptod,
    lire_iris,
    lire_qpv,
    lire_qpv_officiel,
    lire_table_iris,
)
from observatoire.ecarts import calculer_ecarts
from observatoire.indicateurs import STATUTS, charger_codebook, consolider, poids_appartenance
from observatoire.indicateurs.geographie import comparer_codes_iris
from observatoire.indicateurs.officiel import (
    comparer_officiel_estime,
    valeurs_officielles_ptod,
    valeurs_officielles_qpv,
    valeurs_officielles_zonages,
)
from observatoire.indicateurs.references import references_territoires
from observatoire.ponderation import poids_liste_iris, table_poids
from observatoire.rapport import Rapport

SAN = ["13047", "13063", "13078", "13039", "13044", "13029"]
QPV_SAN = ["QN01365M", "QN01366I", "QN01367M", "QN01371N"]
NON_ADDITIFS = [i.id for i in charger_codebook() if not i.est_additif]


@pytest.fixture(scope="module")
def san(donnees):
    d = donnees
    iris = lire_iris(d / "iris/iris_dep13_fullres_ign_circa2014.gpkg")
    qpv = lire_qpv(d / "qpv/qpv2024_istres_miramas_psl_anct_simplifie.geojson")
    iris_san = iris[iris["code_commune"].isin(SAN)]
    pq = table_poids(iris_san, qpv, methode="surface")
    veille = poids_liste_iris(
        pd.DataFrame(
            {
                "code_zone": ["VEILLE_ECHOPPES", "VEILLE_ECHOPPES", "VEILLE_CENTRE_MIRAMAS"],
                "code_iris": ["130470106", "130470102", "130630106"],
            }
        )
    )
    ic = iris_san[["code_iris", "code_commune"]]
    niveaux = {
        "iris": ic["code_iris"].tolist(),
        "qpv": pq,
        "veille": veille,
        "commune": poids_appartenance(ic),
        "epci": poids_appartenance(ic.assign(e="SAN"), code_zone="e"),
        "departement": poids_appartenance(iris.assign(d="13"), code_zone="d"),
    }
    comptages = [
        lire_table_iris(d / f"stats/rp2016_iris_{n}_dep13.csv").drop(columns="type_iris")
        for n in ("population_age_cs_irisH", "menages_familles_irisH", "logement_irisH")
    ]
    rfl = lire_table_iris(d / "stats/rfl_revenus_fiscaux_localises_iris_2001_2011_dep13.csv")
    ptod = lire_indicateurs_ptod(d / "stats/ptod_iris_dep13_indicateurs_rp2011_2016_2022.csv")
    pop = ptod[["code_iris", "annee", "p_pop"]]
    officiels = [
        valeurs_officielles_ptod(
            lire_indicateurs_ptod(d / "stats/ptod_communes5k_dep13_indicateurs.csv", "commune"),
            codes=SAN,
        ),
        valeurs_officielles_ptod(
            lire_indicateurs_ptod(d / "stats/ptod_departements_indicateurs.csv", "departement"),
            codes=["13", "00FR"],
        ),
        # The QPV 2024 table does not state its vintage; its population is RP 2020.
        valeurs_officielles_qpv(
            lire_qpv_officiel(d / "stats/qpv2024_indicateurs_sigville_dep13.csv"),
            annee=2020,
            codes=QPV_SAN,
        ),
    ]
    rapport = Rapport()
    table = consolider(
        niveaux,
        comptages=[*comptages, rfl],
        taux=ptod,
        officiels=officiels,
        population=pop,
        rapport=rapport,
    )
    brut = consolider(niveaux, comptages=comptages, taux=ptod, population=pop, secret=False)
    refs = references_territoires(
        {"qpv": pq, "veille": veille}, ic, communes_epci={"SAN": SAN}, zones=("qpv", "veille")
    )
    e, ev = calculer_ecarts(table, refs)
    return {
        "table": table,
        "brut": brut,
        "ecarts": e,
        "evolution": ev,
        "ic": ic,
        "iris": iris,
        "ptod": ptod,
        "rfl": rfl,
        "rapport": rapport,
        "niveaux": niveaux,
    }


def _sel(t, **kw):
    m = pd.Series(True, index=t.index)
    for k, v in kw.items():
        m &= t[k].isin(v) if isinstance(v, list) else t[k] == v
    return t[m]


def test_commune_and_epci_totals_equal_sums_of_their_iris(san):
    t, ic = san["brut"], san["ic"]
    for origine, annee in (("insee", 2016), ("ptod", 2011), ("ptod", 2016), ("ptod", 2022)):
        pop = _sel(t, indicateur="population", origine=origine, annee=annee)
        iris = pop[pop["niveau"] == "iris"].merge(
            ic, left_on="territoire_code", right_on="code_iris"
        )
        par_commune = iris.groupby("code_commune")["valeur"].sum()
        communes = pop[pop["niveau"] == "commune"].set_index("territoire_code")["valeur"]
        if origine == "insee":
            # Grans and Cornillon-Confoux are undivided (type Z): absent from the type-H
            # tables, so missing — never 0.
            assert communes[["13029", "13044"]].isna().all()
            communes = communes.dropna()
        pd.testing.assert_series_equal(
            communes.sort_index(),
            par_commune.sort_index(),
            check_names=False,
            check_index_type=False,
            rtol=1e-12,
        )
        epci = pop.loc[pop["niveau"] == "epci", "valeur"].iloc[0]
        assert len(communes) == (4 if origine == "insee" else 6)
        assert epci == pytest.approx(par_commune.sum(), rel=1e-12)
    # Numerators and denominators too (rates recomputed, not averaged).
    ouv = _sel(t, indicateur="part_ouvriers", origine="insee", annee=2016)
    iris = ouv[ouv["niveau"] == "iris"]
    epci = ouv[ouv["niveau"] == "epci"].iloc[0]
    assert epci["numerateur"] == pytest.approx(iris["numerateur"].sum(), rel=1e-12)
    assert epci["valeur"] == pytest.approx(
        100 * iris["numerateur"].sum() / iris["denominateur"].sum(), rel=1e-12
    )


def test_epci_reference_says_what_population_it_lacks(san):
    r = _sel(
        san["table"], niveau="epci", indicateur="population", origine="insee", annee=2016
    ).iloc[0]
    # rp2016_iris_population_age_cs_irisH_dep13.csv (type-H IRIS only) vs ptod P16_POP:
    # 7 IRIS (types A/Z: Grans, Cornillon-Confoux, activity zones) hold 6,840 of 99,092.
    assert r["n_iris_absents"] == 7
    assert r["population_non_couverte"] == pytest.approx(6840, abs=1)
    assert r["population_couverte"] + r["population_non_couverte"] == pytest.approx(99092, abs=1)
    assert "population non couverte 6840 sur 99092" in r["note"]
    e = _sel(san["ecarts"], reference_niveau="epci", indicateur="population", annee=2016)
    assert e["reference_note"].str.contains("6840").any()


def test_official_commune_value_beside_iris_aggregate(san):
    t = _sel(san["table"], indicateur="taux_chomage_1564", annee=2022, niveau="commune")
    istres = t[t["territoire_code"] == "13047"].set_index("statut")["valeur"]
    # ptod_communes5k_dep13_indicateurs.csv: soc_txchom_1564_22 Istres 11.12; the IRIS rates
    # weighted by P22_POP give 11.44 (PROVENANCE: "Istres 11.4 vs 11.12").
    assert istres["officiel"] == 11.12
    assert istres["approximation"] == pytest.approx(11.44, abs=0.01)
    psl = t[t["territoire_code"] == "13078"].set_index("statut")["valeur"]
    assert psl["officiel"] == 14.37 and psl["approximation"] == pytest.approx(14.4, abs=0.05)
    e = _sel(
        san["ecarts"],
        territoire_code="QN01365M",
        indicateur="taux_chomage_1564",
        annee=2022,
        reference_niveau="commune",
    )
    assert e["reference_valeur"].tolist() == [11.12]
    assert e["reference_statut"].tolist() == ["officiel"]


def test_official_qpv_2024_values_beside_estimates(san):
    c = comparer_officiel_estime(san["table"])
    q = c[c["niveau"] == "qpv"]
    pop = q[q["indicateur"] == "population"].set_index("territoire_code")
    # qpv2024_indicateurs_sigville_dep13.csv popMuniQPV.
    assert pop.loc[QPV_SAN, "valeur_officielle"].tolist() == [3027.0, 1709.0, 6885.0, 1093.0]
    assert pop["valeur_estimee"].notna().all() and (pop["annee_estimation"] == 2022).all()
    for ind in ("taux_emploi_1564", "part_etrangers", "part_immigres", "nombre_menages"):
        assert set(q.loc[q["indicateur"] == ind, "territoire_code"]) == set(QPV_SAN), ind
    # Official rows are the values of record in the long table, also for what IRIS lack.
    off = _sel(san["table"], niveau="qpv", statut="officiel")
    assert {"taux_pauvrete_60", "indice_jeunesse", "population"} <= set(off["indicateur"])
    assert "taux_logements_sociaux" not in set(off["formule"])


def test_san_zones_get_every_vintage_with_references_gaps_and_evolution(san):
    t = san["table"]
    zones = t[
        t["niveau"].isin(["qpv", "veille"])
        & t["valeur"].notna()
        & t["origine"].isin(["insee", "ptod"])
    ]
    for code in [*QPV_SAN, "VEILLE_ECHOPPES", "VEILLE_CENTRE_MIRAMAS"]:
        z = zones[zones["territoire_code"] == code]
        assert {2011, 2016, 2022} <= set(z["annee"]), code
        for ind in (
            "taux_chomage_1564",
            "taux_emploi_1564",
            "part_etrangers",
            "part_familles_monoparentales",
            "part_ouvriers",
            "population",
        ):
            assert {2011, 2016, 2022} <= set(z.loc[z["indicateur"] == ind, "annee"]), (code, ind)
        assert len(set(z["indicateur"])) >= 18, code
    e = san["ecarts"]
    q = _sel(e, territoire_code="QN01366I", indicateur="taux_chomage_1564", origine="ptod")
    assert set(q["reference_niveau"]) == {"commune", "epci", "departement", "france"}
    assert q.loc[q["reference_niveau"] != "france", "ecart_points"].notna().all()
    ev = _sel(
        san["evolution"],
        territoire_code="QN01366I",
        indicateur="taux_chomage_1564",
        origine="ptod",
        reference_niveau="epci",
    )
    assert sorted(zip(ev["annee_debut"], ev["annee_fin"], strict=True)) == [
        (2011, 2016),
        (2011, 2022),
        (2016, 2022),
    ]
    assert ev["comparable"].all() and ev["evolution_ecart"].notna().all()
    r = ev[ev["annee_debut"] == 2011].iloc[0]
    assert r["evolution_ecart"] == pytest.approx(r["ecart_fin"] - r["ecart_debut"])


def test_iris_income_median_and_no_averaged_median(san):
    t = san["table"]
    med = _sel(
        t,
        indicateur="revenu_declare_median_uc",
        niveau="iris",
        territoire_code="130470107",
        annee=2011,
    )
    # rfl_revenus_fiscaux_localises_iris_2001_2011_dep13.csv: Le Prépaou RFUCQ211 = 11,860 €/UC.
    assert med["valeur"].tolist() == [11860.0] and med["statut"].tolist() == ["officiel"]
    agreges = t[
        t["indicateur"].isin(NON_ADDITIFS) & (t["niveau"] != "iris") & (t["statut"] != "officiel")
    ]
    assert len(agreges) > 0 and agreges["valeur"].isna().all()
    assert set(agreges["statut"]) == {"manquant"}
    # Official commune medians (published, not averaged) do appear.
    off = _sel(t, indicateur="niveau_vie_median", niveau="commune", statut="officiel")
    assert set(off["territoire_code"]) >= {"13047", "13063"}


def test_every_number_carries_method_vintage_and_status(san):
    t = san["table"]
    assert set(t["statut"]) <= set(STATUTS)
    for c in ("methode", "annee", "statut", "source", "indicateur", "sexe", "unite"):
        assert t[c].notna().all(), c
    chiffres = t[t["valeur"].notna()]
    assert not chiffres["statut"].isin(["secret", "manquant"]).any()
    secrets = t[t["statut"] == "secret"]
    assert len(secrets) and secrets[["valeur", "numerateur", "denominateur"]].isna().all().all()


def test_iris_geography_changes_reported(san):
    rapport = Rapport()
    pop = san["ptod"].loc[san["ptod"]["annee"] == 2011].set_index("code_iris")["p_pop"]
    r = comparer_codes_iris(
        san["rfl"], san["iris"], annee=2011, edition=2014, population=pop, rapport=rapport
    )
    # RFL 2011 (703 IRIS) uses 5 codes that the ~2014 IRIS layer no longer has.
    assert (r["cote"] == "statistiques_seulement").sum() == 5
    assert "130010201" in set(r.loc[r["cote"] == "statistiques_seulement", "code_iris"])
    geo = r[r["cote"] == "geographie_seulement"]
    assert len(geo) == 142 and geo["population"].notna().all()
    assert rapport.n_avertissements == 2


def test_occitanie_official_qpv_population_beside_estimate(donnees):
    """QPV 2015 of Haute-Garonne: official population (2015 table) beside the RP 2016 estimate."""
    iris = lire_iris(donnees / "iris/iris_2020_france_generalise_z9.parquet")
    iris = iris[iris["code_commune"].str.startswith("31")]
    qpv = lire_qpv(donnees / "qpv/qpv2015_occitanie_hackaviz2021.geojson")
    qpv = qpv[qpv["communes"].map(lambda c: any(x.startswith("31") for x in c))]
    poids = table_poids(iris, qpv, methode="surface")
    pop = lire_table_iris(donnees / "stats/rp2016_iris_population_age_cs_irisH_france.csv")
    off = valeurs_officielles_qpv(
        lire_qpv_officiel(donnees / "stats/qpv2015_occitanie_indicateurs_hackaviz2021.csv"),
        annee=2015,
        codes=qpv["code_zone"].tolist(),
    )
    cb = charger_codebook().selection(["population", "part_moins_15", "part_60_plus"])
    t = consolider(
        {"qpv": poids}, comptages=pop.drop(columns="type_iris"), officiels=[off], codebook=cb
    )
    c = comparer_officiel_estime(t)
    c = c[c["indicateur"] == "population"]
    assert len(c) == len(qpv) == 19
    assert c["valeur_officielle"].notna().all() and c["valeur_estimee"].gt(0).all()
    assert (c["annee_officielle"] == 2015).all() and (c["annee_estimation"] == 2016).all()
    assert np.isfinite(c["difference"]).all()
    # Surface weights on the generalised layer put part of each dense QPV's population outside
    # it: the estimate is below the official figure for every QPV (Σ ratio ≈ 0.67).
    assert (c["difference"] < 0).all()
    assert 0.5 < c["valeur_estimee"].sum() / c["valeur_officielle"].sum() < 0.9


def test_metropole_amp_as_extra_epci_reference(san, donnees):
    """Official EMP values of the Métropole AMP (insee_rp_emploi_chomage_zonages_*.csv)."""
    z = pd.read_csv(
        donnees / "stats/insee_rp_emploi_chomage_zonages_ouest_etang_de_berre.csv",
        dtype={"geo_code": str},
    )
    off = valeurs_officielles_zonages(z)
    amp = off[
        (off["territoire_code"] == "200054807") & (off["indicateur"] == "taux_chomage_1564")
    ].set_index("annee")
    # 2022: 100 × (855,851 − 752,639) / 855,851 = 12.06 (EMP T2 counts) → officiel;
    # 2011: 100 × 10.2 / 69.0 from rounded EMP T1 shares → approximation.
    assert amp.loc[2022, "valeur"] == pytest.approx(12.06, abs=0.005)
    assert amp.loc[2022, "statut"] == "officiel" and amp.loc[2022, "numerateur"] == 103212
    assert amp.loc[2011, "valeur"] == pytest.approx(100 * 10.2 / 69.0)
    assert amp.loc[2011, "statut"] == "approximation"
    table = pd.concat([san["table"], off], ignore_index=True)
    communes_epci = pd.DataFrame(
        {"code_commune": SAN * 2, "code_epci": ["SAN"] * 6 + ["200054807"] * 6}
    )
    refs = references_territoires(
        {"qpv": san["niveaux"]["qpv"]}, san["ic"], communes_epci=communes_epci, zones=("qpv",)
    )
    e, _ = calculer_ecarts(table, refs)
    r = e[
        (e["territoire_code"] == "QN01367M")
        & (e["reference_code"] == "200054807")
        & (e["indicateur"] == "taux_chomage_1564")
        & (e["origine"] == "ptod")
    ]
    assert r.set_index("annee").loc[2022, "reference_valeur"] == pytest.approx(12.06, abs=0.005)
    assert set(e.loc[e["reference_niveau"] == "epci", "reference_code"]) == {"SAN", "200054807"}
