"""Load a territory once: every input of a configuration, read through the loaders.

:func:`charger_territoire` resolves each input (catalogue id or path, see
:mod:`observatoire.territoire.entrees`), reads the IRIS and QPV layers, the veille
perimeters, the statistics tables, the official QPV table, the grid, the IRIS layer of
the statistics' edition and the partners' tables, and checks what reading them
requires:

- every input file exists (the message names the configuration key and the path);
- every listed QPV code is in a perimeter file of its generation; QPV and veille codes
  differ;
- every IRIS of a veille territory is in the IRIS geography, in the stated commune; a
  veille perimeter lies in its commune;
- every member commune has IRIS in the geography;
- the configured years are vintages the sources hold.

The yearly run, ``observatoire weights --config`` and the other territory-level
entry points (:mod:`observatoire.territoire`) all start from its result.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from observatoire.config import ConfigTerritoire, ErreurConfig, SourceRef
from observatoire.rapport import ErreurDonnees, Rapport
from observatoire.territoire.entrees import Entree, resoudre_source

__all__ = [
    "DonneesTerritoire",
    "charger_territoire",
    "annees_sources",
    "ROLES_ANNEES",
    "ROLES_IRIS",
    "ROLES_COMPTAGES",
]

#: Roles of the IRIS statistics tables that carry census vintages.
ROLES_ANNEES = (
    "indicateurs_iris",
    "population_iris",
    "menages_iris",
    "logement_iris",
    "activite_iris",
    "diplomes_iris",
)
#: Roles whose ``edition`` is the IRIS geography of IRIS statistics.
ROLES_IRIS = (*ROLES_ANNEES, "revenus_iris")
#: Roles of the INSEE count tables (numerators and denominators of the codebook).
ROLES_COMPTAGES = tuple(r for r in ROLES_IRIS if r != "indicateurs_iris")


@dataclass
class DonneesTerritoire:
    """Every input of a territory configuration, read once.

    Attributes
    ----------
    config : ConfigTerritoire
    entrees : dict
        Configuration key (``sources.iris``, ``qpv.perimetres[0]``...) → :class:`Entree`.
    iris : GeoDataFrame
        The whole IRIS layer (normalised, EPSG:2154).
    iris_territoire : GeoDataFrame
        IRIS of the member communes.
    qpv : GeoDataFrame
        The territory's QPV (all generations): ``code_zone, nom_zone, generation, communes,
        geometry``.
    perimetres_veille : dict
        Veille code → its perimeter (one valid polygon geometry, EPSG:2154, checked to
        lie in its commune).
    tables : dict
        ``sources:`` role → statistics table (IRIS counts and rates, commune and
        département rates, IRIS incomes).
    qpv_officiel : DataFrame or None
        Official QPV table (``sources.qpv_officiel``).
    grille : GeoDataFrame or None
        Population grid (``sources.grille``).
    iris_statistiques : GeoDataFrame or None
        IRIS layer of the statistics' edition (``sources.iris_statistiques``).
    partenaires : list of DataFrame
        Rows of each partner table, in the order of ``partenaires:`` (memory only).
    annees_disponibles : list of int
        Census vintages the statistics tables hold.
    annees : list of int
        Vintages to compute: the configuration's ``annees``, else every vintage held.
    """

    config: ConfigTerritoire
    entrees: dict[str, Entree]
    iris: gpd.GeoDataFrame
    iris_territoire: gpd.GeoDataFrame
    qpv: gpd.GeoDataFrame
    annees_disponibles: list[int]
    annees: list[int]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    perimetres_veille: dict[str, BaseGeometry] = field(default_factory=dict)
    qpv_officiel: pd.DataFrame | None = None
    grille: gpd.GeoDataFrame | None = None
    iris_statistiques: gpd.GeoDataFrame | None = None
    partenaires: list[pd.DataFrame] = field(default_factory=list)

    def chemin(self, role: str) -> Path | None:
        """File of a ``sources:`` role, ``None`` when the configuration has none."""
        e = self.entrees.get(f"sources.{role}")
        return e.chemin if e is not None else None

    def entree(self, role: str) -> Entree | None:
        """Return the resolved input of a ``sources:`` role (``None`` when not configured)."""
        return self.entrees.get(f"sources.{role}")


def charger_territoire(
    cfg: ConfigTerritoire,
    *,
    annees: str | Sequence[int] = "all",
    depuis: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
    rapport: Rapport | None = None,
) -> DonneesTerritoire:
    """Resolve and read every input of ``cfg``; raise before anything is computed.

    Parameters
    ----------
    cfg : ConfigTerritoire
    annees : "all" or list of int
        Vintages to compute instead of the configuration's ``annees`` (``--years``).
    depuis : path, optional
        Local data store (``--from``) instead of the download cache.
    cache : path, optional
        Download cache folder.
    rapport : Rapport, optional
        Collects repairs and warnings of the loaders.

    Raises
    ------
    ErreurConfig
        Missing file, unknown QPV code, IRIS absent from the geography, commune without
        IRIS, configured year the sources do not hold.
    ErreurDonnees
        An input file cannot be read into the normalised schema.
    """
    from observatoire.chargement import (
        lire_indicateurs_ptod,
        lire_iris,
        lire_qpv,
        lire_table_iris,
    )

    rapport = rapport if rapport is not None else Rapport()
    depuis = Path(depuis).expanduser().resolve() if depuis is not None else None
    base = cfg.dossier_config
    entrees: dict[str, Entree] = {}

    def resoudre(ref: SourceRef, cle: str) -> Entree:
        e = resoudre_source(ref, cle, dossier_config=base, depuis=depuis, cache=cache)
        entrees[cle] = e
        return e

    for role, ref in cfg.sources.items():
        resoudre(ref, f"sources.{role}")
    for i, p in enumerate(cfg.qpv.perimetres):
        resoudre(p, f"qpv.perimetres[{i}]")
    for i, v in enumerate(cfg.veille):
        if v.perimetre is not None:
            resoudre(v.perimetre, f"veille[{i}].perimetre")

    # IRIS geography.
    e_iris = entrees["sources.iris"]
    iris = lire_iris(e_iris.chemin, e_iris.couche, rapport=rapport)
    iris_territoire = _iris_territoire(cfg, iris, e_iris)

    # QPV perimeters, veille perimeters.
    couches = []
    for i, p in enumerate(cfg.qpv.perimetres):
        e = entrees[f"qpv.perimetres[{i}]"]
        g = lire_qpv(e.chemin, e.couche, rapport=rapport)
        autres = sorted(set(g["generation"]) - {p.generation})
        if autres:
            raise ErreurConfig(
                f"qpv.perimetres[{i}].generation : {p.generation} mais {e.chemin} contient des "
                f"QPV de génération {autres} (attendu : la génération de ses codes : QN… = 2024, "
                "QP… = 2015)"
            )
        g.attrs["generation"] = p.generation
        couches.append((f"qpv.perimetres[{i}]", g))
    qpv = _choisir_qpv(cfg, couches, iris_territoire)
    _verifier_codes_zones(cfg, qpv, couches, entrees)
    perimetres_veille = _lire_perimetres_veille(cfg, entrees, iris_territoire, rapport)
    if cfg.qpv.liste != "all":
        for i, q in enumerate(cfg.qpv.liste):
            com = qpv.loc[qpv["code_zone"] == q.code, "communes"].iloc[0]
            if q.commune and com and q.commune not in com:
                rapport.avertir(
                    "verification",
                    f"qpv.liste[{i}]",
                    f"{q.code} : commune {q.commune} dans la configuration, "
                    f"{list(com)} dans le fichier des périmètres",
                )

    # Statistics tables and their census vintages.
    tables: dict[str, pd.DataFrame] = {}
    for role in ROLES_ANNEES:
        e = entrees.get(f"sources.{role}")
        if e is None:
            continue
        if role == "indicateurs_iris":
            tables[role] = lire_indicateurs_ptod(e.chemin, "iris", rapport=rapport)
        else:
            tables[role] = lire_table_iris(e.chemin)
    disponibles = _annees_recensement(tables)
    annees = _annees_choisies(cfg, annees, disponibles)
    for role, niveau in (
        ("indicateurs_communes", "commune"),
        ("indicateurs_departements", "departement"),
    ):
        e = entrees.get(f"sources.{role}")
        if e is not None:
            tables[role] = lire_indicateurs_ptod(e.chemin, niveau, rapport=rapport)
    e_rev = entrees.get("sources.revenus_iris")
    if e_rev is not None:
        tables["revenus_iris"] = lire_table_iris(e_rev.chemin)

    return DonneesTerritoire(
        config=cfg,
        entrees=entrees,
        iris=iris,
        iris_territoire=iris_territoire,
        qpv=qpv,
        annees_disponibles=disponibles,
        annees=annees,
        tables=tables,
        perimetres_veille=perimetres_veille,
        qpv_officiel=_lire_qpv_officiel(cfg, entrees, rapport),
        grille=_lire_grille(entrees, rapport),
        iris_statistiques=_lire_iris_statistiques(entrees, rapport),
        partenaires=_lire_partenaires(cfg, resoudre),
    )


def _iris_territoire(cfg: ConfigTerritoire, iris: gpd.GeoDataFrame, e_iris: Entree):
    """IRIS of the member communes; every veille IRIS present, in its commune."""
    communes = cfg.codes_communes
    iris_territoire = iris[
        iris["code_commune"].isin(communes) | iris["code_commune_arm"].isin(communes)
    ].reset_index(drop=True)
    sans_iris = sorted(
        set(communes)
        - set(iris_territoire["code_commune"])
        - set(iris_territoire["code_commune_arm"])
    )
    if sans_iris:
        raise ErreurConfig(
            f"epci.communes : {sans_iris} n'ont aucun IRIS dans sources.iris ({e_iris.chemin}) ; "
            "attendu : des codes commune du ou des départements de cette couche IRIS"
        )
    edition = f" (édition {e_iris.edition})" if e_iris.edition else ""
    codes_iris = pd.Series(iris["code_commune_arm"].to_numpy(), index=iris["code_iris"])
    for i, v in enumerate(cfg.veille):
        if v.iris is None:
            continue
        absents = sorted(set(v.iris) - set(codes_iris.index))
        if absents:
            raise ErreurConfig(
                f"veille[{i}] ({v.code}).iris : {absents} absents de la géographie IRIS "
                f"{e_iris.chemin}{edition} ; attendu : des codes IRIS de cette couche"
            )
        ailleurs = {
            c: codes_iris[c]
            for c in v.iris
            if codes_iris[c] != v.commune
            and str(iris.loc[iris["code_iris"] == c, "code_commune"].iloc[0]) != v.commune
        }
        if ailleurs:
            raise ErreurConfig(
                f"veille[{i}] ({v.code}).iris : {sorted(ailleurs)} sont dans la ou les "
                f"commune(s) {sorted(set(ailleurs.values()))}, pas dans veille[{i}].commune "
                f"{v.commune}"
            )
    return iris_territoire


def _annees_recensement(tables: dict[str, pd.DataFrame]) -> list[int]:
    """Census vintages: the years with a census population count.

    A rate table also carries other years (Filosofi, DVF...).
    """
    recensement = {
        r: (t[t["p_pop"].notna()] if "p_pop" in t.columns else t) for r, t in tables.items()
    }
    disponibles = annees_sources(recensement)
    if not disponibles:
        raise ErreurConfig(
            "sources : aucune table statistique avec un millésime (attendu : au moins une de "
            f"{['sources.' + r for r in ROLES_ANNEES]})"
        )
    return disponibles


def _annees_choisies(
    cfg: ConfigTerritoire, demandees: str | Sequence[int], disponibles: list[int]
) -> list[int]:
    """Vintages asked (``--years``, else the configuration's), checked against the sources."""
    cle = "annees" if demandees == "all" else "--years"
    if demandees == "all":
        demandees = cfg.annees
    if demandees == "all":
        return list(disponibles)
    hors = sorted(set(demandees) - set(disponibles))
    if hors:
        raise ErreurConfig(
            f"{cle} : {hors} non disponible(s) ; les sources contiennent les millésimes "
            f"{disponibles} (attendu : une partie d'entre eux, ou all)"
        )
    return sorted(demandees)


def _lire_qpv_officiel(cfg: ConfigTerritoire, entrees: dict[str, Entree], rapport: Rapport):
    e_off = entrees.get("sources.qpv_officiel")
    if e_off is None:
        return None
    from observatoire.chargement import lire_qpv_officiel

    off = lire_qpv_officiel(e_off.chemin, rapport=rapport)
    if "annee_source" not in off.columns and cfg.sources["qpv_officiel"].annee_valeurs is None:
        raise ErreurConfig(
            f"sources.qpv_officiel.annee_valeurs : {e_off.chemin} n'indique pas le millésime "
            "de ses valeurs ; attendu : par ex. `qpv_officiel: {source: ..., annee_valeurs: 2020}`"
        )
    return off


def _lire_grille(entrees: dict[str, Entree], rapport: Rapport):
    e = entrees.get("sources.grille")
    if e is None:
        return None
    from observatoire.chargement import lire_grille

    return lire_grille(e.chemin, e.couche, rapport=rapport)


def _lire_iris_statistiques(entrees: dict[str, Entree], rapport: Rapport):
    e = entrees.get("sources.iris_statistiques")
    if e is None:
        return None
    from observatoire.chargement import lire_iris

    return lire_iris(e.chemin, e.couche, rapport=rapport)


def annees_sources(tables: dict[str, pd.DataFrame]) -> list[int]:
    """Vintages held by the statistics tables (their ``annee`` column)."""
    annees: set[int] = set()
    for t in tables.values():
        if isinstance(t, pd.DataFrame) and "annee" in t.columns:
            annees |= {int(a) for a in t["annee"].dropna().unique()}
    return sorted(annees)


def _choisir_qpv(
    cfg: ConfigTerritoire,
    couches: list[tuple[str, gpd.GeoDataFrame]],
    iris_territoire: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    communes = set(cfg.codes_communes)
    tout = pd.concat([g for _, g in couches], ignore_index=True)
    tout = gpd.GeoDataFrame(tout, geometry="geometry", crs=couches[0][1].crs)
    if cfg.qpv.liste == "all":
        par_liste = tout["communes"].map(lambda c: bool(set(c) & communes))
        sans_liste = tout["communes"].map(len) == 0
        if sans_liste.any():  # no commune column: keep QPV whose centroid lies in the territory
            emprise = iris_territoire.geometry.union_all()
            par_liste = par_liste | (
                sans_liste & tout.geometry.representative_point().within(emprise)
            )
        choisis = tout[par_liste]
        if choisis.empty:
            raise ErreurConfig(
                "qpv.liste : 'all' ne retient aucun QPV : aucun QPV des fichiers de périmètres "
                f"n'est dans les communes membres {sorted(communes)}"
            )
        return choisis.sort_values("code_zone").reset_index(drop=True)
    lignes = []
    for i, q in enumerate(cfg.qpv.liste):
        fichiers = [
            (cle, g)
            for cle, g in couches
            if int(g.attrs.get("generation", q.generation)) == q.generation
        ]
        trouve = None
        for _cle, g in fichiers:
            m = g[g["code_zone"] == q.code]
            if len(m):
                trouve = m
                break
        if trouve is None:
            noms = ", ".join(f"{c} ({len(g)} QPV)" for c, g in fichiers)
            raise ErreurConfig(
                f"qpv.liste[{i}].code : {q.code} n'est pas dans le ou les fichiers de périmètres "
                f"des QPV {q.generation} {noms} (attendu : un code de ces fichiers)"
            )
        lignes.append(trouve)
    return gpd.GeoDataFrame(
        pd.concat(lignes, ignore_index=True), geometry="geometry", crs=couches[0][1].crs
    )


def _lire_partenaires(cfg: ConfigTerritoire, resoudre) -> list[pd.DataFrame]:
    """Partner tables: found, readable as declared (errors name file, column and line).

    Their rows stay in memory, never written.
    """
    if not cfg.partenaires:
        return []
    from observatoire.partenaires import lire_table_partenaire

    return [
        lire_table_partenaire(resoudre(spec.ref, f"partenaires[{i}].source").chemin, spec)
        for i, spec in enumerate(cfg.partenaires)
    ]


def _verifier_codes_zones(cfg: ConfigTerritoire, qpv: gpd.GeoDataFrame, couches, entrees):
    """QPV codes taken from the perimeter files are QPV codes, distinct from veille codes."""
    from observatoire.config import _RE_QPV

    fichiers = ", ".join(str(entrees[cle].chemin) for cle, _ in couches)
    mauvais = sorted(str(c) for c in qpv["code_zone"] if not _RE_QPV.match(str(c)))
    if mauvais:
        raise ErreurConfig(
            f"qpv.liste : all retient des entités de {fichiers} dont les codes ne sont pas des "
            f"codes QPV : {mauvais[:10]} (attendu : 'QN' ou 'QP' + 6 lettres ou chiffres ; les "
            "codes de zone nomment des fichiers de sortie)"
        )
    vus: dict[str, str] = {}
    for c in [*qpv["code_zone"].astype(str), *(v.code for v in cfg.veille)]:
        autre = vus.get(c.lower())
        vus[c.lower()] = c
        if autre is not None:
            raise ErreurConfig(
                f"code de zone {c!r} utilisé deux fois parmi les QPV de {fichiers} et les zones "
                f"de veille (conflit avec {autre!r}) ; les codes de zone nomment des fichiers de "
                "sortie et doivent différer"
            )


#: Share of a veille perimeter's area that must lie in its declared commune (the IRIS
#: of the commune stand for it; perimeters drawn on other layers overlap them a little).
PART_MIN_COMMUNE = 0.95


def _lire_perimetres_veille(
    cfg: ConfigTerritoire,
    entrees: dict[str, Entree],
    iris_territoire: gpd.GeoDataFrame,
    rapport: Rapport,
) -> dict[str, BaseGeometry]:
    """Veille perimeters: a CRS, valid polygons, inside their declared commune.

    Returns veille code → the perimeter's geometry (union of its features, EPSG:2154).
    """
    import shapely

    from observatoire.chargement.validation import CRS_TRAVAIL, lire_vecteur

    out: dict[str, BaseGeometry] = {}
    for i, v in enumerate(cfg.veille):
        if v.perimetre is None:
            continue
        cle = f"veille[{i}] ({v.code}).perimetre"
        e = entrees[f"veille[{i}].perimetre"]
        brut = lire_vecteur(e.chemin, e.couche)
        if brut.crs is None:
            raise ErreurDonnees(f"{e.chemin} : aucun CRS déclaré ({cle}) ; impossible de le placer")
        g = brut.to_crs(CRS_TRAVAIL).geometry
        g = g[g.notna() & ~g.is_empty]
        if g.empty:
            raise ErreurConfig(f"{cle} : {e.chemin} ne contient aucune géométrie")
        invalides = ~g.is_valid
        if invalides.any():
            # repaired and reported like QPV perimeters (area before and after, warning)
            from observatoire.chargement.validation import _reparer

            z = gpd.GeoDataFrame(
                {"code": [v.code] * len(g)}, geometry=g.to_numpy(), crs=CRS_TRAVAIL
            )
            _reparer(z, invalides.to_numpy(), source=str(e.chemin), code="code", rapport=rapport)
            g = z.geometry
            g = g[g.geom_type.isin(["Polygon", "MultiPolygon", "GeometryCollection"])]
            g = gpd.GeoSeries(shapely.get_parts(g.to_numpy()), crs=CRS_TRAVAIL)
            g = g[g.geom_type.isin(["Polygon", "MultiPolygon"])]
        if not g.geom_type.isin(["Polygon", "MultiPolygon"]).all():
            raise ErreurConfig(
                f"{cle} : {e.chemin} contient des géométries qui ne sont pas des polygones "
                f"{sorted(set(g.geom_type))} (attendu : des polygones)"
            )
        geom = shapely.union_all(g.to_numpy())
        iris_com = iris_territoire[
            (iris_territoire["code_commune_arm"] == v.commune)
            | (iris_territoire["code_commune"] == v.commune)
        ]
        commune = shapely.union_all(iris_com.geometry.to_numpy())
        part = geom.intersection(commune).area / geom.area if geom.area > 0 else 0.0
        if part < PART_MIN_COMMUNE:
            raise ErreurConfig(
                f"{cle} : seulement {part:.0%} de {e.chemin} est dans sa commune {v.commune} "
                f"(veille[{i}].commune ; attendu : au moins {PART_MIN_COMMUNE:.0%}) : mauvaise "
                "commune, mauvais fichier ou mauvais CRS ?"
            )
        rapport.info(
            "verification", cle, f"{geom.area:,.0f} m², {part:.1%} dans la commune {v.commune}"
        )
        out[v.code] = geom
    return out
