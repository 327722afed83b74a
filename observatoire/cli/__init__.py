"""Command-line interface: a thin layer over the public Python API.

Each subcommand group lives in its own module of this package and exposes a
``COMMANDES`` list of :class:`click.Command`; :func:`main` registers every module
listed in ``_MODULES`` that exists.
"""

from __future__ import annotations

import importlib
import logging

import click

from observatoire import __version__

__all__ = ["main"]

_MODULES = ["data", "ponderation", "indicateurs", "cartes", "run", "correction", "partenaires"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="observatoire")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Observatoire de la politique de la ville: IRIS × QPV, indicateurs, écarts, cartes."""
    niveau = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=niveau, format="%(levelname)s %(name)s: %(message)s")


def _enregistrer() -> None:
    for nom in _MODULES:
        try:
            module = importlib.import_module(f"observatoire.cli.{nom}")
        except ModuleNotFoundError as exc:
            if exc.name == f"observatoire.cli.{nom}":
                continue
            raise
        for commande in module.COMMANDES:
            main.add_command(commande)


_enregistrer()
