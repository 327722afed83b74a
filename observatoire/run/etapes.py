"""The steps of the yearly run, each a call to one territory-level entry point.

Every step reads the results the previous ones left on the :class:`Contexte` and writes
under ``ctx.dossier`` (the run's temporary folder). The computations live in
:mod:`observatoire.territoire`, shared with the CLI commands.

==============  ===============================================================
step            what it does
==============  ===============================================================
``sources``     summarises the inputs (loaded and checked before the steps)
``poids``       IRIS × zone weights: QPV (spatial method of the config), veille
                territories (perimeter, or IRIS set minus other zones);
                overlaps between veille territories and QPV are reported
``indicateurs`` indicators for every level and year (codebook)
``ecarts``      gaps against the references, their evolution, the synthesis,
                the zones' warnings and sheet notes
``tables``      CSV / Parquet / GeoPackage / XLSX at the territory level
``cartes``      one sub-folder per vintage with the maps (the sheets are drawn
                meanwhile in a forked process, the workbook after the maps)
``fiches``      one sheet per QPV and veille territory (waits for that process)
``classeur``    waits for the XLSX workbook written in a background process,
                then writes ``index.html``
==============  ===============================================================
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from observatoire.run.contexte import Contexte, Etape
from observatoire.run.processus import attendre_enfant, lancer_enfant, mourir_avec_le_parent

__all__ = [
    "ETAPES",
    "etape_sources",
    "etape_poids",
    "etape_indicateurs",
    "etape_ecarts",
    "etape_tables",
    "etape_cartes",
    "etape_fiches",
    "etape_classeur",
]


def etape_sources(ctx: Contexte) -> None:
    """Summarise the territory's inputs; set the run's codebook."""
    from observatoire.territoire.indicateurs import codebook_territoire

    d = ctx.donnees
    cfg = ctx.config
    ctx.codebook = codebook_territoire(d)
    e_iris = d.entree("iris")
    ctx.resume.append(
        f"géographie IRIS : {e_iris.source} (édition {e_iris.edition or 'non précisée'}, "
        f"{e_iris.chemin.name})"
    )
    ctx.resume.append(
        f"sources : {len(d.entrees)} entrées, {len(d.iris_territoire)} IRIS de "
        f"{len(cfg.codes_communes)} communes, {len(d.qpv)} QPV, {len(cfg.veille)} "
        "territoires de veille"
    )


def etape_poids(ctx: Contexte) -> None:
    """Weights of every zone of the territory (written with the tables)."""
    from observatoire.territoire.poids import poids_territoire

    ctx.poids = poids_territoire(ctx.donnees, ctx.rapport)
    ctx.resume.extend(ctx.poids.resume)


def etape_indicateurs(ctx: Contexte) -> None:
    """Compute the indicators of every level and vintage, official values beside estimates."""
    from observatoire.territoire.indicateurs import indicateurs_territoire

    ctx.indicateurs = indicateurs_territoire(
        ctx.donnees, ctx.poids, codebook=ctx.codebook, rapport=ctx.rapport
    )
    ctx.resume.extend(ctx.indicateurs.resume)


def etape_ecarts(ctx: Contexte) -> None:
    """Gaps, evolution and synthesis; the zones' warnings and sheet notes."""
    from observatoire.territoire.avertissements import avertissements_zones, notes_zones
    from observatoire.territoire.ecarts import ecarts_territoire

    d = ctx.donnees
    ctx.ecarts = ecarts_territoire(d, ctx.poids, ctx.indicateurs, codebook=ctx.codebook)
    ctx.avertissements = avertissements_zones(
        d, ctx.poids, ctx.indicateurs, ctx.ecarts, ctx.rapport
    )
    ctx.notes = notes_zones(d, ctx.poids, ctx.ecarts, ctx.codebook)
    ctx.resume.extend(ctx.ecarts.resume)


