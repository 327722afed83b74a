"""Where the observatory reads and writes: data cache, local stores, outputs.

The download cache defaults to the checkout's ``data/`` folder when the package
runs from a checkout (``data/iris/``, ``data/qpv_perimetres/`` ...), otherwise
to the platform's user data folder. ``OBSERVATOIRE_CACHE`` (or the CLI option
``--cache-dir``) overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "ENV_CACHE",
    "ENV_SHARED",
    "racine_checkout",
    "dossier_cache",
    "dossier_sorties",
    "dossier_donnees_partagees",
]

ENV_CACHE = "OBSERVATOIRE_CACHE"
ENV_SHARED = "OBSERVATOIRE_DONNEES_LOCALES"


def racine_checkout() -> Path | None:
    """Return the project checkout root if the package runs from one, else ``None``."""
    racine = Path(__file__).resolve().parent.parent
    if (racine / "pyproject.toml").is_file() and (racine / "observatoire").is_dir():
        return racine
    return None


def dossier_cache(cache: str | os.PathLike | None = None) -> Path:
    """Return the download cache folder (argument > ``$OBSERVATOIRE_CACHE`` > default).

    Examples
    --------
    >>> str(dossier_cache("/tmp/x"))
    '/tmp/x'
    """
    if cache is not None:
        return Path(cache).expanduser()
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    racine = racine_checkout()
    if racine is not None:
        return racine / "data"
    from platformdirs import user_data_dir

    return Path(user_data_dir("observatoire", appauthor=False))


def dossier_sorties(sorties: str | os.PathLike | None = None) -> Path:
    """Return the output root (argument, else the checkout's ``maps/``, else ``./maps``)."""
    if sorties is not None:
        return Path(sorties).expanduser()
    racine = racine_checkout()
    return (racine / "maps") if racine is not None else Path("maps").resolve()


def dossier_donnees_partagees() -> Path:
    """Return the local data store used by tests and the offline main job.

    ``$OBSERVATOIRE_DONNEES_LOCALES`` if set, else ``../shared/data`` next to the checkout.
    """
    env = os.environ.get(ENV_SHARED)
    if env:
        return Path(env).expanduser()
    racine = racine_checkout() or Path.cwd()
    return (racine.parent / "shared" / "data").resolve()
