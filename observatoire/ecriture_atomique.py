"""Atomic writes: files and whole output folders appear complete or not at all.

A run builds its outputs in a hidden temporary folder *next to* the target (same
file system, so a rename is atomic), then swaps it in:

- target absent: :func:`os.rename` of the temporary folder;
- target present (``--force``): on Linux, one ``renameat2(RENAME_EXCHANGE)`` system
  call swaps the two folders atomically; elsewhere the old folder is renamed aside
  first, and :func:`nettoyer_restes` puts it back if the process died between the
  two renames.

A run killed at any point therefore leaves either the previous outputs or the new
ones, never a mixture; its temporary folder is removed by the next run.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = [
    "RunEnCours",
    "verrou_sorties",
    "ecrire_fichier_atomique",
    "dossier_temporaire",
    "remplacer_dossier",
    "nettoyer_restes",
]

_EN_COURS = ".en-cours-"
_ANCIEN = ".ancien-"


class RunEnCours(RuntimeError):
    """Another run is writing into the same output root."""


@contextlib.contextmanager
def verrou_sorties(racine: str | os.PathLike):
    """Hold an exclusive lock on the output root for the duration of a run.

    The lock is an advisory ``flock`` on the folder itself (no lock file is left
    behind; the kernel releases it when the process dies, even with ``kill -9``).
    Where ``flock`` is not available (Windows) runs are not serialised.

    Raises
    ------
    RunEnCours
        When another process holds the lock.
    """
    racine = Path(racine)
    racine.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(racine, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunEnCours(
                f"another observatoire run is writing into {racine}; wait for it to finish "
                "(nothing was changed)"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def ecrire_fichier_atomique(chemin: str | os.PathLike, contenu: str | bytes) -> Path:
    """Write ``contenu`` to ``chemin`` through a temporary file and :func:`os.replace`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> ecrire_fichier_atomique(d / "a.txt", "bonjour").read_text()
    'bonjour'
    """
    chemin = Path(chemin)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    donnees = contenu.encode("utf-8") if isinstance(contenu, str) else contenu
    fd, tmp = tempfile.mkstemp(prefix=f".{chemin.name}.", suffix=".tmp", dir=chemin.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(donnees)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, chemin)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return chemin


def dossier_temporaire(cible: str | os.PathLike) -> Path:
    """Create an empty hidden folder next to ``cible`` to build it in.

    Its name carries the process id so that :func:`nettoyer_restes` can tell a
    folder of a dead run from one of a run still going.
    """
    cible = Path(cible)
    cible.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{cible.name}{_EN_COURS}{os.getpid()}-",
                                 dir=cible.parent))


def _echanger(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False when unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    r = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if r == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def remplacer_dossier(temporaire: str | os.PathLike, cible: str | os.PathLike) -> None:
    """Put the finished folder ``temporaire`` in place of ``cible``, atomically.

    ``temporaire`` must be on the same file system as ``cible`` (use
    :func:`dossier_temporaire`). The previous ``cible``, if any, is deleted after
    the swap.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> racine = pathlib.Path(tempfile.mkdtemp())
    >>> cible = racine / "sortie"; cible.mkdir(); _ = (cible / "vieux.txt").write_text("v")
    >>> tmp = dossier_temporaire(cible); _ = (tmp / "neuf.txt").write_text("n")
    >>> remplacer_dossier(tmp, cible)
    >>> sorted(p.name for p in racine.iterdir()), sorted(p.name for p in cible.iterdir())
    (['sortie'], ['neuf.txt'])
    """
    temporaire, cible = Path(temporaire), Path(cible)
    if not cible.exists():
        os.rename(temporaire, cible)
        return
    if _echanger(temporaire, cible):
        shutil.rmtree(temporaire)  # now holds the previous outputs
        return
    ancien = cible.parent / f".{cible.name}{_ANCIEN}{os.getpid()}"
    os.rename(cible, ancien)
    os.rename(temporaire, cible)
    shutil.rmtree(ancien)


def _pid_vivant(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def nettoyer_restes(cible: str | os.PathLike) -> list[Path]:
    """Remove what dead runs left next to ``cible``; restore an old folder if needed.

    Returns the paths removed or restored. Folders of runs still alive are left alone.
    """
    cible = Path(cible)
    faits: list[Path] = []
    if not cible.parent.is_dir():
        return faits
    for p in sorted(cible.parent.glob(f".{cible.name}{_ANCIEN}*")):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and _pid_vivant(int(pid)):
            continue
        if not cible.exists():
            os.rename(p, cible)  # died between the two renames: the old outputs come back
        else:
            shutil.rmtree(p, ignore_errors=True)
        faits.append(p)
    for p in sorted(cible.parent.glob(f".{cible.name}{_EN_COURS}*")):
        pid = p.name[len(f".{cible.name}{_EN_COURS}"):].split("-", 1)[0]
        if pid.isdigit() and _pid_vivant(int(pid)):
            continue
        shutil.rmtree(p, ignore_errors=True)
        faits.append(p)
    return faits
