"""Loaders: one normalised schema whatever the edition of the source file.

Geometry layers come back in the working CRS (:data:`CRS_TRAVAIL`, Lambert-93),
validated (CRS required, repaired, empties dropped, duplicate codes rejected);
tables come back with string codes, vintage-free variable names and NaN for
secret or missing values.
"""

from observatoire.chargement.codes import (
    commune_depuis_arrondissement,
    generation_qpv,
    normaliser_code,
)
from observatoire.chargement.geometries import (
    lire_communes,
    lire_departements,
    lire_epci,
    lire_iris,
    lire_qpv,
)
from observatoire.chargement.grille import lire_grille
from observatoire.chargement.tables import (
    lire_indicateurs_ptod,
    lire_qpv_officiel,
    lire_table,
    lire_table_iris,
)
from observatoire.chargement.validation import CRS_TRAVAIL

__all__ = [
    "CRS_TRAVAIL",
    "lire_iris",
    "lire_qpv",
    "lire_communes",
    "lire_epci",
    "lire_departements",
    "lire_table",
    "lire_table_iris",
    "lire_indicateurs_ptod",
    "lire_qpv_officiel",
    "lire_grille",
    "normaliser_code",
    "commune_depuis_arrondissement",
    "generation_qpv",
]
