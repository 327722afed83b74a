"""Integrity of the files the observatory reads: sha256 checked before any read.

Every file taken from the download cache is checked against the sha256 recorded in
the cache index when it was installed; every file of a local store is checked
against the sha256 of the store's catalogue. A mismatch raises
:class:`ErreurIntegrite` naming the file, both checksums and what to do.

Hashing is memoised *within a process* (one run hashes each file once, however
many times it is resolved): the memo is keyed by the resolved path, inode, size,
``mtime_ns`` and ``ctime_ns``. ``ctime`` is set by the kernel on every write and
cannot be set back by a user (``touch -d`` sets ``mtime`` only), so an edit that
keeps the size and restores the ``mtime`` still changes the key and the file is
hashed again. Nothing is memoised across runs: every run hashes its inputs.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

from observatoire.rapport import ErreurDonnees

__all__ = [
    "ErreurIntegrite",
    "sha256_memo",
    "sha256_chemin",
    "verifier_sha256",
    "valider_id_source",
    "chemin_dans_magasin",
]

_BLOC = 1 << 20
_MEMO: dict[tuple, str] = {}
_VERROU = threading.Lock()
_ID_SUR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ErreurIntegrite(ErreurDonnees):
    """A cached or catalogued file does not have the sha256 it was recorded with."""


def _cle(p: Path) -> tuple:
    st = p.stat()
    return (str(p), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def sha256_memo(chemin: str | os.PathLike) -> str:
    """Return the sha256 of a file, hashing it at most once per process and file state.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a"; _ = p.write_bytes(b"abc")
    >>> sha256_memo(p)[:16]
    'ba7816bf8f01cfea'
    >>> _ = p.write_bytes(b"abd"); sha256_memo(p)[:16] != 'ba7816bf8f01cfea'
    True
    """
    p = Path(chemin).resolve()
    cle = _cle(p)
    with _VERROU:
        connu = _MEMO.get(cle)
    if connu is not None:
        return connu
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while morceau := f.read(_BLOC):
            h.update(morceau)
    somme = h.hexdigest()
    if _cle(p) == cle:  # unchanged while it was read
        with _VERROU:
            _MEMO[cle] = somme
    return somme


def sha256_chemin(chemin: str | os.PathLike) -> str:
    """Return the sha256 of a file, or of a folder (relative paths and file sums, sorted)."""
    p = Path(chemin)
    if not p.is_dir():
        return sha256_memo(p)
    h = hashlib.sha256()
    for f in sorted(q for q in p.rglob("*") if q.is_file()):
        h.update(f.relative_to(p).as_posix().encode())
        h.update(sha256_memo(f).encode())
    return h.hexdigest()


def verifier_sha256(chemin: str | os.PathLike, attendu: str, *, quoi: str, remede: str) -> str:
    """Hash ``chemin`` and compare it with ``attendu``; return the sha256.

    Parameters
    ----------
    quoi : str
        What the expected value is (``"the cache index /x/index.json"``...), for the message.
    remede : str
        What the user should do on a mismatch.

    Raises
    ------
    ErreurIntegrite
        Naming the file, both checksums and ``remede``.
    """
    somme = sha256_chemin(chemin)
    if somme != attendu:
        raise ErreurIntegrite(
            f"{chemin} : sha256 {somme} au lieu de {attendu} enregistré dans {quoi} : le fichier "
            f"a été modifié après son enregistrement et n'est pas lu. {remede}"
        )
    return somme


def valider_id_source(source_id: str) -> str:
    """Refuse a source id that could name a path (separators, ``..``, leading dot).

    Examples
    --------
    >>> valider_id_source("qpv_2024_dep13")
    'qpv_2024_dep13'
    >>> valider_id_source("../etc")
    Traceback (most recent call last):
    ...
    observatoire.sources.integrite.ErreurIntegrite: id de source invalide '../etc' \
(attendu : lettres, chiffres, '_', '-' ou '.', sans '..' ni séparateur de chemin)
    """
    if not isinstance(source_id, str) or not _ID_SUR.match(source_id) or ".." in source_id:
        raise ErreurIntegrite(
            f"id de source invalide {source_id!r} (attendu : lettres, chiffres, '_', '-' ou '.', "
            "sans '..' ni séparateur de chemin)"
        )
    return source_id


def chemin_dans_magasin(
    magasin: str | os.PathLike, relatif: str, *, source_id: str, catalogue: str
) -> Path:
    """Resolve a catalogue path inside a local store, refusing links that lead out of it.

    Raises
    ------
    ErreurIntegrite
        The resolved file (symbolic links followed) is outside the store.
    """
    racine = Path(magasin).resolve()
    chemin = Path(magasin) / relatif
    reel = chemin.resolve()
    if reel != racine and racine not in reel.parents:
        raise ErreurIntegrite(
            f"{chemin} : le fichier de la source {source_id!r} (catalogue {catalogue}) mène à "
            f"{reel}, hors du magasin local {racine} (lien symbolique ?) ; il n'est pas lu"
        )
    return chemin
