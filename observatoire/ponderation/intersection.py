"""Intersection table between an IRIS layer and a zone layer (QPV, veille, any polygon).

One row per (zone, IRIS) piece of positive area, with the areas and the two
shares every weighting method starts from. Computed with a spatial index and
vectorised shapely 2 operations, in the working projected CRS (Lambert-93).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from observatoire.chargement import CRS_TRAVAIL
from observatoire.ponderation.parallele import intersection_par_blocs
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["intersecter", "harmoniser_crs", "polygones_seuls", "COLONNES_INTERSECTION"]

ETAPE = "ponderation"

#: Columns of the table returned by :func:`intersecter` (before the weights).
COLONNES_INTERSECTION = [
    "code_zone",
    "code_iris",
    "surface_m2",
    "part_zone",
    "part_iris",
    "surface_zone_m2",
    "surface_iris_m2",
]


def polygones_seuls(geoms: np.ndarray) -> np.ndarray:
    """Reduce GeometryCollections to their polygonal parts (vectorised).

    Points and lines carry no area; a collection keeps the union of its
    (multi)polygons, or becomes empty if it has none.

    Examples
    --------
    >>> from shapely import box, GeometryCollection, LineString
    >>> gc = GeometryCollection([box(0, 0, 1, 1), LineString([(1, 1), (2, 2)])])
    >>> [g.geom_type for g in polygones_seuls(np.array([gc, box(0, 0, 2, 2)]))]
    ['Polygon', 'Polygon']
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    coll = shapely.get_type_id(geoms) == 7
    if coll.any():
        parts, idx = shapely.get_parts(geoms[coll], return_index=True)
        garder = np.isin(shapely.get_type_id(parts), [3, 6])
        nouvelles = np.full(int(coll.sum()), shapely.from_wkt("POLYGON EMPTY"), dtype=object)
        if garder.any():
            unions = gpd.GeoSeries(parts[garder]).groupby(idx[garder]).agg(shapely.union_all)
            nouvelles[unions.index.to_numpy()] = unions.to_numpy()
        geoms[coll] = nouvelles
    return geoms


def harmoniser_crs(
    gdf: gpd.GeoDataFrame, *, nom: str, crs: str = CRS_TRAVAIL, rapport: Rapport | None = None
) -> gpd.GeoDataFrame:
    """Return ``gdf`` in the working CRS, reprojecting (and reporting) if needed.

    Raises
    ------
    ErreurDonnees
        The layer has no CRS, or the working CRS is geographic.
    """
    if gdf.crs is None:
        raise ErreurDonnees(
            f"{nom} : aucun CRS déclaré ; le calcul des surfaces demande un CRS projeté connu"
        )
    cible = gpd.GeoSeries([], crs=crs).crs
    if not cible.is_projected:
        raise ErreurDonnees(
            f"le CRS de travail {crs} est géographique : le calcul des surfaces demande "
            "un CRS projeté"
        )
    if gdf.crs.equals(cible):
        return gdf
    if rapport is not None:
        rapport.info(ETAPE, nom, f"reprojeté de {gdf.crs.to_string()} en {crs}", n=len(gdf))
    return gdf.to_crs(cible)


def _verifier_colonnes(gdf, colonne: str, nom: str) -> None:
    if colonne not in gdf.columns:
        raise ErreurDonnees(
            f"{nom} : pas de colonne {colonne!r} ; colonnes : "
            f"{[str(c) for c in gdf.columns if c != gdf.geometry.name]}"
        )
    codes = gdf[colonne]
    if codes.isna().any():
        raise ErreurDonnees(f"{nom} : {int(codes.isna().sum())} entité(s) sans {colonne}")
    doublons = codes[codes.duplicated()].astype(str).unique().tolist()
    if doublons:
        raise ErreurDonnees(f"{nom} : codes répétés dans la colonne {colonne!r} : {doublons[:20]}")


