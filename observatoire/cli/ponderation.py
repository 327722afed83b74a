"""CLI of the weights engine: ``observatoire weights`` and ``observatoire quality``."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pandas as pd

from observatoire.chargement import lire_grille, lire_iris, lire_qpv_officiel, lire_table_iris
from observatoire.chargement.tables import lire_table
from observatoire.ecriture_atomique import fichier_atomique
from observatoire.ponderation import (
    METHODES,
    CachePoids,
    cle_poids,
    grille_depuis_raster,
    parts_reference_2015,
    population_iris,
    rapport_qualite,
    table_poids,
    variables_comparees,
)
from observatoire.ponderation.zones import lire_zones
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["COMMANDES", "weights", "quality"]


def _ecrire_csv(table: pd.DataFrame, chemin: str | os.PathLike) -> None:
    with fichier_atomique(chemin) as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")


def _grille(chemin, couche, rapport):
    if chemin is None:
        return None
    if Path(chemin).suffix.lower() in {".tif", ".tiff", ".vrt"}:
        return grille_depuis_raster(chemin, rapport=rapport)
    return lire_grille(chemin, couche, rapport=rapport)


def _officiel(chemin, id_col, colonnes):
    if chemin is None:
        return None, None
    if id_col is None:
        return lire_qpv_officiel(chemin), "code_qpv"
    table = lire_table(chemin)
    for c in [id_col, *colonnes]:
        if c not in table.columns:
            raise ErreurDonnees(f"{chemin}: no column {c!r}; columns are {list(table.columns)}")
    for c in colonnes:
        texte = table[c].astype("object").where(table[c].notna(), None)
        table[c] = pd.to_numeric(texte.str.replace(",", ".", regex=False), errors="coerce")
    return table, id_col


def _population(chemin, colonne, annee):
    if chemin is None:
        return None
    return population_iris(lire_table_iris(chemin), annee=annee, colonne=colonne)


def _afficher_rapport(rapport: Rapport, chemin) -> None:
    """Write the events; warnings already reach stderr through the logger."""
    if chemin:
        _ecrire_csv(rapport.to_frame(), chemin)


def _options_communes(f):
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
            required=True,
            type=click.Path(exists=True, dir_okay=False),
            help="Zone layer (QPV, veille perimeter, any polygons); for "
            "--method iris_list a CSV code_zone,code_iris[,part].",
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
@_options_communes
@click.option(
    "--method",
    "methode",
    type=click.Choice(METHODES),
    default="surface",
    show_default=True,
    help="Weighting method.",
)
@click.option(
    "--cache",
    "dossier_cache",
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
def weights(
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
    """
    rapport = Rapport()
    try:

        def calculer():
            if methode == "iris_list":
                couche_iris = lire_iris(iris, iris_layer, rapport=rapport) if iris else None
                z = lire_table(zones)
                code = zone_id or "code_zone"
            else:
                if not iris:
                    raise ErreurDonnees(f"--method {methode} needs --iris")
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
        f"{len(table)} rows ({table['code_zone'].nunique()} zones, method {methode}) "
        f"written to {sortie}"
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
    rapport = Rapport()
    liste = [m.strip() for m in methodes.split(",") if m.strip()]
    inconnues = [m for m in liste if m not in METHODES or m == "iris_list"]
    if inconnues:
        raise click.BadParameter(
            f"unknown or unsupported methods {inconnues}", param_hint="--methods"
        )
    autres = {}
    for c in comparaisons:
        if "=" not in c:
            raise click.BadParameter(f"{c!r} is not IRISCOL=OFFICIALCOL", param_hint="--compare")
        a, b = c.split("=", 1)
        autres[a.strip()] = b.strip()
    if not (iris and official and population):
        raise click.UsageError("quality needs --iris, --official and --population")
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
        click.echo(f"{note.methode} / {note.variable}: {note.note}")
    cal = res["calibration"]
    if len(cal) and cal["calibre"].any():
        f = cal.loc[cal["calibre"], "facteur_calibration"]
        click.echo(
            f"calibration: {int(cal['calibre'].sum())} of {len(cal)} zones calibrated; factor "
            f"median {f.median():.2f} (p10 {f.quantile(0.1):.2f}, p90 {f.quantile(0.9):.2f}, "
            f"max {f.max():.2f}); {int((cal['n_iris_plafonnes'] > 0).sum())} zones with a "
            f"weight capped at 1; {int((cal['residu'] > 0).sum())} with a residual"
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
