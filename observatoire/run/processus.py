"""Background processes of a run: forked on the second core, stopped with the run.

The sheets are drawn while the maps are drawn, and the XLSX workbook (openpyxl is pure
Python, ≈ 2 s) is written after them, each in a forked child. A child dies with the run
if the run is killed (Linux), and is stopped by the run's cleanups if a step fails.
Where ``fork`` is not available the caller does the work itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from observatoire.run.contexte import Contexte

__all__ = ["lancer_enfant", "attendre_enfant", "mourir_avec_le_parent"]


def mourir_avec_le_parent() -> None:
    """In a forked child: die with the run if it is killed (``kill -9``), on Linux."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # pragma: no cover - best effort
            pass


def lancer_enfant(ctx: Contexte, nom: str, cible: Callable, args: tuple) -> bool:
    """Run ``cible(*args)`` in a forked process kept as ``ctx.enfants[nom]``; False if no fork.

    The process is a daemon and is stopped by the run's cleanups when a step fails.
    """
    import multiprocessing as mp

    try:
        contexte = mp.get_context("fork")
    except ValueError:
        return False
    proc = contexte.Process(target=cible, args=args, name=f"observatoire-{nom}", daemon=True)
    proc.start()
    ctx.enfants[nom] = proc

    def arreter():
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=10)

    ctx.nettoyages.append(arreter)
    return True


def attendre_enfant(ctx: Contexte, nom: str, quoi: str) -> bool:
    """Wait for the run's process ``nom``; False if there is none. A failure raises."""
    proc = ctx.enfants.pop(nom, None)
    if proc is None:
        return False
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(
            f"l'écriture de {quoi} a échoué dans le processus d'arrière-plan "
            f"(code de sortie {proc.exitcode}) ; voir les messages ci-dessus"
        )
    return True
