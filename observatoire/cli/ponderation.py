"""CLI of the weights engine: ``observatoire weights`` and ``observatoire quality``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from observatoire.cli._options import AIDE_CONFIG, option_depuis

if TYPE_CHECKING:
    import pandas as pd

    from observatoire.rapport import Rapport

__all__ = ["COMMANDES", "weights", "quality"]

#: Weighting methods of :data:`observatoire.ponderation.METHODES` (kept here so that the
#: help is shown without importing the weights engine).
_METHODES = ("surface", "dasymetric", "calibrated", "iris_list")


def _ecrire_csv(table: pd.DataFrame, chemin: str | os.PathLike) -> None:
    from observatoire.ecriture_atomique import fichier_atomique

    with fichier_atomique(chemin) as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")


def _grille(chemin, couche, rapport):
    from observatoire.chargement import lire_grille
    from observatoire.ponderation import grille_depuis_raster

    if chemin is None:
        return None
    if Path(chemin).suffix.lower() in {".tif", ".tiff", ".vrt"}:
        return grille_depuis_raster(chemin, rapport=rapport)
    return lire_grille(chemin, couche, rapport=rapport)


def _officiel(chemin, id_col, colonnes):
    import pandas as pd

    from observatoire.chargement import lire_qpv_officiel
    from observatoire.chargement.tables import lire_table
    from observatoire.rapport import ErreurDonnees

    if chemin is None:
        return None, None
    if id_col is None:
        return lire_qpv_officiel(chemin), "code_zone"
    table = lire_table(chemin)
    for c in [id_col, *colonnes]:
        if c not in table.columns:
            raise ErreurDonnees(
                f"{chemin} : pas de colonne {c!r} ; colonnes : {list(table.columns)}"
            )
    for c in colonnes:
        texte = table[c].astype("object").where(table[c].notna(), None)
        table[c] = pd.to_numeric(texte.str.replace(",", ".", regex=False), errors="coerce")
    return table, id_col


def _population(chemin, colonne, annee):
    from observatoire.chargement import lire_table_iris
    from observatoire.ponderation import population_iris

    if chemin is None:
        return None
    return population_iris(lire_table_iris(chemin), annee=annee, colonne=colonne)


def _afficher_rapport(rapport: Rapport, chemin) -> None:
    """Write the events; warnings already reach stderr through the logger."""
    if chemin:
        _ecrire_csv(rapport.to_frame(), chemin)


def _options_communes(f=None, *, zones_requises: bool = True):
    """Input options shared by ``weights`` and ``quality`` (``--zones`` required or not)."""
    if f is None:
        return lambda g: _options_communes(g, zones_requises=zones_requises)
    options = [
        click.option(
            "--iris",
            "iris",
            type=click.Path(exists=True, dir_okay=False),
            help="IRIS contour layer (CONTOURS-IRIS, any edition).",
        ),
        click.option("--iris-layer", default=None, help="Layer of the IRIS file."),
        click.option(
            "--zones",
            required=zones_requises,
            type=click.Path(exists=True, dir_okay=False),
            help="Zone layer (QPV, veille perimeter, any polygons); for "
            "--method iris_list a CSV code_zone,code_iris[,part]"
            + ("." if zones_requises else " (required without --config)."),
        ),
        click.option("--zones-layer", default=None, help="Layer of the zones file."),
        click.option(
            "--zone-id",
            default=None,
            help="Zone code column (default: the QPV code of a QPV layer).",
        ),
        click.option(
            "--grid",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="Population grid: INSEE 200 m vector grid or a GeoTIFF of counts.",
        ),
        click.option("--grid-layer", default=None, help="Layer of the grid file."),
        click.option(
            "--official",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="Official zone figures (ANCT/INSEE QPV table, or any CSV with --official-id).",
        ),
        click.option(
            "--official-id", default=None, help="Zone code column of a non-QPV official table."
        ),
        click.option(
            "--official-column",
            default="pop_mun",
            show_default=True,
            help="Official population column.",
        ),
        click.option(
            "--population",
            "population",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="IRIS table with populations (INSEE RP IRIS base).",
        ),
        click.option(
            "--population-column",
            default=None,
            help="Population column of the IRIS table (default p_pop, else the sum "
            "of the RP age groups).",
        ),
        click.option(
            "--year", type=int, default=None, help="Year of the IRIS table, when it holds several."
        ),
        click.option(
            "--min-part",
            type=float,
            default=0.005,
            show_default=True,
            help="Sliver threshold (share of both zone and IRIS area); 0 disables.",
        ),
        click.option(
            "--report",
            "fichier_rapport",
            type=click.Path(dir_okay=False),
            default=None,
            help="Write the events (reprojections, slivers, warnings) to this CSV.",
        ),
    ]
    for o in reversed(options):
        f = o(f)
    return f


@click.command("weights")
@click.option(
    "--config",
    "config",
    metavar="FILE|NAME",
    default=None,
    help=f"{AIDE_CONFIG}: compute the weights of all its zones exactly as "
    "`observatoire run` does (tables/poids.csv); replaces the file options below.",
)
@option_depuis("Local data store holding the configuration's sources (with --config).")
@_options_communes(zones_requises=False)
@click.option(
    "--method",
    "methode",
    type=click.Choice(_METHODES),
    default="surface",
    show_default=True,
    help="Weighting method.",
)
@click.option(
    "--cache",
    "dossier_cache",
    metavar="DIR",
    type=click.Path(file_okay=False),
    default=None,
    help="Reuse/store the table in this folder, keyed by input checksums.",
)
@click.option(
    "-o",
    "--output",
    "sortie",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output CSV (code_zone, code_iris, surface_m2, part_zone, part_iris, poids, "
    "methode, extras).",
)
@click.pass_context
def weights(
    ctx,
    config,
    depuis,
    iris,
    iris_layer,
    zones,
    zones_layer,
    zone_id,
    grid,
    grid_layer,
    official,
    official_id,
    official_column,
    population,
    population_column,
    year,
    min_part,
    fichier_rapport,
    methode,
    dossier_cache,
    sortie,
):
    """Compute the IRIS × zone weights table (surface, dasymetric, calibrated or iris_list).

    Writes code_zone, code_iris, surface_m2, part_zone, part_iris, poids, methode and
    method extras (repli_surface, facteur_calibration, residu...). See docs/ponderation.md.

    With ``--config``: the weights of every QPV and veille territory of a territory
    configuration, the same table as the run's ``tables/poids.csv``.
    """
    if config is not None:
        _poids_config(ctx, config, depuis, sortie, fichier_rapport)
        return
    if zones is None:
        raise click.UsageError("Option '--zones' manquante (ou donner --config).")
    from observatoire.chargement import lire_iris
    from observatoire.chargement.tables import lire_table
    from observatoire.ponderation import CachePoids, cle_poids, table_poids
    from observatoire.ponderation.zones import lire_zones
    from observatoire.rapport import ErreurDonnees, Rapport

    rapport = Rapport()
    try:

        def calculer():
            if methode == "iris_list":
                couche_iris = lire_iris(iris, iris_layer, rapport=rapport) if iris else None
                z = lire_table(zones)
                code = zone_id or "code_zone"
            else:
                if not iris:
                    raise ErreurDonnees(f"--method {methode} demande --iris")
                z = lire_zones(zones, zones_layer, code=zone_id, rapport=rapport)
                # only the IRIS near the zones are reprojected and validated
                couche_iris = lire_iris(iris, iris_layer, rapport=rapport, masque=z)
                code = "code_zone"
            off, id_off = _officiel(official, official_id, [official_column])
            return table_poids(
                couche_iris,
                z,
                methode=methode,
                code_zone=code,
                grille=_grille(grid, grid_layer, rapport),
                population_iris=_population(population, population_column, year),
                officiel=off,
                colonne_officielle=official_column,
                code_zone_officiel=id_off,
                part_min=min_part,
                rapport=rapport,
            )

        if dossier_cache:
            params = {
                "methode": methode,
                "iris_layer": iris_layer,
                "zones_layer": zones_layer,
                "zone_id": zone_id,
                "grid_layer": grid_layer,
                "official_id": official_id,
                "official_column": official_column,
                "population_column": population_column,
                "year": year,
                "min_part": min_part,
            }
            fichiers = {
                "iris": iris,
                "zones": zones,
                "grid": grid,
                "official": official,
                "population": population,
            }
            cle = cle_poids(fichiers, params)
            table = CachePoids(dossier_cache).obtenir(
                cle,
                calculer,
                description={"fichiers": fichiers, "parametres": params},
                rapport=rapport,
            )
        else:
            table = calculer()
    except ErreurDonnees as exc:
        raise click.ClickException(str(exc)) from exc
    _ecrire_csv(table, sortie)
    _afficher_rapport(rapport, fichier_rapport)
    click.echo(
        f"{len(table)} lignes ({table['code_zone'].nunique()} zones, méthode {methode}) "
        f"écrites dans {sortie}"
    )


def _poids_config(ctx: click.Context, config, depuis, sortie, fichier_rapport) -> None:
    """Write the weights of a territory configuration, as the yearly run computes them."""
    from click.core import ParameterSource

    en_trop = [
        p.opts[-1]
        for p in ctx.command.params
        if p.name not in ("config", "depuis", "sortie", "fichier_rapport")
        and ctx.get_parameter_source(p.name) == ParameterSource.COMMANDLINE
    ]
    if en_trop:
        raise click.UsageError(
            f"--config calcule les poids de la configuration : retirez {', '.join(en_trop)}"
        )
    from observatoire.config import ErreurConfig, charger_config
    from observatoire.rapport import ErreurDonnees, Rapport
    from observatoire.sorties import ecrire_csv
    from observatoire.territoire import charger_territoire, poids_territoire

    rapport = Rapport()
    try:
        cfg = charger_config(config)
        donnees = charger_territoire(cfg, depuis=depuis, rapport=rapport)
        table = poids_territoire(donnees, rapport).poids
    except (ErreurConfig, ErreurDonnees) as exc:
        raise click.ClickException(str(exc)) from exc
    ecrire_csv(table, sortie)
    _afficher_rapport(rapport, fichier_rapport)
    click.echo(
        f"{len(table)} lignes ({table['code_zone'].nunique()} zones de {cfg.code}, "
        f"méthode {cfg.methode_ponderation}) écrites dans {sortie}"
    )


@click.command("quality")
@_options_communes
@click.option(
    "--methods",
    "methodes",
    default="surface,calibrated",
    show_default=True,
    help="Comma-separated methods to compare (dasymetric needs --grid).",
)
@click.option(
    "--compare",
    "comparaisons",
    multiple=True,
    metavar="IRISCOL=OFFICIALCOL",
    help="Another count variable scored for every method (repeatable): an IRIS "
    "column of --population or --iris-table, or a sum of them, = an official "
    "column, e.g. p_rpmaison+p_rpappart=nombre_menages.",
)
@click.option(
    "--iris-table",
    "tables_iris",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Another INSEE IRIS table whose columns --compare may use, e.g. the RP "
    "housing table (repeatable).",
)
@click.option(
    "--reference-shares",
    "parts_ref",
    default=None,
    help="Reference area shares to show next to the computed part_zone: a CSV "
    "code_zone,code_iris,part_zone_reference, or 'cdv2015' for the shares of "
    "the SAN Ouest Provence Contrat de Ville 2015.",
)
@click.option(
    "-o",
    "--output",
    "sortie",
    required=True,
    type=click.Path(dir_okay=False),
    help="Detail CSV: one row per zone × method × variable.",
)
@click.option(
    "--summary",
    "resume_csv",
    type=click.Path(dir_okay=False),
    default=None,
    help="Summary CSV per method (median bias, median absolute error).",
)
@click.option(
    "--calibration",
    "calibration_csv",
    type=click.Path(dir_okay=False),
    default=None,
    help="Per-zone CSV of what calibration changed (factor, capped IRIS, residual).",
)
@click.option(
    "--shares-output",
    "parts_csv",
    type=click.Path(dir_okay=False),
    default=None,
    help="CSV of computed vs reference shares (with --reference-shares).",
)
def quality(
    iris,
    iris_layer,
    zones,
    zones_layer,
    zone_id,
    grid,
    grid_layer,
    official,
    official_id,
    official_column,
    population,
    population_column,
    year,
    min_part,
    fichier_rapport,
    methodes,
    comparaisons,
    tables_iris,
    parts_ref,
    sortie,
    resume_csv,
    calibration_csv,
    parts_csv,
):
    """Compare weighted estimates with official zone figures, per method.

    Prints the summary (median bias, median absolute error per method); the calibrated
    method is exact on population by construction and is scored only on --compare
    variables. See docs/ponderation.md.
    """
    import pandas as pd

    from observatoire.chargement import lire_iris, lire_table_iris
    from observatoire.ponderation import (
        parts_reference_2015,
        population_iris,
        rapport_qualite,
        variables_comparees,
    )
    from observatoire.ponderation.zones import lire_zones
    from observatoire.rapport import ErreurDonnees, Rapport

    rapport = Rapport()
    liste = [m.strip() for m in methodes.split(",") if m.strip()]
    inconnues = [m for m in liste if m not in _METHODES or m == "iris_list"]
    if inconnues:
        raise click.BadParameter(
            f"méthodes inconnues ou non prises en charge : {inconnues}", param_hint="--methods"
        )
    autres = {}
    for c in comparaisons:
        if "=" not in c:
            raise click.BadParameter(
                f"{c!r} n'est pas de la forme IRISCOL=OFFICIALCOL", param_hint="--compare"
            )
        a, b = c.split("=", 1)
        autres[a.strip()] = b.strip()
    if not (iris and official and population):
        raise click.UsageError("quality demande --iris, --official et --population")
    try:
        z = lire_zones(zones, zones_layer, code=zone_id, rapport=rapport)
        couche_iris = lire_iris(iris, iris_layer, rapport=rapport, masque=z)
        off, id_off = _officiel(official, official_id, [official_column, *autres.values()])
        table_iris = lire_table_iris(population)
        pop = population_iris(table_iris, annee=year, colonne=population_column)
        if autres:
            tables = [table_iris, *(lire_table_iris(f) for f in tables_iris)]
            pop = variables_comparees(pop, tables, autres, annee=year)
        if parts_ref is None:
            reference = None
        elif parts_ref == "cdv2015":
            reference = parts_reference_2015()
        else:
            reference = pd.read_csv(parts_ref, dtype={"code_zone": str, "code_iris": str})
        res = rapport_qualite(
            couche_iris,
            z,
            pop,
            off,
            methodes=liste,
            code_zone_officiel=id_off,
            colonne_officielle=official_column,
            autres=autres,
            grille=_grille(grid, grid_layer, rapport),
            part_min=min_part,
            parts_reference=reference,
            rapport=rapport,
        )
    except ErreurDonnees as exc:
        raise click.ClickException(str(exc)) from exc
    _ecrire_csv(res["detail"], sortie)
    if resume_csv:
        _ecrire_csv(res["resume"], resume_csv)
    if calibration_csv:
        _ecrire_csv(res["calibration"], calibration_csv)
    if parts_csv:
        _ecrire_csv(res["parts"], parts_csv)
    _afficher_rapport(rapport, fichier_rapport)
    r = res["resume"]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        click.echo(r.drop(columns=["note"]).round(2).to_string(index=False))
    for note in r.loc[r["note"] != "", ["methode", "variable", "note"]].itertuples(index=False):
        click.echo(f"{note.methode} / {note.variable} : {note.note}")
    cal = res["calibration"]
    if len(cal) and cal["calibre"].any():
        f = cal.loc[cal["calibre"], "facteur_calibration"]
        click.echo(
            f"calibration : {int(cal['calibre'].sum())} zone(s) calibrée(s) sur {len(cal)} ; "
            f"facteur médian {f.median():.2f} (p10 {f.quantile(0.1):.2f}, "
            f"p90 {f.quantile(0.9):.2f}, max {f.max():.2f}) ; "
            f"{int((cal['n_iris_plafonnes'] > 0).sum())} zone(s) avec un poids plafonné à 1 ; "
            f"{int((cal['residu'] > 0).sum())} avec un résidu"
        )
    if len(res["parts"]):
        with pd.option_context("display.width", 200):
            click.echo(
                res["parts"][
                    ["code_zone", "code_iris", "part_zone", "part_zone_reference", "ecart_points"]
                ]
                .round(3)
                .to_string(index=False)
            )


COMMANDES = [weights, quality]
