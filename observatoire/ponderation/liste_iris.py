"""Zones declared as lists of IRIS (veille territories before a local perimeter exists).

Two ways: :func:`poids_liste_iris` turns a declared list (with optional shares) into
a weights table directly; :func:`zone_depuis_iris` builds a zone *geometry* as a set
of IRIS minus other zones (e.g. "La Rousse 1–3 outside QPV La Maille"), which can
then go through any spatial method.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from observatoire.chargement import CRS_TRAVAIL
from observatoire.chargement.codes import normaliser_code
from observatoire.ponderation.intersection import harmoniser_crs, polygones_seuls
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["poids_liste_iris", "poids_iris_moins_zones", "chevauchements", "zone_depuis_iris"]

ETAPE = "ponderation"


def poids_liste_iris(
    liste: pd.DataFrame,
    *,
    code_zone: str = "code_zone",
    code_iris: str = "code_iris",
    part: str | None = "part",
    iris_connus: pd.Series | None = None,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """Weights table of zones declared as IRIS lists.

    Parameters
    ----------
    liste : DataFrame
        One row per (zone, IRIS), with an optional share column ``part`` in [0, 1]
        (share of the IRIS's population in the zone; missing or absent column = 1).
    code_zone, code_iris, part : str
        Column names (``part=None``: every IRIS counts fully).
    iris_connus : Series, optional
        Valid IRIS codes; unknown codes in the list are an error.
    rapport : Rapport, optional
        Receives IRIS given to several zones for more than their whole population.

    Returns
    -------
    DataFrame
        ``code_zone, code_iris, surface_m2 (NaN), part_zone (NaN), part_iris (NaN), poids,
        methode = "iris_list"``.

    Examples
    --------
    >>> l = pd.DataFrame({"code_zone": ["V", "V"], "code_iris": [130630102, "130630103"],
    ...                   "part": [None, 0.4]})
    >>> poids_liste_iris(l)[["code_iris", "poids"]].to_dict("list")
    {'code_iris': ['130630102', '130630103'], 'poids': [1.0, 0.4]}
    """
    rapport = rapport if rapport is not None else Rapport()
    for c in (code_zone, code_iris):
        if c not in liste.columns:
            raise ErreurDonnees(
                f"liste d'IRIS : pas de colonne {c!r} ; colonnes : {list(liste.columns)}"
            )
    codes = normaliser_code(liste[code_iris], 9)
    if codes.isna().any() or (codes.str.len() != 9).any():
        mauvais = liste.loc[codes.isna() | (codes.str.len() != 9), code_iris].tolist()
        raise ErreurDonnees(
            f"liste d'IRIS : codes IRIS qui n'ont pas 9 caractères : {mauvais[:20]}"
        )
    if part is not None and part in liste.columns:
        w = pd.to_numeric(liste[part], errors="coerce").fillna(1.0).to_numpy(dtype="float64")
    else:
        w = np.ones(len(liste))
    if ((w < 0) | (w > 1)).any():
        raise ErreurDonnees(
            f"liste d'IRIS : la colonne {part!r} doit contenir des parts comprises dans [0, 1] "
            f"(reçu {w[(w < 0) | (w > 1)][:10].tolist()})"
        )
    out = pd.DataFrame(
        {
            "code_zone": liste[code_zone].astype(str).to_numpy(),
            "code_iris": codes.to_numpy(),
            "surface_m2": np.nan,
            "part_zone": np.nan,
            "part_iris": np.nan,
            "poids": w,
            "methode": "iris_list",
        }
    )
    doublons = out.duplicated(["code_zone", "code_iris"])
    if doublons.any():
        raise ErreurDonnees(
            f"liste d'IRIS : couples (zone, IRIS) répétés : "
            f"{out.loc[doublons, ['code_zone', 'code_iris']].values.tolist()[:20]}"
        )
    if iris_connus is not None:
        inconnus = sorted(set(out["code_iris"]) - set(normaliser_code(iris_connus, 9)))
        if inconnus:
            raise ErreurDonnees(
                f"liste d'IRIS : {len(inconnus)} code(s) IRIS absent(s) de la couche IRIS : "
                f"{inconnus[:20]}"
            )
    somme = out.groupby("code_iris")["poids"].sum()
    trop = somme[somme > 1 + 1e-9]
    if len(trop):
        rapport.avertir(
            ETAPE,
            "IRIS list",
            f"{len(trop)} IRIS donnent plus que toute leur "
            f"population à l'ensemble des zones : {trop.index[:20].tolist()}",
            n=len(trop),
        )
    return out.sort_values(["code_zone", "code_iris"], kind="stable").reset_index(drop=True)


def chevauchements(liste: pd.DataFrame, poids_zones: pd.DataFrame) -> pd.DataFrame:
    """Where zones declared as IRIS lists share IRIS with other (weighted) zones.

    Parameters
    ----------
    liste : DataFrame
        Weights of the listed zones (``code_zone, code_iris, poids``).
    poids_zones : DataFrame
        Weights table of the other zones (e.g. QPV).

    Returns
    -------
    DataFrame
        ``code_zone, code_iris, poids, code_zone_autre, poids_autre``: the share of the
        IRIS's population the other zone also counts.

    Examples
    --------
    >>> l = pd.DataFrame({"code_zone": ["V"], "code_iris": ["1"], "poids": [1.0]})
    >>> q = pd.DataFrame({"code_zone": ["Q", "R"], "code_iris": ["1", "2"], "poids": [0.04, 0.5]})
    >>> chevauchements(l, q).values.tolist()
    [['V', '1', 1.0, 'Q', 0.04]]
    """
    a = liste[["code_zone", "code_iris", "poids"]]
    b = poids_zones[["code_zone", "code_iris", "poids"]].rename(
        columns={"code_zone": "code_zone_autre", "poids": "poids_autre"}
    )
    out = a.merge(b, on="code_iris", how="inner")
    out = out[(out["poids_autre"] > 0) & (out["code_zone"] != out["code_zone_autre"])]
    return out.sort_values(["code_zone", "code_iris", "code_zone_autre"]).reset_index(drop=True)


def poids_iris_moins_zones(
    codes_iris,
    poids_zones: pd.DataFrame,
    *,
    code: str,
    moins,
    parts=None,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """Weights of a zone declared as IRIS minus the population weighted into other zones.

    E.g. "Molières 1 = La Rousse 1–3 outside QPV La Maille": for each listed IRIS,
    ``poids = part − Σ poids(excluded zones, IRIS)`` (floored at 0), whatever method
    produced ``poids_zones``; the zone and the excluded zones then partition the IRIS.

    Parameters
    ----------
    codes_iris : iterable of str
        IRIS of the zone.
    poids_zones : DataFrame
        Weights table holding the excluded zones (``code_zone, code_iris, poids, methode``).
    code : str
        Code of the new zone.
    moins : iterable of str
        Codes of the zones to take out (must be in ``poids_zones``).
    parts : iterable of float, optional
        Declared share of each IRIS (default 1).
    rapport : Rapport, optional
        Receives, per IRIS, the share taken out (the overlap).

    Returns
    -------
    DataFrame
        ``code_zone, code_iris, surface_m2, part_zone, part_iris`` (NaN), ``poids``,
        ``methode = "iris_list"`` (``iris_list-<method>`` on the IRIS the excluded zones
        cut, ``<method>`` being theirs), ``poids_retire`` and ``methode_retrait`` (method of the
        excluded zones' weights).

    Examples
    --------
    >>> q = pd.DataFrame({"code_zone": ["Q", "Q"], "code_iris": ["130630102", "130630103"],
    ...                   "poids": [0.98, 0.25], "methode": "surface"})
    >>> v = poids_iris_moins_zones(["130630102", "130630103", "130630105"], q, code="V",
    ...                            moins=["Q"])
    >>> v["poids"].round(2).tolist()
    [0.02, 0.75, 1.0]
    """
    rapport = rapport if rapport is not None else Rapport()
    moins = [str(m) for m in moins]
    absents = sorted(set(moins) - set(poids_zones["code_zone"].astype(str)))
    if absents:
        raise ErreurDonnees(
            f"zone {code} : zone(s) à retirer {absents} absente(s) de la table des poids"
        )
    codes = list(codes_iris)
    liste = pd.DataFrame(
        {"code_zone": code, "code_iris": codes, "part": list(parts) if parts is not None else 1.0}
    )
    out = poids_liste_iris(liste, rapport=rapport)
    retire = (
        poids_zones[poids_zones["code_zone"].astype(str).isin(moins)]
        .groupby("code_iris")["poids"]
        .sum()
    )
    r = retire.reindex(out["code_iris"]).fillna(0.0).to_numpy()
    brut = out["poids"].to_numpy() - r
    if (brut < -1e-9).any():
        rapport.avertir(
            ETAPE,
            f"zone {code}",
            "les zones retirées contiennent plus que la part "
            "déclarée de certains IRIS : poids ramenés à 0",
            n=int((brut < -1e-9).sum()),
        )
    out["poids"] = np.clip(brut, 0.0, 1.0)
    out["poids_retire"] = r
    methodes = poids_zones.loc[poids_zones["code_zone"].astype(str).isin(moins), "methode"]
    out["methode_retrait"] = ",".join(sorted(methodes.astype(str).unique()))
    # IRIS cut by the zones taken out are weighted through those zones' method
    out.loc[r > 0, "methode"] = "iris_list-" + out["methode_retrait"]
    for i, v in zip(out["code_iris"], r, strict=True):
        if v > 0:
            rapport.info(
                ETAPE,
                f"zone {code}",
                f"IRIS {i} : {v:.1%} de sa population, dans {', '.join(moins)}, est retirée",
            )
    return out


def zone_depuis_iris(
    iris: gpd.GeoDataFrame,
    codes_iris,
    *,
    code: str,
    nom: str | None = None,
    moins: gpd.GeoDataFrame | None = None,
    code_iris: str = "code_iris",
    code_moins: str = "code_zone",
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
) -> gpd.GeoDataFrame:
    """Build one zone as the union of IRIS minus other zones.

    Parameters
    ----------
    iris : GeoDataFrame
        IRIS layer.
    codes_iris : iterable of str
        IRIS making up the zone.
    code, nom : str
        Code and name of the new zone.
    moins : GeoDataFrame, optional
        Zones to cut out (e.g. the QPV inside those IRIS), identified by ``code_moins``.
    rapport : Rapport, optional
        Receives, for each cut-out zone, the area it overlapped.

    Returns
    -------
    GeoDataFrame
        One row: ``code_zone``, ``nom_zone``, ``surface_m2``, ``surface_retiree_m2``,
        geometry (working CRS). Also ``.attrs["chevauchements"]``: a DataFrame
        ``code_zone, surface_m2, part_zone_retiree`` (share of each cut-out zone lying
        in the IRIS set).

    Examples
    --------
    >>> from shapely import box
    >>> iris = gpd.GeoDataFrame({"code_iris": ["130630101", "130630102"]},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs="EPSG:2154")
    >>> qpv = gpd.GeoDataFrame({"code_zone": ["Q"]}, geometry=[box(150, 0, 250, 100)],
    ...                        crs="EPSG:2154")
    >>> z = zone_depuis_iris(iris, ["130630101", "130630102"], code="V", moins=qpv)
    >>> float(z["surface_m2"].iloc[0]), z.attrs["chevauchements"]["part_zone_retiree"].tolist()
    (15000.0, [0.5])
    """
    rapport = rapport if rapport is not None else Rapport()
    iris = harmoniser_crs(iris, nom="couche IRIS", crs=crs, rapport=rapport)
    codes = pd.Series(list(codes_iris), dtype=object)
    codes = normaliser_code(codes, 9)
    connus = iris.set_index(code_iris)
    inconnus = sorted(set(codes) - set(connus.index))
    if inconnus:
        raise ErreurDonnees(
            f"zone {code} : code(s) IRIS absent(s) de la couche IRIS : {inconnus[:20]}"
        )
    base = shapely.union_all(polygones_seuls(connus.geometry.reindex(codes).to_numpy()))
    chevauchements = pd.DataFrame(columns=["code_zone", "surface_m2", "part_zone_retiree"])
    geom = base
    if moins is not None and len(moins):
        moins = harmoniser_crs(moins, nom="zones à retirer", crs=crs, rapport=rapport)
        g_moins = polygones_seuls(moins.geometry.to_numpy())
        inter = shapely.area(shapely.intersection(g_moins, base))
        chevauchements = pd.DataFrame(
            {
                "code_zone": moins[code_moins].to_numpy(),
                "surface_m2": inter,
                "part_zone_retiree": inter / shapely.area(g_moins),
            }
        )
        chevauchements = chevauchements[chevauchements["surface_m2"] > 0].reset_index(drop=True)
        for z, s, p in chevauchements.itertuples(index=False):
            rapport.info(
                ETAPE,
                f"zone {code}",
                f"zone retirée {z} : recouvrement de {s:.0f} m² ({p:.1%} de {z} est dans "
                "l'ensemble d'IRIS)",
            )
        geom = shapely.difference(base, shapely.union_all(g_moins))
        geom = polygones_seuls(np.array([geom]))[0]
    if shapely.is_empty(geom):
        raise ErreurDonnees(f"zone {code} : il ne reste rien après le retrait des zones")
    out = gpd.GeoDataFrame(
        {
            "code_zone": [code],
            "nom_zone": [nom if nom is not None else code],
            "surface_m2": [shapely.area(geom)],
            "surface_retiree_m2": [shapely.area(base) - shapely.area(geom)],
        },
        geometry=[geom],
        crs=iris.crs,
    )
    out.attrs["chevauchements"] = chevauchements
    return out
