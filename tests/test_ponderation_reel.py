"""Weights engine on the real public data (``../shared/data``, read-only, never committed).

Regression values are literals computed with this engine and cross-checked against the
figures of ``PROVENANCE.md`` and of the official QPV table (see comments).
"""

import numpy as np
import pandas as pd
import pytest

from observatoire.chargement import (
    lire_grille,
    lire_iris,
    lire_qpv,
    lire_qpv_officiel,
    lire_table_iris,
)
from observatoire.ponderation import (
    comparer_parts,
    parts_reference_2015,
    population_iris,
    rapport_qualite,
    table_poids,
    variables_comparees,
    ventiler,
)
from observatoire.rapport import Rapport

QPV4 = ["QN01365M", "QN01366I", "QN01367M", "QN01371N"]


@pytest.fixture(scope="module")
def dep13(donnees):
    return {
        "iris2014": lire_iris(donnees / "iris/iris_dep13_fullres_ign_circa2014.gpkg"),
        "iris2020": lire_iris(donnees / "iris/iris_2020_dep13_generalise.geojson"),
        "qpv4": lire_qpv(donnees / "qpv/qpv2024_istres_miramas_psl_anct_simplifie.geojson"),
        "pop": population_iris(
            lire_table_iris(donnees / "stats/rp2016_iris_population_age_cs_irisH_dep13.csv")
        ),
        "officiel": lire_qpv_officiel(donnees / "stats/qpv2024_indicateurs_sigville_dep13.csv"),
    }


@pytest.fixture(scope="module")
def national(donnees):
    return {
        "iris": lire_iris(donnees / "iris/iris_2020_france_generalise_z9.parquet"),
        "qpv": lire_qpv(donnees / "qpv/qpv2015_occitanie_hackaviz2021.geojson"),
        "pop": population_iris(
            lire_table_iris(donnees / "stats/rp2016_iris_population_age_cs_irisH_france.csv")
        ),
        "officiel": lire_qpv_officiel(
            donnees / "stats/qpv2015_occitanie_indicateurs_hackaviz2021.csv"
        ),
    }


def test_carraire_parts_iris_2014(dep13):
    t = table_poids(dep13["iris2014"], dep13["qpv4"], code_zone="code_zone")
    c = t[t["code_zone"] == "QN01366I"].set_index("code_iris")["part_zone"]
    # PROVENANCE.md: CARRAIRE 77.9 %, MAS NEUF-MONTEAU 22.1 % (Contrat de Ville 2015: 78.9 / 21.1)
    assert c.round(3).to_dict() == {"130630107": 0.779, "130630108": 0.221}


@pytest.mark.parametrize(
    "couche, attendu",
    [
        # about 1,620, 850, 5,710 and 80 with the full-resolution ~2014 IRIS layer
        ("iris2014", [1621.4, 847.0, 5708.5, 80.6]),
        # 966, 837, 5,602 and 73 with the generalised 2020 layer
        ("iris2020", [966.4, 837.2, 5601.9, 73.2]),
    ],
)
def test_population_surface_des_4_qpv(dep13, couche, attendu):
    r = Rapport()
    t = table_poids(
        dep13[couche], dep13["qpv4"], code_zone="code_zone", population_iris=dep13["pop"], rapport=r
    )
    est = ventiler(t, dep13["pop"], ["population"]).set_index("code_zone")["population"]
    assert est.reindex(QPV4).round(1).tolist() == pytest.approx(attendu, abs=0.051)
    # plausibility: Port-Saint-Louis under the legal minimum of 1,000 inhabitants
    assert any("QN01371N" in m and "moins de 1000" in m for m in r.to_frame()["message"])


