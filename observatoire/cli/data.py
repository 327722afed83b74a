"""``observatoire data``: fetch sources into the cache, list the cache, summarise a territory."""

from __future__ import annotations

import time
from pathlib import Path

import click

from observatoire.cli._options import AIDE_CACHE, AIDE_CONFIG, option_depuis

__all__ = ["COMMANDES", "data"]

_OPTION_CACHE = click.option(
    "--cache-dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=AIDE_CACHE,
)
_OPTION_TERRITOIRE = click.option(
    "--territoire",
    default=None,
    help="Territory id (default: san_ouest_provence).",
)
_OPTION_CONFIG = click.option(
    "--config",
    metavar="FILE|NAME",
    default=None,
    help=f"{AIDE_CONFIG}: its communes and the sources it names.",
)


def _territoire(nom, config):
    from observatoire.rapport import ErreurDonnees
    from observatoire.sources import territoire

    try:
        return territoire(nom, config=config)
    except ErreurDonnees as exc:
        raise click.ClickException(str(exc)) from None


def _taille(n: int | None) -> str:
    if n is None:
        return "-"
    for unite in ("o", "ko", "Mo", "Go"):
        if n < 1024 or unite == "Go":
            return f"{n:.0f} {unite}" if unite == "o" else f"{n:.1f} {unite}"
        n /= 1024
    return str(n)  # pragma: no cover


@click.group()
def data() -> None:
    """Official sources and local stores: fetch into the cache, list it, summarise a territory."""


