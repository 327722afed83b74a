"""Atomic replacement of a run's output folder, one run at a time per output root.

A run builds its outputs in a hidden temporary folder *next to* the target (same
file system, so a rename is atomic), then swaps it in:

- target absent: :func:`os.rename` of the temporary folder;
- target present (``--force``): on Linux, one ``renameat2(RENAME_EXCHANGE)`` system
  call swaps the two folders atomically; elsewhere the old folder is renamed aside
  first, and :func:`nettoyer_restes` puts it back if the process died between the
  two renames.

A run killed at any point therefore leaves either the previous outputs or the new
ones, never a mixture; its temporary folder is removed by the next run. Folders are
created with the permissions of the process umask (``755`` by default).
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

from observatoire.ecriture_atomique import umask

__all__ = [
    "RunEnCours",
    "verrou_sorties",
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
                f"une autre exécution d'observatoire run écrit dans {racine} ; attendre "
                "qu'elle se termine (rien n'a été modifié)"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def dossier_temporaire(cible: str | os.PathLike) -> Path:
    """Create an empty hidden folder next to ``cible`` to build it in.

    Its name carries the process id so that :func:`nettoyer_restes` can tell a
    folder of a dead run from one of a run still going.
    """
    cible = Path(cible)
    cible.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{cible.name}{_EN_COURS}{os.getpid()}-", dir=cible.parent))
    os.chmod(tmp, 0o777 & ~umask())
    return tmp


def _echanger(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False when unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    at_fdcwd, rename_exchange = -100, 2
    r = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if r == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _mettre_de_cote(ancien: Path, conserver, vers: Path | None) -> None:
    """Move the files ``conserver`` (relative paths) of ``ancien`` under ``vers``."""
    for rel in conserver or ():
        source = ancien / rel
        if vers is None or not source.is_file():
            continue
        dest = vers / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, dest)


def remplacer_dossier(
    temporaire: str | os.PathLike,
    cible: str | os.PathLike,
    *,
    conserver=(),
    vers: str | os.PathLike | None = None,
) -> None:
    """Put the finished folder ``temporaire`` in place of ``cible``, atomically.

    ``temporaire`` must be on the same file system as ``cible`` (use
    :func:`dossier_temporaire`). The previous ``cible``, if any, is deleted after
    the swap, except the files ``conserver`` (paths relative to it), moved under
    ``vers`` first. ``cible`` must not be a symbolic link (resolve it first).

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
    vers = Path(vers) if vers is not None else None
    if cible.is_symlink():
        raise ValueError(f"{cible} est un lien symbolique : le résoudre avant de le remplacer")
    if not cible.exists():
        os.rename(temporaire, cible)
        return
    if _echanger(temporaire, cible):
        # ``temporaire`` now holds the previous outputs
        _mettre_de_cote(temporaire, conserver, vers)
        shutil.rmtree(temporaire)
        return
    ancien = cible.parent / f".{cible.name}{_ANCIEN}{os.getpid()}"
    os.rename(cible, ancien)
    os.rename(temporaire, cible)
    _mettre_de_cote(ancien, conserver, vers)
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
    """Remove what interrupted runs left next to ``cible``; restore an old folder if needed.

    Call it with the output lock held (:func:`verrou_sorties`): no other run can then
    be writing next to ``cible``, so every temporary folder of ``cible`` is a
    left-over, whatever process id its name carries (ids are reused). Returns the
    paths removed or restored.
    """
    cible = Path(cible)
    faits: list[Path] = []
    if not cible.parent.is_dir():
        return faits
    for p in sorted(cible.parent.glob(f".{cible.name}{_ANCIEN}*")):
        if p.name.rsplit("-", 1)[-1] == str(os.getpid()):
            continue
        if not cible.exists():
            os.rename(p, cible)  # died between the two renames: the old outputs come back
        else:
            shutil.rmtree(p, ignore_errors=True)
        faits.append(p)
    for p in sorted(cible.parent.glob(f".{cible.name}{_EN_COURS}*")):
        shutil.rmtree(p, ignore_errors=True)
        faits.append(p)
    return faits