def etape_tables(ctx: Contexte) -> None:
    """Write the cross-year tables under ``tables/``.

    CSV and Parquet: every long table. GeoPackage ``observatoire.gpkg``: one layer per
    level (IRIS, QPV, veille, commune, EPCI) with geometry and one column per
    indicator × vintage (values of record). XLSX ``observatoire.xlsx`` for partners:
    indicators, gaps and evolutions of the QPV and veille territories (the IRIS and
    commune gaps are in the CSV/Parquet tables), weights, references.
    """
    from observatoire.sorties import ecrire_geopackage, ecrire_tables
    from observatoire.territoire.publication import (
        feuilles_classeur,
        geometries_territoire,
        table_large,
        tables_publiees,
    )

    cfg = ctx.config
    tables = tables_publiees(ctx.poids, ctx.indicateurs, ctx.ecarts)
    dossier = ctx.dossier / "tables"
    formats = tuple(f for f in cfg.sorties.formats if f in ("csv", "parquet"))
    ecrits = ecrire_tables(tables, dossier, formats=formats) if formats else {}
    n = sum(len(v) for v in ecrits.values())
    if "gpkg" in cfg.sorties.formats:
        geos = geometries_territoire(ctx.donnees, ctx.poids, ctx.indicateurs)
        large = table_large(tables["indicateurs"])
        large = large[large["niveau"].isin(list(geos))]
        ecrire_geopackage(large, geos, dossier / "observatoire.gpkg")
        n += 1
    if "xlsx" in cfg.sorties.formats:
        feuilles = feuilles_classeur(cfg, ctx.annees, tables, ctx.avertissements)
        chemin = dossier / "observatoire.xlsx"
        if cfg.sorties.cartes:  # written on the second core once the maps are drawn
            ctx.classeur_differe = (feuilles, chemin)
        else:
            _lancer_classeur(ctx, feuilles, chemin)
        n += 1
    ctx.resume.append(f"tables : {n} fichiers dans tables/ ({', '.join(cfg.sorties.formats)})")


def _couches_web(ctx: Contexte):
    """Web layers (simplified once) shared by the maps and the sheets."""
    if ctx.couches_web is None:
        from observatoire.cartes import Geometries, couches_web

        d = ctx.donnees
        geo = Geometries(
            iris=d.iris_territoire, zones_territoire=ctx.poids.zones, nom_territoire=d.config.nom
        )
        ctx.couches_web = couches_web(geo, rapport=ctx.rapport)
    return ctx.couches_web


def etape_cartes(ctx: Contexte) -> None:
    """IRIS choropleths and gap maps, one sub-folder per vintage.

    The sheets are drawn at the same time in a forked process (second core) when the
    platform can fork; :func:`etape_fiches` waits for them.
    """
    from observatoire.cartes import generer_cartes

    cfg = ctx.config
    refs = [r for r in ("commune", "epci", "departement") if r in cfg.niveaux_comparaison]
    if not cfg.sorties.cartes:
        ctx.resume.append("cartes : non demandées (sorties.cartes: false)")
        return
    couches = _couches_web(ctx)
    # the sheets on the second core while the maps are drawn; the workbook after them
    if cfg.sorties.fiches:
        lancer_enfant(ctx, "fiches", _fiches_enfant, (ctx, _groupes_fiches(ctx)))
    ecrits = generer_cartes(
        ctx.indicateurs.indicateurs,
        ctx.ecarts.ecarts,
        couches,
        ctx.dossier,
        annees=ctx.annees,
        references=refs,
        codebook=ctx.codebook,
        synthese=ctx.ecarts.synthese_millesimes,
        avertissements=ctx.avertissements,
        rapport=ctx.rapport,
    )
    if ctx.classeur_differe is not None:
        _lancer_classeur(ctx, *ctx.classeur_differe)
        ctx.classeur_differe = None
    taille = sum(p.stat().st_size for p in ecrits)
    ctx.resume.append(
        f"cartes : {len(ecrits)} pages dans {', '.join(map(str, ctx.annees))}/ "
        f"({taille / 1e6:.1f} Mo)"
    )


def _groupes_fiches(ctx: Contexte) -> list[tuple[tuple[str, ...], list[str]]]:
    """Zones grouped by the notes printed on their sheets (one sheet call per group)."""
    par_notes: dict[tuple[str, ...], list[str]] = {}
    for code, notes in ctx.notes.items():
        par_notes.setdefault(tuple(notes), []).append(code)
    return list(par_notes.items())


