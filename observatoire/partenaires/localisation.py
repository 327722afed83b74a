"""Place each row of a partner's table in the territories: zones, commune, EPCI.

- **codes** are used as they are: a QPV code counts in that QPV (and its commune), an
  IRIS code in its commune (and, only when the configuration asks for it, in the
  zones with the run's weights: status ``estime``), a commune code in that commune;
- **coordinates** (WGS84 or Lambert-93, declared) and **geocoded addresses** are
  placed by point in polygon in every QPV and veille zone holding them (overlapping
  zones each count the row: the overlap is reported) and in the IRIS of the member
  communes (which give the commune);
- rows that cannot be placed are counted by reason, never guessed: ``hors_territoire``,
  ``code_inconnu``, ``sans_localisation``, ``score_faible`` (geocoding score under the
  threshold), ``non_geocodee`` (address neither in the cache nor answered).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.chargement import CRS_TRAVAIL
from observatoire.partenaires.geocodage import URL_BAN, CacheGeocodage, geocoder
from observatoire.partenaires.modele import TablePartenaire

__all__ = ["MOTIFS", "localiser"]

#: Reasons a row is not placed.
MOTIFS = ("hors_territoire", "code_inconnu", "sans_localisation", "score_faible", "non_geocodee")


def _points(x, y, crs: str, iris: gpd.GeoDataFrame, zones: gpd.GeoDataFrame):
    """IRIS (one) and zones (several) of each point; None / no row when outside."""
    ok = np.isfinite(x) & np.isfinite(y)
    pts = gpd.GeoSeries(gpd.points_from_xy(np.where(ok, x, 0), np.where(ok, y, 0)), crs=crs).to_crs(
        CRS_TRAVAIL
    )
    p = gpd.GeoDataFrame({"_i": np.arange(len(x))}, geometry=pts.to_numpy(), crs=CRS_TRAVAIL)[ok]
    dans_iris = gpd.sjoin(p, iris[["code_iris", "geometry"]], predicate="within", how="inner")
    dans_iris = dans_iris.drop_duplicates("_i")
    code_iris = np.full(len(x), None, dtype=object)
    code_iris[dans_iris["_i"].to_numpy()] = dans_iris["code_iris"].to_numpy()
    dans_zones = gpd.sjoin(
        p, zones[["code_zone", "niveau", "geometry"]], predicate="within", how="inner"
    )
    return ok, code_iris, dans_zones[["_i", "niveau", "code_zone"]]


def _remplie(table: pd.DataFrame, cle: str) -> np.ndarray:
    """Rows whose columns of ``cle`` are filled."""
    if cle == "coordonnees":
        return np.isfinite(table["x"].to_numpy(dtype="float64")) & np.isfinite(
            table["y"].to_numpy(dtype="float64")
        )
    col = "adresse" if cle == "adresse" else cle
    v = table[col].astype("string").str.strip()
    return (v.notna() & (v.str.len() > 0)).to_numpy(dtype=bool)


def localiser(
    table: pd.DataFrame,
    spec: TablePartenaire,
    *,
    iris: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    epci: str,
    communes_qpv: Mapping[str, str] | None = None,
    poids: pd.DataFrame | None = None,
    cache: CacheGeocodage | None = None,
    url: str = URL_BAN,
    en_ligne: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Memberships of each row and the placement report.

    Each row is placed by the first key of ``spec.cle`` whose columns it fills.

    Parameters
    ----------
    table : DataFrame
        :func:`observatoire.partenaires.lecture.lire_table_partenaire`.
    spec : TablePartenaire
    iris : GeoDataFrame
        IRIS of the member communes (``code_iris``, ``code_commune``), Lambert-93.
    zones : GeoDataFrame
        QPV and veille zones (``code_zone``, ``niveau``), Lambert-93.
    epci : str
        Code of the EPCI (every placed row counts in it).
    communes_qpv : mapping, optional
        QPV code → its commune (rows coded by QPV).
    poids : DataFrame, optional
        The run's weights (``code_zone, code_iris, poids, niveau``), to apportion rows
        coded by IRIS when ``spec.ventiler``.
    cache, url, en_ligne
        Geocoding (:func:`observatoire.partenaires.geocodage.geocoder`).

    Returns
    -------
    (DataFrame, dict)
        Memberships ``i`` (row position), ``niveau``, ``code``, ``poids``, ``mode``
        (``point``, ``code`` or ``ventile``); and the report: ``lignes``, ``placees``,
        one count per reason of :data:`MOTIFS`, ``par_cle`` (rows placed by each key),
        ``chevauchements`` (rows counted in a QPV and a veille zone at once) and the
        geocoding counts.
    """
    n = len(table)
    motif = np.full(n, None, dtype=object)
    commune = np.full(n, None, dtype=object)
    mode = np.full(n, None, dtype=object)
    lignes: list[pd.DataFrame] = []
    bilan: dict = {"lignes": n, "par_cle": {}}
    iris_com = dict(zip(iris["code_iris"], iris["code_commune"], strict=True))
    communes = set(iris["code_commune"])
    reste = np.ones(n, dtype=bool)
    for cle in spec.cle:
        pos = np.flatnonzero(reste & _remplie(table, cle))
        reste[pos] = False
        if not len(pos):
            continue
        sous = table.iloc[pos]
        if cle in ("adresse", "coordonnees"):
            if cle == "adresse":
                res, geo = geocoder(
                    sous, cache=cache or CacheGeocodage("."), url=url, en_ligne=en_ligne
                )
                bilan["geocodage"] = geo
                x, y = res["longitude"].to_numpy(), res["latitude"].to_numpy()
                score = res["score"].to_numpy()
                motif[pos[np.isnan(score)]] = "non_geocodee"
                faible = score < spec.score_min
                motif[pos[faible]] = "score_faible"
                x = np.where(faible, np.nan, x)
                crs = "EPSG:4326"
            else:
                x = sous["x"].to_numpy(dtype="float64")
                y = sous["y"].to_numpy(dtype="float64")
                crs = spec.crs
            ok, code_iris, dz = _points(x, y, crs, iris, zones)
            dehors = ok & (code_iris == None)  # noqa: E711
            motif[pos[dehors]] = "hors_territoire"
            place = ok & ~dehors
            commune[pos[place]] = [iris_com[c] for c in code_iris[place]]
            mode[pos[place]] = "point"
            dz = dz[place[dz["_i"].to_numpy()]]
            lignes.append(
                pd.DataFrame(
                    {
                        "i": pos[dz["_i"].to_numpy()],
                        "niveau": dz["niveau"].to_numpy(),
                        "code": dz["code_zone"].to_numpy(),
                        "poids": 1.0,
                        "mode": "point",
                    }
                )
            )
        else:
            code = sous[cle].astype("string").str.strip().to_numpy(dtype=object)
            if cle == "code_iris":
                connu = np.array([c in iris_com for c in code], dtype=bool)
                commune[pos[connu]] = [iris_com[c] for c in code[connu]]
                autre = ~connu & np.array([len(str(c)) == 9 for c in code], dtype=bool)
                if spec.ventiler and poids is not None:
                    p = poids[poids["code_iris"].isin(set(code[connu]))]
                    cible = pd.DataFrame({"code_iris": code[connu], "i": pos[connu]})
                    j = p.merge(cible, on="code_iris")
                    lignes.append(
                        pd.DataFrame(
                            {
                                "i": j["i"].to_numpy(),
                                "niveau": j["niveau"].to_numpy(),
                                "code": j["code_zone"].to_numpy(),
                                "poids": j["poids"].to_numpy(dtype="float64"),
                                "mode": "ventile",
                            }
                        )
                    )
            elif cle == "code_qpv":
                qpv = set(zones.loc[zones["niveau"] == "qpv", "code_zone"])
                connu = np.array([c in qpv for c in code], dtype=bool)
                cq = communes_qpv or {}
                commune[pos[connu]] = [cq.get(c) for c in code[connu]]
                autre = ~connu & np.array([str(c)[:2] in ("QN", "QP") for c in code], dtype=bool)
                lignes.append(
                    pd.DataFrame(
                        {
                            "i": pos[connu],
                            "niveau": "qpv",
                            "code": code[connu],
                            "poids": 1.0,
                            "mode": "code",
                        }
                    )
                )
            else:
                connu = np.array([c in communes for c in code], dtype=bool)
                commune[pos[connu]] = code[connu]
                autre = ~connu & np.array([len(str(c)) == 5 for c in code], dtype=bool)
            motif[pos[autre]] = "hors_territoire"
            motif[pos[~connu & ~autre]] = "code_inconnu"
            mode[pos[connu]] = "code"
        bilan["par_cle"][cle] = int(
            sum(
                1
                for c, m in zip(commune[pos], motif[pos], strict=True)
                if c is not None and m is None
            )
        )
    motif[reste] = "sans_localisation"
    place = np.array([c is not None for c in commune]) & (motif == None)  # noqa: E711
    idx = np.flatnonzero(place)
    lignes.append(
        pd.DataFrame(
            {"i": idx, "niveau": "commune", "code": commune[idx], "poids": 1.0, "mode": mode[idx]}
        )
    )
    lignes.append(
        pd.DataFrame({"i": idx, "niveau": "epci", "code": epci, "poids": 1.0, "mode": mode[idx]})
    )
    app = pd.concat(lignes, ignore_index=True)
    app = app[app["i"].isin(idx)].reset_index(drop=True)
    app["i"] = app["i"].astype("int64")
    bilan["placees"] = int(place.sum())
    for m in MOTIFS:
        bilan[m] = int((motif == m).sum())
    z = app[app["niveau"].isin(["qpv", "veille"]) & (app["mode"] == "point")]
    par_ligne = z.groupby("i")["niveau"].agg(lambda s: {"qpv", "veille"} <= set(s))
    bilan["chevauchements"] = int(par_ligne.sum()) if len(par_ligne) else 0
    return app, bilan
