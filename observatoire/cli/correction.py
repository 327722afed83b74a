"""CLI of the dilution correction: ``observatoire correction valider``.

Thin layer over :mod:`observatoire.correction`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from observatoire.cli._options import AIDE_CONFIG, option_depuis

__all__ = ["COMMANDES", "correction", "valider_cmd"]


def _fichiers_config(config: str, depuis: Path) -> tuple[dict, int | None]:
    """Official QPV table, IRIS layer and ptod tables named by a territory configuration."""
    from observatoire.config import charger_config, chemin_config
    from observatoire.territoire.entrees import resoudre_source

    cfg = charger_config(config)
    dossier = chemin_config(config).parent.resolve()
    roles = {
        "officiel": ["qpv_officiel"],
        "iris": ["iris_statistiques", "iris"],
        "taux_iris": ["indicateurs_iris"],
        "communes": ["indicateurs_communes"],
    }
    fichiers = {}
    for role, cles in roles.items():
        cle = next((c for c in cles if c in cfg.sources), None)
        if cle is not None:
            fichiers[role] = resoudre_source(
                cfg.sources[cle], f"sources.{cle}", dossier_config=dossier, depuis=depuis
            ).chemin
    ref = cfg.sources.get("qpv_officiel")
    return fichiers, (ref.annee_valeurs if ref is not None else None)


@click.group("correction")
def correction() -> None:
    """Correction of the dilution of IRIS-weighted rates in QPV (learned on official values)."""


@correction.command("valider")
@option_depuis(
    "Local data store holding the training files (default: ../shared/data or "
    "$OBSERVATOIRE_DONNEES_LOCALES, when it exists).",
    existe=False,
)
@click.option(
    "--config",
    "config",
    metavar="FILE|NAME",
    help=f"{AIDE_CONFIG}: its official QPV table (and vintage), IRIS layer of the "
    "statistics' edition and ptod tables replace the defaults, resolved in the --from "
    "store; the QPV perimeters stay the 71 QPV 2024 of the département 13 file.",
)
@click.option(
    "-o",
    "--output",
    "sortie",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Validation report written as CSV (applique written true/false).",
)
@click.option(
    "--modele",
    "modele",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the fitted models of the applied indicators as JSON.",
)
def valider_cmd(depuis, config, sortie, modele):
    """Cross-validate the correction by commune (leave one commune out) and write the report.

    Training set: QPV with an official value and an IRIS-based estimate (calibrated
    weights, as the yearly run), commune values from the commune table or the IRIS
    aggregate. Columns: mae/medae = mean/median absolute error against the official
    value, biais = mean error, before and after correction, out of sample.
    """
    import pandas as pd

    from observatoire.chemins import dossier_donnees_partagees
    from observatoire.config import ErreurConfig
    from observatoire.correction import ajuster, donnees_entrainement, valider
    from observatoire.correction.modeles import COLONNES_RAPPORT
    from observatoire.rapport import ErreurDonnees, Rapport

    if depuis is None:
        depuis = dossier_donnees_partagees()
        if not depuis.is_dir():
            raise click.UsageError(f"pas de --from DIR et le magasin local {depuis} n'existe pas")
    elif not depuis.is_dir():
        raise click.BadParameter(f"{depuis} n'est pas un dossier", param_hint="--from")
    try:
        fichiers, annee = _fichiers_config(config, depuis) if config else ({}, None)
        e = donnees_entrainement(
            depuis, fichiers=fichiers, annee_officielle=annee or 2020, rapport=Rapport()
        )
    except (ErreurConfig, ErreurDonnees, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    rapport = valider(e)
    ecrit = rapport.copy()
    ecrit["applique"] = ecrit["applique"].map({True: "true", False: "false"})
    sortie.parent.mkdir(parents=True, exist_ok=True)
    ecrit.to_csv(sortie, index=False, float_format="%.4f")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        affichees = [c for c in COLONNES_RAPPORT if c != "sexe"]
        click.echo(rapport[affichees].round(2).to_string(index=False))
    click.echo(
        f"rapport écrit dans {sortie} ({len(rapport)} indicateur(s), correction appliquée à "
        f"{int(rapport['applique'].sum())})"
    )
    if modele is not None:
        modele.parent.mkdir(parents=True, exist_ok=True)
        modele.write_text(
            json.dumps(ajuster(e, validation=rapport).to_dict(), indent=1, ensure_ascii=False),
            encoding="utf-8",
        )
        click.echo(f"modèles écrits dans {modele}")


COMMANDES = [correction]
