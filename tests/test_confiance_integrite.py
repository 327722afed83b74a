"""Checksums: a cached or catalogued file is read only if its sha256 is the recorded one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from aides_run import config_chemins
from click.testing import CliRunner

from observatoire.cli import main
from observatoire.config import charger_config
from observatoire.sources import Cache, chemin_source, recuperer
from observatoire.sources.integrite import ErreurIntegrite, sha256_memo
from observatoire.territoire.entrees import resoudre_source

CATALOGUE = (
    Path(__file__).resolve().parent.parent
    / "observatoire"
    / "sources"
    / "catalogues"
    / "shared_data.yaml"
)


def _ids_config(nom: str = "san_ouest_provence") -> list[str]:
    cfg = charger_config(nom)
    refs = [*cfg.sources.values(), *cfg.qpv.perimetres]
    return sorted({r.source for r in refs if not r.est_chemin})


def _changer_un_chiffre(p: Path) -> None:
    """Change one digit of a text file in place: same size, different content."""
    donnees = bytearray(p.read_bytes())
    i = next(i for i in range(len(donnees) - 1, 0, -1) if chr(donnees[i]).isdigit())
    donnees[i] = ord("1") if donnees[i] != ord("1") else ord("2")
    taille = p.stat().st_size
    p.chmod(0o644)
    p.write_bytes(bytes(donnees))
    assert p.stat().st_size == taille


@pytest.fixture
def magasin(tmp_path, donnees):
    """A copy of the files the default configuration reads, at the catalogue's paths."""
    cat = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))["sources"]
    racine = tmp_path / "magasin"
    for sid in _ids_config():
        rel = cat[sid]["chemin"]
        (racine / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(donnees / rel, racine / rel)
    return racine


def test_fichier_en_cache_altere_refuse_par_fetch_et_par_la_lecture(tmp_path, donnees):
    cache = tmp_path / "cache"
    (r,) = recuperer(["ptod_communes_dep13"], depuis=donnees, cache=cache)
    _changer_un_chiffre(r.chemin)
    with pytest.raises(ErreurIntegrite) as exc:
        chemin_source("ptod_communes_dep13", cache=cache)
    message = str(exc.value)
    assert str(r.chemin) in message and r.sha256 in message
    assert sha256_memo(r.chemin) in message
    assert "observatoire data fetch --sources ptod_communes_dep13 --force --from DIR" in message
    # data fetch does not answer "already in the cache" with the old checksum
    res = CliRunner().invoke(
        main,
        [
            "data",
            "fetch",
            "--sources",
            "ptod_communes_dep13",
            "--from",
            str(donnees),
            "--cache-dir",
            str(cache),
        ],
    )
    assert res.exit_code != 0
    assert "deja_en_cache" not in res.output and r.sha256 in res.output
    # --force fetches it again: the cache is right again
    (r2,) = recuperer(["ptod_communes_dep13"], depuis=donnees, cache=cache, forcer=True)
    assert r2.statut == "copie" and chemin_source("ptod_communes_dep13", cache=cache)


def test_run_sur_un_cache_altere_sort_en_4_sans_rien_ecrire(tmp_path, donnees):
    cache = tmp_path / "cache"
    recuperer(_ids_config(), depuis=donnees, cache=cache)
    p = Cache(cache).chemin("qpv2024_indicateurs_dep13")
    _changer_un_chiffre(p)
    sorties = tmp_path / "sorties"
    res = CliRunner().invoke(
        main, ["run", "--cache-dir", str(cache), "--out", str(sorties), "--no-progress"]
    )
    assert res.exit_code == 4, res.output
    assert "sources.qpv_officiel" in res.output and "sha256" in res.output
    assert not sorties.exists() or not any(sorties.rglob("*.csv"))


def test_run_depuis_un_magasin_dont_un_fichier_differe_du_catalogue(tmp_path, magasin):
    cat = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))["sources"]
    p = magasin / cat["ptod_iris_dep13"]["chemin"]
    _changer_un_chiffre(p)
    sorties = tmp_path / "sorties"
    for options in (["--check"], ["--out", str(sorties), "--no-progress"]):
        res = CliRunner().invoke(main, ["run", "--from", str(magasin), *options])
        assert res.exit_code == 4, res.output
        assert str(p) in res.output
        assert cat["ptod_iris_dep13"]["sha256"] in res.output and sha256_memo(p) in res.output
        assert "mettre à jour délibérément son sha256 dans le catalogue" in res.output
    assert not sorties.exists()


def test_fichier_donne_par_chemin_hache_et_inscrit_sans_refus(donnees):
    cfg = config_chemins(donnees)
    e = resoudre_source(cfg.sources["iris"], "sources.iris", depuis=None)
    assert e.sha256 == sha256_memo(e.chemin)


@pytest.mark.parametrize("sid", ["../etc", "a/b", "..", ".cache", "a\\b"])
def test_id_de_source_refuse(tmp_path, sid):
    with pytest.raises(ErreurIntegrite, match="id de source invalide"):
        chemin_source(sid, cache=tmp_path)
    with pytest.raises(ErreurIntegrite, match="id de source invalide"):
        Cache(tmp_path).chemin(sid)


def test_lien_symbolique_qui_sort_du_magasin_refuse(tmp_path):
    magasin = tmp_path / "magasin"
    magasin.mkdir()
    (magasin / "lien").symlink_to("/etc")
    (magasin / "catalogue.yaml").write_text(
        yaml.safe_dump(
            {
                "nom": "m",
                "sources": {
                    "fuite": {"chemin": "lien/passwd", "rubrique": "stats", "provenance": "test"}
                },
            }
        )
    )
    with pytest.raises(ErreurIntegrite, match="hors du magasin local"):
        chemin_source("fuite", depuis=magasin)
    cache = tmp_path / "cache"
    with pytest.raises(ErreurIntegrite, match="hors du magasin local"):
        recuperer(["fuite"], depuis=magasin, cache=cache)
    assert not any(p.name == "passwd" for p in cache.rglob("*"))


def test_index_garde_le_sha256_du_fichier_installe(tmp_path, donnees):
    (r,) = recuperer(["ptod_communes_dep13"], depuis=donnees, cache=tmp_path)
    idx = json.loads((tmp_path / "index.json").read_text())
    e = idx["sources"]["ptod_communes_dep13"]
    assert e["sha256_fichier"] == sha256_memo(r.chemin) == e["sha256"]
