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
- :mod:`observatoire.correction` — dilution correction of IRIS estimates.
- :mod:`observatoire.partenaires` — partners' yearly tables counted by neighbourhood.
- :mod:`observatoire.cartes` — offline Leaflet maps, neighbourhood sheets, index.
- :mod:`observatoire.sorties` — atomic writers of the output tables.
- :mod:`observatoire.config` — territory configuration (YAML models).
- :mod:`observatoire.territoire` — a territory loaded once, one entry point per stage,
  shared by the run and the CLI.
- :mod:`observatoire.run` — the yearly run: checks, steps, manifest, atomic swap.
- :mod:`observatoire.cli` — the ``observatoire`` command.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("observatoire")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+inconnu"

__all__ = ["__version__"]
