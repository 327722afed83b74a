"""``observatoire maps`` and ``observatoire fiches``: offline maps and neighbourhood sheets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from observatoire.cli._options import annees_option, option_sortie

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COMMANDES", "maps", "fiches"]

_CODES = {"territoire_code": str, "reference_code": str, "code_iris": str, "code_zone": str}


def _table(chemin: str | None) -> pd.DataFrame | None:
    import pandas as pd

    if chemin is None:
        return None
    p = Path(chemin)
    if p.suffix.lower() == ".parquet":
        df = pd.read_parquet(p)
        for c in _CODES:
            if c in df.columns:
                df[c] = df[c].astype(str)
        return df
    return pd.read_csv(p, dtype=_CODES)


def _geometries(iris, qpv, veille, communes_filtre, territoire):
    from observatoire.cartes import Geometries
    from observatoire.chargement import lire_iris, lire_qpv

    gi = lire_iris(iris)
    if communes_filtre:
        codes = [c.strip() for c in communes_filtre.split(",") if c.strip()]
        gi = gi[gi["code_commune"].isin(codes)]
    gq = None
    if qpv:
        import pandas as pd

        gq = pd.concat([lire_qpv(q) for q in qpv], ignore_index=True)
    gv = None
    if veille:
        import geopandas as gpd

        gv = gpd.read_file(veille)
    return Geometries(iris=gi, qpv=gq, veille=gv, nom_territoire=territoire)


def _options(f):
    opts = [
        click.option(
            "--indicateurs",
            "indicateurs",
            required=True,
            type=click.Path(exists=True),
            help="Long indicator table (CSV or Parquet), from 'observatoire indicateurs calculer'.",
        ),
        click.option(
            "--ecarts",
            type=click.Path(exists=True),
            help="Gaps table (CSV or Parquet), from 'observatoire ecarts'.",
        ),
        click.option(
            "--iris",
            required=True,
            type=click.Path(exists=True),
            help="IRIS contour layer (any edition read by lire_iris).",
        ),
        click.option(
            "--qpv",
            multiple=True,
            type=click.Path(exists=True),
            help="QPV perimeter layer(s) (2015 and/or 2024); repeatable.",
        ),
        click.option(
            "--veille",
            type=click.Path(exists=True),
            help="Veille territories layer (code_zone, nom_zone, geometry).",
        ),
        click.option(
            "--communes",
            "communes_filtre",
            default=None,
            help="Comma-separated commune codes whose IRIS are kept (default: all).",
        ),
        click.option(
            "--territoire",
            default="Territoire",
            show_default=True,
            help="Territory name shown in titles.",
        ),
        click.option(
            "--years",
            metavar="Y1,Y2|all",
            default="all",
            show_default=True,
            help="Census vintages to draw.",
        ),
        option_sortie("Output folder; pages go to DIR/<year>/."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


@click.command("maps")
@_options
@click.option(
    "--scheme",
    type=click.Choice(["fisher_jenks", "quantiles", "intervalles_egaux"]),
    default="fisher_jenks",
    show_default=True,
    help="Classification scheme.",
)
@click.option("-k", "--classes", default=5, show_default=True, help="Number of classes.")
@click.option(
    "--breaks-per-year", is_flag=True, help="Compute breaks per year instead of pooling every year."
)
@click.option(
    "--tiles",
    type=click.Choice(["osm", "ign"]),
    default=None,
    help="Offer an online basemap in the layer control (maps never need it).",
)
def maps(
    indicateurs,
    ecarts,
    iris,
    qpv,
    veille,
    communes_filtre,
    territoire,
    years,
    sortie,
    scheme,
    classes,
    breaks_per_year,
    tiles,
):
    """Write offline choropleth and gap maps (one self-contained HTML per map) and index.html."""
    from observatoire.cartes import generer_cartes, generer_index

    geo = _geometries(iris, qpv, veille, communes_filtre, territoire)
    chemins = generer_cartes(
        _table(indicateurs),
        _table(ecarts),
        geo,
        sortie,
        annees=annees_option(years),
        schema=scheme,
        k=classes,
        bornes_par_annee=breaks_per_year,
        tuiles=tiles,
    )
    generer_index(sortie)
    click.echo(f"{len(chemins)} carte(s) écrite(s) dans {sortie}")


@click.command("fiches")
@_options
@click.option(
    "--poids",
    type=click.Path(exists=True),
    help="Weights table (code_zone, code_iris, part_zone, part_iris, poids, methode).",
)
def fiches(
    indicateurs, ecarts, iris, qpv, veille, communes_filtre, territoire, years, sortie, poids
):
    """Write one printable neighbourhood sheet per QPV and veille territory, and index.html."""
    from observatoire.cartes import generer_fiches, generer_index

    geo = _geometries(iris, qpv, veille, communes_filtre, territoire)
    chemins = generer_fiches(
        _table(indicateurs),
        _table(ecarts),
        geo,
        sortie,
        poids=_table(poids),
        annees=annees_option(years),
    )
    generer_index(sortie)
    click.echo(f"{len(chemins)} fiche(s) écrite(s) dans {sortie}")


COMMANDES = [maps, fiches]
