"""``observatoire run``: the yearly one-command run, and ``observatoire compare``.

Exit codes: 0 done; 1 a pipeline step failed (previous outputs untouched);
2 invalid configuration or option (nothing written); 3 outputs exist and
``--force`` was not given (nothing written); 4 unreadable or inconsistent input
data (nothing written); 5 another run is writing into the same output folder
(nothing written); 130 interrupted.
"""

from __future__ import annotations

import sys

import click

from observatoire.cli._options import AIDE_CACHE, AIDE_CONFIG, option_depuis, option_sortie

__all__ = ["COMMANDES", "run", "compare", "CODES_SORTIE", "commande_avec_force"]

CODES_SORTIE = {
    "ok": 0,
    "etape": 1,
    "config": 2,
    "existe": 3,
    "donnees": 4,
    "occupe": 5,
    "interrompu": 130,
}


def commande_avec_force(argv: list[str] | None = None, environ=None) -> str:
    """Return the command line that replaces the outputs: this one with ``--force`` added.

    ``$OBSERVATOIRE_COMMANDE`` (set by ``scripts/demarrer.sh``) names the command the
    user typed; else the program is ``observatoire`` when that is the one on the PATH.

    Examples
    --------
    >>> commande_avec_force(["/x/.venv/bin/observatoire", "run", "--from", "a b"], {})
    "/x/.venv/bin/observatoire run --from 'a b' --force"
    >>> commande_avec_force(["x"], {"OBSERVATOIRE_COMMANDE": "bash scripts/demarrer.sh"})
    'bash scripts/demarrer.sh --force'
    """
    import os
    import shlex
    import shutil

    environ = os.environ if environ is None else environ
    argv = list(sys.argv if argv is None else argv)
    base = environ.get("OBSERVATOIRE_COMMANDE")
    if base:
        return f"{base} --force"
    programme = argv[0] if argv else "observatoire"
    sur_le_path = shutil.which("observatoire") if "PATH" in environ else None
    if sur_le_path and os.path.realpath(sur_le_path) == os.path.realpath(programme):
        programme = "observatoire"
    reste = [a for a in argv[1:] if a != "--force"]
    return shlex.join([programme, *reste, "--force"])


class _console_sobre:
    """Keep the console to errors while the run works (without -v).

    The run's warnings are listed once, in the summary printed at the end.
    """

    def __enter__(self):
        import logging

        racine = logging.getLogger()
        self.niveaux = []
        if racine.getEffectiveLevel() > logging.INFO:
            for h in racine.handlers:
                self.niveaux.append((h, h.level))
                h.setLevel(max(h.level, logging.ERROR))
        return self

    def __exit__(self, *exc):
        for h, niveau in self.niveaux:
            h.setLevel(niveau)
        return False


_RIEN_ECRIT = "Rien n'a été écrit."
_INTACTES = "Les sorties précédentes sont intactes"