def test_parts_2024_a_cote_des_parts_2015(dep13, artefacts):
    t = table_poids(dep13["iris2014"], dep13["qpv4"], code_zone="code_zone")
    c = comparer_parts(t, parts_reference_2015())
    c = c.merge(
        dep13["iris2014"][["code_iris", "nom_iris"]].rename(columns={"nom_iris": "nom_iris_2014"}),
        on="code_iris",
        how="left",
    )
    c.to_csv(artefacts / "ponderation_parts_2024_vs_2015.csv", index=False)
    p = c.set_index(["code_zone", "code_iris"])
    # La Carraire (identical contour): within one point of the 2015 shares.
    assert p.loc[("QN01366I", "130630107"), "ecart_points"] == pytest.approx(-1.0, abs=0.06)
    # Le Prépaou (redrawn in 2024): 2015 Rassuen 50.8 % vs 2024 19.7 %, and PREPAOU 2 appears.
    assert p.loc[("QN01365M", "130470116"), "part_zone"] == pytest.approx(0.197, abs=5e-4)
    assert p.loc[("QN01365M", "130470116"), "part_zone_reference"] == 0.508
    assert np.isnan(p.loc[("QN01365M", "130470115"), "part_zone_reference"])
    # La Maille (redrawn): La Rousse 3 58.8 % in 2015, 38.5 % in 2024.
    assert p.loc[("QN01367M", "130630102"), "part_zone"] == pytest.approx(0.385, abs=5e-4)


def test_qualite_4_qpv_2024(dep13):
    res = rapport_qualite(
        dep13["iris2014"],
        dep13["qpv4"],
        dep13["pop"],
        dep13["officiel"],
        code_zone="code_zone",
        code_zone_officiel="code_zone",
        parts_reference=parts_reference_2015(),
    )
    d = res["detail"].set_index(["methode", "code_zone"])
    # official popMuniQPV: 3,027, 1,709, 6,885, 1,093
    assert d.loc["surface", "officiel"].reindex(QPV4).tolist() == [3027, 1709, 6885, 1093]
    assert d.loc["surface", "erreur_pct"].reindex(QPV4).round(1).tolist() == [
        -46.4,
        -50.4,
        -17.1,
        -92.6,
    ]
    cal = d.loc["calibrated"].reindex(QPV4)
    assert cal["estimation"].tolist() == pytest.approx([3027, 1709, 6885, 1093], rel=1e-9)
    assert cal["exact_par_construction"].all()
    assert cal["facteur_calibration"].round(2).tolist() == [1.92, 2.02, 1.35, 13.57]
    cal = res["calibration"].set_index("code_zone").reindex(QPV4)
    assert cal["estimation_base"].round(1).tolist() == [1621.4, 847.0, 5708.5, 80.6]
    assert cal["estimation_calibree"].tolist() == pytest.approx([3027, 1709, 6885, 1093])
    # Le Prépaou: IRIS Le Prépaou capped at 1; La Maille: La Rousse 3 capped
    assert cal["n_iris_plafonnes"].tolist() == [1, 0, 1, 0]
    parts = res["parts"].set_index(["code_zone", "code_iris"])
    assert parts.loc[("QN01367M", "130630105"), "ecart_points"] == pytest.approx(15.3, abs=0.05)
    r = res["resume"].set_index("methode")
    assert (
        r.loc["calibrated", "n_scorees"] == 0
        and "exact by construction" in r.loc["calibrated", "note"]
    )


