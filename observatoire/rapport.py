"""A small report collecting what loaders and engines did to the data.

Every loader and engine step appends :class:`Evenement` records (reprojected,
repaired, dropped, unmatched...) instead of printing; the run summary and the
manifest read them back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

__all__ = ["Evenement", "Rapport", "ErreurDonnees"]

log = logging.getLogger("observatoire")


class ErreurDonnees(ValueError):
    """Bad input data: the message names the file, the layer, the column or the feature."""


@dataclass(frozen=True)
class Evenement:
    """One thing that happened to the data.

    Attributes
    ----------
    niveau : {"info", "avertissement"}
    etape : str
        Pipeline step (``"chargement"``, ``"ponderation"`` ...).
    source : str
        File, layer or table concerned.
    message : str
        What happened, in words a GIS user understands.
    n : int
        How many features/rows it concerned.
    """

    niveau: str
    etape: str
    source: str
    message: str
    n: int = 0


@dataclass
class Rapport:
    """Ordered list of :class:`Evenement`.

    Examples
    --------
    >>> r = Rapport()
    >>> r.info("chargement", "a.gpkg", "reprojeté en EPSG:2154", n=3)
    >>> r.avertir("chargement", "a.gpkg", "2 géométries vides retirées", n=2)
    >>> len(r), r.n_avertissements
    (2, 1)
    """

    evenements: list[Evenement] = field(default_factory=list)

    def info(self, etape: str, source: str, message: str, n: int = 0) -> None:
        """Record an informative event."""
        self._ajouter(Evenement("info", etape, str(source), message, n))

    def avertir(self, etape: str, source: str, message: str, n: int = 0) -> None:
        """Record a warning (shown in the run summary)."""
        self._ajouter(Evenement("avertissement", etape, str(source), message, n))

    def _ajouter(self, ev: Evenement) -> None:
        self.evenements.append(ev)
        (log.warning if ev.niveau == "avertissement" else log.info)(
            "%s: %s: %s", ev.etape, ev.source, ev.message
        )

    def etendre(self, autre: Rapport) -> None:
        """Append another report's events."""
        self.evenements.extend(autre.evenements)

    @property
    def n_avertissements(self) -> int:
        """Number of warnings."""
        return sum(e.niveau == "avertissement" for e in self.evenements)

    def __len__(self) -> int:
        return len(self.evenements)

    def to_frame(self):
        """Return the events as a :class:`pandas.DataFrame`."""
        import pandas as pd

        return pd.DataFrame(
            [e.__dict__ for e in self.evenements],
            columns=["niveau", "etape", "source", "message", "n"],
        )
