"""Partners' yearly tables: count beneficiaries and publics by neighbourhood and by sex.

``modele`` (what a configuration declares), ``lecture`` (read and validate the file),
``geocodage`` (addresses through the national address base's batch geocoder, with a
local cache), ``localisation`` (codes, coordinates and addresses → zones, commune,
EPCI), ``comptage`` (counts and rates with the secret statistique).
:func:`traiter_table` chains them for one table: the yearly run and
``observatoire partenaires localiser`` both call it.

Privacy: a partner's rows stay in memory. Nothing personal (address, name,
coordinates) reaches an output, a log or the manifest — only counts, the placement
report and the file's SHA-256. The geocoding cache holds normalised address →
coordinates and score, in the cache folder (``observatoire partenaires purger``).
"""

from __future__ import annotations

import importlib

__all__ = [
    "TablePartenaire",
    "TerritoirePartenaires",
    "ResultatPartenaire",
    "lire_table_partenaire",
    "localiser",
    "compter",
    "indicateurs_codebook",
    "traiter_table",
    "purger_cache",
    "MOTIFS",
]

_OU = {
    "TablePartenaire": "modele",
    "TerritoirePartenaires": "traitement",
    "ResultatPartenaire": "traitement",
    "traiter_table": "traitement",
    "lire_table_partenaire": "lecture",
    "localiser": "localisation",
    "MOTIFS": "localisation",
    "compter": "comptage",
    "indicateurs_codebook": "comptage",
    "purger_cache": "geocodage",
}


def __getattr__(nom: str):
    """Import on first use: reading a model does not load geopandas and the geocoder."""
    if nom in _OU:
        return getattr(importlib.import_module(f"observatoire.partenaires.{_OU[nom]}"), nom)
    raise AttributeError(f"module 'observatoire.partenaires' has no attribute {nom!r}")
