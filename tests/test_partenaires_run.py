"""A partner table in the yearly run of the default territory (real geography, synthetic rows):
counts in the synthesis and on the sheets, secret, no personal field in any output."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from aides_run import dict_chemins
from click.testing import CliRunner

from observatoire.cli import main


@pytest.fixture(scope="module")
def run_partenaire(donnees, tmp_path_factory):
    from observatoire.chargement import lire_qpv

    d = tmp_path_factory.mktemp("partenaire")
    q = lire_qpv(donnees / "qpv/qpv2024_istres_miramas_psl_anct_simplifie.geojson")
    pts = q.set_index("code_zone").geometry.representative_point().to_crs("EPSG:4326")

    def points(code, n_f, n_h, nom):
        p = pts[code]
        return [
            {
                "NOM": f"{nom}{i}",
                "LON": f"{p.x:.7f}",
                "LAT": f"{p.y:.7f}",
                "SEXE": "F" if i < n_f else "H",
            }
            for i in range(n_f + n_h)
        ]

    def codes(commune, n_f, n_h):
        return [
            {"NOM": "Codé", "COMMUNE": commune, "SEXE": "F" if i < n_f else "H"}
            for i in range(n_f + n_h)
        ]

    lignes = (
        points("QN01371N", 15, 12, "Nom")
        + codes("13078", 11, 11)
        + points("QN01366I", 12, 11, "Autre")
        + codes("13047", 12, 12)
        + points("QN01365M", 5, 0, "Petit")
        + [{"NOM": "Loin", "LON": "2.3522219", "LAT": "48.8566140", "SEXE": "H"}]
    )
    pd.DataFrame(lignes).to_csv(d / "suivis_2025.csv", sep=";", index=False)
    cfg = dict_chemins(donnees)
    cfg["partenaires"] = [
        {
            "code": "suivis_ml",
            "libelle": "Jeunes suivis",
            "partenaire": "Mission locale",
            "source": str(d / "suivis_2025.csv"),
            "annee": 2025,
            "cle": ["code_commune", "coordonnees"],
            "colonnes": {"code_commune": "COMMUNE", "x": "LON", "y": "LAT"},
            "crs": "EPSG:4326",
            "sexe": {"colonne": "SEXE"},
            "denominateur": {"indicateur": "population"},
        }
    ]
    (d / "cfg.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(
        main, ["run", "--config", str(d / "cfg.yaml"), "--out", str(d / "out"), "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    coords = [f"{p.x:.7f}".encode() for p in pts] + [f"{p.y:.7f}".encode() for p in pts]
    return d, d / "out" / "san_ouest_provence", coords


def test_comptes_dans_la_synthese(run_partenaire):
    _, sortie, _ = run_partenaire
    s = pd.read_csv(sortie / "tables/synthese.csv", dtype={"territoire_code": str})
    s = s[(s["reference_niveau"] == "commune")]
    v = s.set_index(["indicateur", "territoire_code", "sexe"])
    assert v.loc[("nb_suivis_ml", "QN01371N", "ensemble"), "valeur"] == 27
    assert v.loc[("nb_suivis_ml", "QN01371N", "F"), "valeur"] == 15
    assert v.loc[("nb_suivis_ml", "QN01371N", "H"), "valeur"] == 12
    assert v.loc[("nb_suivis_ml", "QN01366I", "ensemble"), "valeur"] == 23
    # 5 rows in Le Prépaou: under 11, secret (and both sexes)
    for sexe in ("ensemble", "F", "H"):
        assert v.loc[("nb_suivis_ml", "QN01365M", sexe), "statut"] == "secret"
    # per 100 inhabitants of the QPV (official population 1,093, 2020)
    t = v.loc[("part_suivis_ml", "QN01371N", "ensemble")]
    assert t["valeur"] == pytest.approx(100 * 27 / 1093)
    assert pd.notna(t["ecart_points"])
    ind = pd.read_csv(sortie / "tables/indicateurs.csv", dtype={"territoire_code": str})
    c = ind[(ind["indicateur"] == "nb_suivis_ml") & (ind["sexe"] == "ensemble")]
    c = c.set_index("territoire_code")["valeur"]
    assert (c["13078"], c["13063"], c["13047"], c["241300177"]) == (49, 23, 29, 101)
    b = pd.read_csv(sortie / "tables/partenaires_localisation.csv")
    assert b.loc[0, "lignes"] == 102 and b.loc[0, "placees"] == 101
    assert b.loc[0, "hors_territoire"] == 1
    fiche = (sortie / "2022/fiches/QN01371N.html").read_text(encoding="utf-8")
    assert "Jeunes suivis (Mission locale)" in fiche


def test_rien_de_personnel_dans_les_sorties(run_partenaire):
    d, sortie, coords = run_partenaire
    m = json.loads((sortie / "manifest.json").read_text(encoding="utf-8"))
    assert any(e["cle"] == "partenaires[0].source" for e in m["entrees"])
    interdits = [b"Nom1", b"Autre", b"Petit", b"Loin", b"48.856614", b"2.3522219", *coords]
    for p in sortie.rglob("*"):
        if p.is_file():
            contenu = p.read_bytes()
            for mot in interdits:
                assert mot not in contenu, (p, mot)


def test_cli_localiser(run_partenaire, donnees, tmp_path):
    d, _, _ = run_partenaire
    r = CliRunner().invoke(
        main,
        [
            "partenaires",
            "localiser",
            str(d / "suivis_2025.csv"),
            "--config",
            str(d / "cfg.yaml"),
            "-o",
            str(tmp_path / "c.csv"),
        ],
    )
    assert r.exit_code == 0, r.output
    c = pd.read_csv(tmp_path / "c.csv", dtype={"territoire_code": str})
    q = c[(c["territoire_code"] == "QN01371N") & (c["sexe"] == "ensemble")]
    assert q["valeur"].tolist() == [27.0]
    assert Path(tmp_path / "c_localisation.csv").is_file()
    assert b"Nom1" not in (tmp_path / "c.csv").read_bytes()
