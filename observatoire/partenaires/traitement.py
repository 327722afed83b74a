"""Read, place and count one partner table: the entry point of the run and the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from observatoire.partenaires.comptage import compter
from observatoire.partenaires.geocodage import URL_BAN, CacheGeocodage
from observatoire.partenaires.lecture import lire_table_partenaire
from observatoire.partenaires.localisation import localiser
from observatoire.partenaires.modele import TablePartenaire

__all__ = ["TerritoirePartenaires", "ResultatPartenaire", "traiter_table"]


@dataclass
class TerritoirePartenaires:
    """Where a partner's rows are placed: the run's geography.

    Attributes
    ----------
    iris : GeoDataFrame
        IRIS of the member communes (``code_iris``, ``code_commune``), Lambert-93.
    zones : GeoDataFrame
        QPV and veille zones (``code_zone``, ``nom_zone``, ``niveau``), Lambert-93.
    epci : str
        Code of the EPCI.
    noms_communes : dict
        Commune code → name.
    nom_epci : str
    communes_qpv : dict
        QPV code → commune code.
    poids : DataFrame, optional
        The run's weights (rows coded by IRIS apportioned when a table asks for it).
    """

    iris: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    epci: str
    noms_communes: dict = field(default_factory=dict)
    nom_epci: str | None = None
    communes_qpv: dict = field(default_factory=dict)
    poids: pd.DataFrame | None = None

    def territoires(self) -> pd.DataFrame:
        """Every territory a partner count is published for."""
        z = self.zones
        coms = sorted(set(self.iris["code_commune"]))
        return pd.concat(
            [
                pd.DataFrame(
                    {
                        "niveau": z["niveau"].to_numpy(),
                        "territoire_code": z["code_zone"].to_numpy(),
                        "territoire_nom": z["nom_zone"].to_numpy(),
                    }
                ),
                pd.DataFrame(
                    {
                        "niveau": "commune",
                        "territoire_code": coms,
                        "territoire_nom": [self.noms_communes.get(c, c) for c in coms],
                    }
                ),
                pd.DataFrame(
                    {
                        "niveau": ["epci"],
                        "territoire_code": [self.epci],
                        "territoire_nom": [self.nom_epci],
                    }
                ),
            ],
            ignore_index=True,
        )


@dataclass
class ResultatPartenaire:
    """Indicator rows of one partner table and its placement report (no personal data)."""

    indicateurs: pd.DataFrame
    bilan: dict


def traiter_table(
    chemin: str | os.PathLike,
    spec: TablePartenaire,
    territoire: TerritoirePartenaires,
    *,
    cache: str | os.PathLike | None = None,
    url: str = URL_BAN,
    en_ligne: bool = True,
    denominateurs: pd.DataFrame | None = None,
    table: pd.DataFrame | None = None,
) -> ResultatPartenaire:
    """Read, place and count one partner table.

    Parameters
    ----------
    chemin : path
        The partner's CSV/XLSX.
    spec : TablePartenaire
    territoire : TerritoirePartenaires
    cache : path, optional
        Cache folder (geocoding results); default the observatory's cache.
    url, en_ligne
        Batch geocoder and whether it may be called.
    denominateurs : DataFrame, optional
        ``niveau, territoire_code, valeur, annee`` of the rate's denominator.
    table : DataFrame, optional
        The rows already read (:func:`lire_table_partenaire`), e.g. by the run's checks.
    """
    from observatoire.chemins import dossier_cache

    if table is None:
        table = lire_table_partenaire(chemin, spec)
    app, bilan = localiser(
        table,
        spec,
        iris=territoire.iris,
        zones=territoire.zones,
        epci=territoire.epci,
        communes_qpv=territoire.communes_qpv,
        poids=territoire.poids,
        cache=CacheGeocodage(dossier_cache(cache)),
        url=url,
        en_ligne=en_ligne,
    )
    ind = compter(
        table, app, spec, territoire.territoires(), bilan=bilan, denominateurs=denominateurs
    )
    bilan = {"table": spec.code, "partenaire": spec.partenaire, "annee": spec.annee, **bilan}
    return ResultatPartenaire(indicateurs=ind, bilan=bilan)
