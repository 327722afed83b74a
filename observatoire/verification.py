"""Fast checks of a territory configuration against its data, before any write.

:func:`preparer_run` resolves every input of a configuration (source id or path),
loads the IRIS and QPV layers once, and checks what a schema cannot:

- every input file exists (the message names the configuration key and the path);
- every listed QPV code is in a perimeter file of its generation;
- every IRIS of a veille territory is in the IRIS geography, in the stated commune;
- every member commune has IRIS in the geography;
- the years asked are vintages the sources hold;
- the indicator ids are in the codebook.

It also records warnings the run summary must show: IRIS edition different from
the statistics' edition, population of the EPCI missing from the IRIS count tables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from observatoire.config import ConfigTerritoire, ErreurConfig, SourceRef
from observatoire.rapport import Rapport

__all__ = ["Entree", "Preparation", "resoudre_source", "preparer_run", "annees_sources"]

_ROLES_ANNEES = ("indicateurs_iris", "population_iris", "menages_iris", "logement_iris",
                 "activite_iris", "diplomes_iris")
#: Roles whose ``edition`` is the IRIS geography of IRIS statistics.
_ROLES_IRIS = (*_ROLES_ANNEES, "revenus_iris")


@dataclass(frozen=True)
class Entree:
    """A resolved input: configuration key, source id or path, file, provenance."""

    cle: str
    source: str
    chemin: Path
    couche: str | None = None
    edition: int | None = None
    provenance: dict = field(default_factory=dict)


@dataclass
class Preparation:
    """Result of the checks, handed to the pipeline steps.

    Attributes
    ----------
    entrees : dict
        Configuration key (``sources.iris``, ``qpv.perimetres[0]``...) → :class:`Entree`.
    iris : GeoDataFrame
        The whole IRIS layer (normalised, EPSG:2154).
    iris_territoire : GeoDataFrame
        IRIS of the member communes.
    qpv : GeoDataFrame
        The territory's QPV (all generations), with ``code_qpv, nom_qpv, generation,
        communes, geometry``.
    annees, annees_disponibles : list of int
    tables : dict
        Tables already read during the checks (reused by the steps).
    """

    entrees: dict[str, Entree]
    iris: gpd.GeoDataFrame
    iris_territoire: gpd.GeoDataFrame
    qpv: gpd.GeoDataFrame
    annees: list[int]
    annees_disponibles: list[int]
    tables: dict[str, Any] = field(default_factory=dict)

    def chemin(self, role: str) -> Path | None:
        """File of a ``sources:`` role, ``None`` when the configuration has none."""
        e = self.entrees.get(f"sources.{role}")
        return e.chemin if e is not None else None


def _simple(d: dict) -> dict:
    return {k: (v if isinstance(v, str | int | float | bool | type(None)) else str(v))
            for k, v in d.items() if v is not None}


def _provenance(source_id: str, depuis: Path | None, cache) -> dict:
    """Return what the sources package knows of a source id (catalogue, registry)."""
    try:
        from observatoire.sources import Cache, catalogue_pour, charger_registre
    except ImportError:  # pragma: no cover
        return {}
    out: dict = {}
    officielle = source_id
    try:
        if depuis is not None:
            cat = catalogue_pour(depuis)
            e = cat[source_id]
            out.update(_simple({"catalogue": cat.nom, "millesime": e.millesime,
                                "provenance": " ".join(e.provenance.split()),
                                "sha256_catalogue": e.sha256}))
            if getattr(e, "communes_couvertes", None):
                out["communes_couvertes"] = list(e.communes_couvertes)
            officielle = e.source_officielle or source_id
        else:
            e = Cache(cache).entree(source_id)
            if e:
                out.update(_simple({f"cache_{k}": v for k, v in e.items()}))
    except Exception:  # provenance is informative: never fail the run on it
        pass
    try:
        reg = charger_registre()
        if officielle in reg:
            s = reg[officielle]
            out.update(_simple({"source_officielle": s.id, "producteur": s.producteur,
                                "jeu": s.jeu, "edition": s.edition,
                                "millesime_officiel": s.millesime, "licence": s.licence,
                                "url": s.acces.url if s.acces else None}))
    except Exception:
        pass
    return out


def resoudre_source(
    ref: SourceRef,
    cle: str,
    *,
    dossier_config: Path | None = None,
    depuis: Path | None = None,
    cache: str | os.PathLike | None = None,
) -> Entree:
    """Find the file of one configuration input.

    A path is tried relative to the configuration's folder, then to ``depuis``; a
    source id goes through :func:`observatoire.sources.chemin_source`.

    Raises
    ------
    ErreurConfig
        Naming the key, the source and where it was looked for.
    """
    if ref.est_chemin:
        p = Path(ref.source).expanduser()
        essais = [p] if p.is_absolute() else [
            b / p for b in (dossier_config, depuis, Path.cwd()) if b is not None
        ]
        for essai in essais:
            if essai.is_file():
                return Entree(cle, ref.source, essai.resolve(), ref.couche, ref.edition,
                              {"fichier": str(essai.resolve())})
        raise ErreurConfig(
            f"{cle}: file not found: {ref.source} (looked in: "
            f"{', '.join(str(e) for e in essais)}); expected an existing file or a source id "
            "(observatoire data list)"
        )
    try:
        from observatoire.sources import chemin_source
    except ImportError as exc:  # pragma: no cover - sources package always installed
        raise ErreurConfig(f"{cle}: source id {ref.source!r} cannot be resolved: "
                           f"the sources package is not available ({exc})") from None
    try:
        chemin = Path(chemin_source(ref.source, depuis=depuis, cache=cache))
    except (KeyError, LookupError, FileNotFoundError, ValueError) as exc:
        ou = f"the local store {depuis}" if depuis else "the download cache"
        raise ErreurConfig(
            f"{cle}: source {ref.source!r} not found in {ou}: {exc} "
            "(expected a source id of `observatoire data list`, or a file path; fetch it with "
            "`observatoire data fetch` or give --from DIR)"
        ) from None
    if not chemin.is_file():
        raise ErreurConfig(f"{cle}: source {ref.source!r} resolves to {chemin}, which does not "
                           "exist (expected an existing file)")
    prov = {"source": ref.source, **_provenance(ref.source, depuis, cache)}
    if depuis is not None:
        prov.setdefault("depuis", str(depuis))
    edition = ref.edition if ref.edition is not None else prov.get(
        "millesime", prov.get("cache_millesime"))
    couche = ref.couche if ref.couche is not None else _couche_catalogue(ref.source, depuis)
    return Entree(cle, ref.source, chemin.resolve(), couche, edition, prov)


def _couche_catalogue(source_id: str, depuis: Path | None) -> str | None:
    if depuis is None:
        return None
    try:
        from observatoire.sources import catalogue_pour

        return catalogue_pour(depuis)[source_id].couche
    except Exception:
        return None


def annees_sources(tables: dict[str, pd.DataFrame]) -> list[int]:
    """Vintages held by the statistics tables (their ``annee`` column)."""
    annees: set[int] = set()
    for t in tables.values():
        if isinstance(t, pd.DataFrame) and "annee" in t.columns:
            annees |= {int(a) for a in t["annee"].dropna().unique()}
    return sorted(annees)


def _choisir_qpv(cfg: ConfigTerritoire, couches: list[tuple[str, gpd.GeoDataFrame]],
                 iris_territoire: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    communes = set(cfg.codes_communes)
    tout = pd.concat([g for _, g in couches], ignore_index=True)
    tout = gpd.GeoDataFrame(tout, geometry="geometry", crs=couches[0][1].crs)
    if cfg.qpv.liste == "all":
        par_liste = tout["communes"].map(lambda c: bool(set(c) & communes))
        sans_liste = tout["communes"].map(len) == 0
        if sans_liste.any():  # no commune column: keep QPV whose centroid lies in the territory
            emprise = iris_territoire.geometry.union_all()
            par_liste = par_liste | (sans_liste & tout.geometry.representative_point()
                                     .within(emprise))
        choisis = tout[par_liste]
        if choisis.empty:
            raise ErreurConfig(
                "qpv.liste: 'all' selects no QPV: no QPV of the perimeter files lies in the "
                f"member communes {sorted(communes)}"
            )
        return choisis.sort_values("code_qpv").reset_index(drop=True)
    lignes = []
    for i, q in enumerate(cfg.qpv.liste):
        fichiers = [(cle, g) for cle, g in couches
                    if int(g.attrs.get("generation", q.generation)) == q.generation]
        trouve = None
        for _cle, g in fichiers:
            m = g[g["code_qpv"] == q.code]
            if len(m):
                trouve = m
                break
        if trouve is None:
            noms = ", ".join(f"{c} ({len(g)} QPV)" for c, g in fichiers)
            raise ErreurConfig(
                f"qpv.liste[{i}].code: {q.code} is not in the QPV {q.generation} perimeter "
                f"file(s) {noms} (expected a code of those files)"
            )
        lignes.append(trouve)
    return gpd.GeoDataFrame(pd.concat(lignes, ignore_index=True), geometry="geometry",
                            crs=couches[0][1].crs)


def preparer_run(
    cfg: ConfigTerritoire,
    *,
    annees: str | list[int] = "all",
    depuis: Path | None = None,
    cache: str | os.PathLike | None = None,
    rapport: Rapport | None = None,
) -> Preparation:
    """Resolve and check everything a run needs; raise before anything is written.

    Raises
    ------
    ErreurConfig
        Missing file, unknown QPV code, IRIS absent from the geography, commune without
        IRIS, year the sources do not hold, unknown indicator id.
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
    communes = cfg.codes_communes
    iris_territoire = iris[iris["code_commune"].isin(communes)
                           | iris["code_commune_arm"].isin(communes)].reset_index(drop=True)
    sans_iris = sorted(set(communes) - set(iris_territoire["code_commune"])
                       - set(iris_territoire["code_commune_arm"]))
    if sans_iris:
        raise ErreurConfig(
            f"epci.communes: {sans_iris} have no IRIS in sources.iris ({e_iris.chemin}); "
            "expected commune codes of that IRIS layer's département(s)"
        )
    edition = f" (edition {e_iris.edition})" if e_iris.edition else ""
    codes_iris = pd.Series(iris["code_commune_arm"].to_numpy(), index=iris["code_iris"])
    for i, v in enumerate(cfg.veille):
        if v.iris is None:
            continue
        absents = sorted(set(v.iris) - set(codes_iris.index))
        if absents:
            raise ErreurConfig(
                f"veille[{i}] ({v.code}).iris: {absents} absent from the IRIS geography "
                f"{e_iris.chemin}{edition}; expected IRIS codes of that layer"
            )
        ailleurs = {c: codes_iris[c] for c in v.iris
                    if codes_iris[c] != v.commune
                    and str(iris.loc[iris["code_iris"] == c, "code_commune"].iloc[0]) != v.commune}
        if ailleurs:
            raise ErreurConfig(
                f"veille[{i}] ({v.code}).iris: {sorted(ailleurs)} are in commune(s) "
                f"{sorted(set(ailleurs.values()))}, not in veille[{i}].commune {v.commune}"
            )

    # QPV perimeters.
    couches = []
    for i, p in enumerate(cfg.qpv.perimetres):
        e = entrees[f"qpv.perimetres[{i}]"]
        g = lire_qpv(e.chemin, e.couche, rapport=rapport)
        autres = sorted(set(g["generation"]) - {p.generation})
        if autres:
            raise ErreurConfig(
                f"qpv.perimetres[{i}].generation: {p.generation} but {e.chemin} holds QPV of "
                f"generation {autres} (expected the generation of its codes: QN… = 2024, "
                "QP… = 2015)"
            )
        g.attrs["generation"] = p.generation
        couches.append((f"qpv.perimetres[{i}]", g))
    qpv = _choisir_qpv(cfg, couches, iris_territoire)
    if cfg.qpv.liste != "all":
        for i, q in enumerate(cfg.qpv.liste):
            com = qpv.loc[qpv["code_qpv"] == q.code, "communes"].iloc[0]
            if q.commune and com and q.commune not in com:
                rapport.avertir("verification", f"qpv.liste[{i}]",
                                f"{q.code}: commune {q.commune} in the configuration, "
                                f"{list(com)} in the perimeter file")

    # Statistics tables and their vintages.
    tables: dict[str, Any] = {}
    for role in _ROLES_ANNEES:
        e = entrees.get(f"sources.{role}")
        if e is None:
            continue
        if role == "indicateurs_iris":
            tables[role] = lire_indicateurs_ptod(e.chemin, "iris", rapport=rapport)
        else:
            tables[role] = lire_table_iris(e.chemin)
    # Census vintages: a rate table also carries other years (Filosofi, DVF...); only the
    # years with a census population count.
    recensement = {r: (t[t["p_pop"].notna()] if "p_pop" in t.columns else t)
                   for r, t in tables.items()}
    disponibles = annees_sources(recensement)
    if not disponibles:
        raise ErreurConfig(
            "sources: no statistics table with a vintage (expected at least one of "
            f"{['sources.' + r for r in _ROLES_ANNEES]})"
        )
    demandees = cfg.annees if annees == "all" else annees
    if demandees == "all":
        choisies = disponibles
    else:
        hors = sorted(set(demandees) - set(disponibles))
        if hors:
            d = "--years" if annees != "all" else "annees"
            raise ErreurConfig(
                f"{d}: {hors} not available; the sources hold the vintages {disponibles} "
                "(expected a subset of them, or all)"
            )
        choisies = sorted(demandees)

    # Vintage of the official QPV values.
    e_off = entrees.get("sources.qpv_officiel")
    if e_off is not None:
        from observatoire.chargement import lire_qpv_officiel

        off = lire_qpv_officiel(e_off.chemin, rapport=rapport)
        ref_off = cfg.sources["qpv_officiel"]
        if "annee_source" not in off.columns and ref_off.annee_valeurs is None:
            raise ErreurConfig(
                f"sources.qpv_officiel.annee_valeurs: {e_off.chemin} does not state the vintage "
                "of its values; expected e.g. `qpv_officiel: {source: ..., annee_valeurs: 2020}`"
            )
        tables["qpv_officiel"] = off

    _verifier_methode(cfg, tables)
    e_stats = entrees.get("sources.iris_statistiques")
    if e_stats is not None:
        tables["iris_statistiques"] = lire_iris(e_stats.chemin, e_stats.couche, rapport=rapport)
    e_grille = entrees.get("sources.grille")
    if e_grille is not None:
        from observatoire.chargement import lire_grille

        tables["grille"] = lire_grille(e_grille.chemin, e_grille.couche, rapport=rapport)

    # Indicator ids.
    if cfg.indicateurs != "all":
        from observatoire.indicateurs import charger_codebook

        connus = {i.id for i in charger_codebook()}
        inconnus = sorted(set(cfg.indicateurs) - connus)
        if inconnus:
            raise ErreurConfig(
                f"indicateurs: {inconnus} are not in the codebook (expected ids such as "
                f"{sorted(connus)[:6]}, or all)"
            )

    _avertir_editions(cfg, entrees, rapport)
    _avertir_population_manquante(cfg, iris_territoire, tables, rapport)
    rapport.info("verification", "config", f"{len(entrees)} inputs resolved; {len(qpv)} QPV, "
                 f"{len(cfg.veille)} veille territories, {len(iris_territoire)} IRIS; "
                 f"years {choisies}")
    return Preparation(entrees=entrees, iris=iris, iris_territoire=iris_territoire, qpv=qpv,
                       annees=choisies, annees_disponibles=disponibles, tables=tables)


