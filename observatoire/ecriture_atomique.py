"""Atomic file writes: a file appears complete or not at all.

The content is written to a hidden temporary file in the target's folder (same file
system), flushed, then renamed over the target with :func:`os.replace`. A crash
never leaves a half-written file, and readers see the old or the new content.

Files are created with the permissions of the process umask (``644`` by default),
like any file a user writes, not the private ``600`` of :mod:`tempfile`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["umask", "fichier_atomique", "ecrire_fichier_atomique"]


def umask() -> int:
    """Return the process umask, read without changing it where ``/proc`` allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for ligne in f:
                if ligne.startswith("Umask:"):
                    return int(ligne.split()[1], 8)
    except (OSError, ValueError):
        pass
    ancien = os.umask(0o022)  # pragma: no cover - systems without /proc
    os.umask(ancien)
    return ancien


@contextlib.contextmanager
def fichier_atomique(chemin: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``chemin``; rename it over ``chemin`` on success.

    The temporary path keeps the target's extension (GDAL picks its driver by it) and
    does not exist yet (GDAL and openpyxl create their file themselves). On an
    exception it is removed and ``chemin`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with fichier_atomique(d / "t.csv") as tmp:
    ...     _ = tmp.write_text("a,b")
    >>> (d / "t.csv").read_text(), sorted(p.name for p in d.iterdir())
    ('a,b', ['t.csv'])
    """
    chemin = Path(chemin)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    fd, nom = tempfile.mkstemp(
        prefix=f".{chemin.stem}.", suffix=".tmp" + chemin.suffix, dir=chemin.parent
    )
    os.close(fd)
    tmp = Path(nom)
    tmp.unlink()
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, chemin)
    finally:
        tmp.unlink(missing_ok=True)


def ecrire_fichier_atomique(chemin: str | os.PathLike, contenu: str | bytes) -> Path:
    """Write ``contenu`` to ``chemin`` atomically (flushed to disk before the rename).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> ecrire_fichier_atomique(d / "a.txt", "bonjour").read_text()
    'bonjour'
    """
    donnees = contenu.encode("utf-8") if isinstance(contenu, str) else contenu
    with fichier_atomique(chemin) as tmp:
        with open(tmp, "wb") as f:
            f.write(donnees)
            f.flush()
            os.fsync(f.fileno())
    return Path(chemin)
