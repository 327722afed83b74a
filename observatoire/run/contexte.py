"""What the steps of a run share: the context they read and write, and the step type."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from observatoire.config import ConfigTerritoire
from observatoire.rapport import Rapport

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    import pandas as pd

    from observatoire.cartes.couches import CouchesWeb
    from observatoire.indicateurs.codebook import Codebook
    from observatoire.territoire.donnees import DonneesTerritoire
    from observatoire.territoire.ecarts import EcartsTerritoire
    from observatoire.territoire.indicateurs import IndicateursTerritoire
    from observatoire.territoire.poids import PoidsTerritoire

__all__ = ["Contexte", "Etape"]


@dataclass
class Contexte:
    """What every step reads and writes.

    Each step fills the result the next ones read: ``poids`` (weights step),
    ``indicateurs``, then ``ecarts`` with the zones' ``avertissements`` and ``notes``.

    Attributes
    ----------
    config : ConfigTerritoire
    annees : list of int
        Census vintages computed by this run.
    dossier : Path
        Temporary build folder: steps write their outputs under it, never elsewhere.
    rapport : Rapport
        Non-fatal events (warnings go to the summary and the manifest).
    donnees : DonneesTerritoire
        The territory's inputs, loaded and checked once
        (:func:`observatoire.run.verification.preparer_run`).
    codebook : Codebook
        The configured indicators (with the partners' ones).
    resume : list of str
        Lines for the end-of-run summary (what was computed).
    progression : bool
        Whether to show progress bars.
    nettoyages : list of callables
        Called when the run fails, before its temporary folder is removed.
    """

    config: ConfigTerritoire
    annees: list[int]
    dossier: Path
    rapport: Rapport
    donnees: DonneesTerritoire | None = None
    codebook: Codebook | None = None
    poids: PoidsTerritoire | None = None
    indicateurs: IndicateursTerritoire | None = None
    ecarts: EcartsTerritoire | None = None
    #: Zone code → its French warnings (sheets, map tooltips, workbook).
    avertissements: dict[str, list[str]] = field(default_factory=dict)
    #: Zone code → the notes of its sheet's method section.
    notes: dict[str, list[str]] = field(default_factory=dict)
    #: Web layers shared by the maps and the sheets (simplified once).
    couches_web: CouchesWeb | None = None
    #: Workbook sheets and path, written once the maps are drawn.
    classeur_differe: tuple[dict[str, pd.DataFrame], Path] | None = None
    #: Background processes of the run by name (``fiches``, ``classeur``).
    enfants: dict[str, BaseProcess] = field(default_factory=dict)
    resume: list[str] = field(default_factory=list)
    progression: bool = True
    #: Called (in order) when the run fails, before the temporary folder is removed
    #: (e.g. to stop a background writer).
    nettoyages: list[Callable[[], None]] = field(default_factory=list)

    def chemin(self, *parties: str) -> Path:
        """Path of an output under the build folder (parent folders created)."""
        p = self.dossier.joinpath(*parties)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def barre(self, elements: Iterable, description: str, total: int | None = None):
        """Wrap ``elements`` in a tqdm progress bar (silent when progress is off)."""
        from tqdm.auto import tqdm

        # disable=None: bars only on a terminal (no progress noise in redirected logs)
        return tqdm(
            elements,
            desc=description,
            total=total,
            leave=False,
            unit="",
            disable=None if self.progression else True,
        )


@dataclass(frozen=True)
class Etape:
    """A named pipeline step: ``fonction(ctx)`` writes under ``ctx.dossier``."""

    nom: str
    fonction: Callable[[Contexte], None]
    description: str = ""
