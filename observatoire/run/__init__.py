"""The yearly run: one territory configuration → tables, maps, sheets and a manifest.

``executer`` (the run: checks, lock, steps in a temporary folder, manifest, atomic
swap), ``contexte`` (what the steps share), ``etapes`` (the steps), ``verification``
(inputs resolved, loaded and checked before anything is written), ``manifeste``
(inventory and checksums of the outputs), ``remplacement`` (the atomic folder swap and
the output lock), ``comparaison`` (what changed between two runs).
"""

from __future__ import annotations

import importlib

__all__ = [
    "executer_run",
    "annees_demandees",
    "ResultatRun",
    "SortiesExistantes",
    "ErreurEtape",
    "ErreurEcriture",
    "RunEnCours",
    "Contexte",
    "Etape",
]

_OU = {
    "executer_run": "executer",
    "annees_demandees": "executer",
    "ResultatRun": "executer",
    "SortiesExistantes": "executer",
    "ErreurEtape": "executer",
    "ErreurEcriture": "executer",
    "RunEnCours": "remplacement",
    "Contexte": "contexte",
    "Etape": "contexte",
}


def __getattr__(nom: str):
    """Import on first use: a step or a check module loads without the run around it."""
    if nom in _OU:
        return getattr(importlib.import_module(f"observatoire.run.{_OU[nom]}"), nom)
    raise AttributeError(f"module 'observatoire.run' has no attribute {nom!r}")
