"""`observatoire data fetch --from`, `list` and `summary` on the default territory (offline)."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from observatoire.cli import main
from observatoire.rapport import ErreurDonnees
from observatoire.sources import Cache, ErreurSomme, chemin_source, recuperer, territoire
from observatoire.sources.resume import resumer_territoire


def test_fetch_from_territoire_par_defaut_hors_ligne(donnees, tmp_path):
    cache = tmp_path / "cache"
    run = CliRunner().invoke(
        main, ["data", "fetch", "--from", str(donnees), "--cache-dir", str(cache)]
    )
    assert run.exit_code == 0, run.output
    ids = territoire().sources_locales
    assert f"{len(ids)}/{len(ids)} source(s) en cache" in run.output
    c = Cache(cache)
    for sid in ids:
        p = chemin_source(sid, cache=cache)
        assert p.read_bytes() == chemin_source(sid, depuis=donnees).read_bytes(), sid
        assert c.entree(sid)["origine"].startswith(str(donnees.resolve()))
    assert chemin_source("iris_contours_2014_dep13", cache=cache).parent == (
        cache / "iris" / "iris_contours_2014_dep13"
    )
    assert c.entree("iris_contours_2014_dep13")["couche"] == "iris_dep13"
    # second run: nothing copied again
    run2 = CliRunner().invoke(
        main, ["data", "fetch", "--from", str(donnees), "--cache-dir", str(cache)]
    )
    assert run2.output.count("deja_en_cache") == len(ids)
    liste = CliRunner().invoke(main, ["data", "list", "--cache-dir", str(cache)])
    assert liste.exit_code == 0
    assert "7c469b66941f3c321a8177f2da7f3e278033752a842d2081810bf19852c4f3b7" in liste.output
    assert "millésime 2014" in liste.output and "joelgombin/inegalitesAMP" in liste.output


def test_cache_dir_par_variable_environnement(donnees, tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_CACHE", str(tmp_path / "env"))
    recuperer(["communes_dep13"], depuis=donnees)
    assert chemin_source("communes_dep13").is_relative_to(tmp_path / "env")
    run = CliRunner().invoke(main, ["data", "list"])
    assert f"Cache : {(tmp_path / 'env').resolve()}" in run.output


def test_fichier_local_modifie_refuse_rien_copie(donnees, tmp_path):
    magasin = tmp_path / "magasin"
    (magasin / "admin").mkdir(parents=True)
    cible = magasin / "admin" / "communes-13-bouches-du-rhone.geojson"
    shutil.copyfile(donnees / "admin" / "communes-13-bouches-du-rhone.geojson", cible)
    with open(cible, "ab") as f:
        f.write(b" ")
    with pytest.raises(ErreurSomme, match="communes_dep13.*attend b2429cf9.*rien n'a été copié"):
        recuperer(["communes_dep13"], depuis=magasin, cache=tmp_path / "cache")
    assert Cache(tmp_path / "cache").entree("communes_dep13") is None
    assert not (tmp_path / "cache" / "admin").exists()


def test_summary_from_valeurs_du_territoire(donnees):
    res = resumer_territoire(territoire(), depuis=donnees)
    com = res.communes.set_index("code_commune")
    assert list(com.index) == ["13047", "13063", "13078", "13039", "13044", "13029"]
    # PROVENANCE.md: Istres 17 IRIS and Miramas 10 in the 2020 layer, Port-Saint-Louis 4
    assert com.loc[["13047", "13063", "13078"], "n_iris_2020"].tolist() == [17, 10, 4]
    # RP 2016 type-H IRIS: Istres 42,607, Miramas 25,583, Port-Saint-Louis 8,519
    assert com.loc["13047", "pop_rp2016_iris_h"] == pytest.approx(42607, abs=1)
    assert com.loc["13063", "pop_rp2016_iris_h"] == pytest.approx(25583, abs=1)
    assert com.loc["13078", "pop_rp2016_iris_h"] == pytest.approx(8519, abs=1)
    # Grans and Cornillon-Confoux have no type-H IRIS: missing, never 0
    assert com.loc[["13044", "13029"], "pop_rp2016_iris_h"].isna().all()
    # ptod P22_POP: Istres 44,044, Miramas 25,890, Port-Saint-Louis 8,510
    assert com.loc[["13047", "13063", "13078"], "pop_2022"].tolist() == [44044, 25890, 8510]
    # the six communes ≈ 355 km² (PROVENANCE: dissolved SAN perimeter)
    assert com["surface_km2"].sum() == pytest.approx(355, abs=2)
    q = res.qpv.set_index("code_zone")
    assert sorted(q.index) == ["QN01365M", "QN01366I", "QN01367M", "QN01371N"]
    assert q.loc["QN01365M", "pop_mun"] == 3027 and q.loc["QN01367M", "pop_mun"] == 6885
    assert q.loc["QN01365M", "surface_ha"] == pytest.approx(18.45, abs=0.05)


def test_summary_cli_depuis_le_cache_puis_cache_vide(donnees, tmp_path):
    cache = tmp_path / "cache"
    vide = CliRunner().invoke(main, ["data", "summary", "--cache-dir", str(cache)])
    assert vide.exit_code == 1
    assert (
        "n'est pas dans le cache de téléchargement" in vide.output
        and "observatoire data fetch" in vide.output
    )
    CliRunner().invoke(main, ["data", "fetch", "--from", str(donnees), "--cache-dir", str(cache)])
    run = CliRunner().invoke(main, ["data", "summary", "--cache-dir", str(cache)])
    assert run.exit_code == 0, run.output
    assert "Istres" in run.output and "42,607.2" in run.output
    assert "QN01365M" in run.output and "Le Prépaou" in run.output


def test_chemin_source_absent_du_cache_message(tmp_path):
    with pytest.raises(ErreurDonnees, match="--sources ptod_iris_dep13 --from DIR"):
        chemin_source("ptod_iris_dep13", cache=tmp_path)


def test_cli_sources_registre_et_catalogue(donnees):
    run = CliRunner().invoke(main, ["data", "sources"])
    assert run.exit_code == 0
    assert "ign_contours_iris_wfs" in run.output and "https://data.geopf.fr/wfs/ows" in run.output
    run = CliRunner().invoke(main, ["data", "sources", "--from", str(donnees)])
    assert run.exit_code == 0
    assert run.output.count(" ok ") == 35 and "ABSENT" not in run.output


def test_fetch_et_summary_autre_territoire_par_config(donnees, tmp_path):
    cache = tmp_path / "cache"
    args = ["--config", "pays_de_martigues", "--cache-dir", str(cache)]
    run = CliRunner().invoke(main, ["data", "fetch", "--from", str(donnees), *args])
    assert run.exit_code == 0, run.output
    run = CliRunner().invoke(main, ["data", "summary", *args])
    assert run.exit_code == 0, run.output
    assert "Pays de Martigues — 3 communes" in run.output
    assert "Martigues" in run.output and "Istres" not in run.output
