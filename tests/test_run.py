"""The real yearly run on the default territory from ../shared/data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from aides_run import run_reel
from click.testing import CliRunner

from observatoire.cli import main
from observatoire.run import ErreurEtape, executer_run
from observatoire.run.manifeste import sha256_fichier

QPV = ["QN01365M", "QN01366I", "QN01367M", "QN01371N"]
VEILLE = [
    "VEILLE_CENTRE_MIRAMAS",
    "VEILLE_CROIZAT",
    "VEILLE_ECHOPPES",
    "VEILLE_MOLIERES",
    "VEILLE_VAUBAN",
]


@pytest.fixture(scope="module")
def sortie(donnees) -> Path:
    return run_reel(str(donnees))


def _empreintes(dossier: Path) -> dict[str, str]:
    return {
        p.relative_to(dossier).as_posix(): sha256_fichier(p)
        for p in sorted(dossier.rglob("*"))
        if p.is_file()
    }


def test_sorties_completes(sortie):
    assert sortie.name == "san_ouest_provence"
    t = sortie / "tables"
    for nom in ("indicateurs", "ecarts", "evolution_ecarts", "poids", "references"):
        assert (t / f"{nom}.csv").is_file() and (t / f"{nom}.parquet").is_file()
    assert (t / "observatoire.xlsx").is_file() and (t / "observatoire.gpkg").is_file()
    for annee in (2011, 2016, 2022):
        assert (sortie / str(annee) / "carte_indicateurs.html").is_file()
        for ref in ("commune", "epci", "departement"):
            assert (sortie / str(annee) / f"ecarts_{ref}.html").is_file()
        fiches = sorted(p.stem for p in (sortie / str(annee) / "fiches").glob("*.html"))
        assert fiches == sorted(QPV + VEILLE)
    assert (sortie / "index.html").is_file()
    assert (sortie / "manifest.json").is_file() and (sortie / "run.log").is_file()
    # nothing but the territory folder in the output root
    assert [p.name for p in sortie.parent.iterdir()] == ["san_ouest_provence"]


def test_manifeste(sortie, donnees):
    m = json.loads((sortie / "manifest.json").read_text(encoding="utf-8"))
    assert m["annees"] == [2011, 2016, 2022] == m["annees_disponibles"]
    entrees = {e["cle"]: e for e in m["entrees"]}
    iris = entrees["sources.iris"]
    assert Path(iris["chemin"]) == donnees / "iris/iris_dep13_fullres_ign_circa2014.gpkg"
    # checksum of the file read = checksum recorded in the store's catalogue
    assert iris["sha256"] == iris["provenance"]["sha256_catalogue"]
    assert iris["provenance"]["source_officielle"] == "ign_contours_iris_2014"
    assert "joelgombin/inegalitesAMP" in iris["provenance"]["provenance"]
    for e in m["entrees"]:
        assert e["sha256"] == sha256_fichier(e["chemin"])
    assert set(m["durees_s"]) == {
        "verification",
        "sources",
        "poids",
        "indicateurs",
        "ecarts",
        "tables",
        "cartes",
        "fiches",
        "classeur",
    }
    msgs = [a["message"] for a in m["avertissements"]["liste"]]
    assert any("édition 2014 de la géographie IRIS" in a for a in msgs)
    assert any("6,840 des 99,092 habitants (2016)" in a for a in msgs)
    assert any("VEILLE_VAUBAN" in a and "QN01371N" in a for a in msgs)
    assert m["avertissements"]["total"] == len(msgs)
    # the run summary shows 3 of them: calibration residual, Vauban overlap, redrawn IRIS
    from observatoire.rapport import Evenement
    from observatoire.run.executer import _avertissement_important

    affiches = [a for a in m["avertissements"]["liste"] if _avertissement_important(Evenement(**a))]
    assert [(a["etape"], a["source"]) for a in affiches] == [
        ("ponderation", "calibration"),
        ("poids", "VEILLE_VAUBAN"),
        ("poids", "130470115"),
    ]
    assert "ne peuvent contenir la population officielle" in affiches[0]["message"]
    # every output file is listed with its checksum
    assert set(m["sorties"]) == set(_empreintes(sortie)) - {"manifest.json", "run.log"}


def test_poids_reels(sortie):
    p = pd.read_csv(sortie / "tables/poids.csv", dtype={"code_iris": str})
    # La Carraire (2024 contour, = 2015) in the ~2014 IRIS layer: 77.9 % / 22.1 % of its area
    # (PROVENANCE.md; Contrat de Ville 2015: 78.9 / 21.1).
    c = p[p["code_zone"] == "QN01366I"].set_index("code_iris")["part_zone"]
    assert c["130630107"] == pytest.approx(0.779, abs=0.001)
    assert c["130630108"] == pytest.approx(0.221, abs=0.001)
    # Molières = La Rousse 1-3 minus QPV La Maille as the Filosofi 2019 grid places it
    # (La Maille itself is calibrated on its official population, which caps its weights).
    m = p[p["code_zone"] == "VEILLE_MOLIERES"].set_index("code_iris")
    for iris in ("130630102", "130630103", "130630105"):
        assert m.loc[iris, "poids"] == pytest.approx(1 - m.loc[iris, "poids_retire"], abs=1e-9)
    assert set(m["methode_retrait"]) == {"dasymetric"}
    # grid shares: ≈ 82 % of La Rousse 1-3's grid individuals are inside La Maille
    assert m["poids_retire"].round(3).tolist() == [0.993, 0.816, 0.665]
    # Échoppes: Peyreguet + Centre ancien, whole IRIS, no Bardin.
    e = p[p["code_zone"] == "VEILLE_ECHOPPES"]
    assert sorted(e["code_iris"]) == ["130470102", "130470106"] and (e["poids"] == 1).all()


def test_indicateurs_et_gpkg(sortie):
    ind = pd.read_parquet(sortie / "tables/indicateurs.parquet")
    assert {"qpv", "veille", "commune", "epci", "departement", "france", "iris"} <= set(
        ind["niveau"]
    )
    assert set(QPV) <= set(ind["territoire_code"]) and set(VEILLE) <= set(ind["territoire_code"])
    assert set(ind["statut"]) <= {
        "officiel",
        "estime",
        "estime_corrige",
        "approximation",
        "secret",
        "manquant",
    }
    # official QPV population of record beside the estimates (ANCT 2024 table)
    pop = ind[
        (ind["territoire_code"] == "QN01365M")
        & (ind["indicateur"] == "population")
        & (ind["statut"] == "officiel")
    ]
    assert pop["valeur"].tolist() == [3027.0]
    couches = set(pyogrio.list_layers(sortie / "tables/observatoire.gpkg")[:, 0])
    assert {"iris", "qpv", "veille", "commune", "epci"} <= couches
    q = gpd.read_file(sortie / "tables/observatoire.gpkg", layer="qpv")
    assert sorted(q["territoire_code"]) == QPV and q.crs.to_epsg() == 2154
    iris = gpd.read_file(sortie / "tables/observatoire.gpkg", layer="iris")
    assert len(iris) == 41


def test_second_run_sans_force_puis_avec(sortie, donnees):
    avant = _empreintes(sortie)
    r = CliRunner().invoke(main, ["run", "--from", str(donnees), "--out", str(sortie.parent)])
    assert r.exit_code == 3
    assert "des sorties existent déjà" in r.output and "tables/ (" in r.output
    assert "indicateurs.csv" in r.output and "2022/ (" in r.output
    assert _empreintes(sortie) == avant
    r = CliRunner().invoke(
        main,
        ["run", "--from", str(donnees), "--out", str(sortie.parent), "--force", "--no-progress"],
    )
    assert r.exit_code == 0, r.output
    assert "comparé aux sorties précédentes : aucun changement" in r.output
    apres = _empreintes(sortie)
    # same inputs → same bytes for every output but the manifest and the log
    diff = {k for k in set(avant) | set(apres) if avant.get(k) != apres.get(k)}
    assert diff <= {"manifest.json", "run.log", "tables/observatoire.xlsx"}


def test_echec_injecte_pendant_les_cartes(sortie, donnees, monkeypatch):
    import observatoire.cartes

    avant = _empreintes(sortie)

    def panne(*args, **kwargs):
        raise RuntimeError("panne injectée dans les cartes")

    monkeypatch.setattr(observatoire.cartes, "generer_cartes", panne)
    with pytest.raises(ErreurEtape, match="l'étape 'cartes' a échoué"):
        executer_run(None, depuis=donnees, sorties=sortie.parent, force=True, progression=False)
    assert _empreintes(sortie) == avant
    assert [p.name for p in sortie.parent.iterdir()] == ["san_ouest_provence"]


def test_run_reel_tue_pendant_les_cartes(sortie, donnees):
    """SIGKILL of a real `observatoire run --force` while it writes the maps."""
    avant = _empreintes(sortie)
    racine = sortie.parent
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "observatoire",
            "run",
            "--from",
            str(donnees),
            "--out",
            str(racine),
            "--force",
            "--no-progress",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        vu = False
        for _ in range(1800):
            if list(racine.glob(".san_ouest_provence.en-cours-*/20*/carte_indicateurs.html")):
                vu = True
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        assert vu, "the run never reached the maps step"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _empreintes(sortie) == avant
    # the dead run's folder is removed by the next run (which, without --force, stops)
    r = CliRunner().invoke(main, ["run", "--from", str(donnees), "--out", str(racine)])
    assert r.exit_code == 3
    assert [p.name for p in racine.iterdir()] == ["san_ouest_provence"]


def test_config_invalide_rien_d_ecrit(donnees, tmp_path):
    r = CliRunner().invoke(
        main, ["run", "--from", str(donnees), "--out", str(tmp_path / "o"), "--years", "2011,2019"]
    )
    assert r.exit_code == 2
    assert (
        "--years : [2019] non disponible(s) ; les sources contiennent les millésimes "
        "[2011, 2016, 2022]" in r.output
    )
    assert not (tmp_path / "o").exists()
    r = CliRunner().invoke(main, ["run", "--config", str(tmp_path / "absent.yaml")])
    assert r.exit_code == 2 and "fichier de configuration introuvable" in r.output


def test_seconde_configuration_sans_changer_le_code(donnees, tmp_path):
    r = CliRunner().invoke(
        main,
        [
            "run",
            "--config",
            "pays_de_martigues",
            "--from",
            str(donnees),
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    d = tmp_path / "pays_de_martigues"
    qpv = ["QN01320I", "QN01321I", "QN01322M", "QN01323I", "QN01324M", "QN01370N"]
    assert sorted(p.stem for p in (d / "2022" / "fiches").glob("*.html")) == qpv
    ind = pd.read_parquet(d / "tables/indicateurs.parquet")
    assert set(qpv) <= set(ind.loc[ind["niveau"] == "qpv", "territoire_code"])
    assert set(ind.loc[ind["niveau"] == "commune", "territoire_code"]) == {
        "13056",
        "13077",
        "13098",
    }


def test_script_recalcul_annuel(sortie, donnees, tmp_path):
    """The yearly script: fetch, archive last outputs, run --force, compare (no change here)."""
    import shutil

    racine = Path(__file__).resolve().parent.parent
    out = tmp_path / "maps"
    shutil.copytree(sortie, out / "san_ouest_provence")
    env = dict(
        os.environ,
        OBSERVATOIRE_CACHE=str(tmp_path / "cache"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    p = subprocess.run(
        [
            "bash",
            str(racine / "scripts/recalcul_annuel.sh"),
            "--from",
            str(donnees),
            "--out",
            str(out),
            "--archives",
            str(tmp_path / "archives"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    assert "== 4/4 what changed since" in p.stdout
    assert "fichiers : aucun changement" in p.stdout
    assert "valeurs des indicateurs : aucun changement" in p.stdout
    archives = list((tmp_path / "archives").iterdir())
    assert any(a.name.endswith(".changements.csv") for a in archives)
    assert any(a.is_dir() and a.name.startswith("san_ouest_provence-") for a in archives)


def test_notes_des_fiches(sortie):
    f = sortie / "2022" / "fiches"
    assert "Bardin (130470111)" in (f / "VEILLE_ECHOPPES.html").read_text(encoding="utf-8")
    vauban = (f / "VEILLE_VAUBAN.html").read_text(encoding="utf-8")
    assert "Chevauchement avec le QPV QN01371N" in vauban
    assert "Port-Saint-Louis Centre (130780102)" in (f / "VEILLE_CROIZAT.html").read_text(
        encoding="utf-8"
    )
    assert "Chevauchement" not in (f / "QN01365M.html").read_text(encoding="utf-8")


def test_resume_nomme_l_edition_iris(sortie):
    m = json.loads((sortie / "manifest.json").read_text(encoding="utf-8"))
    assert (
        "géographie IRIS : iris_contours_2014_dep13 (édition 2014, "
        "iris_dep13_fullres_ign_circa2014.gpkg)"
    ) in m["resume"]
