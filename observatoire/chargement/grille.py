"""Loader for INSEE 200 m population grids (Filosofi carroyé), as vector squares."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.chargement.validation import (
    CRS_TRAVAIL,
    lire_vecteur,
    nom_source,
    preparer_geometries,
    trouver_colonne,
)
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["lire_grille"]


def lire_grille(
    chemin: str | os.PathLike,
    couche: str | None = None,
    *,
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
) -> gpd.GeoDataFrame:
    """Read a 200 m grid of individuals/households (INSEE Filosofi ``Ind``/``Men`` or derived).

    Returns
    -------
    GeoDataFrame
        ``id_carreau``, ``population`` (individuals), ``menages`` (households, NaN when
        absent), geometry in ``crs``.
    """
    src = nom_source(chemin, couche)
    brut = lire_vecteur(chemin, couche)
    c_id = trouver_colonne(
        brut,
        ["id_carreau", "IdINSPIRE", "Idcar_200m", "idcar_200m", "id"],
        source=src,
        role="cell id",
    )
    c_pop = trouver_colonne(
        brut,
        ["population", "Ind", "ind", "num_people", "ind_c"],
        source=src,
        role="population (individuals)",
    )
    c_men = trouver_colonne(brut, ["menages", "Men", "men"], source=src, role="", requis=False)
    pop = pd.to_numeric(brut[c_pop], errors="coerce")
    if (pop < 0).any():
        raise ErreurDonnees(
            f"{src}: column {c_pop}: negative population in {int((pop < 0).sum())} cells"
        )
    out = gpd.GeoDataFrame(
        {
            "id_carreau": brut[c_id].astype(str).to_numpy(),
            "population": pop.astype("float64").to_numpy(),
            "menages": pd.to_numeric(brut[c_men], errors="coerce").to_numpy() if c_men else np.nan,
        },
        geometry=brut.geometry.to_numpy(),
        crs=brut.crs,
    )
    return preparer_geometries(out, source=src, code="id_carreau", crs=crs, rapport=rapport)
