"""CLI of the indicators: ``observatoire indicateurs ...`` and ``observatoire ecarts``.

Thin layer over :mod:`observatoire.indicateurs`, :mod:`observatoire.ecarts` and
:mod:`observatoire.sorties`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from observatoire.cli._options import OptionRenommee, option_sortie

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COMMANDES", "indicateurs", "ecarts"]


def _lire_tableau(chemin: str | Path) -> pd.DataFrame:
    import pandas as pd

    from observatoire.chargement.tables import lire_table

    chemin = Path(chemin)
    if chemin.suffix.lower() == ".parquet":
        return pd.read_parquet(chemin)
    t = lire_table(chemin)
    for c in t.columns:
        if c in ("poids", "valeur", "numerateur", "denominateur", "reference_valeur"):
            t[c] = pd.to_numeric(t[c].replace("", None), errors="coerce").astype("float64")
        elif c in ("annee",):
            t[c] = pd.to_numeric(t[c], errors="coerce").astype("Int64")
    return t


def _paires(valeurs: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for v in valeurs:
        if "=" not in v:
            raise click.BadParameter(f"attendu NIVEAU=FICHIER, reçu {v!r}", param_hint=option)
        k, f = v.split("=", 1)
        out[k.strip()] = f.strip()
    return out


def _epci(valeurs: tuple[str, ...]) -> dict[str, list[str]]:
    out = {}
    for v in valeurs:
        if ":" not in v:
            raise click.BadParameter(
                f"attendu CODE:commune,commune..., reçu {v!r}", param_hint="--epci"
            )
        code, communes = v.split(":", 1)
        out[code.strip()] = [c.strip() for c in communes.split(",") if c.strip()]
    return out


def _niveaux(iris_chemin, communes, epci, departement, poids, rapport):
    """Levels dict and the IRIS → commune table from the CLI options."""
    import pandas as pd

    from observatoire.chargement import lire_iris
    from observatoire.indicateurs import poids_appartenance

    niveaux: dict[str, object] = {}
    iris = lire_iris(iris_chemin, rapport=rapport)
    ic = iris[["code_iris", "code_commune", "nom_iris"]]
    if communes:
        ic = ic[ic["code_commune"].isin(communes)]
    niveaux["iris"] = ic["code_iris"].tolist()
    for niveau, chemin in poids.items():
        niveaux[niveau] = _lire_tableau(chemin)
    niveaux["commune"] = poids_appartenance(ic)
    if epci:
        m = pd.DataFrame(
            [(c, e) for e, cs in epci.items() for c in cs], columns=["code_commune", "code_epci"]
        )
        niveaux["epci"] = poids_appartenance(ic.merge(m, on="code_commune"), code_zone="code_epci")
    if departement:
        tout = iris[["code_iris", "code_commune"]].assign(
            code_departement=iris["code_commune"].str[:2]
        )
        niveaux["departement"] = poids_appartenance(tout, code_zone="code_departement")
    return niveaux, ic, iris


def _geometries(iris, niveaux, zones_geo, rapport) -> dict:
    """Geometry of every level: IRIS, communes/EPCI/département dissolved from the IRIS."""
    from observatoire.ponderation.zones import lire_zones
    from observatoire.sorties import geometries_niveaux

    zones = {}
    for niveau, spec in zones_geo.items():
        chemin, _, code = (
            spec.partition(":") if ":" in spec and not Path(spec).exists() else (spec, "", "")
        )
        zones[niveau] = lire_zones(chemin, code=code or None, rapport=rapport)
    entiers = {
        n: niveaux[n]
        for n in ("iris", "commune", "epci", "departement")
        if n in niveaux and n not in zones
    }
    return geometries_niveaux(iris, entiers, zones)


@click.group("indicateurs")
def indicateurs() -> None:
    """Compute indicators: codebook, consolidation by territory (IRIS, QPV, veille, commune...)."""


@indicateurs.command("codebook")
@click.option(
    "--codebook",
    "chemin",
    type=click.Path(exists=True, dir_okay=False),
    help="Codebook YAML to validate (default: the packaged one).",
)
@click.option(
    "-o",
    "--output",
    "sortie",
    cls=OptionRenommee,
    anciens=["--sortie"],
    type=click.Path(dir_okay=False),
    help="Also write the codebook as a table (CSV, Parquet or XLSX by suffix).",
)
def codebook_cmd(chemin, sortie) -> None:
    """Validate the codebook and list its indicators (one line per indicator × sex)."""
    from observatoire.indicateurs import charger_codebook
    from observatoire.rapport import ErreurDonnees
    from observatoire.sorties import ecrire_tables

    try:
        cb = charger_codebook(chemin)
    except ErreurDonnees as exc:
        raise click.ClickException(str(exc)) from None
    df = cb.to_frame()
    if sortie:
        ecrire_tables(
            {Path(sortie).stem: df},
            Path(sortie).parent,
            formats=(Path(sortie).suffix.lstrip(".").lower(),),
            nom_classeur=Path(sortie).name,
        )
    for r in df.itertuples():
        click.echo(f"{r.indicateur:32s} {r.sexe:8s} {r.type:9s} {r.pilier}")
    click.echo(f"{len(df)} indicateur(s) × sexe, {df['indicateur'].nunique()} identifiant(s)")


@indicateurs.command("calculer")
@click.option(
    "--iris",
    "iris_chemin",
    required=True,
    type=click.Path(exists=True),
    help="IRIS layer (same edition as the statistics): code_iris, code_commune.",
)
@click.option(
    "--communes", help="Comma-separated commune codes whose IRIS are kept (default: all)."
)
@click.option(
    "--poids",
    multiple=True,
    metavar="NIVEAU=FICHIER",
    help="Weights table (code_zone, code_iris, poids) of a zone level, e.g. "
    "qpv=poids_qpv.csv; repeatable.",
)
@click.option(
    "--epci",
    multiple=True,
    metavar="CODE:COMMUNES",
    help="EPCI made of these communes, e.g. SAN:13047,13063; repeatable.",
)
@click.option(
    "--departement/--sans-departement",
    default=False,
    help="Add the département level (every IRIS of the layer).",
)
@click.option(
    "--comptages",
    multiple=True,
    type=click.Path(exists=True),
    help="INSEE IRIS count table (RP bases infracommunales, RFL...); repeatable.",
)
@click.option(
    "--taux", type=click.Path(exists=True), help="IRIS rate table without counts (ptod IRIS file)."
)
@click.option(
    "--officiel-communes",
    type=click.Path(exists=True),
    help="Official commune values (ptod commune file).",
)
@click.option(
    "--officiel-departements",
    type=click.Path(exists=True),
    help="Official département/France values (ptod département file).",
)
@click.option(
    "--officiel-qpv",
    multiple=True,
    metavar="FICHIER[:ANNEE]",
    help="Official QPV table, with the vintage of its values when the file does "
    "not state it (e.g. qpv2024.csv:2020); repeatable.",
)
@click.option(
    "--officiel-zonages",
    type=click.Path(exists=True),
    help="Official INSEE EMP values of zonings (EPCI such as the Métropole AMP, bassins de "
    "vie...): geo_type, geo_code, rp_year, pct_actifs_of_pop1564...",
)
@click.option(
    "--approximer-non-additifs",
    is_flag=True,
    help="Give zones a population-weighted mean of IRIS medians/poverty rates, labelled "
    "approximation (default: left missing).",
)
@click.option(
    "--codebook",
    "chemin_codebook",
    type=click.Path(exists=True, dir_okay=False),
    help="Codebook YAML (default: the packaged one).",
)
@click.option(
    "--secret/--sans-secret",
    default=True,
    show_default=True,
    help="Apply the publication threshold and complement suppression.",
)
@option_sortie("Output folder.", anciens=("--sortie",))
@click.option(
    "--formats",
    default="csv,parquet,xlsx",
    show_default=True,
    help="Comma-separated output formats among csv, parquet, xlsx, gpkg.",
)
@click.option(
    "--geometrie",
    multiple=True,
    metavar="NIVEAU=FICHIER[:CODE]",
    help="Zone layer of a level for the GeoPackage (QPV layers need no CODE column); "
    "IRIS, communes, EPCI and département come from --iris.",
)
def calculer(
    iris_chemin,
    communes,
    poids,
    epci,
    departement,
    comptages,
    taux,
    officiel_communes,
    officiel_departements,
    officiel_qpv,
    officiel_zonages,
    approximer_non_additifs,
    chemin_codebook,
    secret,
    sortie,
    formats,
    geometrie,
) -> None:
    """Consolidate every codebook indicator for IRIS, zones, communes, EPCI, département.

    Writes ``indicateurs`` (long table) and ``officiel_vs_estime`` (official values beside
    the IRIS-based estimates) in the chosen formats.
    """
    import pandas as pd

    from observatoire.chargement import lire_indicateurs_ptod, lire_qpv_officiel, lire_table_iris
    from observatoire.indicateurs import charger_codebook, consolider
    from observatoire.indicateurs.officiel import (
        comparer_officiel_estime,
        valeurs_officielles_ptod,
        valeurs_officielles_qpv,
        valeurs_officielles_zonages,
    )
    from observatoire.rapport import ErreurDonnees, Rapport
    from observatoire.sorties import ecrire_tables

    rapport = Rapport()
    try:
        cb = charger_codebook(chemin_codebook)
        communes_l = [c.strip() for c in communes.split(",")] if communes else None
        niveaux, ic, iris = _niveaux(
            iris_chemin, communes_l, _epci(epci), departement, _paires(poids, "--poids"), rapport
        )
        tables = [lire_table_iris(c, rapport=rapport) for c in comptages]
        tables = [
            t.drop(columns=[c for c in ("type_iris", "code_commune") if c in t.columns])
            for t in tables
        ]
        ptod = lire_indicateurs_ptod(taux, "iris", rapport=rapport) if taux else None
        population = (
            ptod[["code_iris", "annee", "p_pop"]]
            if ptod is not None and "p_pop" in ptod.columns
            else None
        )
        officiels = []
        codes_com = sorted(set(ic["code_commune"]))
        if officiel_communes:
            officiels.append(
                valeurs_officielles_ptod(
                    lire_indicateurs_ptod(officiel_communes, "commune"),
                    codebook=cb,
                    codes=codes_com,
                )
            )
        if officiel_departements:
            deps = sorted({c[:2] for c in codes_com}) + ["00FR"]
            officiels.append(
                valeurs_officielles_ptod(
                    lire_indicateurs_ptod(officiel_departements, "departement", rapport=rapport),
                    codebook=cb,
                    codes=deps,
                )
            )
        zones_qpv = niveaux.get("qpv")
        codes_qpv = (
            sorted(set(zones_qpv["code_zone"])) if isinstance(zones_qpv, pd.DataFrame) else None
        )
        for spec in officiel_qpv:
            chemin, _, annee = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
            officiels.append(
                valeurs_officielles_qpv(
                    lire_qpv_officiel(chemin, rapport=rapport),
                    codebook=cb,
                    annee=int(annee) if annee else None,
                    codes=codes_qpv,
                    rapport=rapport,
                )
            )
        noms = {"iris": dict(zip(ic["code_iris"], ic["nom_iris"], strict=True))}
        if officiel_zonages:
            officiels.append(
                valeurs_officielles_zonages(_lire_tableau(officiel_zonages), codebook=cb)
            )
        table = consolider(
            niveaux,
            comptages=tables or None,
            taux=ptod,
            officiels=officiels,
            codebook=cb,
            noms=noms,
            population=population,
            secret=secret,
            approximer_non_additifs=approximer_non_additifs,
            rapport=rapport,
        )
        sorties = {"indicateurs": table, "officiel_vs_estime": comparer_officiel_estime(table)}
        formats_l = tuple(f.strip() for f in formats.split(","))
        geos = (
            _geometries(iris, niveaux, _paires(geometrie, "--geometrie"), rapport)
            if "gpkg" in formats_l
            else None
        )
        ecrits = ecrire_tables(
            sorties,
            sortie,
            formats=formats_l,
            geometries=geos,
            nom_classeur="indicateurs.xlsx",
            sans_geometrie="vide",
        )
    except ErreurDonnees as exc:
        raise click.ClickException(str(exc)) from None
    for chemins in ecrits.values():
        for c in chemins:
            click.echo(f"écrit : {c}")
    click.echo(
        f"{len(table)} ligne(s) ; statuts : "
        + ", ".join(f"{k} {v}" for k, v in table["statut"].value_counts().items())
    )
    if rapport.n_avertissements:
        click.echo(f"{rapport.n_avertissements} avertissement(s) :")
        for ev in rapport.evenements:
            if ev.niveau == "avertissement":
                click.echo(f"  - {ev.source} : {ev.message}")


@click.command("ecarts")
@click.option(
    "--indicateurs",
    "chemin_ind",
    required=True,
    type=click.Path(exists=True),
    help="Long indicator table (CSV or Parquet), from 'observatoire indicateurs calculer'.",
)
@click.option(
    "--references",
    "chemin_ref",
    type=click.Path(exists=True),
    help="Reference table (territoire_code, niveau, reference_niveau, reference_code).",
)
@click.option(
    "--iris",
    "iris_chemin",
    type=click.Path(exists=True),
    help="IRIS layer, to build the references from --poids (instead of --references).",
)
@click.option(
    "--poids",
    multiple=True,
    metavar="NIVEAU=FICHIER",
    help="Weights table of a zone level, to build the references; repeatable.",
)
@click.option(
    "--epci",
    multiple=True,
    metavar="CODE:COMMUNES",
    help="EPCI made of these communes (reference level); repeatable.",
)
@click.option(
    "--france", default="FR", show_default=True, help="Code of the France reference ('' for none)."
)
@click.option(
    "--ecart-min",
    default=5,
    show_default=True,
    type=int,
    help="Smallest vintage difference compared (census rolling surveys: 5).",
)
@click.option(
    "--inclure-rapprochees",
    is_flag=True,
    help="Also compare closer vintages (flagged as not comparable).",
)
@click.option(
    "--codebook",
    "chemin_codebook",
    type=click.Path(exists=True, dir_okay=False),
    help="Codebook YAML (default: the packaged one).",
)
@option_sortie("Output folder.", anciens=("--sortie",))
@click.option(
    "--formats",
    default="csv,parquet,xlsx",
    show_default=True,
    help="Comma-separated output formats among csv, parquet, xlsx.",
)
def ecarts(
    chemin_ind,
    chemin_ref,
    iris_chemin,
    poids,
    epci,
    france,
    ecart_min,
    inclure_rapprochees,
    chemin_codebook,
    sortie,
    formats,
) -> None:
    """Gaps between zones and their references (commune, EPCI, département, France), by year.

    Writes ``ecarts`` and ``evolution`` (evolution of each value and gap between vintages at
    least --ecart-min years apart).
    """
    import pandas as pd

    from observatoire.chargement import lire_iris
    from observatoire.ecarts import calculer_ecarts
    from observatoire.indicateurs import charger_codebook
    from observatoire.indicateurs.references import references_territoires
    from observatoire.rapport import ErreurDonnees
    from observatoire.sorties import ecrire_tables

    try:
        cb = charger_codebook(chemin_codebook)
        table = _lire_tableau(chemin_ind)
        if chemin_ref:
            refs = _lire_tableau(chemin_ref)
        elif iris_chemin and poids:
            iris = lire_iris(iris_chemin)
            niveaux = {k: _lire_tableau(v) for k, v in _paires(poids, "--poids").items()}
            m = pd.DataFrame(
                [(c, e) for e, cs in _epci(epci).items() for c in cs],
                columns=["code_commune", "code_epci"],
            )
            refs = references_territoires(
                niveaux,
                iris[["code_iris", "code_commune"]],
                communes_epci=m if len(m) else None,
                france=france or None,
                zones=tuple(niveaux),
            )
        else:
            raise click.UsageError("donner --references, ou --iris avec --poids")
        e, ev = calculer_ecarts(
            table,
            refs,
            codebook=cb,
            ecart_min_annees=ecart_min,
            inclure_rapprochees=inclure_rapprochees,
        )
        ecrits = ecrire_tables(
            {"ecarts": e, "evolution": ev},
            sortie,
            formats=tuple(formats.split(",")),
            nom_classeur="ecarts.xlsx",
        )
    except ErreurDonnees as exc:
        raise click.ClickException(str(exc)) from None
    for chemins in ecrits.values():
        for c in chemins:
            click.echo(f"écrit : {c}")
    click.echo(f"{len(e)} écart(s), {len(ev)} évolution(s)")


COMMANDES = [indicateurs, ecarts]
