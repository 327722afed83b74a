"""The cache index: atomic, locked updates; a truncated or missing file is not "in the cache"."""

from __future__ import annotations

import threading

import pytest

from observatoire.rapport import ErreurDonnees
from observatoire.sources import Cache, chemin_source


def _installer(c: Cache, sid: str, contenu: bytes = b"abc") -> None:
    d = c.preparer(sid)
    (d / "f.csv").write_bytes(contenu)
    c.installer(d, sid, "stats", fichier="f.csv", sha256="0" * 64, provenance="test")


def test_mises_a_jour_concurrentes_ne_perdent_rien(tmp_path):
    c = Cache(tmp_path)

    def travail(k):
        for i in range(5):
            _installer(Cache(tmp_path), f"s{k}_{i}")

    fils = [threading.Thread(target=travail, args=(k,)) for k in range(8)]
    for f in fils:
        f.start()
    for f in fils:
        f.join()
    assert len(c.entrees()) == 40
    assert all(c.chemin(sid) is not None for sid in c.entrees())


def test_fichier_tronque_ou_absent_n_est_pas_en_cache(tmp_path):
    c = Cache(tmp_path)
    _installer(c, "a", b"0123456789")
    p = chemin_source("a", cache=tmp_path)
    p.write_bytes(b"01234")  # truncated behind the cache's back
    assert c.chemin("a") is None
    with pytest.raises(ErreurDonnees, match="'a' n'est pas dans le cache"):
        chemin_source("a", cache=tmp_path)
    p.unlink()
    assert c.chemin("a") is None


def test_reinstallation_remplace_et_retirer(tmp_path):
    c = Cache(tmp_path)
    _installer(c, "a", b"v1")
    _installer(c, "a", b"v22")
    assert chemin_source("a", cache=tmp_path).read_bytes() == b"v22"
    assert [p.name for p in (tmp_path / "stats" / "a").iterdir()] == ["f.csv"]
    c.retirer("a")
    assert c.entree("a") is None and not (tmp_path / "stats" / "a").exists()


def test_index_corrompu_erreur_claire(tmp_path):
    (tmp_path / "index.json").write_text("{pas du json")
    with pytest.raises(
        ErreurDonnees, match="index.json : index du cache de téléchargement corrompu"
    ):
        Cache(tmp_path).entrees()
