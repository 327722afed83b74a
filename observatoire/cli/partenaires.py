"""``observatoire partenaires``: a partner's rows counted by neighbourhood; geocoding cache."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["COMMANDES", "partenaires"]


@click.group("partenaires")
def partenaires() -> None:
    """Partners' tables (job seekers, pupils, allocataires...) counted by neighbourhood."""


def _territoire(config: str | None, depuis: Path | None, dossier: Path):
    """Return the run's geography of a configuration (its checks, sources, weights steps)."""
    from observatoire.config import charger_config
    from observatoire.rapport import Rapport
    from observatoire.run import Contexte
    from observatoire.run.etapes import etape_poids, etape_sources, territoire_partenaires
    from observatoire.run.verification import preparer_run

    cfg = charger_config(config)
    rapport = Rapport()
    prep = preparer_run(cfg, depuis=depuis, rapport=rapport)
    (dossier / "tables").mkdir(parents=True, exist_ok=True)
    ctx = Contexte(
        config=cfg,
        annees=list(prep.annees),
        dossier=dossier,
        rapport=rapport,
        preparation=prep,
        depuis=depuis,
        progression=False,
    )
    etape_sources(ctx)
    etape_poids(ctx)
    return cfg, territoire_partenaires(ctx)


@partenaires.command("localiser")
@click.argument("fichier", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--config",
    "config",
    default=None,
    help="Territory configuration (name or YAML file); default the shipped one.",
)
@click.option(
    "--table",
    "code",
    default=None,
    help="Code of the partner table of the configuration that describes FICHIER "
    "(default: the only one).",
)
@click.option(
    "--from",
    "depuis",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Local data store holding the configuration's sources.",
)
@click.option(
    "-o",
    "--out",
    "sortie",
    required=True,
    type=click.Path(path_type=Path),
    help="CSV of the counts per territory and sex (with the secret applied).",
)
@click.option(
    "--hors-ligne", is_flag=True, help="Do not call the geocoder: addresses in the cache only."
)
def localiser(fichier: Path, config, code, depuis, sortie: Path, hors_ligne: bool) -> None:
    """Place the rows of FICHIER in the QPV, veille zones, communes and EPCI and count them.

    Writes the counts (SORTIE) and the placement report (SORTIE with
    ``_localisation`` before the suffix); nothing personal (address, name,
    coordinates) is written.

    Example: ``observatoire partenaires localiser demandeurs.csv --table demandeurs_emploi
    --from ../shared/data -o demandeurs_par_quartier.csv``
    """
    import tempfile

    import pandas as pd

    from observatoire.config import ErreurConfig
    from observatoire.partenaires import traiter_table
    from observatoire.rapport import ErreurDonnees

    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg, territoire = _territoire(config, depuis, Path(tmp))
        specs = [s for s in cfg.partenaires if code is None or s.code == code]
        if len(specs) != 1:
            connus = [s.code for s in cfg.partenaires]
            raise click.UsageError(
                f"--table: name one of the configuration's partner tables {connus}"
                if connus
                else "the configuration declares no partner table (partenaires:)"
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
        f"{r.bilan['placees']:,} of {r.bilan['lignes']:,} rows placed; counts in "
        f"{sortie}, placement report in {rapport}"
    )


@partenaires.command("purger")
def purger() -> None:
    """Delete the geocoding cache (normalised addresses and their coordinates)."""
    from observatoire.chemins import dossier_cache
    from observatoire.partenaires import purger_cache

    n = purger_cache(dossier_cache())
    click.echo(f"geocoding cache purged: {n} address(es) removed")


COMMANDES = [partenaires]
