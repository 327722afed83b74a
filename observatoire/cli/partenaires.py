"""``observatoire partenaires``: a partner's rows counted by neighbourhood; geocoding cache."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from observatoire.cli._options import AIDE_CONFIG, OptionRenommee, option_depuis

__all__ = ["COMMANDES", "partenaires"]


@click.group("partenaires")
def partenaires() -> None:
    """Partners' tables (job seekers, pupils, allocataires...) counted by neighbourhood."""


def _territoire(config: str | None, depuis: Path | None):
    """Return the configuration and its geography for placing partners' rows (its weights)."""
    from observatoire.config import charger_config
    from observatoire.rapport import Rapport
    from observatoire.territoire import charger_territoire, poids_territoire
    from observatoire.territoire.partenaires import territoire_partenaires

    cfg = charger_config(config)
    rapport = Rapport()
    donnees = charger_territoire(cfg, depuis=depuis, rapport=rapport)
    return cfg, territoire_partenaires(donnees, poids_territoire(donnees, rapport))


@partenaires.command("localiser")
@click.argument("fichier", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--config",
    "config",
    metavar="FILE|NAME",
    default=None,
    help=f"{AIDE_CONFIG}: its geography and partner tables. Default: san_ouest_provence.",
)
@click.option(
    "--table",
    "code",
    default=None,
    help="Code of the partner table of the configuration that describes FICHIER "
    "(default: the only one).",
)
@option_depuis(
    "Take the configuration's sources from this local data store instead of the download cache."
)
@click.option(
    "-o",
    "--output",
    "sortie",
    cls=OptionRenommee,
    anciens=["--out"],
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV of the counts per territory and sex (with the secret applied).",
)
@click.option(
    "--hors-ligne", is_flag=True, help="Do not call the geocoder: addresses in the cache only."
)
def localiser(fichier: Path, config, code, depuis, sortie: Path, hors_ligne: bool) -> None:
    """Place the rows of FICHIER in the QPV, veille zones, communes and EPCI and count them.

    Writes the counts (OUTPUT) and the placement report (OUTPUT with
    ``_localisation`` before the suffix); nothing personal (address, name,
    coordinates) is written.

    Example: ``observatoire partenaires localiser demandeurs.csv --table demandeurs_emploi
    --from ../shared/data -o demandeurs_par_quartier.csv``
    """
    import pandas as pd

    from observatoire.config import ErreurConfig
    from observatoire.partenaires import traiter_table
    from observatoire.rapport import ErreurDonnees

    try:
        cfg, territoire = _territoire(config, depuis)
        specs = [s for s in cfg.partenaires if code is None or s.code == code]
        if len(specs) != 1:
            connus = [s.code for s in cfg.partenaires]
            raise click.UsageError(
                f"--table : nommer l'une des tables partenaires de la configuration {connus}"
                if connus
                else "la configuration ne déclare aucune table partenaire (partenaires:)"
            )
        spec = specs[0]
        r = traiter_table(fichier, spec, territoire, url=spec.geocodeur, en_ligne=not hors_ligne)
    except (ErreurConfig, ErreurDonnees) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2 if isinstance(exc, ErreurConfig) else 4)
    colonnes = [
        "niveau",
        "territoire_code",
        "territoire_nom",
        "indicateur",
        "sexe",
        "annee",
        "valeur",
        "statut",
        "methode",
        "source",
        "note",
    ]
    sortie.parent.mkdir(parents=True, exist_ok=True)
    r.indicateurs[colonnes].to_csv(sortie, index=False)
    bilan = {k: v for k, v in r.bilan.items() if not isinstance(v, dict)}
    bilan.update({f"par_cle_{k}": v for k, v in r.bilan.get("par_cle", {}).items()})
    rapport = sortie.with_name(f"{sortie.stem}_localisation{sortie.suffix}")
    pd.DataFrame([bilan]).to_csv(rapport, index=False)
    click.echo(
        f"{r.bilan['placees']:,} ligne(s) placée(s) sur {r.bilan['lignes']:,} ; comptages "
        f"dans {sortie}, bilan de localisation dans {rapport}"
    )


@partenaires.command("purger")
def purger() -> None:
    """Delete the geocoding cache (normalised addresses and their coordinates)."""
    from observatoire.chemins import dossier_cache
    from observatoire.partenaires import purger_cache

    n = purger_cache(dossier_cache())
    click.echo(f"cache de géocodage vidé : {n} adresse(s) supprimée(s)")


COMMANDES = [partenaires]
