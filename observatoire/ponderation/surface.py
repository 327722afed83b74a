"""Surface weights: the share of the IRIS's area that lies in the zone (2015 method)."""

from __future__ import annotations

import pandas as pd

__all__ = ["poids_surface"]


def poids_surface(intersections: pd.DataFrame) -> pd.DataFrame:
    r"""Add ``poids = part_iris`` and ``methode = "surface"`` to an intersection table.

    Parameters
    ----------
    intersections : DataFrame
        Output of :func:`observatoire.ponderation.intersection.intersecter`.

    Returns
    -------
    DataFrame
        A copy with ``poids`` and ``methode``.

    Notes
    -----
    Population is assumed uniform over the IRIS:
    :math:`w_{zi} = |z \cap i| / |i|`. Over a partition of the IRIS (zones plus
    their complement) the weights of an IRIS sum to 1.

    Examples
    --------
    >>> t = pd.DataFrame({"code_zone": ["A"], "code_iris": ["1"], "part_iris": [0.25]})
    >>> poids_surface(t)[["poids", "methode"]].to_dict("list")
    {'poids': [0.25], 'methode': ['surface']}
    """
    out = intersections.copy()
    out["poids"] = out["part_iris"].astype("float64")
    out["methode"] = "surface"
    return out
