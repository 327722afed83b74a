"""IRIS geography changes: codes present on one side only, never silently dropped.

Statistics of vintage Y must be matched with the IRIS geography of the same
edition. When they are not (or when editions differ), the IRIS codes present only
in the statistics or only in the geometry are listed with their population.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.rapport import Rapport

#: IRIS whose two editions overlap less than this (intersection over union) are redrawn.
SEUIL_IOU = 0.5

__all__ = ["comparer_codes_iris", "iris_redessines"]


def comparer_codes_iris(
    statistiques: pd.DataFrame,
    geographie: pd.DataFrame,
    *,
    annee: int | None = None,
    edition: str | int | None = None,
    colonne_population: str | None = None,
    population: pd.Series | None = None,
    code_stats: str = "code_iris",
    code_geo: str = "code_iris",
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """List IRIS codes present in only one of a statistics table and an IRIS layer.

    Parameters
    ----------
    statistiques : DataFrame
        Table with IRIS codes (and optionally a population column).
    geographie : DataFrame or GeoDataFrame
        IRIS layer (``code_iris``).
    annee : int, optional
        Vintage of the statistics (for the report).
    edition : str or int, optional
        Edition of the IRIS geography (for the report).
    colonne_population : str, optional
        Population column of ``statistiques`` (default ``population``/``p_pop`` if present).
    population : Series, optional
        Population by IRIS code from another source (e.g. the IRIS rate table of the
        geography's edition), used where the statistics give none — in particular
        for codes present in the geometry only.
    code_stats, code_geo : str
        Code columns.
    rapport : Rapport, optional
        Receives one warning per side with codes on that side only.

    Returns
    -------
    DataFrame
        ``code_iris, cote`` (``statistiques_seulement`` or ``geographie_seulement``),
        ``population`` (from ``colonne_population``, else ``population``; NaN when
        unknown), ``annee``, ``edition``.

    Examples
    --------
    >>> s = pd.DataFrame({"code_iris": ["1", "2"], "annee": [2016, 2016], "p_pop": [10., 20.]})
    >>> g = pd.DataFrame({"code_iris": ["2", "3"]})
    >>> comparer_codes_iris(s, g, annee=2016)[["code_iris", "cote", "population"]].values.tolist()
    [['1', 'statistiques_seulement', 10.0], ['3', 'geographie_seulement', nan]]
    """
    st = statistiques
    if annee is not None and "annee" in st.columns:
        st = st[st["annee"].astype(int) == int(annee)]
    if colonne_population is None:
        colonne_population = next((c for c in ("population", "p_pop") if c in st.columns), None)
    codes_s = st[code_stats].astype(str)
    codes_g = set(geographie[code_geo].astype(str))
    seul_s = st[~codes_s.isin(codes_g)]
    pop = (
        seul_s[colonne_population].astype("float64").to_numpy()
        if colonne_population
        else float("nan")
    )
    a = pd.DataFrame(
        {
            "code_iris": seul_s[code_stats].astype(str).to_numpy(),
            "cote": "statistiques_seulement",
            "population": pop,
        }
    )
    seul_g = sorted(codes_g - set(codes_s))
    b = pd.DataFrame(
        {"code_iris": seul_g, "cote": "geographie_seulement", "population": float("nan")}
    )
    out = pd.concat([a, b], ignore_index=True) if len(b) else a
    if population is not None:
        autre = out["code_iris"].map(population.rename(index=str))
        out["population"] = out["population"].fillna(autre)
    out["annee"] = annee
    out["edition"] = edition
    if rapport is not None:
        pop_cote = out.groupby("cote")["population"].sum(min_count=1)
        pop_s = pop_cote.get("statistiques_seulement", float("nan"))
        pop_g = pop_cote.get("geographie_seulement", float("nan"))
        if len(a):
            rapport.avertir(
                "indicateurs",
                f"IRIS {edition}",
                f"{len(a)} code(s) IRIS des statistiques {annee or ''} absents de la "
                f"géographie (population {pop_s:.0f})",
                n=len(a),
            )
        if len(b):
            rapport.avertir(
                "indicateurs",
                f"IRIS {edition}",
                f"{len(b)} code(s) IRIS de la géographie absents des statistiques {annee or ''} "
                f"(population {pop_g:.0f})",
                n=len(b),
            )
    return out.drop_duplicates("code_iris").reset_index(drop=True)


def iris_redessines(
    geometrie, statistiques, codes=None, *, seuil: float = SEUIL_IOU
) -> pd.DataFrame:
    """IRIS redrawn or recoded between the geometry's and the statistics' editions.

    The same code drawn over two different areas (e.g. Istres 130470115 "Prépaou 2"
    east of Le Prépaou in the 2014 layer, over the former Trigance area in the 2020
    layer) gives a weight computed on one area to statistics of the other.

    Parameters
    ----------
    geometrie, statistiques : GeoDataFrame
        IRIS layers (``code_iris``) of the geometry used for the weights and of the
        statistics' edition (any CRS: the second is reprojected to the first's).
    codes : iterable of str, optional
        IRIS to check (default: every IRIS of ``geometrie``).
    seuil : float
        Intersection over union under which an IRIS is redrawn. Generalised layers
        of the same edition score 0.75 or more (p10); a recoded IRIS near 0.

    Returns
    -------
    DataFrame
        ``code_iris, iou`` (NaN when the code is absent from the statistics' layer) of
        the redrawn or recoded IRIS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> a = gpd.GeoDataFrame({"code_iris": ["1", "2"]},
    ...     geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs="EPSG:2154")
    >>> b = gpd.GeoDataFrame({"code_iris": ["1", "2"]},
    ...     geometry=[box(0, 0, 10, 9), box(30, 0, 40, 10)], crs="EPSG:2154")
    >>> iris_redessines(a, b).to_dict("records")
    [{'code_iris': '2', 'iou': 0.0}]
    """
    g = geometrie if codes is None else geometrie[geometrie["code_iris"].isin(list(codes))]
    s = statistiques.to_crs(g.crs) if statistiques.crs != g.crs else statistiques
    s = s.drop_duplicates("code_iris").set_index("code_iris").geometry
    autre = s.reindex(g["code_iris"].to_numpy())
    present = ~autre.isna().to_numpy()
    ga = g.geometry.to_numpy()
    iou = np.full(len(g), np.nan)
    if present.any():
        import shapely

        a, b = ga[present], autre.to_numpy()[present]
        inter = shapely.area(shapely.intersection(a, b))
        union = shapely.area(shapely.union(a, b))
        iou[present] = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    out = pd.DataFrame({"code_iris": g["code_iris"].astype(str).to_numpy(), "iou": iou})
    return out[~(out["iou"] >= seuil)].reset_index(drop=True)
