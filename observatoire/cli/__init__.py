"""Command-line interface: a thin layer over the public Python API.

Each command lives in a module of this package that exposes a ``COMMANDES`` list of
:class:`click.Command`. :data:`SOMMAIRE` names the module and the short help of every
top-level command, so ``observatoire --help`` lists them without importing any: a
command's module (and pandas, geopandas...) is imported only when that command runs
or shows its own help.
"""

from __future__ import annotations

import importlib
import logging

import click

from observatoire import __version__

__all__ = ["main", "SOMMAIRE"]

#: Top-level command → (module of ``observatoire.cli``, short help: the first sentence of
#: the command's docstring).
SOMMAIRE: dict[str, tuple[str, str]] = {
    "data": (
        "data",
        "Official sources and local stores: fetch into the cache, list it, summarise a territory.",
    ),
    "weights": (
        "ponderation",
        "Compute the IRIS × zone weights table (surface, dasymetric, calibrated or iris_list).",
    ),
    "quality": (
        "ponderation",
        "Compare weighted estimates with official zone figures, per method.",
    ),
    "indicateurs": (
        "indicateurs",
        "Compute indicators: codebook, consolidation by territory (IRIS, QPV, veille, commune...).",
    ),
    "ecarts": (
        "indicateurs",
        "Gaps between zones and their references (commune, EPCI, département, France), by year.",
    ),
    "maps": (
        "cartes",
        "Write offline choropleth and gap maps (one self-contained HTML per map) and index.html.",
    ),
    "fiches": (
        "cartes",
        "Write one printable neighbourhood sheet per QPV and veille territory, and index.html.",
    ),
    "run": (
        "run",
        "Run the observatory for one territory: sources → weights → indicators → gaps → maps.",
    ),
    "compare": (
        "run",
        "Compare two run output folders (e.g. last year's and this year's): files and values.",
    ),
    "correction": (
        "correction",
        "Correction of the dilution of IRIS-weighted rates in QPV (learned on official values).",
    ),
    "partenaires": (
        "partenaires",
        "Partners' tables (job seekers, pupils, allocataires...) counted by neighbourhood.",
    ),
}


class _GroupeDiffere(click.Group):
    """Group whose commands are imported from :data:`SOMMAIRE` when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return every command name, sorted (nothing imported)."""
        return sorted({*SOMMAIRE, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the command, importing its module the first time."""
        if cmd_name not in self.commands and cmd_name in SOMMAIRE:
            module = importlib.import_module(f"observatoire.cli.{SOMMAIRE[cmd_name][0]}")
            for commande in module.COMMANDES:
                self.add_command(commande)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands with the short help of :data:`SOMMAIRE` (nothing imported)."""
        noms = self.list_commands(ctx)
        limite = formatter.width - 6 - max(len(n) for n in noms)
        lignes = []
        for nom in noms:
            commande = self.commands.get(nom) or click.Command(nom, help=SOMMAIRE[nom][1])
            if not commande.hidden:
                lignes.append((nom, commande.get_short_help_str(limite)))
        with formatter.section("Commands"):
            formatter.write_dl(lignes)


@click.group(cls=_GroupeDiffere, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="observatoire")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Observatoire de la politique de la ville: IRIS × QPV, indicateurs, écarts, cartes."""
    niveau = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=niveau, format="%(levelname)s %(name)s: %(message)s")