def _erreur(message: str, code: int) -> None:
    """Print ``Error: message`` (click's own prefix, as for usage errors) and exit."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.command(
    "run",
    epilog="Exit codes: 0 done, 1 a step failed (previous outputs untouched), 2 invalid "
    "configuration or option, 3 outputs exist (use --force), 4 bad input data, 5 another run "
    "is writing into the same output folder, 130 interrupted.",
)
@click.option(
    "--config",
    "config",
    metavar="FILE|NAME",
    help=f"{AIDE_CONFIG}. Default: san_ouest_provence.",
)
@click.option(
    "--years",
    "annees",
    metavar="Y1,Y2|all",
    default="all",
    show_default=True,
    help="Census vintages to compute.",
)
@option_depuis("Take the sources from this local data store instead of the download cache.")
@option_sortie(
    "Output root (default: the checkout's maps/); outputs go to DIR/<territory>/.",
    dest="sorties",
    requis=False,
)
@click.option(
    "--force", is_flag=True, help="Replace existing outputs (atomically) and report what changed."
)
@click.option(
    "--cache-dir",
    "cache",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help=AIDE_CACHE,
)
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.option(
    "--check",
    "verifier",
    is_flag=True,
    help="Only check the configuration against the data (fast; nothing written).",
)
def run(config, annees, depuis, sorties, force, cache, no_progress, verifier):
    """Run the observatory for one territory: sources → weights → indicators → gaps → maps.

    Writes tables (CSV, Parquet, GeoPackage, XLSX), maps per vintage, neighbourhood sheets,
    manifest.json and run.log into OUT/<territory>/, atomically: a failed run leaves the
    previous outputs untouched.
    """
    from observatoire.config import ErreurConfig
    from observatoire.rapport import ErreurDonnees
    from observatoire.run import (
        ErreurEcriture,
        ErreurEtape,
        RunEnCours,
        SortiesExistantes,
        annees_demandees,
        executer_run,
    )

    try:
        demande = annees_demandees(annees)
    except ValueError as exc:
        _erreur(str(exc), CODES_SORTIE["config"])
    if verifier:
        from observatoire.config import charger_config
        from observatoire.rapport import Rapport
        from observatoire.run.verification import preparer_run

        rapport = Rapport()
        try:
            cfg = charger_config(config)
            prep = preparer_run(cfg, annees=demande, depuis=depuis, cache=cache, rapport=rapport)
        except ErreurConfig as exc:
            _erreur(str(exc), CODES_SORTIE["config"])
        except ErreurDonnees as exc:
            _erreur(str(exc), CODES_SORTIE["donnees"])
        click.echo(
            f"configuration {cfg.code} ({cfg.nom}) : OK — {len(prep.entrees)} entrée(s), "
            f"{len(prep.iris_territoire)} IRIS, QPV {list(prep.qpv['code_zone'])}, "
            f"{len(cfg.veille)} territoire(s) de veille, années {prep.annees}"
        )
        for cle, e in sorted(prep.entrees.items()):
            click.echo(f"  {cle} : {e.chemin}")
        for ev in rapport.evenements:
            if ev.niveau == "avertissement":
                click.echo(f"  attention : {ev.message}")
        return
    try:
        with _console_sobre():
            resultat = executer_run(
                config,
                annees=demande,
                depuis=depuis,
                sorties=sorties,
                force=force,
                cache=cache,
                progression=not no_progress,
            )
    except ErreurConfig as exc:
        _erreur(f"{exc}\n{_RIEN_ECRIT}", CODES_SORTIE["config"])
    except SortiesExistantes as exc:
        exc.commande = commande_avec_force()
        _erreur(str(exc), CODES_SORTIE["existe"])
    except RunEnCours as exc:
        _erreur(str(exc), CODES_SORTIE["occupe"])
    except ErreurEcriture as exc:  # read-only, full or unusable output folder: one line
        _erreur(str(exc), CODES_SORTIE["etape"])
    except ErreurEtape as exc:
        if isinstance(exc.cause, ErreurDonnees):
            _erreur(f"{exc}\n{_INTACTES}.", CODES_SORTIE["donnees"])
        _erreur(
            f"{exc}\n{_INTACTES} (avec -v, la trace ci-dessus donne le détail).",
            CODES_SORTIE["etape"],
        )
    except ErreurDonnees as exc:
        _erreur(f"{exc}\n{_RIEN_ECRIT}", CODES_SORTIE["donnees"])
    except KeyboardInterrupt:
        _erreur("interrompu ; les sorties précédentes sont intactes.", CODES_SORTIE["interrompu"])
    click.echo(resultat.resume)


@click.command("compare")
@click.argument("ancien", type=click.Path(exists=True, file_okay=False))
@click.argument("nouveau", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--seuil",
    default=0.0,
    show_default=True,
    help="Smallest absolute change of an indicator value to list.",
)
@click.option(
    "-o",
    "--output",
    "sortie",
    type=click.Path(dir_okay=False),
    help="Also write the value changes as CSV.",
)
def compare(ancien, nouveau, seuil, sortie):
    """Compare two run output folders (e.g. last year's and this year's): files and values."""
    from observatoire.run.comparaison import comparer_runs

    comp = comparer_runs(ancien, nouveau, seuil=seuil)
    click.echo(comp.resume())
    if sortie:
        comp.valeurs.to_csv(sortie, index=False)
        click.echo(f"changements de valeurs écrits dans {sortie}")


COMMANDES = [run, compare]
