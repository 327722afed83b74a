"""Counts of a population grid summed over zones, each cell for its area share inside.

The grid indicators (:mod:`observatoire.indicateurs.grille`) and the quality table of
the zones (:mod:`observatoire.ponderation.qualite_zones`) both aggregate grid cells
this way.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["sommes_grille"]


def sommes_grille(
    grille: gpd.GeoDataFrame,
    territoires: gpd.GeoDataFrame,
    colonnes: list[str],
    *,
    code: str = "code",
) -> pd.DataFrame:
    """Sum grid columns over each territory by cell-area share.

    Returns one row per territory (``code`` index) with the weighted sums of
    ``colonnes``, ``n_carreaux`` (cells touching it) and ``_imputes`` (households in
    imputed cells, when the grid has ``imputed`` and ``menages``). A NaN cell value
    makes the sum NaN (never a partial sum).

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"menages": [40.0, 20.0]},
    ...     geometry=[box(0, 0, 200, 200), box(200, 0, 400, 200)], crs="EPSG:2154")
    >>> t = gpd.GeoDataFrame({"code": ["Z"]}, geometry=[box(100, 0, 400, 200)],
    ...                      crs="EPSG:2154")
    >>> sommes_grille(g, t, ["menages"])[["menages", "n_carreaux"]].to_dict("records")
    [{'menages': 40.0, 'n_carreaux': 2}]
    """
    g = grille.to_crs(territoires.crs) if grille.crs != territoires.crs else grille
    cellules = g.geometry.to_numpy()
    zones = territoires.geometry.to_numpy()
    arbre = shapely.STRtree(cellules)
    iz, ic = arbre.query(zones, predicate="intersects")
    # cells wholly inside a territory count whole: intersections only along its boundary
    dz, dc = arbre.query(zones, predicate="contains")
    dedans = np.isin(iz * len(cellules) + ic, dz * len(cellules) + dc)
    part = np.ones(len(iz))
    b = ~dedans
    part[b] = shapely.area(shapely.intersection(zones[iz[b]], cellules[ic[b]])) / shapely.area(
        cellules[ic[b]]
    )
    codes = territoires[code].astype(str).to_numpy()
    out = pd.DataFrame(index=pd.Index(pd.unique(codes), name=code))
    cle = codes[iz]
    for c in colonnes:
        v = g[c].to_numpy(dtype="float64")[ic] * part
        out[c] = pd.Series(v).groupby(cle).sum(min_count=1)
        nan = pd.Series(np.isnan(v)).groupby(cle).any()
        out.loc[nan[nan].index, c] = np.nan
    out["n_carreaux"] = pd.Series(part > 0).groupby(cle).sum()
    out["n_carreaux"] = out["n_carreaux"].fillna(0).astype("int64")
    if "imputed" in g.columns and "menages" in g.columns:
        imp = g["imputed"].to_numpy(dtype="float64")[ic] == 1
        v = g["menages"].to_numpy(dtype="float64")[ic] * part * imp
        out["_imputes"] = pd.Series(v).groupby(cle).sum()
    return out
