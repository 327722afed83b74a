"""Loaders for geometry layers: IRIS, QPV, communes, EPCI, départements.

Each returns a GeoDataFrame in the working CRS with one normalised schema,
whatever the edition and column names of the source file.
"""

from __future__ import annotations

import json
import os

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.chargement.codes import (
    MOTIF_COMMUNE,
    MOTIF_IRIS,
    codes_stricts,
    commune_depuis_arrondissement,
    generation_qpv,
    normaliser_code,
)
from observatoire.chargement.validation import (
    CRS_TRAVAIL,
    filtrer_par_masque,
    lire_vecteur,
    nom_source,
    preparer_geometries,
    trouver_colonne,
)
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["lire_iris", "lire_qpv", "lire_communes", "lire_epci", "lire_departements"]

COLONNES_IRIS = [
    "code_iris",
    "nom_iris",
    "code_commune",
    "code_commune_arm",
    "nom_commune",
    "type_iris",
    "geometry",
]
COLONNES_QPV = ["code_zone", "nom_zone", "generation", "communes", "geometry"]


def lire_iris(
    chemin: str | os.PathLike,
    couche: str | None = None,
    *,
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
    masque: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Read an IRIS contour layer (IGN/INSEE CONTOURS-IRIS, any edition).

    ``masque`` (optional, any CRS): keep only the IRIS whose bounding box comes within
    1 km of a masque feature's bounding box, *before* reprojection and validation (a
    national layer read for local zones; see :func:`filtrer_par_masque`).

    Accepts ``CODE_IRIS`` / ``DCOMIRIS`` / ``code_iris`` (9-character code) or
    ``INSEE_COM``/``DEPCOM`` + ``IRIS`` (4-character suffix, as in geometry layers).

    Returns
    -------
    GeoDataFrame
        ``code_iris`` (9 chars), ``nom_iris``, ``code_commune`` (PLM arrondissements
        rolled up to 75056 / 69123 / 13055), ``code_commune_arm`` (the commune or
        arrondissement code as given), ``nom_commune``, ``type_iris``, geometry in ``crs``.
    """
    src = nom_source(chemin, couche)
    brut = lire_vecteur(chemin, couche)
    if masque is not None:
        n_avant = len(brut)
        brut = filtrer_par_masque(brut, masque)
        if rapport is not None:
            rapport.info(
                "chargement",
                src,
                f"{len(brut)} IRIS sur {n_avant} gardés près des zones (masque) avant reprojection",
                n=len(brut),
            )
    c_com = trouver_colonne(
        brut,
        ["INSEE_COM", "DEPCOM", "CODE_COM", "code_commune", "COM"],
        source=src,
        role="code commune",
        requis=False,
    )
    c_code = trouver_colonne(
        brut, ["CODE_IRIS", "DCOMIRIS", "code_iris"], source=src, role="code IRIS", requis=False
    )

    def communes_strictes():
        return codes_stricts(
            brut[c_com], 5, MOTIF_COMMUNE, source=src, colonne=c_com, premiere=0, unite="entité"
        )

    if c_code is not None:
        code = codes_stricts(
            brut[c_code], 9, MOTIF_IRIS, source=src, colonne=c_code, premiere=0, unite="entité"
        )
    else:
        c_suffixe = trouver_colonne(brut, ["IRIS"], source=src, role="code IRIS", requis=False)
        if c_suffixe is None:
            raise ErreurDonnees(
                f"{src} : pas de colonne de code IRIS ; attendu : CODE_IRIS, DCOMIRIS ou "
                "code_iris (9 caractères), ou IRIS + INSEE_COM/DEPCOM ; trouvé : "
                f"{[str(c) for c in brut.columns if c != 'geometry']}"
            )
        suffixe = normaliser_code(brut[c_suffixe], 4)
        if suffixe.str.len().max() >= 8:  # a 9-character code under the name IRIS
            code = codes_stricts(
                brut[c_suffixe],
                9,
                MOTIF_IRIS,
                source=src,
                colonne=c_suffixe,
                premiere=0,
                unite="entité",
            )
        elif c_com is None:
            raise ErreurDonnees(
                f"{src} : la colonne IRIS contient des suffixes à 4 caractères mais aucune "
                "colonne de code commune (INSEE_COM / DEPCOM) ne permet de former le code à "
                "9 caractères"
            )
        else:
            code = communes_strictes() + suffixe
    mauvais = code.isna() | (code.str.len() != 9)
    if mauvais.any():
        raise ErreurDonnees(
            f"{src} : {int(mauvais.sum())} code(s) IRIS n'ont pas 9 caractères : "
            f"{code[mauvais].head(10).tolist()}"
        )
    arm = communes_strictes() if c_com is not None else code.str[:5]
    c_nom = trouver_colonne(
        brut, ["NOM_IRIS", "LIB_IRIS", "nom_iris"], source=src, role="nom d'IRIS", requis=False
    )
    c_nomcom = trouver_colonne(
        brut,
        ["NOM_COM", "LIBCOM", "nom_commune", "LIB_COM"],
        source=src,
        role="nom de commune",
        requis=False,
    )
    c_type = trouver_colonne(
        brut, ["TYP_IRIS", "TYPE_IRIS", "type_iris"], source=src, role="type d'IRIS", requis=False
    )
    out = gpd.GeoDataFrame(
        {
            "code_iris": code.to_numpy(),
            "nom_iris": brut[c_nom].to_numpy() if c_nom else pd.NA,
            "code_commune": commune_depuis_arrondissement(arm).to_numpy(),
            "code_commune_arm": arm.to_numpy(),
            "nom_commune": brut[c_nomcom].to_numpy() if c_nomcom else pd.NA,
            "type_iris": brut[c_type].astype("object").str.strip().to_numpy() if c_type else pd.NA,
        },
        geometry=brut.geometry.to_numpy(),
        crs=brut.crs,
    )
    return preparer_geometries(out, source=src, code="code_iris", crs=crs, rapport=rapport)


def _liste_communes(valeur) -> list[str]:
    """Normalise a commune property (list, array, JSON text, ``a,b`` text) to codes."""
    if valeur is None or (isinstance(valeur, float) and np.isnan(valeur)):
        return []
    if isinstance(valeur, list | tuple | np.ndarray):
        elements = list(valeur)
    else:
        texte = str(valeur).strip()
        if texte.startswith("["):
            elements = json.loads(texte)
        else:
            elements = [t for t in texte.replace(";", ",").split(",") if t.strip()]
    return [str(normaliser_code(pd.Series([e]), 5).iloc[0]) for e in elements]


def lire_qpv(
    chemin: str | os.PathLike,
    couche: str | None = None,
    *,
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
) -> gpd.GeoDataFrame:
    """Read a QPV perimeter layer (ANCT, generation 2015 or 2024).

    A QPV is a zone of the pipeline: its code and name come back as ``code_zone`` and
    ``nom_zone`` (the file's own columns: ``CODE_QP``, ``code_qpv``, ``NOM_QP``..., or
    ``code_zone``, ``nom_zone`` for a layer written from this schema).

    Returns
    -------
    GeoDataFrame
        ``code_zone``, ``nom_zone``, ``generation`` (2015 for ``QP…`` codes, 2024 for
        ``QN…``), ``communes`` (list of commune codes; empty when the file only
        names them), geometry in ``crs``.
    """
    src = nom_source(chemin, couche)
    brut = lire_vecteur(chemin, couche)
    c_code = trouver_colonne(
        brut,
        ["code_qpv", "CODE_QP", "code_qp", "codeQPV", "CODE_QPV", "code_zone"],
        source=src,
        role="code QPV",
    )
    c_nom = trouver_colonne(
        brut,
        ["nom_qpv", "NOM_QP", "nom_qp", "lib_qp", "LIB_QP", "nom_zone"],
        source=src,
        role="nom de QPV",
        requis=False,
    )
    c_com = trouver_colonne(
        brut,
        ["communes", "insee_com", "code_commune", "CODE_COM", "COMMUNE_QP_CODE"],
        source=src,
        role="code commune",
        requis=False,
    )
    codes = brut[c_code].astype("object").str.strip()
    generations = []
    for i, c in enumerate(codes):
        try:
            generations.append(generation_qpv(c))
        except ValueError as exc:
            raise ErreurDonnees(f"{src} : entité {i} : {exc}") from None
    communes = brut[c_com].map(_liste_communes) if c_com else pd.Series([[]] * len(brut))
    if c_com is None and rapport is not None:
        rapport.info(
            "chargement", src, "pas de colonne de code commune : communes des QPV laissées vides"
        )
    out = gpd.GeoDataFrame(
        {
            "code_zone": codes.to_numpy(),
            "nom_zone": brut[c_nom].to_numpy() if c_nom else pd.NA,
            "generation": np.asarray(generations, dtype="int64"),
            "communes": communes.to_numpy(),
        },
        geometry=brut.geometry.to_numpy(),
        crs=brut.crs,
    )
    return preparer_geometries(out, source=src, code="code_zone", crs=crs, rapport=rapport)


def _lire_admin(
    chemin, couche, crs, rapport, *, code, nom, variantes_code, variantes_nom, longueur, extra=None
):
    src = nom_source(chemin, couche)
    brut = lire_vecteur(chemin, couche)
    c_code = trouver_colonne(brut, variantes_code, source=src, role=f"{code}")
    c_nom = trouver_colonne(brut, variantes_nom, source=src, role=f"{nom}", requis=False)
    donnees = {
        code: normaliser_code(brut[c_code], longueur).to_numpy(),
        nom: brut[c_nom].to_numpy() if c_nom else pd.NA,
    }
    for cible, variantes in (extra or {}).items():
        c = trouver_colonne(brut, variantes, source=src, role=cible, requis=False)
        donnees[cible] = pd.to_numeric(brut[c], errors="coerce").to_numpy() if c else np.nan
    out = gpd.GeoDataFrame(donnees, geometry=brut.geometry.to_numpy(), crs=brut.crs)
    return preparer_geometries(out, source=src, code=code, crs=crs, rapport=rapport)


def lire_communes(chemin, couche=None, *, crs=CRS_TRAVAIL, rapport=None) -> gpd.GeoDataFrame:
    """Read communes (ADMIN EXPRESS, geo.api.gouv.fr...): ``code_commune, nom_commune``."""
    return _lire_admin(
        chemin,
        couche,
        crs,
        rapport,
        code="code_commune",
        nom="nom_commune",
        variantes_code=["code_commune", "INSEE_COM", "code", "code_insee", "codgeo", "insee"],
        variantes_nom=["nom_commune", "NOM", "nom", "NOM_COM", "libgeo"],
        longueur=5,
    )


def lire_epci(chemin, couche=None, *, crs=CRS_TRAVAIL, rapport=None) -> gpd.GeoDataFrame:
    """Read EPCI (ANCT, ADMIN EXPRESS, geo.api.gouv.fr): ``code_epci, nom_epci, population``."""
    return _lire_admin(
        chemin,
        couche,
        crs,
        rapport,
        code="code_epci",
        nom="nom_epci",
        variantes_code=["code_epci", "codgeo", "CODE_SIREN", "SIREN_EPCI", "siren", "code"],
        variantes_nom=["nom_epci", "libgeo", "NOM", "nom", "NOM_EPCI"],
        longueur=9,
        extra={"population": ["population", "pop", "POPULATION"]},
    )


def lire_departements(chemin, couche=None, *, crs=CRS_TRAVAIL, rapport=None) -> gpd.GeoDataFrame:
    """Read départements: ``code_departement, nom_departement``."""
    return _lire_admin(
        chemin,
        couche,
        crs,
        rapport,
        code="code_departement",
        nom="nom_departement",
        variantes_code=["code_departement", "INSEE_DEP", "code", "code_insee", "DEP"],
        variantes_nom=["nom_departement", "NOM", "nom", "NOM_DEP"],
        longueur=2,
    )
