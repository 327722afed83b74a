"""HTTP acquisition against a local server on 127.0.0.1 serving ../shared/data.

Official hosts are unreachable from CI: these tests exercise the same code path
(streamed download, checksum, interruption and resume, first-download pinning, archive
extraction, CLI) with a registry whose URLs point at the local server.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from serveur_http import ServeurLocal

from observatoire.cli import main
from observatoire.rapport import Rapport
from observatoire.sources import (
    Cache,
    ErreurSomme,
    ErreurTelechargement,
    chemin_source,
    recuperer,
    territoire,
)
from observatoire.sources.registre import charger_registre

IRIS = "/iris/iris_2020_dep13_generalise.geojson"
QPV = "/qpv/qpv2024_istres_miramas_psl_anct_simplifie.geojson"
# sha256 of the shared store's files (same values as catalogues/shared_data.yaml)
SHA_IRIS = "680954a524990cc2d981fa6cb8f3fccb29046a9c715851672e6729a66c548fb9"
SHA_QPV = "8d0dd97be510ba72aa763f88e5d879e152ed3a91d0153d697d5c6788ac296162"


@pytest.fixture
def serveur(donnees):
    with ServeurLocal(donnees) as s:
        yield s


def _registre(tmp_path: Path, url: str, **sources) -> Path:
    """Write a registry with one entry per keyword: id -> dict of overrides."""
    entrees = []
    for sid, champs in sources.items():
        entree = {
            "id": sid,
            "producteur": "test",
            "jeu": "test",
            "rubrique": champs.pop("rubrique", "iris"),
            "acces": {"type": "fichier", "url": url + champs.pop("chemin")},
            "format": champs.pop("format", "geojson"),
            "licence": "Licence Ouverte",
        }
        if "parametres" in champs:
            entree["acces"]["type"] = "api"
            entree["acces"]["parametres"] = champs.pop("parametres")
        entree.update(champs)
        entrees.append(entree)
    chemin = tmp_path / f"registre_{len(list(tmp_path.glob('registre_*')))}.yaml"
    chemin.write_text(yaml.safe_dump({"sources": entrees}, allow_unicode=True), encoding="utf-8")
    return chemin


def _rien_dans_le_cache(cache: Path, sid: str) -> None:
    c = Cache(cache)
    assert c.entree(sid) is None
    assert not (cache / "iris" / sid).exists()
    assert not list(cache.rglob("*.part"))
    with pytest.raises(ValueError, match="n'est pas dans le cache"):
        chemin_source(sid, cache=cache)


def test_telechargement_ok_et_empreinte_premiere(serveur, tmp_path, donnees):
    reg = _registre(
        tmp_path,
        serveur.url,
        iris_test={"chemin": IRIS, "sha256": SHA_IRIS},
        qpv_test={"chemin": QPV, "rubrique": "qpv_perimetres"},
    )
    cache = tmp_path / "cache"
    res = recuperer(["iris_test", "qpv_test"], registre=reg, cache=cache)
    assert [r.statut for r in res] == ["telecharge", "telecharge"]
    p = chemin_source("iris_test", cache=cache)
    assert p == cache / "iris" / "iris_test" / "iris_2020_dep13_generalise.geojson"
    assert p.read_bytes() == (donnees / IRIS.lstrip("/")).read_bytes()
    assert res[0].sha256 == SHA_IRIS
    # no published checksum for qpv_test: the first download's sha256 is pinned
    c = Cache(cache)
    assert c.empreinte("qpv_test")["sha256"] == SHA_QPV
    assert c.empreinte("iris_test") is None  # the registry's own sha256 is authoritative
    assert c.entree("qpv_test")["origine"].endswith(QPV)
    # a second fetch does not download again
    n = len(serveur.journal)
    (r2,) = recuperer(["qpv_test"], registre=reg, cache=cache)
    assert r2.statut == "deja_en_cache" and len(serveur.journal) == n


def test_somme_fausse_erreur_claire_et_cache_vide(serveur, tmp_path):
    reg = _registre(tmp_path, serveur.url, iris_test={"chemin": IRIS, "sha256": "0" * 64})
    cache = tmp_path / "cache"
    with pytest.raises(ErreurSomme, match=r"sha256 discordant : attendu 0{64}, reçu " + SHA_IRIS):
        recuperer(["iris_test"], registre=reg, cache=cache)
    _rien_dans_le_cache(cache, "iris_test")


def test_telechargement_interrompu_repris_par_range(serveur, tmp_path, donnees):
    reg = _registre(tmp_path, serveur.url, iris_test={"chemin": IRIS, "sha256": SHA_IRIS})
    cache = tmp_path / "cache"
    serveur.couper(IRIS, fois=1)
    rapport = Rapport()
    (r,) = recuperer(["iris_test"], registre=reg, cache=cache, rapport=rapport)
    assert r.sha256 == SHA_IRIS
    taille = (donnees / IRIS.lstrip("/")).stat().st_size
    requetes = [j for j in serveur.journal if j["chemin"] == IRIS]
    assert len(requetes) == 2
    assert requetes[0]["range"] is None
    # the second request asks for the bytes after those received (the server cut at half;
    # at most one 64 KiB read block in flight is lost)
    debut = int(requetes[1]["range"].removeprefix("bytes=").removesuffix("-"))
    assert taille // 2 - 64 * 1024 <= debut <= taille // 2
    assert any("repris à l'octet" in e.message for e in rapport.evenements)
    assert chemin_source("iris_test", cache=cache).stat().st_size == taille


def test_interruption_persistante_aucun_fichier_complet_puis_reprise(serveur, tmp_path):
    reg = _registre(tmp_path, serveur.url, iris_test={"chemin": IRIS, "sha256": SHA_IRIS})
    cache = tmp_path / "cache"
    serveur.couper(IRIS, fois=10)
    with pytest.raises(ErreurTelechargement, match="échec du téléchargement après 2 tentative"):
        recuperer(["iris_test"], registre=reg, cache=cache, essais=2)
    # only a .part file in the staging area: the source is not in the cache
    parts = list(cache.rglob("*.part"))
    assert len(parts) == 1 and parts[0].parent == cache / ".tmp"
    assert Cache(cache).entree("iris_test") is None
    assert not (cache / "iris").exists()
    with pytest.raises(ValueError, match="n'est pas dans le cache"):
        chemin_source("iris_test", cache=cache)
    # the server recovers: the next fetch resumes from the partial file
    serveur.couper(IRIS, fois=0)
    (r,) = recuperer(["iris_test"], registre=reg, cache=cache)
    assert r.sha256 == SHA_IRIS and r.reprises == 1
    assert not list(cache.rglob("*.part"))


def test_reprise_apres_republication_ne_melange_pas_deux_versions(serveur, tmp_path, donnees):
    """If-Range: a partial file of the old version is not completed with the new one."""
    reg = _registre(tmp_path, serveur.url, iris_test={"chemin": IRIS})
    cache = tmp_path / "cache"
    serveur.couper(IRIS, fois=10)
    with pytest.raises(ErreurTelechargement):
        recuperer(["iris_test"], registre=reg, cache=cache, essais=1)
    assert next(cache.rglob("*.part")).stat().st_size > 0
    nouveau = donnees / "admin" / "communes-13-bouches-du-rhone.geojson"
    serveur.remplacer(IRIS, nouveau)
    serveur.couper(IRIS, fois=0)
    (r,) = recuperer(["iris_test"], registre=reg, cache=cache)
    # the client asked to resume, but only if unchanged: the server sent the whole new file
    assert serveur.journal[-1]["range"] is not None and serveur.journal[-1]["if_range"]
    assert chemin_source("iris_test", cache=cache).read_bytes() == nouveau.read_bytes()
    assert r.reprises == 0


def test_partiel_d_une_autre_url_jete(serveur, tmp_path):
    reg = _registre(tmp_path, serveur.url, iris_test={"chemin": IRIS, "sha256": SHA_IRIS})
    cache = tmp_path / "cache"
    serveur.couper(IRIS, fois=10)
    with pytest.raises(ErreurTelechargement):
        recuperer(["iris_test"], registre=reg, cache=cache, essais=1)
    (part,) = cache.rglob("*.part")
    etat = part.with_name(part.name + ".json")
    etat.write_text(etat.read_text().replace("/iris/", "/ancienne/"))
    serveur.couper(IRIS, fois=0)
    (r,) = recuperer(["iris_test"], registre=reg, cache=cache)
    assert serveur.journal[-1]["range"] is None and r.sha256 == SHA_IRIS


def test_serveur_sans_range_telechargement_recommence(serveur, tmp_path):
    serveur.httpd.accepter_range = False
    reg = _registre(tmp_path, serveur.url, iris_test={"chemin": IRIS, "sha256": SHA_IRIS})
    serveur.couper(IRIS, fois=1)
    (r,) = recuperer(["iris_test"], registre=reg, cache=tmp_path / "cache")
    assert r.sha256 == SHA_IRIS and r.reprises == 0


def test_nouvelle_publication_refusee_contre_empreinte(serveur, tmp_path, donnees):
    reg = _registre(tmp_path, serveur.url, qpv_test={"chemin": QPV, "rubrique": "qpv_perimetres"})
    cache = tmp_path / "cache"
    recuperer(["qpv_test"], registre=reg, cache=cache)
    avant = chemin_source("qpv_test", cache=cache).read_bytes()
    # the "producer" now serves different content at the same URL
    serveur.remplacer(QPV, donnees / "qpv" / "qpv2024_dep13_anct_simplifie.geojson")
    with pytest.raises(ErreurSomme, match="celle du premier téléchargement, enregistrée le"):
        recuperer(["qpv_test"], registre=reg, cache=cache, forcer=True)
    # the cached copy is untouched, no partial file left
    assert chemin_source("qpv_test", cache=cache).read_bytes() == avant
    assert not list(cache.rglob("*.part"))
    # accepting the new publication replaces the pin
    (r,) = recuperer(
        ["qpv_test"], registre=reg, cache=cache, forcer=True, renouveler_empreinte=True
    )
    assert Cache(cache).empreinte("qpv_test")["sha256"] == r.sha256 != SHA_QPV


def test_archive_zip_telechargee_et_extraite(tmp_path, donnees):
    racine = tmp_path / "site"
    racine.mkdir()
    with zipfile.ZipFile(racine / "qp.zip", "w") as z:
        z.write(donnees / QPV.lstrip("/"), "GEOJSON/qpv.geojson")
        z.writestr("GEOJSON/lisezmoi.txt", "x")
    with ServeurLocal(racine) as s:
        reg = _registre(
            tmp_path,
            s.url,
            qpv_zip={
                "chemin": "/qp.zip",
                "format": "zip",
                "fichier": "**/*.geojson",
                "rubrique": "qpv_perimetres",
            },
        )
        (r,) = recuperer(["qpv_zip"], registre=reg, cache=tmp_path / "cache")
    p = chemin_source("qpv_zip", cache=tmp_path / "cache")
    assert p.name == "qpv.geojson"
    assert hashlib.sha256(p.read_bytes()).hexdigest() == SHA_QPV
    assert r.sha256 == hashlib.sha256((racine / "qp.zip").read_bytes()).hexdigest()
    assert not (p.parent.parent.parent / "qp.zip").exists()  # archive removed once extracted


def test_parametres_wfs_remplis_depuis_le_territoire(serveur, tmp_path):
    reg = _registre(
        tmp_path,
        serveur.url,
        iris_wfs={
            "chemin": IRIS,
            "parametres": {"CQL_FILTER": "code_insee IN ({communes_cql})"},
            "stable": False,
        },
    )
    terr = territoire()
    recuperer(["iris_wfs"], registre=reg, cache=tmp_path / "cache", terr=terr)
    requete = serveur.journal[-1]["requete"]
    assert "CQL_FILTER=code_insee+IN+%28%2713047%27%2C%2713063%27" in requete
    assert Cache(tmp_path / "cache").empreinte("iris_wfs") is None  # service output: not pinned


def test_source_manuelle_message_clair(tmp_path):
    with pytest.raises(ErreurTelechargement, match="n'a pas de téléchargement direct.*insee.fr"):
        recuperer(["insee_qpv2024_population"], cache=tmp_path)
    assert charger_registre()["insee_qpv2024_population"].page.startswith("https://www.insee.fr")


def test_cli_fetch_http_puis_list(serveur, tmp_path):
    reg = _registre(tmp_path, serveur.url, iris_test={"chemin": IRIS})
    cache = tmp_path / "cache"
    run = CliRunner().invoke(
        main,
        [
            "data",
            "fetch",
            "--registre",
            str(reg),
            "--sources",
            "iris_test",
            "--cache-dir",
            str(cache),
        ],
    )
    assert run.exit_code == 0, run.output
    assert "telecharge" in run.output and "1/1 source(s)" in run.output
    liste = CliRunner().invoke(main, ["data", "list", "--cache-dir", str(cache)])
    assert liste.exit_code == 0
    assert f"Cache : {cache.resolve()}" in liste.output
    assert SHA_IRIS in liste.output and "iris_test" in liste.output


def test_cli_fetch_somme_fausse_code_retour(serveur, tmp_path):
    reg = _registre(tmp_path, serveur.url, iris_test={"chemin": IRIS, "sha256": "f" * 64})
    run = CliRunner().invoke(
        main,
        [
            "data",
            "fetch",
            "--registre",
            str(reg),
            "--sources",
            "iris_test",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
    )
    assert run.exit_code == 1
    assert "sha256 discordant" in run.output and "1 source(s) en échec : iris_test" in run.output
    _rien_dans_le_cache(tmp_path / "cache", "iris_test")


def test_http_404_erreur_sans_nouvel_essai(serveur, tmp_path):
    reg = _registre(tmp_path, serveur.url, absent={"chemin": "/iris/absent.geojson"})
    with pytest.raises(ErreurTelechargement, match=r"absent.geojson : HTTP 404"):
        recuperer(["absent"], registre=reg, cache=tmp_path / "cache", essais=3)
    assert len([j for j in serveur.journal if j["chemin"] == "/iris/absent.geojson"]) == 1
    _rien_dans_le_cache(tmp_path / "cache", "absent")


def test_hote_injoignable_erreur_claire(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    reg = _registre(tmp_path, f"http://127.0.0.1:{port}", loin={"chemin": "/a.geojson"})
    with pytest.raises(
        ErreurTelechargement, match="échec du téléchargement après 2 tentative.*ConnectionError"
    ):
        recuperer(["loin"], registre=reg, cache=tmp_path / "cache", essais=2)
    _rien_dans_le_cache(tmp_path / "cache", "loin")
