"""Light geometries for web maps: topology-preserving simplification, rounding, few properties.

IRIS form a coverage (no gaps, no overlaps): they are simplified together with
GEOS coverage simplification (:meth:`geopandas.GeoSeries.simplify_coverage`), so a
border shared by two IRIS stays shared after simplification. Commune and EPCI
outlines are dissolved *from the simplified IRIS*, so they fall exactly on IRIS
borders. Coordinates are rounded in WGS84 (5 decimals ≈ 1 m) — the same vertex
is rounded the same way on both sides of a border.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import shapely

from observatoire.rapport import ErreurDonnees, Rapport

__all__ = [
    "TOLERANCE_IRIS_M",
    "TOLERANCE_ZONES_M",
    "DECIMALES",
    "simplifier_couverture",
    "simplifier_zones",
    "dissoudre",
    "vers_geojson",
    "json_html",
]

TOLERANCE_IRIS_M = 8.0
TOLERANCE_ZONES_M = 2.0
DECIMALES = 5


def _projete(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise ErreurDonnees(f"{source} : la couche n'a pas de CRS")
    if gdf.crs.is_geographic:
        return gdf.to_crs("EPSG:2154")
    return gdf


def simplifier_couverture(
    gdf: gpd.GeoDataFrame,
    tolerance: float = TOLERANCE_IRIS_M,
    *,
    source: str = "IRIS",
    rapport: Rapport | None = None,
) -> gpd.GeoDataFrame:
    """Simplify a polygon coverage keeping shared borders shared (returns a copy).

    Parameters
    ----------
    gdf : GeoDataFrame
        Polygons forming a coverage (IRIS); reprojected to Lambert-93 if geographic.
    tolerance : float
        Simplification tolerance in metres (0 keeps the geometry).

    Examples
    --------
    >>> import shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100),
    ...                                shapely.box(100, 0, 200, 100)], crs=2154)
    >>> s = simplifier_couverture(g, 5)
    >>> round(s.union_all().area), bool(s.geometry.iloc[0].touches(s.geometry.iloc[1]))
    (20000, True)
    """
    out = _projete(gdf, source).copy()
    if tolerance <= 0 or out.empty:
        return out
    try:
        out["geometry"] = out.geometry.simplify_coverage(tolerance)
    except Exception as exc:  # GEOS refuses invalid coverages (overlaps)
        if rapport is not None:
            rapport.avertir(
                "cartes",
                source,
                f"simplification de la couverture refusée ({exc}) ; simplification entité par "
                "entité utilisée",
                n=len(out),
            )
        out["geometry"] = out.geometry.simplify(tolerance, preserve_topology=True)
    vide = out.geometry.is_empty | out.geometry.isna()
    if vide.any():
        raise ErreurDonnees(
            f"{source} : {int(vide.sum())} entité(s) disparue(s) à la simplification"
        )
    return out


def simplifier_zones(
    gdf: gpd.GeoDataFrame, tolerance: float = TOLERANCE_ZONES_M, *, source: str = "zones"
) -> gpd.GeoDataFrame:
    """Simplify small, possibly overlapping zones (QPV, veille) one by one (returns a copy)."""
    out = _projete(gdf, source).copy()
    if tolerance > 0 and not out.empty:
        out["geometry"] = out.geometry.simplify(tolerance, preserve_topology=True)
    return out


def dissoudre(
    gdf: gpd.GeoDataFrame, par: str | None, colonnes: Iterable[str] = ()
) -> gpd.GeoDataFrame:
    """Dissolve simplified IRIS into outlines (by ``par``, or everything when ``par`` is None).

    Examples
    --------
    >>> import shapely
    >>> g = gpd.GeoDataFrame({"c": ["a", "a"]}, geometry=[shapely.box(0, 0, 1, 1),
    ...                      shapely.box(1, 0, 2, 1)], crs=2154)
    >>> dissoudre(g, "c").area.tolist()
    [2.0]
    """
    if par is None:
        try:
            geom = shapely.coverage_union_all(gdf.geometry.to_numpy())
        except shapely.errors.GEOSException:  # not a clean coverage (not noded)
            geom = gdf.geometry.union_all()
        return gpd.GeoDataFrame(geometry=[geom], crs=gdf.crs)
    cols = [c for c in colonnes if c in gdf.columns and c != par]
    agg = {c: "first" for c in cols}
    try:
        out = gdf[[par, *cols, "geometry"]].dissolve(by=par, aggfunc=agg, method="coverage")
    except Exception:  # pragma: no cover - not a clean coverage
        out = gdf[[par, *cols, "geometry"]].dissolve(by=par, aggfunc=agg)
    return out.reset_index()


def _arrondir(geoms: np.ndarray, decimales: int) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, decimales))


def vers_geojson(
    gdf: gpd.GeoDataFrame,
    proprietes: Iterable[str] = (),
    *,
    decimales: int = DECIMALES,
) -> dict:
    """Return a GeoJSON FeatureCollection (WGS84, rounded) keeping only ``proprietes``.

    Property values become strings (NaN → ``None``), so codes keep their leading zeros.

    Examples
    --------
    >>> import shapely
    >>> g = gpd.GeoDataFrame({"code": ["01"], "x": [1]},
    ...                      geometry=[shapely.box(2.123456, 45.1, 2.2, 45.2)], crs=4326)
    >>> fc = vers_geojson(g, ["code"])
    >>> fc["features"][0]["properties"], fc["features"][0]["geometry"]["coordinates"][0][0]
    ({'code': '01'}, [2.2, 45.1])
    """
    proprietes = list(proprietes)
    g = gdf.to_crs("EPSG:4326") if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") else gdf
    geoms = _arrondir(g.geometry.to_numpy(), decimales)
    features = []
    valeurs = {p: g[p].tolist() for p in proprietes}
    for i, geom in enumerate(geoms):
        props = {}
        for p in proprietes:
            v = valeurs[p][i]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                props[p] = None
            else:
                props[p] = str(v)
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": json.loads(shapely.to_geojson(geom)) if geom is not None else None,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def json_html(objet) -> str:
    r"""Serialise to JSON safe inside an HTML ``<script>`` element (``<``, ``>``, ``&`` escaped).

    Examples
    --------
    >>> json_html({"nom": "</script><img src=x onerror=alert(1)>"})
    '{"nom":"\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e"}'
    """
    texte = json.dumps(objet, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        texte.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