def _verifier_methode(cfg: ConfigTerritoire, tables: dict) -> None:
    """Each weighting method's prerequisites are in the configuration (else exit 2)."""
    methode = cfg.methode_ponderation
    if methode == "dasymetric" and "grille" not in cfg.sources:
        raise ErreurConfig(
            "ponderation.methode: dasymetric needs sources.grille (a population grid: "
            "catalogue id such as grille_filosofi2019_san_ouest_provence, or a file)"
        )
    if methode == "calibrated":
        off = tables.get("qpv_officiel")
        if off is None:
            raise ErreurConfig(
                "ponderation.methode: calibrated needs sources.qpv_officiel (official QPV "
                "populations, e.g. qpv2024_indicateurs_dep13)"
            )
        if "pop_mun" not in off.columns or off["pop_mun"].notna().sum() == 0:
            raise ErreurConfig(
                "ponderation.methode: calibrated needs official QPV populations, but "
                "sources.qpv_officiel has no population column (popMuniQPV / pop_mun)"
            )


def _avertir_editions(cfg: ConfigTerritoire, entrees: dict[str, Entree], rapport: Rapport):
    e_iris = entrees["sources.iris"]
    if e_iris.edition is None:
        rapport.avertir("verification", "sources.iris",
                        "IRIS edition not stated in the configuration: cannot check it "
                        "against the statistics' IRIS edition")
        return
    autres: dict[int, list[str]] = {}
    for cle, e in sorted(entrees.items()):
        if e.edition is None or cle.removeprefix("sources.") not in _ROLES_IRIS:
            continue
        if e.edition != e_iris.edition:
            autres.setdefault(e.edition, []).append(cle.removeprefix("sources."))
    if autres:
        detail = "; ".join(f"{ed} ({', '.join(roles)})" for ed, roles in sorted(autres.items()))
        rapport.avertir(
            "verification", "sources.iris",
            f"IRIS geography edition {e_iris.edition} ({e_iris.source}) is not the statistics' "
            f"IRIS edition: {detail}. IRIS redrawn between editions get weights from a geometry "
            "that is not the statistics' one; IRIS codes present on one side only are reported",
        )


