"""Safe extraction of downloaded archives (.zip and .7z).

Every member name is checked *before* anything is written: absolute paths, drive
letters, ``..`` components and symbolic links are refused, as is an archive whose
declared uncompressed size exceeds a limit (zip bombs). Extraction goes to a
temporary folder next to the destination, renamed into place only when complete.
Nested archives (an INSEE zip wrapping a 7z) are extracted in turn.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from observatoire.rapport import ErreurDonnees

__all__ = ["type_archive", "verifier_nom_membre", "extraire_archive", "TAILLE_MAX"]

#: Largest total uncompressed size accepted (bytes): the national IRIS archives are < 2 GB.
TAILLE_MAX = 20 * 1024**3

_MAGIE_7Z = b"7z\xbc\xaf\x27\x1c"


def type_archive(chemin: str | os.PathLike) -> str | None:
    """Return ``"zip"``, ``"7z"`` or ``None`` from the file's first bytes (not its name).

    Examples
    --------
    >>> import io, tempfile, zipfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(d / "a.bin", "w") as z:
    ...     z.writestr("x.txt", "x")
    >>> _ = (d / "b.geojson").write_text("{}")
    >>> type_archive(d / "a.bin"), type_archive(d / "b.geojson")
    ('zip', None)
    """
    with open(chemin, "rb") as f:
        debut = f.read(8)
    if debut.startswith(_MAGIE_7Z):
        return "7z"
    if debut.startswith(b"PK\x03\x04") or debut.startswith(b"PK\x05\x06"):
        return "zip"
    return None


def verifier_nom_membre(nom: str, *, archive: str = "archive") -> PurePosixPath:
    """Return a member name as a safe relative path, or raise.

    Examples
    --------
    >>> str(verifier_nom_membre("CONTOURS-IRIS/a.shp"))
    'CONTOURS-IRIS/a.shp'
    >>> verifier_nom_membre("../../etc/passwd", archive="a.zip")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    observatoire.rapport.ErreurDonnees: a.zip : le membre '../../etc/passwd' sort du dossier...
    """
    brut = nom.replace("\\", "/")
    p = PurePosixPath(brut)
    if (
        not brut
        or p.is_absolute()
        or (len(brut) > 1 and brut[1] == ":")
        or ".." in p.parts
        or "\x00" in brut
    ):
        raise ErreurDonnees(f"{archive} : le membre {nom!r} sort du dossier d'extraction")
    return p


def _membres_zip(z: zipfile.ZipFile, archive: str) -> list[zipfile.ZipInfo]:
    total = 0
    for info in z.infolist():
        verifier_nom_membre(info.filename, archive=archive)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ErreurDonnees(
                f"{archive} : le membre {info.filename!r} est un lien symbolique (refusé)"
            )
        total += info.file_size
    if total > TAILLE_MAX:
        raise ErreurDonnees(
            f"{archive} : la taille décompressée déclarée, {total} octets, dépasse la limite"
        )
    return z.infolist()


def _extraire_zip(chemin: Path, dest: Path) -> None:
    nom = str(chemin)
    try:
        with zipfile.ZipFile(chemin) as z:
            for info in _membres_zip(z, nom):
                cible = dest / verifier_nom_membre(info.filename, archive=nom)
                if info.is_dir():
                    cible.mkdir(parents=True, exist_ok=True)
                    continue
                cible.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(cible, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
    except zipfile.BadZipFile as exc:
        raise ErreurDonnees(f"{nom} : archive zip corrompue ({exc})") from exc


def _extraire_7z(chemin: Path, dest: Path) -> None:
    import py7zr

    nom = str(chemin)
    try:
        with py7zr.SevenZipFile(chemin, mode="r") as z:
            total = 0
            for info in z.list():
                verifier_nom_membre(info.filename, archive=nom)
                if info.is_symlink:
                    raise ErreurDonnees(
                        f"{nom} : le membre {info.filename!r} est un lien symbolique (refusé)"
                    )
                total += info.uncompressed or 0
            if total > TAILLE_MAX:
                raise ErreurDonnees(
                    f"{nom} : la taille décompressée déclarée, {total} octets, dépasse la limite"
                )
            z.reset()
            z.extractall(path=dest)
    except py7zr.exceptions.Bad7zFile as exc:
        raise ErreurDonnees(f"{nom} : archive 7z corrompue ({exc})") from exc
    # belt and braces: nothing written may resolve outside dest
    racine = dest.resolve()
    for p in dest.rglob("*"):
        if p.is_symlink() or not p.resolve().is_relative_to(racine):
            raise ErreurDonnees(
                f"{nom} : l'entrée extraite {p.name!r} sort du dossier d'extraction"
            )


def extraire_archive(
    archive: str | os.PathLike, destination: str | os.PathLike, *, profondeur: int = 2
) -> Path:
    """Extract a .zip or .7z archive safely into ``destination`` (replaced atomically).

    Parameters
    ----------
    archive : path
        The archive (its type is read from its first bytes).
    destination : path
        Folder to create; an existing folder is replaced only once extraction succeeded.
    profondeur : int
        How many levels of nested archives to extract (an archive inside is extracted
        into a folder named after it, then removed).

    Returns
    -------
    Path
        ``destination``.

    Raises
    ------
    ErreurDonnees
        Not an archive, corrupt archive, or a member that would escape the folder
        (absolute path, ``..``, symbolic link). Nothing is left at ``destination``.
    """
    archive = Path(archive)
    destination = Path(destination)
    genre = type_archive(archive)
    if genre is None:
        raise ErreurDonnees(f"{archive} : ni une archive zip ni une archive 7z")
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        (_extraire_zip if genre == "zip" else _extraire_7z)(archive, tmp)
        if profondeur > 1:
            for interne in sorted(p for p in tmp.rglob("*") if p.is_file()):
                if interne.suffix.lower() in {".zip", ".7z"} and type_archive(interne):
                    extraire_archive(interne, interne.with_suffix(""), profondeur=profondeur - 1)
                    interne.unlink()
        if destination.exists():
            ancien = destination.with_name(f".{destination.name}.ancien")
            shutil.rmtree(ancien, ignore_errors=True)
            os.replace(destination, ancien)
            os.replace(tmp, destination)
            shutil.rmtree(ancien, ignore_errors=True)
        else:
            os.replace(tmp, destination)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return destination