def test_qualite_71_qpv_dep13_sur_les_menages(donnees, dep13, artefacts):
    """Calibrated on population, scored on households (an official count it was not fitted on).

    Official QPV 2024 ``nombre_menages`` against RP 2016 principal residences (houses +
    flats) and ``nombre_logements_sociaux`` (RPLS, all social dwellings) against RP
    principal residences rented HLM (a narrower definition: a lower bound).
    """
    qpv = lire_qpv(donnees / "qpv/qpv2024_dep13_anct_simplifie.geojson")
    logement = lire_table_iris(donnees / "stats/rp2016_iris_logement_irisH_dep13.csv")
    comparaisons = {
        "p_rpmaison+p_rpappart": "nombre_menages",
        "p_rp_lochlmv": "nombre_logements_sociaux",
    }
    table = variables_comparees(dep13["pop"], [logement], comparaisons)
    res = rapport_qualite(
        dep13["iris2014"],
        qpv,
        table,
        dep13["officiel"],
        code_zone="code_zone",
        code_zone_officiel="code_zone",
        autres=comparaisons,
    )
    r = res["resume"].set_index(["methode", "variable"])
    r.round(2).to_csv(artefacts / "qualite_71_qpv_dep13_resume.csv")
    men = "p_rpmaison+p_rpappart"
    # 59 of the 71 QPV lie wholly on type-H IRIS with RP 2016 counts
    assert r.loc[("surface", "population"), "n_scorees"] == 59
    assert r.loc[("surface", "population"), "biais_median_pct"] == pytest.approx(-50.6, abs=0.05)
    assert r.loc[("surface", men), "biais_median_pct"] == pytest.approx(-49.7, abs=0.05)
    assert r.loc[("calibrated", men), "n_scorees"] == 59
    assert r.loc[("calibrated", men), "biais_median_pct"] == pytest.approx(-0.6, abs=0.05)
    assert r.loc[("calibrated", men), "erreur_abs_mediane_pct"] == pytest.approx(5.5, abs=0.05)
    assert r.loc[("surface", "p_rp_lochlmv"), "biais_median_pct"] == pytest.approx(-67.6, abs=0.05)
    assert r.loc[("calibrated", "p_rp_lochlmv"), "biais_median_pct"] == pytest.approx(
        -29.2, abs=0.05
    )
    d = res["detail"].set_index(["methode", "variable", "code_zone"])
    # La Carraire: 624 official households; surface 341, calibrated 688
    assert d.loc[("surface", men, "QN01366I"), "estimation"] == pytest.approx(341, abs=0.5)
    assert d.loc[("calibrated", men, "QN01366I"), "estimation"] == pytest.approx(688, abs=0.5)
    assert d.loc[("calibrated", men, "QN01366I"), "officiel"] == pytest.approx(624, abs=0.5)


@pytest.mark.slow
def test_qualite_occitanie_biais_surface(national):
    r = Rapport()
    res = rapport_qualite(
        national["iris"],
        national["qpv"],
        national["pop"],
        national["officiel"],
        code_zone="code_zone",
        code_zone_officiel="code_zone",
        rapport=r,
    )
    s = res["resume"].set_index("methode")
    # surface weighting underestimates by a median of about 43 % over the QPV
    # fully covered by type-H IRIS (91 of 105 here; 14 touch A/D/Z IRIS: NaN, not 0).
    assert s.loc["surface", "n_scorees"] == 91
    assert s.loc["surface", "biais_median_pct"] == pytest.approx(-42.7, abs=0.05)
    d = res["detail"]
    cal = d[(d["methode"] == "calibrated") & d["estimation"].notna()]
    assert len(cal) == 91 and (cal["estimation"] - cal["officiel"]).abs().max() < 1e-6
    assert cal["facteur_calibration"].median() == pytest.approx(2.02, abs=0.01)


@pytest.mark.slow
def test_egalite_avec_tobler(national):
    tobler = pytest.importorskip("tobler")
    iris = national["iris"].merge(national["pop"], on="code_iris", how="left")
    qpv = national["qpv"]
    t = table_poids(iris, qpv, code_zone="code_zone", part_min=0)
    ours = ventiler(t, national["pop"], ["population"]).set_index("code_zone")["population"]
    # Missing IRIS populations are excluded on tobler's side too (tobler would turn them into 0;
    # with pandas 3 its in-place NaN fill even fails on read-only arrays).
    connus = iris[iris["population"].notna()].reset_index(drop=True)
    ref = tobler.area_weighted.area_interpolate(
        connus, qpv, extensive_variables=["population"], allocate_total=False
    )
    ref = pd.Series(ref["population"].to_numpy(), index=qpv["code_zone"].to_numpy())
    ok = ours.notna()
    # missing on our side stays missing: 85 QPV (91 with the sliver filter, which drops the
    # slivers of 6 QPV into A/D/Z IRIS absent from the RP tables)
    assert ok.sum() == 85
    np.testing.assert_allclose(ours[ok].to_numpy(), ref[ours.index[ok]].to_numpy(), rtol=1e-6)
    # same pairs: every piece tobler sees has a row in our table
    assert set(t["code_zone"]) == set(qpv["code_zone"])


