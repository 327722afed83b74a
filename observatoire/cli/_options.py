"""Options shared by the commands: spellings, metavars and help texts used everywhere.

One spelling per meaning across commands: ``--out DIR`` an output folder, ``-o/--output
FILE`` an output file, ``--from DIR`` a local data store, ``--config FILE|NAME`` a
territory configuration, ``--cache-dir DIR`` the download cache, ``--years`` census
vintages. A former spelling stays accepted through :class:`OptionRenommee`, hidden from
``--help``.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = [
    "option_depuis",
    "option_sortie",
    "AIDE_CACHE",
    "AIDE_CONFIG",
    "OptionRenommee",
    "annees_option",
]

#: Help of ``--cache-dir`` (the download cache, :func:`observatoire.chemins.dossier_cache`).
AIDE_CACHE = (
    "Download cache folder (default: $OBSERVATOIRE_CACHE, else the checkout's data/, "
    "else the user data folder)."
)

#: Start of the help of ``--config``; commands add what they take from it.
AIDE_CONFIG = (
    "Territory configuration: a YAML file or the name of a shipped one "
    "(san_ouest_provence, pays_de_martigues...)"
)


def option_depuis(aide: str, *, existe: bool = True):
    """``--from DIR``, a local data store: one spelling, metavar and type in every command.

    ``existe=False`` lets the command check the folder itself (to name a default).
    """
    return click.option(
        "--from",
        "depuis",
        metavar="DIR",
        type=click.Path(exists=existe, file_okay=False, path_type=Path),
        default=None,
        help=aide,
    )


def option_sortie(
    aide: str, *, dest: str = "sortie", requis: bool = True, anciens: tuple[str, ...] = ()
):
    """``--out DIR``, an output folder: one spelling, metavar and type in every command.

    ``anciens`` are former spellings, still accepted and hidden (:class:`OptionRenommee`).
    """
    return click.option(
        "--out",
        dest,
        cls=OptionRenommee,
        anciens=list(anciens),
        metavar="DIR",
        required=requis,
        type=click.Path(file_okay=False),
        help=aide,
    )


class OptionRenommee(click.Option):
    """Option that also accepts former spellings (``anciens``), hidden from help and errors.

    Examples
    --------
    >>> @click.command()
    ... @click.option("--out", "sortie", cls=OptionRenommee, anciens=["--sortie"])
    ... def c(sortie):
    ...     click.echo(sortie)
    >>> from click.testing import CliRunner
    >>> CliRunner().invoke(c, ["--sortie", "d"]).output.strip()
    'd'
    >>> "--sortie" in CliRunner().invoke(c, ["--help"]).output
    False
    """

    def __init__(self, param_decls=None, *, anciens=(), **attrs) -> None:
        self.anciens = tuple(anciens)
        super().__init__([*(param_decls or ()), *self.anciens], **attrs)

    def _sans_anciens(self, methode, ctx):
        opts = self.opts
        self.opts = [o for o in opts if o not in self.anciens]
        try:
            return methode(ctx)
        finally:
            self.opts = opts

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        return self._sans_anciens(super().get_help_record, ctx)

    def get_error_hint(self, ctx: click.Context | None) -> str:
        return self._sans_anciens(super().get_error_hint, ctx)


def annees_option(valeur: str | None) -> list[int] | None:
    """Parse ``--years``: comma-separated vintages, ``all`` or nothing for every vintage.

    Examples
    --------
    >>> annees_option("2016, 2022"), annees_option("all"), annees_option(None)
    ([2016, 2022], None, None)
    """
    if valeur is None or valeur.strip().lower() in ("", "all"):
        return None
    try:
        return [int(a) for a in valeur.split(",") if a.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{valeur!r} : années attendues, séparées par des virgules (ou all)",
            param_hint="--years",
        ) from None
