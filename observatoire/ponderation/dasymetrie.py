"""Dasymetric weights from a population surface (INSEE 200 m grid or a GeoTIFF).

The population of each grid cell is spread uniformly over the cell and split by
area between IRIS and zone pieces; a zone's weight in an IRIS is the share of the
IRIS's grid population that lies in the zone. IRIS without grid population fall
back to surface weights (flagged ``repli_surface``).
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from observatoire.chargement import CRS_TRAVAIL
from observatoire.ponderation.intersection import harmoniser_crs
from observatoire.ponderation.parallele import intersection_par_blocs
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["masse_grille", "poids_dasymetriques", "grille_depuis_raster"]

ETAPE = "ponderation"


def masse_grille(
    polygones: np.ndarray, cellules: np.ndarray, densite: np.ndarray, arbre=None
) -> np.ndarray:
    r"""Grid population inside each polygon, cells split by area.

    Parameters
    ----------
    polygones : array of shapely geometries
        Target polygons (IRIS, zone pieces), working CRS.
    cellules : array of shapely geometries
        Grid cells (non-overlapping), same CRS.
    densite : array of float
        Population per m² of each cell (population / cell area).
    arbre : shapely.STRtree, optional
        Prebuilt tree over ``cellules`` (reused across calls).

    Returns
    -------
    ndarray
        :math:`P(A) = \sum_c d_c\,|c \cap A|` for each polygon ``A``.

    Examples
    --------
    >>> from shapely import box
    >>> cells = np.array([box(0, 0, 200, 200), box(200, 0, 400, 200)])
    >>> d = np.array([100.0, 40.0]) / 40000
    >>> masse_grille(np.array([box(100, 0, 300, 200)]), cells, d).tolist()
    [70.0]
    """
    polygones = np.asarray(polygones, dtype=object)
    arbre = arbre if arbre is not None else shapely.STRtree(cellules)
    ip, ic = arbre.query(polygones, predicate="intersects")
    if len(ip) == 0:
        return np.zeros(len(polygones))
    gp, gc = polygones[ip], cellules[ic]
    shapely.prepare(polygones)
    dedans = shapely.contains_properly(gp, gc)
    shapely.destroy_prepared(polygones)
    surface = np.empty(len(ip))
    surface[dedans] = shapely.area(gc[dedans])
    bord = ~dedans
    if bord.any():
        surface[bord] = shapely.area(intersection_par_blocs(gp[bord], gc[bord]))
    return np.bincount(ip, weights=densite[ic] * surface, minlength=len(polygones))


def _cellules(grille: gpd.GeoDataFrame, colonne: str, rapport: Rapport):
    if colonne not in grille.columns:
        raise ErreurDonnees(
            f"carroyage : pas de colonne {colonne!r} ; colonnes : {list(grille.columns)}"
        )
    pop = pd.to_numeric(grille[colonne], errors="coerce").to_numpy(dtype="float64")
    if (pop < 0).any():
        raise ErreurDonnees(
            f"carroyage : colonne {colonne!r} : {int((pop < 0).sum())} valeur(s) négative(s)"
        )
    nan = np.isnan(pop)
    if nan.any():
        rapport.avertir(
            ETAPE,
            "grid",
            f"{int(nan.sum())} carreau(x) sans {colonne} ignoré(s) "
            "(traités comme inconnus, l'IRIS peut se replier sur la surface)",
            n=int(nan.sum()),
        )
    geoms = grille.geometry.to_numpy()
    garder = ~nan & (pop > 0) & ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    cellules = geoms[garder]
    aire = shapely.area(cellules)
    if (aire <= 0).any():
        raise ErreurDonnees(
            "carroyage : carreaux de surface nulle (points ou lignes au lieu de carrés ?)"
        )
    return cellules, pop[garder] / aire


def poids_dasymetriques(
    morceaux: gpd.GeoDataFrame,
    iris: gpd.GeoDataFrame,
    grille: gpd.GeoDataFrame,
    *,
    code_iris: str = "code_iris",
    colonne_population: str = "population",
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    r"""Weights from a population grid, with surface fallback.

    Parameters
    ----------
    morceaux : GeoDataFrame
        Intersection table with piece geometries
        (``intersecter(..., geometries=True)``).
    iris : GeoDataFrame
        The IRIS layer used for the intersection (``code_iris`` column).
    grille : GeoDataFrame
        Grid cells (any CRS, reprojected) with a population column.
    colonne_population : str
        Population column of ``grille``.
    rapport : Rapport, optional
        Receives the fallbacks.

    Returns
    -------
    DataFrame
        ``morceaux`` without geometry plus ``pop_grille_morceau``, ``pop_grille_iris``,
        ``repli_surface`` (bool), ``poids`` and ``methode = "dasymetric"``.

    Notes
    -----
    With :math:`d_c` the density of cell :math:`c` (population / area),
    :math:`P(A) = \sum_c d_c |c \cap A|` and

    .. math:: w_{zi} = P(z \cap i) / P(i)

    when :math:`P(i) > 0`, else :math:`w_{zi} = |z \cap i| / |i|` (``repli_surface``).
    The pieces of an IRIS partition it, so weights over a partition still sum to 1.

    Examples
    --------
    >>> from shapely import box
    >>> from observatoire.ponderation.intersection import intersecter
    >>> iris = gpd.GeoDataFrame({"code_iris": ["1"]}, geometry=[box(0, 0, 400, 200)],
    ...                         crs="EPSG:2154")
    >>> zones = gpd.GeoDataFrame({"code_zone": ["A"]}, geometry=[box(0, 0, 200, 200)],
    ...                          crs="EPSG:2154")
    >>> grille = gpd.GeoDataFrame({"population": [30.0, 10.0]},
    ...     geometry=[box(0, 0, 200, 200), box(200, 0, 400, 200)], crs="EPSG:2154")
    >>> m = intersecter(iris, zones, geometries=True)
    >>> poids_dasymetriques(m, iris, grille)[["part_iris", "poids"]].to_dict("list")
    {'part_iris': [0.5], 'poids': [0.75]}
    """
    rapport = rapport if rapport is not None else Rapport()
    if not isinstance(morceaux, gpd.GeoDataFrame):
        raise ValueError(
            "poids_dasymetriques demande les géométries des morceaux : "
            "intersecter(..., geometries=True)"
        )
    grille = harmoniser_crs(grille, nom="carroyage", crs=crs, rapport=rapport)
    iris = harmoniser_crs(iris, nom="couche IRIS", crs=crs, rapport=rapport)
    morceaux = harmoniser_crs(morceaux, nom="morceaux", crs=crs, rapport=rapport)
    cellules, densite = _cellules(grille, colonne_population, rapport)
    arbre = shapely.STRtree(cellules)

    codes = pd.unique(morceaux["code_iris"].to_numpy())
    sel = iris.set_index(code_iris).geometry.reindex(codes)
    pop_iris = pd.Series(masse_grille(sel.to_numpy(), cellules, densite, arbre), index=codes)
    pop_morceau = masse_grille(morceaux.geometry.to_numpy(), cellules, densite, arbre)

    out = pd.DataFrame(morceaux.drop(columns=morceaux.geometry.name))
    out["pop_grille_morceau"] = pop_morceau
    out["pop_grille_iris"] = pop_iris.reindex(out["code_iris"]).to_numpy()
    repli = ~(out["pop_grille_iris"].to_numpy() > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = out["pop_grille_morceau"].to_numpy() / out["pop_grille_iris"].to_numpy()
    w = np.where(repli, out["part_iris"].to_numpy(dtype="float64"), np.clip(w, 0.0, 1.0))
    out["poids"] = w
    out["repli_surface"] = repli
    out["methode"] = "dasymetric"
    if repli.any():
        liste = sorted(out.loc[repli, "code_iris"].astype(str).unique().tolist())
        rapport.avertir(
            ETAPE,
            "grid",
            f"{len(liste)} IRIS sans population carroyée : poids de surface utilisés à la place "
            f"(repli_surface) : {liste[:20]}" + (" ..." if len(liste) > 20 else ""),
            n=len(liste),
        )
    return out


def grille_depuis_raster(
    chemin: str | os.PathLike,
    *,
    bande: int = 1,
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
) -> gpd.GeoDataFrame:
    """Read a population raster (GeoTIFF, counts per pixel) as polygon cells.

    Pixels that are nodata, NaN or ≤ 0 are skipped. Pixel footprints are built from
    the affine transform (rotation allowed) and reprojected to ``crs``.

    Returns
    -------
    GeoDataFrame
        ``id_carreau`` (``r<row>c<col>``), ``population``, ``menages`` (NaN), geometry.

    Raises
    ------
    ErreurDonnees
        File unreadable or without CRS.
    """
    import rasterio

    rapport = rapport if rapport is not None else Rapport()
    try:
        with rasterio.open(chemin) as src:
            valeurs = src.read(bande, masked=True).astype("float64")
            transform = src.transform
            crs_src = src.crs
    except rasterio.errors.RasterioError as exc:
        raise ErreurDonnees(f"{chemin} : raster illisible : {exc}") from exc
    if crs_src is None:
        raise ErreurDonnees(f"{chemin} : raster sans CRS")
    donnees = np.ma.filled(valeurs, np.nan)
    lignes, colonnes = np.nonzero(np.isfinite(donnees) & (donnees > 0))
    coins = []
    for dl, dc in ((0, 0), (0, 1), (1, 1), (1, 0), (0, 0)):
        c, r = colonnes + dc, lignes + dl
        x = transform.a * c + transform.b * r + transform.c
        y = transform.d * c + transform.e * r + transform.f
        coins.append(np.column_stack([x, y]))
    anneaux = np.stack(coins, axis=1)
    geoms = shapely.polygons(anneaux)
    ids = np.char.add(np.char.add("r", lignes.astype(str)), np.char.add("c", colonnes.astype(str)))
    out = gpd.GeoDataFrame(
        {"id_carreau": ids, "population": donnees[lignes, colonnes], "menages": np.nan},
        geometry=geoms,
        crs=crs_src.to_wkt(),
    )
    rapport.info(ETAPE, str(chemin), f"{len(out)} pixels peuplés lus comme carreaux", n=len(out))
    return harmoniser_crs(out, nom=str(chemin), crs=crs, rapport=rapport)
