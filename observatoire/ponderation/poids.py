"""One entry point for every weighting method: :func:`table_poids`."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from observatoire.chargement import CRS_TRAVAIL
from observatoire.ponderation.calibration import calibrer
from observatoire.ponderation.dasymetrie import poids_dasymetriques
from observatoire.ponderation.intersection import intersecter
from observatoire.ponderation.liste_iris import poids_liste_iris
from observatoire.ponderation.surface import poids_surface
from observatoire.ponderation.ventilation import ventiler
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = [
    "table_poids",
    "zones_implausibles",
    "METHODES",
    "COLONNES_POIDS",
    "SEUIL_POPULATION_QPV",
]

#: Weighting methods understood by :func:`table_poids`.
METHODES = ("surface", "dasymetric", "calibrated", "iris_list")

#: Leading columns of every weights table (extras follow).
COLONNES_POIDS = [
    "code_zone",
    "code_iris",
    "surface_m2",
    "part_zone",
    "part_iris",
    "poids",
    "methode",
]

#: Legal minimum population of a QPV (décret 2014-1750).
SEUIL_POPULATION_QPV = 1000


def _ordonner(table: pd.DataFrame) -> pd.DataFrame:
    extras = [c for c in table.columns if c not in COLONNES_POIDS]
    return table[COLONNES_POIDS + extras].reset_index(drop=True)


def table_poids(
    iris: gpd.GeoDataFrame | None,
    zones: gpd.GeoDataFrame | pd.DataFrame,
    *,
    methode: str = "surface",
    code_zone: str = "code_zone",
    code_iris: str = "code_iris",
    grille: gpd.GeoDataFrame | None = None,
    colonne_grille: str = "population",
    population_iris: pd.DataFrame | None = None,
    colonne_population: str = "population",
    officiel: pd.DataFrame | None = None,
    colonne_officielle: str = "pop_mun",
    code_zone_officiel: str | None = None,
    part_min: float = 0.005,
    population_min_qpv: float = SEUIL_POPULATION_QPV,
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """IRIS × zone weights table under one method.

    Parameters
    ----------
    iris : GeoDataFrame
        IRIS layer (``code_iris`` column); may be ``None`` for ``iris_list``.
    zones : GeoDataFrame or DataFrame
        Zone polygons with ``code_zone``; for ``iris_list`` a table
        ``code_zone, code_iris[, part]``.
    methode : {"surface", "dasymetric", "calibrated", "iris_list"}
        ``surface``: poids = part_iris. ``dasymetric``: shares of the grid population
        (needs ``grille``). ``calibrated``: dasymetric (if ``grille``) or surface weights
        scaled to official zone populations (needs ``population_iris`` and ``officiel``).
        ``iris_list``: declared IRIS lists.
    grille : GeoDataFrame, optional
        Population cells (``lire_grille`` or ``grille_depuis_raster``).
    population_iris : DataFrame, optional
        ``code_iris`` and ``colonne_population``; used by ``calibrated`` and for the
        plausibility warning on QPV under 1,000 inhabitants.
    officiel : DataFrame, optional
        Official zone populations (``code_zone_officiel``, default ``code_zone``, and
        ``colonne_officielle``).
    part_min : float
        Sliver threshold (see :func:`~observatoire.ponderation.intersection.intersecter`).
    population_min_qpv : float
        QPV estimated under this population get a plausibility warning.
    rapport : Rapport, optional
        Receives every non-fatal event.

    Returns
    -------
    DataFrame
        ``code_zone, code_iris, surface_m2, part_zone, part_iris, poids, methode`` then
        method extras (``surface_zone_m2``, ``surface_iris_m2``, ``repli_surface``,
        ``facteur_calibration``, ``residu``...).

    Examples
    --------
    >>> from shapely import box
    >>> iris = gpd.GeoDataFrame({"code_iris": ["1", "2"]},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs="EPSG:2154")
    >>> zones = gpd.GeoDataFrame({"code_zone": ["A"]}, geometry=[box(0, 0, 150, 100)],
    ...                          crs="EPSG:2154")
    >>> table_poids(iris, zones)[["code_iris", "part_zone", "poids"]].round(4).to_dict("list")
    {'code_iris': ['1', '2'], 'part_zone': [0.6667, 0.3333], 'poids': [1.0, 0.5]}
    """
    rapport = rapport if rapport is not None else Rapport()
    if methode not in METHODES:
        raise ValueError(
            f"méthode de pondération inconnue {methode!r} ; choisir parmi {list(METHODES)}"
        )
    if methode == "iris_list":
        connus = iris[code_iris] if iris is not None else None
        return _ordonner(
            poids_liste_iris(zones, code_zone=code_zone, iris_connus=connus, rapport=rapport)
        )
    if iris is None:
        raise ErreurDonnees(f"la méthode {methode!r} demande une couche IRIS")
    if methode == "dasymetric" and grille is None:
        raise ErreurDonnees(
            "la méthode 'dasymetric' demande un carroyage de population (grille / --grid)"
        )
    if methode == "calibrated" and (population_iris is None or officiel is None):
        raise ErreurDonnees(
            "la méthode 'calibrated' demande les populations IRIS (population_iris / "
            "--population) et les populations officielles des zones (officiel / --official)"
        )

    spatiale = grille is not None and methode in ("dasymetric", "calibrated")
    inter = intersecter(
        iris,
        zones,
        code_zone=code_zone,
        code_iris=code_iris,
        part_min=part_min,
        crs=crs,
        rapport=rapport,
        geometries=spatiale,
    )
    if spatiale:
        table = poids_dasymetriques(
            inter,
            iris,
            grille,
            code_iris=code_iris,
            colonne_population=colonne_grille,
            crs=crs,
            rapport=rapport,
        )
    else:
        table = poids_surface(inter)
    if methode == "calibrated":
        table = calibrer(
            table,
            population_iris,
            officiel,
            colonne_population=colonne_population,
            colonne_officielle=colonne_officielle,
            code_zone_officiel=code_zone_officiel or code_zone,
            rapport=rapport,
        )
    if population_iris is not None:
        _plausibilite(table, population_iris, colonne_population, rapport, population_min_qpv)
    return _ordonner(table)


def zones_implausibles(
    table: pd.DataFrame,
    population_iris: pd.DataFrame,
    seuil: float = SEUIL_POPULATION_QPV,
    *,
    colonne: str = "population",
) -> dict[str, float]:
    """QPV whose estimated population is under ``seuil`` (code → estimate).

    A QPV has at least 1,000 inhabitants by law: an estimate under that says the
    weights are wrong there.

    Examples
    --------
    >>> t = pd.DataFrame({"code_zone": ["QN01371N", "QN01365M"], "code_iris": ["1", "2"],
    ...                   "poids": [0.01, 0.5]})
    >>> p = pd.DataFrame({"code_iris": ["1", "2"], "population": [7900.0, 6000.0]})
    >>> zones_implausibles(t, p)
    {'QN01371N': 79.0}
    """
    est = ventiler(table, population_iris[["code_iris", colonne]], [colonne])
    qpv = est["code_zone"].astype(str).str.match(r"^Q[PN]\d")
    bas = est[qpv & (est[colonne] < seuil)]
    return {str(z): float(v) for z, v in zip(bas["code_zone"], bas[colonne], strict=True)}


def _plausibilite(table, population_iris, colonne, rapport, seuil) -> None:
    bas = zones_implausibles(table, population_iris, seuil, colonne=colonne)
    if bas:
        methode = table["methode"].iloc[0]
        details = ", ".join(f"{z}: {v:.0f}" for z, v in bas.items())
        rapport.avertir(
            "ponderation",
            "plausibility",
            f"{len(bas)} QPV estimé(s) à moins de {seuil:.0f} habitants avec les poids {methode} "
            f"(minimum légal d'un QPV : les poids y sont probablement faux) : {details}",
            n=len(bas),
        )