def _dessiner_fiches(ctx: Contexte, groupes, barre: bool = True) -> int:
    """Write the sheets of every group of zones; return the number of pages."""
    from observatoire.cartes import generer_fiches

    n = 0
    for notes, codes in ctx.barre(groupes, "fiches") if barre else groupes:
        n += len(
            generer_fiches(
                ctx.indicateurs.indicateurs,
                ctx.ecarts.ecarts,
                _couches_web(ctx),
                ctx.dossier,
                poids=ctx.poids.poids,
                annees=ctx.annees,
                codes=codes,
                codebook=ctx.codebook,
                notes=list(notes) or None,
                synthese=ctx.ecarts.synthese_millesimes,
                avertissements=ctx.avertissements,
                rapport=ctx.rapport,
            )
        )
    return n


def _fiches_enfant(ctx: Contexte, groupes) -> None:  # runs in the child process
    import logging

    mourir_avec_le_parent()
    logging.disable(logging.CRITICAL)  # the run's log belongs to the parent
    _dessiner_fiches(ctx, groupes, barre=False)


def etape_fiches(ctx: Contexte) -> None:
    """One sheet per QPV and veille territory and vintage."""
    n = 0
    if attendre_enfant(ctx, "fiches", "the sheets"):
        n = sum(1 for _ in ctx.dossier.glob("*/fiches/*.html"))
    elif ctx.config.sorties.fiches:
        n = _dessiner_fiches(ctx, _groupes_fiches(ctx))
    ctx.resume.append(f"fiches : {n} pages (QPV et territoires de veille × millésimes)")


def _ecrire_classeur(feuilles: dict[str, pd.DataFrame], chemin: Path) -> None:
    from observatoire.sorties import ecrire_xlsx

    ecrire_xlsx(feuilles, chemin)


def _ecrire_classeur_enfant(feuilles: dict[str, pd.DataFrame], chemin: Path) -> None:
    mourir_avec_le_parent()  # runs in the child process
    _ecrire_classeur(feuilles, chemin)


def _lancer_classeur(ctx: Contexte, feuilles: dict[str, pd.DataFrame], chemin: Path) -> None:
    """Write the XLSX workbook in a forked process (at once where fork is not available).

    openpyxl is pure Python (≈ 2 s here): on a two-core machine the workbook is written
    on the second core; :func:`etape_classeur` waits for it.
    """
    if not lancer_enfant(ctx, "classeur", _ecrire_classeur_enfant, (feuilles, chemin)):
        _ecrire_classeur(feuilles, chemin)


def etape_classeur(ctx: Contexte) -> None:
    """Wait for the XLSX workbook written in the background, then write ``index.html``.

    The index links every file of the run, so it comes once they are all written.
    """
    from observatoire.cartes import generer_index

    cfg = ctx.config
    chemin = ctx.dossier / "tables" / "observatoire.xlsx"
    if attendre_enfant(ctx, "classeur", chemin.name) and not chemin.is_file():
        raise RuntimeError(f"l'écriture de {chemin.name} a échoué dans le processus d'arrière-plan")
    if cfg.sorties.cartes or cfg.sorties.fiches:
        generer_index(
            ctx.dossier,
            titre=f"Observatoire — {cfg.nom}",
            synthese=ctx.ecarts.synthese_millesimes,
            codebook=ctx.codebook,
            avertissements=ctx.avertissements,
        )
        ctx.resume.append(
            "index.html : tableau de bord et liens vers chaque page et chaque fichier"
        )


ETAPES = [
    Etape("sources", etape_sources, "summarise the inputs"),
    Etape("poids", etape_poids, "IRIS × zone weights"),
    Etape("indicateurs", etape_indicateurs, "indicators for every level and vintage"),
    Etape("ecarts", etape_ecarts, "gaps against the references, evolution"),
    Etape("tables", etape_tables, "CSV / Parquet / GeoPackage / XLSX"),
    Etape("cartes", etape_cartes, "maps per vintage"),
    Etape("fiches", etape_fiches, "neighbourhood sheets"),
    Etape("classeur", etape_classeur, "wait for the XLSX workbook, then the index"),
]