def intersecter(
    iris: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    code_zone: str = "code_zone",
    code_iris: str = "code_iris",
    part_min: float = 0.005,
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
    geometries: bool = False,
) -> pd.DataFrame:
    r"""Intersect every zone with the IRIS layer.

    Parameters
    ----------
    iris : GeoDataFrame
        IRIS polygons with a unique ``code_iris`` column.
    zones : GeoDataFrame
        Zone polygons (QPV, veille perimeters...) with a unique ``code_zone`` column.
    code_zone, code_iris : str
        Identifier columns of ``zones`` and ``iris``. The output always names them
        ``code_zone`` and ``code_iris``.
    part_min : float
        Sliver threshold: a piece under ``part_min`` of the zone's area **and** under
        ``part_min`` of the IRIS's area is dropped and listed in ``rapport``
        (misaligned producers). ``0`` keeps every piece of positive area. Pure
        boundary contacts (zero area) are never kept.
    crs : str
        Working projected CRS; layers in another CRS are reprojected (reported).
    rapport : Rapport, optional
        Receives reprojections, dropped slivers and plausibility warnings.
    geometries : bool
        Return a GeoDataFrame with the piece geometries (needed by the dasymetric method).

    Returns
    -------
    DataFrame
        ``code_zone, code_iris, surface_m2, part_zone, part_iris, surface_zone_m2,
        surface_iris_m2`` sorted by zone then IRIS. Shares are fractions in [0, 1];
        ``part_zone`` is not renormalised after dropping slivers.

    Raises
    ------
    ErreurDonnees
        Missing CRS, missing or repeated codes, empty zone geometry, or a zone that
        intersects no IRIS (listed).

    Notes
    -----
    For a zone :math:`z` and an IRIS :math:`i`:

    .. math:: part\_zone = |z \cap i| / |z|, \qquad part\_iris = |z \cap i| / |i|

    Pairs are found with an STR-tree; when an IRIS properly contains the zone (or the
    zone the IRIS) the intersection area is the smaller area and no overlay is computed.

    Examples
    --------
    >>> from shapely import box
    >>> iris = gpd.GeoDataFrame({"code_iris": ["1", "2"]},
    ...                         geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
    ...                         crs="EPSG:2154")
    >>> zones = gpd.GeoDataFrame({"code_zone": ["A"]}, geometry=[box(50, 0, 150, 50)],
    ...                          crs="EPSG:2154")
    >>> t = intersecter(iris, zones)
    >>> t[["code_iris", "surface_m2", "part_zone"]].to_dict("list")
    {'code_iris': ['1', '2'], 'surface_m2': [2500.0, 2500.0], 'part_zone': [0.5, 0.5]}
    >>> t["part_iris"].tolist()
    [0.25, 0.25]
    """
    rapport = rapport if rapport is not None else Rapport()
    if part_min < 0 or part_min >= 1:
        raise ValueError(f"part_min doit être dans [0, 1), reçu {part_min}")
    _verifier_colonnes(iris, code_iris, "couche IRIS")
    _verifier_colonnes(zones, code_zone, "couche des zones")
    iris = harmoniser_crs(iris, nom="couche IRIS", crs=crs, rapport=rapport)
    zones = harmoniser_crs(zones, nom="couche des zones", crs=crs, rapport=rapport)

    g_iris = polygones_seuls(iris.geometry.to_numpy())
    g_zone = polygones_seuls(zones.geometry.to_numpy())
    vides = shapely.is_empty(g_zone) | shapely.is_missing(g_zone)
    if vides.any():
        liste = zones[code_zone].to_numpy()[vides].astype(str).tolist()
        raise ErreurDonnees(
            f"couche des zones : {len(liste)} zone(s) sans géométrie polygonale : {liste[:20]}"
        )
    a_iris = shapely.area(g_iris)
    a_zone = shapely.area(g_zone)

    arbre = shapely.STRtree(g_iris)
    iz, ii = arbre.query(g_zone, predicate="intersects")
    gz, gi = g_zone[iz], g_iris[ii]
    # Fast paths: containment means the intersection is the smaller polygon.
    shapely.prepare(g_iris)
    shapely.prepare(g_zone)
    zone_dans_iris = shapely.contains_properly(gi, gz)
    iris_dans_zone = ~zone_dans_iris & shapely.contains_properly(gz, gi)
    surface = np.where(zone_dans_iris, a_zone[iz], np.where(iris_dans_zone, a_iris[ii], 0.0))
    autres = ~(zone_dans_iris | iris_dans_zone)
    morceaux = np.empty(len(iz), dtype=object)
    if autres.any():
        inter = intersection_par_blocs(gz[autres], gi[autres])
        surface[autres] = shapely.area(inter)
        if geometries:
            morceaux[autres] = polygones_seuls(inter)
    if geometries:
        morceaux[zone_dans_iris] = gz[zone_dans_iris]
        morceaux[iris_dans_zone] = gi[iris_dans_zone]
    shapely.destroy_prepared(g_iris)
    shapely.destroy_prepared(g_zone)

    with np.errstate(divide="ignore", invalid="ignore"):
        part_zone = surface / a_zone[iz]
        part_iris = surface / a_iris[ii]
    table = pd.DataFrame(
        {
            "code_zone": zones[code_zone].to_numpy()[iz],
            "code_iris": iris[code_iris].to_numpy()[ii],
            "surface_m2": surface,
            "part_zone": part_zone,
            "part_iris": part_iris,
            "surface_zone_m2": a_zone[iz],
            "surface_iris_m2": a_iris[ii],
        }
    )
    positif = surface > 0
    n_contacts = int((~positif).sum())
    if n_contacts:
        rapport.info(
            ETAPE,
            "intersection",
            f"{n_contacts} contact(s) de limite de surface nulle ignoré(s)",
            n=n_contacts,
        )

    # Plausibility: the zone's pieces should cover it once (before dropping slivers).
    couverture = pd.Series(part_zone[positif]).groupby(table["code_zone"].to_numpy()[positif]).sum()
    codes_zones = zones[code_zone].to_numpy()
    hors = codes_zones[~pd.Index(codes_zones).isin(couverture.index)].tolist()
    if hors:
        raise ErreurDonnees(
            f"couche des zones : {len(hors)} zone(s) ne recoupent aucun IRIS de la couche IRIS "
            f"(mauvais territoire ou mauvais CRS ?) : {[str(c) for c in hors[:20]]}"
        )
    ecart = couverture[(couverture - 1).abs() > 0.01]
    if len(ecart):
        details = ", ".join(f"{k}: {v:.3f}" for k, v in ecart.head(20).items())
        rapport.avertir(
            ETAPE,
            "intersection",
            f"{len(ecart)} zone(s) dont les morceaux d'IRIS donnent Σ part_zone loin de 1 "
            f"(trous/chevauchements entre IRIS, couche généralisée, zone hors du territoire des "
            f"IRIS) : "
            f"{details}",
            n=len(ecart),
        )

    eclat = positif & (part_zone < part_min) & (part_iris < part_min)
    if eclat.any():
        ecl = table.loc[eclat]
        details = ", ".join(
            f"{z}×{i} ({pz:.2%} de la zone)"
            for z, i, pz in ecl[["code_zone", "code_iris", "part_zone"]]
            .head(30)
            .itertuples(index=False)
        )
        rapport.info(
            ETAPE,
            "intersection",
            f"{int(eclat.sum())} éclat(s) retiré(s), sous {part_min:.2%} de la zone comme de "
            f"l'IRIS : {details}",
            n=int(eclat.sum()),
        )
    garder = positif & ~eclat
    table = table.loc[garder]
    if geometries:
        table = gpd.GeoDataFrame(table, geometry=morceaux[garder], crs=zones.crs)
    table = table.sort_values(["code_zone", "code_iris"], kind="stable").reset_index(drop=True)
    return table
