"""observatoire — territorial observatory for French *politique de la ville*.

Pipeline stages, one module (or subpackage) each:

- :mod:`observatoire.chemins` — where data, caches and outputs live.
- :mod:`observatoire.sources` — registry of official sources, local catalogues,
  download cache (``observatoire data ...``).
- :mod:`observatoire.chargement` — loaders returning one normalised schema
  whatever the edition (IRIS, QPV, communes/EPCI/départements, INSEE tables,
  official QPV tables, 200 m grid), with a :class:`~observatoire.rapport.Rapport`.
- :mod:`observatoire.ponderation` — IRIS × zone intersection and weights
  (surface, dasymetric, calibrated, IRIS list) and their quality report.
- :mod:`observatoire.indicateurs` — codebook, consolidation by territory,
  secret statistique.
- :mod:`observatoire.ecarts` — gaps against references, across years.
- :mod:`observatoire.cartes` / :mod:`observatoire.fiches` — offline Leaflet
  maps and neighbourhood sheets.
- :mod:`observatoire.run` — territory configuration and the yearly run.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("observatoire")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+inconnu"

__all__ = ["__version__"]
