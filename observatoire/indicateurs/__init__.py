"""Indicators: codebook, consolidation by territory, official values, secret statistique.

- :mod:`~observatoire.indicateurs.codebook` — the packaged codebook (data, not code).
- :mod:`~observatoire.indicateurs.consolidation` — counts apportioned, rates recomputed.
- :mod:`~observatoire.indicateurs.officiel` — official values of record (communes,
  départements, QPV) and their comparison with IRIS-based estimates.
- :mod:`~observatoire.indicateurs.secret` — threshold and complement suppression.
- :mod:`~observatoire.indicateurs.references` — reference territories of each zone.
- :mod:`~observatoire.indicateurs.geographie` — IRIS codes on one side only (edition changes).
"""

from observatoire.indicateurs.codebook import (
    STATUTS,
    Codebook,
    Expression,
    Indicateur,
    charger_codebook,
)
from observatoire.indicateurs.consolidation import (
    COLONNES,
    NIVEAUX,
    consolider,
    indicateurs_comptages,
    indicateurs_taux,
    poids_appartenance,
)
from observatoire.indicateurs.geographie import comparer_codes_iris
from observatoire.indicateurs.officiel import (
    comparer_officiel_estime,
    valeurs_officielles_ptod,
    valeurs_officielles_qpv,
    valeurs_officielles_zonages,
)
from observatoire.indicateurs.references import references_territoires
from observatoire.indicateurs.secret import appliquer_secret

__all__ = [
    "STATUTS",
    "Codebook",
    "Expression",
    "Indicateur",
    "charger_codebook",
    "COLONNES",
    "NIVEAUX",
    "consolider",
    "indicateurs_comptages",
    "indicateurs_taux",
    "poids_appartenance",
    "appliquer_secret",
    "valeurs_officielles_ptod",
    "valeurs_officielles_qpv",
    "valeurs_officielles_zonages",
    "comparer_officiel_estime",
    "references_territoires",
    "comparer_codes_iris",
]
