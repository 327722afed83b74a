"""Reading vector files and validating geometries on load.

One place for the checks every geometry layer goes through: a CRS is required
(missing → error), geographic or differing CRS are reprojected to the working
CRS (reported), invalid geometries are repaired with ``make_valid`` (counted),
GeometryCollections are reduced to their polygons, empty geometries are dropped
(listed), duplicate codes are an error (listed).
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from observatoire.rapport import ErreurDonnees, Rapport

__all__ = [
    "CRS_TRAVAIL",
    "lire_vecteur",
    "trouver_colonne",
    "preparer_geometries",
    "verifier_codes_uniques",
    "filtrer_par_masque",
    "nom_source",
]

#: Working CRS for metropolitan France (Lambert-93). Areas are only ever computed in it.
CRS_TRAVAIL = "EPSG:2154"


def nom_source(chemin: str | os.PathLike, couche: str | None = None) -> str:
    """How messages name an input: the file, and the layer when one is chosen."""
    return f"{chemin}" + (f" (couche {couche!r})" if couche else "")


#: Formats holding one layer: no need to list layers before reading.
_MONOCOUCHE = {".geojson", ".json", ".shp", ".fgb"}


def lire_vecteur(chemin: str | os.PathLike, couche: str | None = None) -> gpd.GeoDataFrame:
    """Read a shapefile, GeoPackage, GeoJSON or GeoParquet file into a GeoDataFrame.

    Raises
    ------
    ErreurDonnees
        File missing, unreadable, or several layers and none chosen.
    """
    chemin = Path(chemin)
    if not chemin.exists():
        raise ErreurDonnees(f"{chemin} : fichier introuvable")
    try:
        if chemin.suffix.lower() in {".parquet", ".geoparquet"}:
            gdf = gpd.read_parquet(chemin)
        else:
            import pyogrio

            if couche is None and chemin.suffix.lower() in _MONOCOUCHE:
                return gpd.read_file(chemin, engine="pyogrio")
            couches = pyogrio.list_layers(chemin)
            if couche is None and len(couches) > 1:
                noms = [str(c) for c in couches[:, 0]]
                raise ErreurDonnees(
                    f"{chemin} : plusieurs couches {noms} ; en choisir une (couche: ...)"
                )
            if couche is not None and couche not in set(couches[:, 0]):
                noms = [str(c) for c in couches[:, 0]]
                raise ErreurDonnees(
                    f"{chemin} : pas de couche {couche!r} ; les couches sont {noms}"
                )
            gdf = gpd.read_file(chemin, layer=couche, engine="pyogrio")
    except ErreurDonnees:
        raise
    except Exception as exc:  # pyogrio/arrow errors: add the file name
        raise ErreurDonnees(f"{nom_source(chemin, couche)} : lecture impossible : {exc}") from exc
    return gdf


def trouver_colonne(
    frame: pd.DataFrame, variantes: list[str], *, source: str, role: str, requis: bool = True
) -> str | None:
    """Return the first column of ``frame`` among ``variantes`` (case-insensitive).

    Examples
    --------
    >>> df = pd.DataFrame(columns=["DCOMIRIS", "NOM_IRIS"])
    >>> trouver_colonne(df, ["CODE_IRIS", "DCOMIRIS"], source="f.gpkg", role="code IRIS")
    'DCOMIRIS'
    """
    par_minuscule = {str(c).lower(): c for c in frame.columns}
    for v in variantes:
        if v.lower() in par_minuscule:
            return par_minuscule[v.lower()]
    if requis:
        raise ErreurDonnees(
            f"{source} : pas de colonne {role} ; attendu : une de {variantes}, "
            f"trouvé : {[str(c) for c in frame.columns if c != 'geometry']}"
        )
    return None


def verifier_codes_uniques(codes: pd.Series, *, source: str, role: str) -> None:
    """Raise :class:`ErreurDonnees` listing the duplicated codes, if any."""
    doublons = codes[codes.duplicated(keep=False)]
    if len(doublons):
        liste = sorted(doublons.astype(str).unique().tolist())
        raise ErreurDonnees(
            f"{source} : {len(liste)} code(s) {role} en double : {liste[:20]}"
            + (" ..." if len(liste) > 20 else "")
        )


def preparer_geometries(
    gdf: gpd.GeoDataFrame,
    *,
    source: str,
    code: str,
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
    polygones: bool = True,
) -> gpd.GeoDataFrame:
    """Validate and normalise the geometries of a layer (returns a new frame).

    Parameters
    ----------
    gdf : GeoDataFrame
        Layer with a ``code`` column naming each feature.
    source : str
        File (and layer) name, for messages.
    code : str
        Column identifying features in messages and duplicate checks.
    crs : str
        Working CRS; a projected CRS is required.
    rapport : Rapport, optional
        Receives what was reprojected, repaired and dropped.
    polygones : bool
        Reduce GeometryCollections to their (multi)polygon parts.

    Examples
    --------
    >>> from shapely import box, Polygon
    >>> bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> g = gpd.GeoDataFrame({"c": ["a", "b"]}, geometry=[box(0, 0, 1, 1), bowtie],
    ...                      crs="EPSG:2154")
    >>> r = Rapport()
    >>> out = preparer_geometries(g, source="t", code="c", rapport=r)
    >>> bool(out.geometry.is_valid.all()), float(round(out.area.sum(), 6))
    (True, 3.0)
    """
    rapport = rapport if rapport is not None else Rapport()
    if gdf.crs is None:
        raise ErreurDonnees(
            f"{source} : aucun CRS déclaré ; impossible de calculer les surfaces ou de reprojeter"
        )
    cible = gpd.GeoSeries([], crs=crs).crs
    if not cible.is_projected:
        raise ErreurDonnees(
            f"le CRS de travail {crs} est géographique : les surfaces demandent un CRS projeté"
        )
    out = gdf.copy()
    if not out.crs.equals(cible):
        rapport.info(
            "chargement", source, f"reprojeté de {out.crs.to_string()} en {crs}", n=len(out)
        )
        out = out.to_crs(cible)

    vides = out.geometry.isna() | out.geometry.is_empty
    if vides.any():
        codes = out.loc[vides, code].astype(str).tolist()
        rapport.avertir(
            "chargement",
            source,
            f"{len(codes)} géométries vides retirées : {codes[:20]}",
            n=len(codes),
        )
        out = out.loc[~vides]

    invalides = ~out.geometry.is_valid
    if invalides.any():
        _reparer(out, invalides.to_numpy(), source=source, code=code, rapport=rapport)
    if polygones:
        coll = (out.geometry.geom_type == "GeometryCollection").to_numpy()
        if coll.any():
            parts, idx = shapely.get_parts(out.geometry.values[coll], return_index=True)
            garder = np.isin(shapely.get_type_id(parts), [3, 6])  # (Multi)Polygon
            surfaces = gpd.GeoSeries(parts[garder]).groupby(idx[garder]).agg(shapely.union_all)
            nouvelles = out.geometry.values[coll].copy()
            nouvelles[surfaces.index.to_numpy()] = surfaces.to_numpy()
            out.loc[coll, out.geometry.name] = nouvelles
            rapport.info(
                "chargement",
                source,
                f"{int(coll.sum())} GeometryCollection réduites à leurs polygones",
                n=int(coll.sum()),
            )
        autres = ~out.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
        if autres.any():
            codes = out.loc[autres, code].astype(str).tolist()
            rapport.avertir(
                "chargement",
                source,
                f"{len(codes)} entités retirées, qui ne sont pas des polygones après réparation : "
                f"{codes[:20]}",
                n=len(codes),
            )
            out = out.loc[~autres]
    verifier_codes_uniques(out[code], source=source, role=code)
    return out.reset_index(drop=True)


#: Relative change of a feature's area by ``make_valid`` above which the repair is
#: reported on its own (the repaired shape is not the drawn one).
SEUIL_VARIATION_REPARATION = 0.01


def _reparer(
    out: gpd.GeoDataFrame, invalides: np.ndarray, *, source: str, code: str, rapport: Rapport
) -> None:
    """Repair invalid geometries in place with ``make_valid`` and report every repair.

    Every repair is a warning with the area before (as drawn, shoelace formula) and
    after, and a record in ``rapport.reparations``; a feature whose area changes by
    more than :data:`SEUIL_VARIATION_REPARATION` gets its own warning (``zone`` = its code).
    """
    avant_geom = out.geometry.values[invalides]
    raisons = shapely.is_valid_reason(np.asarray(avant_geom))
    reparees = shapely.make_valid(np.asarray(avant_geom))
    avant = shapely.area(np.asarray(avant_geom))
    out.loc[invalides, out.geometry.name] = reparees
    apres = shapely.area(np.asarray(out.geometry.values[invalides]))
    codes = out.loc[invalides, code].astype(str).tolist()
    fortes = []
    for c, a, b, r in zip(codes, avant, apres, raisons, strict=True):
        variation = (b - a) / a if a > 0 else (0.0 if b == 0 else float("inf"))
        rapport.reparations.append(
            {
                "source": source,
                "code": c,
                "surface_avant_m2": round(float(a), 1),
                "surface_apres_m2": round(float(b), 1),
                "variation": round(float(variation), 6),
                "raison": str(r),
            }
        )
        if abs(variation) > SEUIL_VARIATION_REPARATION:
            fortes.append(c)
            pct = f"{variation:+.0%}" if np.isfinite(variation) else "depuis une surface nulle"
            rapport.avertir(
                "chargement",
                source,
                f"{c} : géométrie invalide ({r}) réparée par make_valid : surface {a:,.0f} m² "
                f"dessinée → {b:,.0f} m² réparée ({pct}) ; la forme réparée n'est pas celle "
                "dessinée : vérifier le périmètre (ses estimations utilisent la forme réparée)",
                n=1,
                zone=c,
            )
    detail = ", ".join(
        f"{c} {a:,.0f} → {b:,.0f} m²"
        for c, a, b in list(zip(codes, avant, apres, strict=True))[:20]
    )
    rapport.avertir(
        "chargement",
        source,
        f"{len(codes)} géométries invalides réparées par make_valid ({len(fortes)} modifiées de "
        f"plus de {SEUIL_VARIATION_REPARATION:.0%} de leur surface) : {detail}"
        + (" ..." if len(codes) > 20 else ""),
        n=len(codes),
    )


def filtrer_par_masque(
    gdf: gpd.GeoDataFrame, masque, *, marge: float = 1000.0, crs_metrique: str = CRS_TRAVAIL
) -> gpd.GeoDataFrame:
    """Keep the features of ``gdf`` that may touch ``masque``, in ``gdf``'s own CRS.

    A cheap, conservative pre-selection before reprojection: each masque feature's
    bounding box, widened by ``marge`` metres in ``crs_metrique``, is reprojected to
    ``gdf``'s CRS and queried against ``gdf``'s spatial index.

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"c": ["a", "b"]}, geometry=[box(0, 0, 10, 10),
    ...                      box(5000, 0, 5010, 10)], crs="EPSG:2154")
    >>> m = gpd.GeoSeries([box(20, 0, 30, 10)], crs="EPSG:2154")
    >>> filtrer_par_masque(g, m)["c"].tolist()
    ['a']
    """
    if masque is None or len(gdf) == 0:
        return gdf
    m = masque.geometry if isinstance(masque, gpd.GeoDataFrame) else masque
    if m.crs is None or gdf.crs is None:
        raise ErreurDonnees("filtrer_par_masque : les deux couches doivent avoir un CRS")
    m = m.to_crs(crs_metrique)
    b = m.bounds.to_numpy()
    boites = gpd.GeoSeries(
        shapely.box(b[:, 0] - marge, b[:, 1] - marge, b[:, 2] + marge, b[:, 3] + marge),
        crs=m.crs,
    ).to_crs(gdf.crs)
    # bounding boxes against bounding boxes (the tree's own test): conservative and cheap
    _, idx = gdf.sindex.query(boites.to_numpy())
    return gdf.iloc[np.unique(idx)]