def test_marseille_dasymetrique(donnees, dep13, artefacts):
    qpv = lire_qpv(donnees / "qpv/qpv2015_marseille_icu_mediapart.geojson")
    grille = lire_grille(donnees / "raster/filosofi2017_200m_marseille_icu_mediapart.gpkg")
    iris, pop = dep13["iris2014"], dep13["pop"]
    s = table_poids(iris, qpv, code_zone="code_zone")
    d = table_poids(iris, qpv, code_zone="code_zone", methode="dasymetric", grille=grille)
    assert not d["repli_surface"].any()  # every IRIS touched by a Marseille QPV has grid people
    assert (
        d[["code_zone", "code_iris"]].to_numpy() == s[["code_zone", "code_iris"]].to_numpy()
    ).all()
    es = ventiler(s, pop, ["population"]).set_index("code_zone")["population"]
    ed = ventiler(d, pop, ["population"]).set_index("code_zone")["population"]
    diff = (100 * (ed / es - 1)).dropna()
    pd.DataFrame({"surface": es, "dasymetric": ed, "ecart_pct": 100 * (ed / es - 1)}).to_csv(
        artefacts / "ponderation_marseille_dasymetrique_vs_surface.csv"
    )
    assert len(diff) == 29  # 8 QPV touch IRIS without RP 2016 population (type A/D)
    # dense social housing: the grid puts 70 % more people in the median QPV than surface does
    assert diff.median() == pytest.approx(69.7, abs=0.1)
    assert ed.sum() / es.sum() == pytest.approx(1.553, abs=0.001)


def test_qualite_40_qpv_2024_marseille_trois_methodes(donnees, dep13, artefacts):
    """Surface, dasymetric (Filosofi 2017 grid) and calibrated scored against official figures.

    The grid extract covers Marseille: its 40 QPV 2024 (30 wholly on type-H IRIS).
    """
    qpv = lire_qpv(donnees / "qpv/qpv2024_dep13_anct_simplifie.geojson")
    qpv = qpv[qpv["communes"].map(lambda c: any(x == "13055" or x.startswith("132") for x in c))]
    assert len(qpv) == 40
    grille = lire_grille(donnees / "raster/filosofi2017_200m_marseille_icu_mediapart.gpkg")
    logement = lire_table_iris(donnees / "stats/rp2016_iris_logement_irisH_dep13.csv")
    men = "p_rpmaison+p_rpappart"
    table = variables_comparees(dep13["pop"], [logement], {men: "nombre_menages"})
    res = rapport_qualite(
        dep13["iris2014"],
        qpv,
        table,
        dep13["officiel"],
        methodes=("surface", "dasymetric", "calibrated"),
        grille=grille,
        code_zone="code_zone",
        code_zone_officiel="code_zone",
        autres={men: "nombre_menages"},
    )
    r = res["resume"].set_index(["methode", "variable"])
    r.round(2).to_csv(artefacts / "qualite_40_qpv_2024_marseille_resume.csv")
    biais = r["biais_median_pct"]
    assert r.loc[("dasymetric", "population"), "n_scorees"] == 30
    assert biais[("surface", "population")] == pytest.approx(-51.1, abs=0.05)
    # the grid halves the bias
    assert biais[("dasymetric", "population")] == pytest.approx(-28.3, abs=0.05)
    assert biais[("surface", men)] == pytest.approx(-50.5, abs=0.05)
    assert biais[("dasymetric", men)] == pytest.approx(-28.1, abs=0.05)
    assert biais[("calibrated", men)] == pytest.approx(-2.7, abs=0.05)
    assert r.loc[("calibrated", men), "erreur_abs_mediane_pct"] == pytest.approx(6.3, abs=0.05)


@pytest.mark.slow
def test_masque_ne_change_rien(donnees, national):
    r = Rapport()
    iris = lire_iris(
        donnees / "iris/iris_2020_france_generalise_z9.parquet", masque=national["qpv"], rapport=r
    )
    assert len(iris) < len(national["iris"]) / 10
    complet = table_poids(national["iris"], national["qpv"], code_zone="code_zone", part_min=0)
    masque = table_poids(iris, national["qpv"], code_zone="code_zone", part_min=0)
    pd.testing.assert_frame_equal(masque, complet)
