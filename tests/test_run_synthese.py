"""Headline values of the default run: value of record, gaps on official values, fiabilité,
grid weights in the yearly run (real data of ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from aides_run import dict_chemins, run_reel
from click.testing import CliRunner

from observatoire.cli import main

QPV = ["QN01365M", "QN01366I", "QN01367M", "QN01371N"]
VEILLE = [
    "VEILLE_CENTRE_MIRAMAS",
    "VEILLE_CROIZAT",
    "VEILLE_ECHOPPES",
    "VEILLE_MOLIERES",
    "VEILLE_VAUBAN",
]
#: Official rates and shares of the QPV 2024 table (ANCT) that the codebook reads.
TAUX_OFFICIELS = [
    "part_etrangers",
    "part_immigres",
    "part_menages_une_personne",
    "taux_emploi_1564",
    "taux_pauvrete_60",
    "indice_jeunesse",
]


@pytest.fixture(scope="module")
def sortie(donnees) -> Path:
    return run_reel(str(donnees))


@pytest.fixture(scope="module")
def synthese(sortie) -> pd.DataFrame:
    s = pd.read_csv(
        sortie / "tables/synthese.csv", dtype={"territoire_code": str, "reference_code": str}
    )
    return s[s["sexe"] == "ensemble"]


def test_populations_officielles_en_tete(synthese):
    pop = synthese[
        (synthese["indicateur"] == "population") & (synthese["reference_niveau"] == "commune")
    ].set_index("territoire_code")
    # popMuniQPV of the ANCT QPV 2024 table (qpv2024_indicateurs_sigville_dep13.csv)
    assert pop.loc[QPV, "valeur"].tolist() == [3027.0, 1709.0, 6885.0, 1093.0]
    assert set(pop.loc[QPV, "statut"]) == {"officiel"}
    assert pop.loc[QPV, "ecart_points"].isna().all()  # head counts: no gap in points
    assert set(VEILLE) <= set(pop.index)


def test_part_etrangers_port_saint_louis(synthese):
    r = synthese[
        (synthese["territoire_code"] == "QN01371N")
        & (synthese["indicateur"] == "part_etrangers")
        & (synthese["reference_niveau"] == "commune")
    ].iloc[0]
    assert r["valeur"] == 21.3 and r["statut"] == "officiel" and r["annee"] == 2020
    # commune 13078, IRIS rates 2022 weighted by population (ptod): 7.5 %
    assert r["ecart_points"] >= 10 and r["reference_annee"] == 2022
    assert r["ecart_points"] == pytest.approx(21.3 - r["reference_valeur"])


def test_chaque_taux_officiel_a_un_ecart_ou_une_note(synthese):
    com = synthese[synthese["reference_niveau"] == "commune"]
    for q in QPV:
        for ind in TAUX_OFFICIELS:
            r = com[(com["territoire_code"] == q) & (com["indicateur"] == ind)]
            assert len(r) == 1, (q, ind)
            r = r.iloc[0]
            if pd.isna(r["valeur"]):
                continue
            assert r["statut"] == "officiel", (q, ind)
            assert pd.notna(r["ecart_points"]) or "pas de référence" in str(r["note"]), (q, ind)
    ij = com[com["indicateur"] == "indice_jeunesse"]
    assert ij["note"].str.contains("pas de référence de même définition").all()
    # employment rate: the official QPV value against the commune's (RP 2022, ptod): ≈ −14 pts
    e = com[(com["territoire_code"] == "QN01371N") & (com["indicateur"] == "taux_emploi_1564")]
    assert e["ecart_points"].iloc[0] == pytest.approx(46.0 - 59.89)


def test_molieres_par_le_carroyage(sortie, synthese):
    r = synthese[
        (synthese["territoire_code"] == "VEILLE_MOLIERES")
        & (synthese["indicateur"] == "population")
        & (synthese["reference_niveau"] == "commune")
    ].iloc[0]
    # La Rousse 1–3 (P22_POP) minus La Maille as the Filosofi 2019 grid places it
    assert 1000 < r["valeur"] < 1300
    assert "dasymetric" in r["methode"] and r["fiabilite"] == "moyenne"
    texte = (sortie / "2022/fiches/VEILLE_MOLIERES.html").read_text(encoding="utf-8")
    assert "placée par le carroyage" in texte or "carroyage Filosofi" in texte


def test_fiabilite_partout(sortie, synthese):
    ind = pd.read_parquet(sortie / "tables/indicateurs.parquet")
    avec = ind["valeur"].notna()
    assert ind.loc[avec, "fiabilite"].isin(["bonne", "moyenne", "faible"]).all()
    assert ind.loc[~avec, "fiabilite"].isna().all()
    s = synthese[synthese["valeur"].notna()]
    assert s["fiabilite"].isin(["bonne", "moyenne", "faible"]).all()
    # Le Prépaou draws on 130470115, redrawn between the 2014 and 2020 IRIS editions
    pr = s[
        (s["territoire_code"] == "QN01365M")
        & (s["statut"] != "officiel")
        & ~s["methode"].str.startswith("grille")
    ]
    assert (pr["fiabilite"] == "faible").all()
    assert pr["fiabilite_motif"].str.contains("IRIS redessinés").all()


def test_qualite(sortie):
    q = pd.read_csv(sortie / "tables/qualite.csv", dtype={"territoire_code": str})
    for code in QPV:
        for ind in ("population", "nombre_menages"):
            m = set(q[(q["territoire_code"] == code) & (q["indicateur"] == ind)]["methode"])
            assert m == {"surface", "dasymetric", "calibrated", "grille"}, (code, ind)
    off = q[q["indicateur"] == "population"].groupby("territoire_code")["valeur_officielle"]
    assert off.first().loc[QPV].tolist() == [3027.0, 1709.0, 6885.0, 1093.0]
    r = q.set_index(["territoire_code", "indicateur", "methode"])
    # surface weights lose 93 % of Port-Saint-Louis's population (78.8 of 1,093)
    assert r.loc[("QN01371N", "population", "surface"), "erreur_relative"] == pytest.approx(
        -0.928, abs=0.002
    )
    assert r.loc[("QN01371N", "population", "calibrated"), "erreur"] == pytest.approx(0, abs=1e-6)


def test_fiche_port_saint_louis(sortie):
    texte = (sortie / "2022/fiches/QN01371N.html").read_text(encoding="utf-8")
    assert "1\u202f093" in texte and "fiabilité" in texte
    assert "ventilation_iris" not in texte and "valeur_publiee_qpv" not in texte


def test_dasymetrique_par_id_ou_chemin(donnees, tmp_path):
    for source in (
        "grille_filosofi2019_san_ouest_provence",
        str(donnees / "raster/filosofi2019_200m_san_ouest_provence.csv"),
    ):
        d = yaml.safe_load(
            (
                Path(__file__).parents[1] / "observatoire/configs" / "san_ouest_provence.yaml"
            ).read_text(encoding="utf-8")
        )
        d["ponderation"]["methode"] = "dasymetric"
        d["sources"]["grille"] = {"source": source, "edition": 2019}
        d["sorties"] = {"formats": ["csv"], "cartes": False, "fiches": False}
        cfg = tmp_path / "observatoire" / "dasy.yaml"
        cfg.parent.mkdir(exist_ok=True)
        cfg.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
        out = tmp_path / f"o{len(source)}"
        r = CliRunner().invoke(
            main,
            [
                "run",
                "--config",
                str(cfg),
                "--from",
                str(donnees),
                "--out",
                str(out),
                "--no-progress",
            ],
        )
        assert r.exit_code == 0, r.output
        p = pd.read_csv(out / "san_ouest_provence/tables/poids.csv")
        assert set(p.loc[p["niveau"] == "qpv", "methode"]) == {"dasymetric"}


def test_check_sans_grille_ou_sans_population_officielle(donnees, tmp_path):
    d = dict_chemins(donnees)
    del d["sources"]["grille"]
    d["ponderation"]["methode"] = "dasymetric"
    cfg = tmp_path / "sans_grille.yaml"
    cfg.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(main, ["run", "--check", "--config", str(cfg)])
    assert r.exit_code == 2 and "sources.grille" in r.output
    d["ponderation"]["methode"] = "calibrated"
    del d["sources"]["qpv_officiel"]
    cfg.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(main, ["run", "--check", "--config", str(cfg)])
    assert r.exit_code == 2 and "sources.qpv_officiel" in r.output
    assert not np.any([p.name == "san_ouest_provence" for p in tmp_path.iterdir()])


def test_indicateurs_du_carroyage(sortie, synthese):
    com = synthese[synthese["reference_niveau"] == "commune"]
    fil = com[com["indicateur"].str.startswith("fil_")]
    for zone in QPV + VEILLE:
        z = fil[fil["territoire_code"] == zone]
        assert len(z) == 8, zone
        assert z["methode"].str.startswith("grille").all()
        parts = z[z["indicateur"] != "fil_nombre_menages"]
        assert parts["ecart_points"].notna().all(), zone
    dep = synthese[
        (synthese["reference_niveau"] == "departement")
        & synthese["indicateur"].str.startswith("fil_")
    ]
    assert dep["reference_valeur"].isna().all()
    assert dep["note"].str.contains("le carroyage ne couvre pas").all()
    for zone in ("VEILLE_MOLIERES", "VEILLE_ECHOPPES", "VEILLE_VAUBAN"):
        texte = (sortie / f"2022/fiches/{zone}.html").read_text(encoding="utf-8")
        assert "Part des ménages pauvres (carroyage Filosofi)" in texte
    q = pd.read_csv(sortie / "tables/qualite.csv", dtype={"territoire_code": str})
    r = q[
        (q["territoire_code"] == "QN01371N")
        & (q["indicateur"] == "part_menages_une_personne")
        & q["methode"].str.startswith("grille")
    ].iloc[0]
    assert r["valeur_officielle"] == 44.4 and abs(r["erreur"]) < 6


def test_correction_de_la_dilution(sortie, synthese):
    import json

    m = json.loads((sortie / "manifest.json").read_text(encoding="utf-8"))
    modeles = m["modeles"]["correction_dilution"]
    assert "taux_emploi_1564" in json.dumps(modeles)
    ind = pd.read_parquet(sortie / "tables/indicateurs.parquet")
    c = ind[ind["methode"].astype(str).str.startswith("correction")]
    assert len(c) and set(c["statut"]) == {"estime_corrige"}
    # zones made of whole IRIS are outside the model's domain
    assert (
        not c["territoire_code"]
        .isin(["VEILLE_ECHOPPES", "VEILLE_CENTRE_MIRAMAS", "VEILLE_VAUBAN", "VEILLE_CROIZAT"])
        .any()
    )
    assert (c["intervalle_bas"] <= c["valeur"]).all()
    assert (c["valeur"] <= c["intervalle_haut"]).all()
    r = synthese[
        (synthese["territoire_code"] == "VEILLE_MOLIERES")
        & (synthese["indicateur"] == "taux_emploi_1564")
        & (synthese["reference_niveau"] == "commune")
    ].iloc[0]
    assert r["methode"].startswith("correction") and pd.notna(r["valeur_non_corrigee"])
    # official QPV values stay the headline of the QPV
    q = synthese[(synthese["niveau"] == "qpv") & (synthese["indicateur"] == "taux_emploi_1564")]
    assert set(q["statut"]) == {"officiel"}
    fiche = (sortie / "2022/fiches/VEILLE_MOLIERES.html").read_text(encoding="utf-8")
    assert "intervalle à 80 %" in fiche


def test_fichiers_des_partenaires(sortie):
    import geopandas as gpd
    import openpyxl

    g = gpd.read_file(sortie / "tables/observatoire.gpkg", layer="qpv").set_index("territoire_code")
    assert g.loc["QN01371N", "part_etrangers_2020"] == 21.3
    assert g.loc["QN01371N", "part_etrangers_2020_statut"] == "officiel"
    assert g.loc["QN01371N", "part_etrangers_2020_fiabilite"] == "bonne"
    # published precision: one decimal for shares
    taux = g["part_etrangers_2022"].dropna()
    assert (taux.round(1) == taux).all()
    wb = openpyxl.load_workbook(sortie / "tables/observatoire.xlsx", read_only=True)
    assert {"synthese", "avertissements", "qualite"} <= set(wb.sheetnames)
    entetes = [c.value for c in next(wb["ecarts"].iter_rows(max_row=1))]
    assert "valeur_statut" in entetes
    lignes = list(wb["ecarts"].iter_rows(values_only=True))
    i = entetes.index("indicateur")
    assert not any(r[i] in ("population", "nombre_menages") for r in lignes[1:])
