"""Class breaks for choropleth maps, shared across years by default.

Breaks are computed once per indicator on the values of every year pooled
together (the same breaks as :class:`mapclassify.Pooled`'s global classifier),
so a colour means the same value on the 2011, 2016 and 2022 maps. Secret and
missing values never enter the computation and get their own classes
(:data:`CLASSE_SECRET`, :data:`CLASSE_MANQUANT`), never the lowest one.

Fisher-Jenks (the default) is computed here (exact dynamic programme on the sorted
values, as :class:`mapclassify.FisherJenks`); the other schemes use mapclassify,
imported only when asked (its import costs seconds).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from observatoire.rapport import ErreurDonnees

__all__ = [
    "SCHEMAS",
    "CLASSE_SECRET",
    "CLASSE_MANQUANT",
    "calculer_bornes",
    "fisher_jenks",
    "affecter_classes",
    "bornes_ecarts",
    "affecter_classes_ecarts",
]

#: Classification schemes offered, name -> mapclassify class name.
SCHEMAS = {
    "fisher_jenks": "FisherJenks",
    "quantiles": "Quantiles",
    "intervalles_egaux": "EqualInterval",
    "manuel": "UserDefined",
}


def fisher_jenks(valeurs, k: int) -> np.ndarray:
    """Upper bounds of the ``k`` classes minimising the within-class sum of squares.

    Examples
    --------
    >>> fisher_jenks([1, 2, 3, 10, 11, 12, 30], 3).tolist()
    [3.0, 12.0, 30.0]
    """
    x = np.sort(np.asarray(valeurs, dtype="float64"))
    n = x.size
    k = int(min(k, n))
    if k <= 1:
        return x[-1:].copy()
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])
    i = np.arange(n + 1)[:, None]
    j = np.arange(n + 1)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (j - i).astype("float64")
        ss = (s2[j] - s2[i]) - (s1[j] - s1[i]) ** 2 / m
    ss = np.where(j > i, np.maximum(ss, 0.0), np.inf)
    cout = np.full(n + 1, np.inf)
    cout[0] = 0.0
    choix = np.zeros((k + 1, n + 1), dtype="int64")
    for c in range(1, k + 1):
        total = cout[:, None] + ss  # [i, j]: c-1 classes on x[:i], one class x[i:j]
        choix[c] = np.argmin(total, axis=0)
        cout = total[choix[c], np.arange(n + 1)]
    fins, j_ = [], n
    for c in range(k, 0, -1):
        fins.append(j_)
        j_ = int(choix[c, j_])
    return np.array([x[f - 1] for f in reversed(fins)], dtype="float64")


CLASSE_SECRET = -1
CLASSE_MANQUANT = -2


def calculer_bornes(
    valeurs: Sequence[float] | np.ndarray,
    schema: str = "fisher_jenks",
    k: int = 5,
    bornes: Sequence[float] | None = None,
) -> np.ndarray:
    """Return the upper bounds of the classes of ``valeurs`` (NaN ignored).

    Parameters
    ----------
    valeurs : array-like of float
        Values pooled over every year to be mapped with the same breaks.
    schema : {"fisher_jenks", "quantiles", "intervalles_egaux", "manuel"}
    k : int
        Number of classes (reduced to the number of distinct values when there are fewer).
    bornes : sequence of float, optional
        Upper bounds for ``schema="manuel"`` (the maximum is appended if above them).

    Returns
    -------
    numpy.ndarray
        Increasing upper bounds; the last one is the maximum value. Empty when
        there is no value at all.

    Examples
    --------
    >>> calculer_bornes([1, 2, 3, 4], "intervalles_egaux", k=3).tolist()
    [2.0, 3.0, 4.0]
    >>> calculer_bornes([1, 2, 2, float("nan")], "fisher_jenks", k=5).tolist()
    [1.0, 2.0]
    >>> calculer_bornes([1, 5, 12], "manuel", bornes=[4, 10]).tolist()
    [4.0, 10.0, 12.0]
    """
    if schema not in SCHEMAS:
        raise ErreurDonnees(
            f"méthode de classification inconnue {schema!r} ; valides : {', '.join(SCHEMAS)}"
        )
    y = np.asarray(valeurs, dtype="float64")
    y = y[np.isfinite(y)]
    if y.size == 0:
        return np.array([], dtype="float64")
    if schema == "manuel":
        if not bornes:
            raise ErreurDonnees("la méthode 'manuel' demande des bornes choisies (bornes=[...])")
        b = np.asarray(sorted(float(x) for x in bornes), dtype="float64")
        if y.max() > b[-1]:
            b = np.append(b, y.max())
        return b
    distinctes = np.unique(y)
    k = int(max(1, min(k, distinctes.size)))
    if distinctes.size <= k:
        return distinctes.astype("float64")
    if k < 2:
        return np.array([y.max()], dtype="float64")
    if schema == "fisher_jenks":
        return np.unique(fisher_jenks(y, k))
    import mapclassify

    with warnings.catch_warnings():  # "Numba not installed": the pure-Python path is fine here
        warnings.simplefilter("ignore", UserWarning)
        classifieur = getattr(mapclassify, SCHEMAS[schema])(y, k=k)
    b = np.unique(np.asarray(classifieur.bins, dtype="float64"))
    return b


def affecter_classes(
    valeurs: Sequence[float] | np.ndarray,
    bornes: np.ndarray,
    secret: Sequence[bool] | np.ndarray | None = None,
) -> np.ndarray:
    """Return the class index of each value (0 = lowest) for upper ``bornes``.

    A value goes to the first class whose upper bound is ≥ the value (values above
    the last bound go to the last class). NaN → :data:`CLASSE_MANQUANT`; ``secret``
    True → :data:`CLASSE_SECRET` whatever the value.

    Examples
    --------
    >>> affecter_classes([1, 2.5, 4, float("nan"), 3], [2.0, 3.0, 4.0],
    ...                  secret=[False, False, False, False, True]).tolist()
    [0, 1, 2, -2, -1]
    """
    y = np.asarray(valeurs, dtype="float64")
    b = np.asarray(bornes, dtype="float64")
    out = np.full(y.shape, CLASSE_MANQUANT, dtype="int64")
    ok = np.isfinite(y)
    if b.size:
        out[ok] = np.minimum(np.searchsorted(b, y[ok], side="left"), b.size - 1)
    if secret is not None:
        out[np.asarray(secret, dtype=bool)] = CLASSE_SECRET
    return out


def bornes_ecarts(
    favorabilite: Sequence[float] | np.ndarray,
    schema: str = "intervalles_egaux",
    k: int = 3,
) -> np.ndarray:
    """Return ``k`` upper bounds of |gap| for a diverging palette centred on 0.

    The same bounds serve on both sides (favourable and unfavourable), so the
    palette is symmetric around 0.

    Examples
    --------
    >>> bornes_ecarts([-6, 1, 3]).tolist()
    [2.0, 4.0, 6.0]
    """
    y = np.abs(np.asarray(favorabilite, dtype="float64"))
    y = y[np.isfinite(y) & (y > 0)]
    if y.size == 0:
        return np.array([], dtype="float64")
    if schema == "intervalles_egaux":
        m = float(y.max())
        return np.array([m * (i + 1) / k for i in range(k)], dtype="float64")
    return calculer_bornes(y, schema, k)


def affecter_classes_ecarts(
    favorabilite: Sequence[float] | np.ndarray,
    bornes: np.ndarray,
    secret: Sequence[bool] | np.ndarray | None = None,
) -> np.ndarray:
    """Return signed classes: ``-n..-1`` unfavourable, 0 equal, ``1..n`` favourable.

    ``favorabilite`` is the gap signed so that positive means more favourable than
    the reference. Missing → :data:`CLASSE_MANQUANT` re-coded as ``None`` by callers;
    here missing is returned as a large negative sentinel ``-100`` and secret ``-101``.

    Examples
    --------
    >>> affecter_classes_ecarts([-5, -0.5, 0, 1, 6, float("nan")], [2.0, 4.0, 6.0]).tolist()
    [-3, -1, 0, 1, 3, -100]
    """
    y = np.asarray(favorabilite, dtype="float64")
    b = np.asarray(bornes, dtype="float64")
    out = np.full(y.shape, -100, dtype="int64")
    ok = np.isfinite(y)
    if b.size:
        rang = np.minimum(np.searchsorted(b, np.abs(y[ok]), side="left"), b.size - 1) + 1
        out[ok] = np.sign(y[ok]).astype("int64") * rang
    else:
        out[ok] = 0
    if secret is not None:
        out[np.asarray(secret, dtype=bool)] = -101
    return out
