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
    zone : str, optional
        Code of the feature concerned when there is one (a QPV, a veille zone, an IRIS):
        what a neighbourhood sheet looks up to show the events of its zone.
    """

    niveau: str
    etape: str
    source: str
    message: str
    n: int = 0
    zone: str | None = None


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
    #: Geometry repairs (``make_valid``): one dict per feature with ``source``, ``code``,
    #: ``surface_avant_m2``, ``surface_apres_m2``, ``variation`` (relative), ``raison``.
    reparations: list[dict] = field(default_factory=list)

    def info(
        self, etape: str, source: str, message: str, n: int = 0, zone: str | None = None
    ) -> None:
        """Record an informative event."""
        self._ajouter(Evenement("info", etape, str(source), message, n, zone))

    def avertir(
        self, etape: str, source: str, message: str, n: int = 0, zone: str | None = None
    ) -> None:
        """Record a warning (shown in the run summary)."""
        self._ajouter(Evenement("avertissement", etape, str(source), message, n, zone))

    def de_la_zone(self, code: str) -> list[Evenement]:
        """Events recorded for one feature (e.g. a QPV's geometry repair), in order."""
        return [e for e in self.evenements if e.zone == code]

    def _ajouter(self, ev: Evenement) -> None:
        self.evenements.append(ev)
        (log.warning if ev.niveau == "avertissement" else log.info)(
            "%s: %s: %s", ev.etape, ev.source, ev.message
        )

    def etendre(self, autre: Rapport) -> None:
        """Append another report's events and repairs."""
        self.evenements.extend(autre.evenements)
        self.reparations.extend(autre.reparations)

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
            columns=["niveau", "etape", "source", "message", "n", "zone"],
        )
