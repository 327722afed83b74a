"""Pairwise shapely overlays spread over threads.

Shapely 2 releases the GIL inside GEOS, so a vectorised operation split into
blocks runs on every core with threads (no pickling, no copies). Blocks are cut
so that each holds about the same number of vertices, the cost driver of an overlay.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

__all__ = ["intersection_par_blocs", "nombre_fils"]

#: Below this many pairs one thread is faster (thread start-up, block bookkeeping).
PAIRES_MIN_PAR_FIL = 2_000


def nombre_fils() -> int:
    """Threads to use: ``OBSERVATOIRE_FILS`` if set (``1`` disables), else the usable cores."""
    valeur = os.environ.get("OBSERVATOIRE_FILS")
    if valeur:
        try:
            return max(1, int(valeur))
        except ValueError:
            raise ValueError(
                f"OBSERVATOIRE_FILS doit être un nombre entier de fils d'exécution, reçu {valeur!r}"
            ) from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def intersection_par_blocs(a: np.ndarray, b: np.ndarray, *, fils: int | None = None) -> np.ndarray:
    """``shapely.intersection(a, b)`` element-wise, computed in blocks over threads.

    Same result, element for element, as the single call (each pair is computed once,
    by the same GEOS function); only the wall time changes.

    Examples
    --------
    >>> from shapely import box
    >>> a = np.array([box(0, 0, 2, 2)] * 3)
    >>> b = np.array([box(1, 1, 3, 3), box(5, 5, 6, 6), box(0, 0, 1, 1)])
    >>> shapely.area(intersection_par_blocs(a, b, fils=2)).tolist()
    [1.0, 0.0, 1.0]
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    if len(a) != len(b):
        raise ValueError(f"intersection_par_blocs : {len(a)} et {len(b)} géométries")
    fils = nombre_fils() if fils is None else max(1, fils)
    fils = min(fils, len(a) // PAIRES_MIN_PAR_FIL) if fils > 1 else 1
    if fils <= 1:
        return shapely.intersection(a, b)
    # equal vertex counts per block; a few more blocks than threads to even out the tail
    cout = np.cumsum(shapely.get_num_coordinates(a) + shapely.get_num_coordinates(b))
    bornes = np.searchsorted(cout, np.linspace(0, cout[-1], 2 * fils + 1)[1:-1])
    bornes = np.unique(np.concatenate([[0], bornes, [len(a)]]))
    blocs = list(zip(bornes[:-1], bornes[1:], strict=True))
    out = np.empty(len(a), dtype=object)
    with ThreadPoolExecutor(max_workers=fils) as pool:
        for (i, j), res in zip(
            blocs,
            pool.map(lambda ij: shapely.intersection(a[ij[0] : ij[1]], b[ij[0] : ij[1]]), blocs),
            strict=True,
        ):
            out[i:j] = res
    return out
