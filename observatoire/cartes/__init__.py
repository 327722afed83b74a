"""Offline Leaflet maps, gap maps, neighbourhood sheets and their index.

Every page is one self-contained HTML file: Leaflet (from the installed
``xstatic-leaflet`` package) and the observatory's own small script and styles
are inlined at generation time, so pages open without network for years.

- :mod:`~observatoire.cartes.actifs` — inlined JS/CSS assets, offline check.
- :mod:`~observatoire.cartes.simplification` — coverage simplification, rounding, GeoJSON.
- :mod:`~observatoire.cartes.couches` — the territory's web layers and outline styles.
- :mod:`~observatoire.cartes.classes` — mapclassify breaks pooled across years.
- :mod:`~observatoire.cartes.legende` — palettes, French number formatting, legends.
- :mod:`~observatoire.cartes.choroplethe` — IRIS indicator choropleth.
- :mod:`~observatoire.cartes.carte_ecarts` — gap maps against a reference level.
- :mod:`~observatoire.cartes.fiches` — neighbourhood sheets (A4 print).
- :mod:`~observatoire.cartes.synthese` — values of record and their fiabilité in words.
- :mod:`~observatoire.cartes.index` — ``index.html``.
- :mod:`~observatoire.cartes.generation` — :func:`generer_cartes`, :func:`generer_fiches`.
- :mod:`~observatoire.cartes.folium_carte` — :func:`carte_folium` (notebooks, offline).
"""

from observatoire.cartes.carte_ecarts import carte_ecarts
from observatoire.cartes.choroplethe import carte_indicateurs
from observatoire.cartes.couches import CouchesWeb, preparer_couches
from observatoire.cartes.entrees import Geometries
from observatoire.cartes.fiches import fiche_quartier
from observatoire.cartes.folium_carte import carte_folium
from observatoire.cartes.generation import (
    couches_web,
    generer_cartes,
    generer_fiches,
    generer_index,
    nom_fichier_fiche,
)

__all__ = [
    "Geometries",
    "CouchesWeb",
    "preparer_couches",
    "couches_web",
    "carte_indicateurs",
    "carte_ecarts",
    "fiche_quartier",
    "generer_cartes",
    "generer_fiches",
    "generer_index",
    "nom_fichier_fiche",
    "carte_folium",
]
