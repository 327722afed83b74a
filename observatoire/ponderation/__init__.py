"""Weights engine: IRIS × zone intersection, weights, apportionment, quality.

Modules: ``intersection`` (IRIS × zone pieces, areas, shares), ``parallele`` (overlays
spread over threads), ``surface``,
``dasymetrie`` (200 m grid or GeoTIFF), ``calibration`` (official populations),
``liste_iris`` (zones declared as IRIS lists), ``poids`` (:func:`table_poids`, one
entry point), ``ventilation`` (:func:`ventiler`), ``carroyage`` (grid counts summed
over zones by cell-area share), ``qualite`` and ``qualite_zones`` (reports against
official figures), ``cache`` (persisted weights tables keyed by input checksums).
"""

from observatoire.ponderation.cache import CachePoids, cle_poids, empreinte_fichier
from observatoire.ponderation.calibration import calibrer, facteurs_calibration, remplir
from observatoire.ponderation.dasymetrie import (
    grille_depuis_raster,
    masse_grille,
    poids_dasymetriques,
)
from observatoire.ponderation.intersection import intersecter
from observatoire.ponderation.liste_iris import (
    chevauchements,
    poids_iris_moins_zones,
    poids_liste_iris,
    zone_depuis_iris,
)
from observatoire.ponderation.poids import COLONNES_POIDS, METHODES, table_poids, zones_implausibles
from observatoire.ponderation.qualite import (
    comparer_parts,
    parts_reference_2015,
    population_iris,
    rapport_qualite,
    resumer,
    resumer_calibration,
    variables_comparees,
)
from observatoire.ponderation.surface import poids_surface
from observatoire.ponderation.ventilation import ventiler

__all__ = [
    "ventiler",
    "table_poids",
    "zones_implausibles",
    "METHODES",
    "COLONNES_POIDS",
    "intersecter",
    "poids_surface",
    "poids_dasymetriques",
    "masse_grille",
    "grille_depuis_raster",
    "calibrer",
    "facteurs_calibration",
    "remplir",
    "poids_liste_iris",
    "zone_depuis_iris",
    "poids_iris_moins_zones",
    "chevauchements",
    "population_iris",
    "rapport_qualite",
    "resumer",
    "resumer_calibration",
    "variables_comparees",
    "comparer_parts",
    "parts_reference_2015",
    "CachePoids",
    "cle_poids",
    "empreinte_fichier",
]