def _avertir_population_manquante(cfg, iris_territoire, tables, rapport: Rapport) -> None:
    """Warn about member communes' population in IRIS absent from the count tables."""
    ptod = tables.get("indicateurs_iris")
    comptes = tables.get("population_iris")
    if ptod is None or comptes is None:
        return
    codes = set(iris_territoire["code_iris"])
    for annee in sorted(set(comptes["annee"])):
        ref = ptod[(ptod["annee"] == annee) & ptod["code"].isin(codes)]
        if ref.empty or "p_pop" not in ref:
            continue
        presents = set(comptes.loc[comptes["annee"] == annee, "code_iris"])
        manquants = ref[~ref["code"].isin(presents)]
        total = float(ref["p_pop"].sum())
        manque = float(manquants["p_pop"].sum())
        if manque > 0:
            types = iris_territoire.set_index("code_iris").loc[manquants["code"], "type_iris"]
            detail = ", ".join(f"{t}: {int(n)}" for t, n in types.value_counts().sort_index()
                               .items())
            rapport.avertir(
                "verification", "sources.population_iris",
                f"EPCI {cfg.epci.nom}: {manque:,.0f} of {total:,.0f} inhabitants ({annee}) live "
                f"in {len(manquants)} IRIS absent from the IRIS count tables (types {detail}); "
                "totals aggregated from those tables lack them; the rate table "
                "(sources.indicateurs_iris, P_POP) covers them",
                n=len(manquants),
            )
