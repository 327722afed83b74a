"""Official sources, local catalogues and the download cache (``observatoire data ...``).

- :mod:`~observatoire.sources.registre` — the registry of official sources
  (``registre.yaml``), local catalogues (``catalogues/*.yaml``) and the ids every
  territory fetches (``socle.yaml``), validated on load.
- :mod:`~observatoire.sources.cache` — cache folder and its JSON index.
- :mod:`~observatoire.sources.telechargement` — streamed, resumable, checksum-verified downloads.
- :mod:`~observatoire.sources.archives` — safe .zip/.7z extraction.
- :mod:`~observatoire.sources.acquisition` — :func:`recuperer` (fetch),
  :func:`chemin_source` (which file to read for a source id) and :func:`territoire`
  (what a territory configuration needs).
"""

from observatoire.sources.acquisition import (
    TERRITOIRE_DEFAUT,
    Resultat,
    catalogue_pour,
    charger_territoires,
    chemin_source,
    recuperer,
    territoire,
)
from observatoire.sources.archives import extraire_archive, type_archive
from observatoire.sources.cache import Cache
from observatoire.sources.registre import (
    Catalogue,
    Registre,
    Source,
    Territoire,
    charger_catalogue,
    charger_registre,
)
from observatoire.sources.telechargement import (
    ErreurSomme,
    ErreurTelechargement,
    sha256_fichier,
    telecharger,
)

__all__ = [
    "TERRITOIRE_DEFAUT",
    "Cache",
    "Catalogue",
    "ErreurSomme",
    "ErreurTelechargement",
    "Registre",
    "Resultat",
    "Source",
    "Territoire",
    "catalogue_pour",
    "charger_catalogue",
    "charger_registre",
    "charger_territoires",
    "chemin_source",
    "extraire_archive",
    "recuperer",
    "sha256_fichier",
    "telecharger",
    "territoire",
    "type_archive",
]
