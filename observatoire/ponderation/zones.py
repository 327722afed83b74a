"""Read any zone layer (QPV, veille perimeter, user polygon) with one schema."""

from __future__ import annotations

import os

import geopandas as gpd

from observatoire.chargement import CRS_TRAVAIL, lire_qpv
from observatoire.chargement.validation import (
    lire_vecteur,
    nom_source,
    preparer_geometries,
    trouver_colonne,
)
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["lire_zones"]

_COLONNES_QPV = ["code_qpv", "CODE_QP", "code_qp", "codeQPV", "CODE_QPV"]


def lire_zones(
    chemin: str | os.PathLike,
    couche: str | None = None,
    *,
    code: str | None = None,
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
) -> gpd.GeoDataFrame:
    """Read a zone layer as ``code_zone, nom_zone, geometry`` in the working CRS.

    Parameters
    ----------
    chemin, couche : path, str
        Vector file and layer.
    code : str, optional
        Column identifying the zones. Without it the file must be a QPV layer (read
        with :func:`observatoire.chargement.lire_qpv`).
    rapport : Rapport, optional
        Receives reprojections and repairs.

    Raises
    ------
    ErreurDonnees
        No ``code`` column, or no QPV code column when ``code`` is not given.
    """
    src = nom_source(chemin, couche)
    if code is None:
        brut = lire_vecteur(chemin, couche)
        if trouver_colonne(brut, _COLONNES_QPV, source=src, role="", requis=False) is None:
            raise ErreurDonnees(
                f"{src} : pas une couche de QPV (aucune colonne parmi {_COLONNES_QPV}) ; nommer "
                "la colonne du code de zone (--zone-id). Colonnes : "
                f"{[c for c in brut.columns if c != 'geometry']}"
            )
        return lire_qpv(chemin, couche, crs=crs, rapport=rapport)
    brut = lire_vecteur(chemin, couche)
    if code not in brut.columns:
        raise ErreurDonnees(
            f"{src} : pas de colonne de code de zone {code!r} ; colonnes : "
            f"{[c for c in brut.columns if c != 'geometry']}"
        )
    c_nom = trouver_colonne(
        brut,
        ["nom_zone", "nom", "name", "libelle", "lib_qp", "nom_qpv"],
        source=src,
        role="",
        requis=False,
    )
    out = gpd.GeoDataFrame(
        {
            "code_zone": brut[code].astype("object").map(str).str.strip().to_numpy(),
            "nom_zone": brut[c_nom].to_numpy() if c_nom else brut[code].astype(str).to_numpy(),
        },
        geometry=brut.geometry.to_numpy(),
        crs=brut.crs,
    )
    return preparer_geometries(out, source=src, code="code_zone", crs=crs, rapport=rapport)
