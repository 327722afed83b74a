"""A territory's pipeline, one entry point per stage, shared by the yearly run and the CLI.

``donnees`` (:func:`charger_territoire`: every input of a configuration, read once),
``entrees`` (a catalogue id or a path → a file and its provenance), ``poids``
(:func:`poids_territoire`), ``indicateurs`` (:func:`indicateurs_territoire`, levels,
codebook), ``correction`` (dilution correction), ``partenaires`` (partners' tables),
``ecarts`` (:func:`ecarts_territoire`, synthesis, quality table), ``avertissements``
(the zones' warnings and sheet notes), ``publication`` (published tables, GeoPackage
layers, workbook sheets).
"""

from __future__ import annotations

import importlib

__all__ = [
    "DonneesTerritoire",
    "charger_territoire",
    "PoidsTerritoire",
    "poids_territoire",
    "IndicateursTerritoire",
    "indicateurs_territoire",
    "niveaux_territoire",
    "EcartsTerritoire",
    "ecarts_territoire",
    "geometries_territoire",
]

_OU = {
    "DonneesTerritoire": "donnees",
    "charger_territoire": "donnees",
    "PoidsTerritoire": "poids",
    "poids_territoire": "poids",
    "IndicateursTerritoire": "indicateurs",
    "indicateurs_territoire": "indicateurs",
    "niveaux_territoire": "indicateurs",
    "EcartsTerritoire": "ecarts",
    "ecarts_territoire": "ecarts",
    "geometries_territoire": "publication",
}


def __getattr__(nom: str):
    """Import on first use: the CLI loads only the stage it runs."""
    if nom in _OU:
        return getattr(importlib.import_module(f"observatoire.territoire.{_OU[nom]}"), nom)
    raise AttributeError(f"module 'observatoire.territoire' has no attribute {nom!r}")