@data.command()
@_OPTION_TERRITOIRE
@_OPTION_CONFIG
@click.option(
    "--sources",
    "ids",
    default=None,
    help="Comma-separated source ids (default: what the territory needs).",
)
@option_depuis(
    "Take the files from this local data store (e.g. ../shared/data) through its "
    "catalogue instead of downloading them."
)
@click.option(
    "--catalogue",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Catalogue of the --from store (default: DIR/catalogue.yaml, else the packaged "
    "catalogue of ../shared/data).",
)
@click.option(
    "--registre",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Registry of official sources (default: the packaged one).",
)
@_OPTION_CACHE
@click.option("--force", is_flag=True, help="Fetch again even if the cache holds the source.")
@click.option(
    "--essais", default=3, show_default=True, help="Download attempts (each resumes the last)."
)
@click.option(
    "--renouveler-empreinte",
    is_flag=True,
    help="Accept a new publication: forget the sha256 recorded at the first download.",
)
def fetch(
    territoire,
    config,
    ids,
    depuis,
    catalogue,
    registre,
    cache_dir,
    force,
    essais,
    renouveler_empreinte,
):
    """Fetch a territory's sources into the cache (official downloads, or --from a local store).

    Downloads are streamed to a .part file, resumed after an interruption, checked against
    the expected or first-recorded sha256, and archives (.zip/.7z) are extracted safely.
    With --from, files are copied after checking their sha256 against the catalogue.
    """
    from observatoire.rapport import ErreurDonnees, Rapport
    from observatoire.sources import Cache, recuperer

    terr = _territoire(territoire, config)
    if ids:
        liste = [s.strip() for s in ids.split(",") if s.strip()]
    else:
        liste = terr.sources_locales if depuis is not None else terr.sources_officielles
    rapport = Rapport()
    cache = Cache(cache_dir)
    click.echo(f"Cache : {cache.racine}")
    click.echo(
        f"Territoire : {terr.nom} ({len(terr.communes)} communes) — {len(liste)} source(s) "
        + (f"depuis {depuis}" if depuis else "auprès des producteurs officiels")
    )
    t0 = time.perf_counter()
    echecs = []
    for sid in liste:
        try:
            (r,) = recuperer(
                [sid],
                depuis=depuis,
                catalogue=catalogue,
                registre=registre,
                cache=cache_dir,
                terr=terr,
                forcer=force,
                essais=essais,
                renouveler_empreinte=renouveler_empreinte,
                rapport=rapport,
            )
        except (ErreurDonnees, OSError) as exc:
            echecs.append(sid)
            click.echo(f"  ÉCHEC {sid} : {exc}", err=True)
            continue
        click.echo(
            f"  {r.statut:<13} {sid:<32} {_taille(r.taille):>9}  sha256 {r.sha256[:12]}…  "
            f"{r.chemin}"
        )
    duree = time.perf_counter() - t0
    click.echo(f"{len(liste) - len(echecs)}/{len(liste)} source(s) en cache en {duree:.2f} s")
    for ev in rapport.evenements:
        if ev.niveau == "avertissement":
            click.echo(f"  attention : {ev.source} : {ev.message}", err=True)
    if echecs:
        raise click.ClickException(f"{len(echecs)} source(s) en échec : {', '.join(echecs)}")


@data.command(name="list")
@_OPTION_CACHE
def lister(cache_dir):
    """Show the cache location and what it holds: file, vintage, provenance, sha256, date."""
    from observatoire.sources import Cache

    cache = Cache(cache_dir)
    click.echo(f"Cache : {cache.racine}")
    entrees = cache.entrees()
    if not entrees:
        click.echo("  (vide) — le remplir avec `observatoire data fetch [--from DIR]`")
        return
    for sid in sorted(entrees):
        e = entrees[sid]
        present = cache.chemin(sid) is not None
        click.echo(
            f"- {sid}  [{e.get('rubrique')}]  millésime {e.get('millesime') or '?'}"
            + ("" if present else "  ** ABSENT OU INCOMPLET **")
        )
        click.echo(f"    fichier    {e['chemin']}  ({_taille(e.get('taille_fichier'))})")
        click.echo(f"    sha256     {e.get('sha256')}")
        click.echo(f"    origine    {e.get('origine', '?')}  (récupéré le {e.get('date')})")
        click.echo(f"    provenance {' '.join(str(e.get('provenance', '')).split())}")
    empreintes = cache.lire_index().get("empreintes", {})
    if empreintes:
        click.echo("Empreintes du premier téléchargement (les suivants doivent y correspondre) :")
        for cle, v in sorted(empreintes.items()):
            click.echo(f"  {cle} : {v['sha256']} ({v['date']})")


@data.command()
@_OPTION_TERRITOIRE
@_OPTION_CONFIG
@option_depuis("Read the files in place from this local data store (default: from the cache).")
@_OPTION_CACHE
def summary(territoire, config, depuis, cache_dir):
    """Load and summarise a territory's data: communes, IRIS, QPV 2024, populations."""
    import pandas as pd

    from observatoire.rapport import ErreurDonnees
    from observatoire.sources import Cache
    from observatoire.sources.resume import resumer_territoire

    terr = _territoire(territoire, config)
    t0 = time.perf_counter()
    try:
        res = resumer_territoire(terr, depuis=depuis, cache=cache_dir)
    except ErreurDonnees as exc:
        raise click.ClickException(str(exc)) from None
    duree = time.perf_counter() - t0
    origine = f"le magasin local {depuis}" if depuis else f"le cache {Cache(cache_dir).racine}"
    click.echo(f"{terr.nom} — {len(terr.communes)} communes, lues depuis {origine}\n")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        com = res.communes.copy()
        total = com.drop(columns=["code_commune", "nom_commune"]).sum(min_count=1)
        click.echo(
            "Communes (surface en EPSG:2154 ; IRIS comptés par édition ; populations sommées "
            "sur les IRIS)"
        )
        click.echo(com.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
        click.echo(
            "  pop_rp2016_iris_h : Σ des tranches d'âge des IRIS de type H (RP 2016) ; NaN = "
            "aucun IRIS de type H (commune non découpée, IRIS de type Z). pop_AAAA : Σ "
            "P<AA>_POP des IRIS (table ptod)."
        )
        click.echo(
            "  total : "
            + ", ".join(f"{k} {v:,.1f}" for k, v in total.items() if pd.notna(v))
            + "\n"
        )
        q = res.qpv.copy()
        q["communes"] = q["communes"].map(" ".join)
        click.echo(f"QPV 2024 ({len(q)} ; population municipale et taux de pauvreté du SIG Ville)")
        click.echo(q.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
        click.echo("\nSources")
        s = res.sources.assign(sha256=res.sources["sha256"].str[:12])
        click.echo(s.to_string(index=False))
    n_av = res.rapport.n_avertissements
    click.echo(
        f"\n{len(res.rapport)} événement(s) de chargement, {n_av} avertissement(s) ; {duree:.1f} s"
    )
    for ev in res.rapport.evenements:
        if ev.niveau == "avertissement":
            click.echo(f"  attention : {ev.source} : {ev.message}")


@data.command(name="sources")
@option_depuis(
    "Show the catalogue of this local data store instead of the registry of official sources."
)
@click.option(
    "--registre",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Registry of official sources (default: the packaged one).",
)
def sources_cmd(depuis, registre):
    """Show the source ids: the official registry, or a local store's catalogue (--from)."""
    from observatoire.sources import catalogue_pour, charger_registre

    if depuis is not None:
        cat = catalogue_pour(depuis)
        click.echo(f"Catalogue {cat.nom} ({cat.chemin}) de {depuis}")
        for sid, e in sorted(cat.sources.items()):
            etat = "ok" if (depuis / e.chemin).is_file() else "ABSENT"
            click.echo(f"  {sid:<36} {e.millesime or '?':<5} {etat:<7} {e.chemin}")
        return
    reg = charger_registre(registre)
    click.echo(f"Registre {reg.chemin} : {len(reg)} sources officielles")
    for sid, src in sorted(reg.sources.items()):
        verifie = "vérifiée" if src.verifie else "non vérifiée"
        click.echo(
            f"  {sid:<36} {src.millesime or '-':<5} {src.acces.type:<8} {verifie:<12} "
            f"{src.producteur} — {src.jeu}"
        )
        click.echo(f"      {src.acces.url or src.page or ''}")


COMMANDES = [data]
