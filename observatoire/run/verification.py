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
import numpy as np
import pandas as pd

from observatoire.config import ConfigTerritoire, ErreurConfig, SourceRef
from observatoire.rapport import ErreurDonnees, Rapport
from observatoire.sources.integrite import ErreurIntegrite, sha256_memo

__all__ = ["Entree", "Preparation", "resoudre_source", "preparer_run", "annees_sources"]

_ROLES_ANNEES = (
    "indicateurs_iris",
    "population_iris",
    "menages_iris",
    "logement_iris",
    "activite_iris",
    "diplomes_iris",
)
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
    #: sha256 of the file when it was resolved (checked against the cache index or the
    #: store's catalogue for source ids; recorded as is for paths).
    sha256: str | None = None


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
    #: Veille code → its perimeter (one valid polygon geometry, EPSG:2154), checked to lie
    #: in its commune; what the weights should use instead of reading the file again.
    perimetres_veille: dict[str, Any] = field(default_factory=dict)

    def chemin(self, role: str) -> Path | None:
        """File of a ``sources:`` role, ``None`` when the configuration has none."""
        e = self.entrees.get(f"sources.{role}")
        return e.chemin if e is not None else None


def _simple(d: dict) -> dict:
    return {
        k: (v if isinstance(v, str | int | float | bool | type(None)) else str(v))
        for k, v in d.items()
        if v is not None
    }


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
            out.update(
                _simple(
                    {
                        "catalogue": cat.nom,
                        "millesime": e.millesime,
                        "provenance": " ".join(e.provenance.split()),
                        "sha256_catalogue": e.sha256,
                    }
                )
            )
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
            out.update(
                _simple(
                    {
                        "source_officielle": s.id,
                        "producteur": s.producteur,
                        "jeu": s.jeu,
                        "edition": s.edition,
                        "millesime_officiel": s.millesime,
                        "licence": s.licence,
                        "url": s.acces.url if s.acces else None,
                    }
                )
            )
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
        essais = (
            [p]
            if p.is_absolute()
            else [b / p for b in (dossier_config, depuis, Path.cwd()) if b is not None]
        )
        for essai in essais:
            if essai.is_file():
                return Entree(
                    cle,
                    ref.source,
                    essai.resolve(),
                    ref.couche,
                    ref.edition,
                    {"fichier": str(essai.resolve())},
                    sha256=sha256_memo(essai.resolve()),
                )
        raise ErreurConfig(
            f"{cle}: file not found: {ref.source} (looked in: "
            f"{', '.join(str(e) for e in essais)}); expected an existing file or a source id "
            "(observatoire data list)"
        )
    try:
        from observatoire.sources import chemin_source
    except ImportError as exc:  # pragma: no cover - sources package always installed
        raise ErreurConfig(
            f"{cle}: source id {ref.source!r} cannot be resolved: "
            f"the sources package is not available ({exc})"
        ) from None
    try:
        chemin = Path(chemin_source(ref.source, depuis=depuis, cache=cache))
    except ErreurIntegrite as exc:  # content differs from its record: bad data (exit 4)
        raise ErreurIntegrite(f"{cle}: {exc}") from None
    except (KeyError, LookupError, FileNotFoundError, ValueError) as exc:
        ou = f"the local store {depuis}" if depuis else "the download cache"
        raise ErreurConfig(
            f"{cle}: source {ref.source!r} not found in {ou}: {exc} "
            "(expected a source id of `observatoire data list`, or a file path; fetch it with "
            "`observatoire data fetch` or give --from DIR)"
        ) from None
    if not chemin.is_file():
        raise ErreurConfig(
            f"{cle}: source {ref.source!r} resolves to {chemin}, which does not "
            "exist (expected an existing file)"
        )
    prov = {"source": ref.source, **_provenance(ref.source, depuis, cache)}
    if depuis is not None:
        prov.setdefault("depuis", str(depuis))
    edition = (
        ref.edition
        if ref.edition is not None
        else prov.get("millesime", prov.get("cache_millesime"))
    )
    couche = ref.couche if ref.couche is not None else _couche_catalogue(ref.source, depuis)
    # chemin_source checked the sha256 (memoised: this is not a second read)
    return Entree(
        cle,
        ref.source,
        chemin.resolve(),
        couche,
        edition,
        prov,
        sha256=sha256_memo(chemin.resolve()) if chemin.is_file() else None,
    )


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
                "qpv.liste: 'all' selects no QPV: no QPV of the perimeter files lies in the "
                f"member communes {sorted(communes)}"
            )
        return choisis.sort_values("code_qpv").reset_index(drop=True)
    lignes = []
    for i, q in enumerate(cfg.qpv.liste):
        fichiers = [
            (cle, g)
            for cle, g in couches
            if int(g.attrs.get("generation", q.generation)) == q.generation
        ]
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
    return gpd.GeoDataFrame(
        pd.concat(lignes, ignore_index=True), geometry="geometry", crs=couches[0][1].crs
    )


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
        ailleurs = {
            c: codes_iris[c]
            for c in v.iris
            if codes_iris[c] != v.commune
            and str(iris.loc[iris["code_iris"] == c, "code_commune"].iloc[0]) != v.commune
        }
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
    _verifier_codes_zones(cfg, qpv, couches, entrees)
    perimetres_veille = _verifier_perimetres_veille(cfg, entrees, iris_territoire, rapport)
    if cfg.qpv.liste != "all":
        for i, q in enumerate(cfg.qpv.liste):
            com = qpv.loc[qpv["code_qpv"] == q.code, "communes"].iloc[0]
            if q.commune and com and q.commune not in com:
                rapport.avertir(
                    "verification",
                    f"qpv.liste[{i}]",
                    f"{q.code}: commune {q.commune} in the configuration, "
                    f"{list(com)} in the perimeter file",
                )

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
    recensement = {
        r: (t[t["p_pop"].notna()] if "p_pop" in t.columns else t) for r, t in tables.items()
    }
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
    _verifier_partenaires(cfg, resoudre, tables)
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

    _verifier_valeurs(cfg, tables, entrees, rapport, set(iris_territoire["code_iris"]))
    _avertir_editions(cfg, entrees, rapport)
    _avertir_population_manquante(cfg, iris_territoire, tables, rapport)
    rapport.info(
        "verification",
        "config",
        f"{len(entrees)} inputs resolved; {len(qpv)} QPV, "
        f"{len(cfg.veille)} veille territories, {len(iris_territoire)} IRIS; "
        f"years {choisies}",
    )
    return Preparation(
        entrees=entrees,
        iris=iris,
        iris_territoire=iris_territoire,
        qpv=qpv,
        annees=choisies,
        annees_disponibles=disponibles,
        tables=tables,
        perimetres_veille=perimetres_veille,
    )


def _verifier_partenaires(cfg: ConfigTerritoire, resoudre, tables: dict) -> None:
    """Partner tables: found, readable as declared (errors name file, column and line).

    Their rows stay in ``tables["partenaires"]`` (memory only) for the run.
    """
    if not cfg.partenaires:
        return
    from observatoire.partenaires import lire_table_partenaire

    lues = {}
    for i, spec in enumerate(cfg.partenaires):
        e = resoudre(spec.ref, f"partenaires[{i}].source")
        lues[i] = lire_table_partenaire(e.chemin, spec)
    tables["partenaires"] = lues


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
        rapport.avertir(
            "verification",
            "sources.iris",
            "IRIS edition not stated in the configuration: cannot check it "
            "against the statistics' IRIS edition",
        )
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
            "verification",
            "sources.iris",
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
            detail = ", ".join(
                f"{t}: {int(n)}" for t, n in types.value_counts().sort_index().items()
            )
            rapport.avertir(
                "verification",
                "sources.population_iris",
                f"EPCI {cfg.epci.nom}: {manque:,.0f} of {total:,.0f} inhabitants ({annee}) live "
                f"in {len(manquants)} IRIS absent from the IRIS count tables (types {detail}); "
                "totals aggregated from those tables lack them; the rate table "
                "(sources.indicateurs_iris, P_POP) covers them",
                n=len(manquants),
            )


#: Roles of INSEE count tables (numerators and denominators of the codebook).
_ROLES_COMPTES = (
    "population_iris",
    "menages_iris",
    "logement_iris",
    "activite_iris",
    "diplomes_iris",
    "revenus_iris",
)


#: Relative overshoot of a share's upper bound (100) accepted with a warning: rates
#: published without their counts are rounded by their publisher (101.4 % occurs).
_TOLERANCE_TAUX = 0.05


def _bornes(ind) -> tuple[float, float]:
    """Bounds of a published value of an indicator: shares and rates within [0, factor]."""
    if ind.type in ("part", "taux"):
        return 0.0, float(ind.multiplicateur)
    return 0.0, np.inf


def _hors_bornes(
    table: pd.DataFrame,
    colonne: str,
    bas: float,
    haut: float,
    *,
    source: str,
    libelle: str,
    cle_code: str,
    utilises: set | None = None,
    rapport: Rapport | None = None,
) -> None:
    """Raise on values out of bounds in the rows the run uses (warn for the other rows)."""
    v = pd.to_numeric(table[colonne], errors="coerce").to_numpy(dtype="float64")
    hors = np.isinf(v) | (v < bas) | (v > haut * (1 + _TOLERANCE_TAUX))
    depasse = np.flatnonzero(~hors & (v > haut))
    if len(depasse) and rapport is not None:
        exemples = [f"{table[cle_code].iloc[i]}: {v[i]:g}" for i in depasse[:5]]
        rapport.avertir(
            "verification",
            source,
            f"column {colonne}: {len(depasse)} value(s) slightly above {haut:g} for "
            f"{libelle} (rounding of a rate computed by the table's publisher; kept "
            f"as published): {exemples}",
            n=len(depasse),
        )
    if utilises is not None and rapport is not None:
        dedans = table[cle_code].isin(utilises).to_numpy()
        ailleurs = np.flatnonzero(hors & ~dedans)
        if len(ailleurs):
            exemples = [f"{table[cle_code].iloc[i]}: {v[i]:g}" for i in ailleurs[:5]]
            rapport.avertir(
                "verification",
                source,
                f"column {colonne}: {len(ailleurs)} value(s) out of bounds for "
                f"{libelle} outside the territory (not used): {exemples}",
                n=len(ailleurs),
            )
        hors &= dedans
    mauvais = np.flatnonzero(hors)
    if not len(mauvais):
        return
    n = table.attrs.get("lignes_par_annee")
    lignes = (
        [int(i % n) + 2 for i in mauvais[:10]]
        if n and isinstance(table.index, pd.RangeIndex)
        else None
    )
    exemples = [f"{table[cle_code].iloc[i]}: {v[i]:g}" for i in mauvais[:5]]
    annee = (
        f" (vintage {sorted(set(table['annee'].iloc[mauvais]))})"
        if "annee" in table.columns
        else ""
    )
    borne = f"[{bas:g}, {haut:g}]" if np.isfinite(haut) else f">= {bas:g} and finite"
    raise ErreurDonnees(
        f"{source}: column {colonne}{annee}: {len(mauvais)} value(s) out of bounds for "
        f"{libelle} (expected {borne})"
        + (f", line(s) {lignes}" if lignes else "")
        + f": {exemples}"
    )


def _verifier_valeurs(
    cfg: ConfigTerritoire,
    tables: dict,
    entrees: dict[str, Entree],
    rapport: Rapport,
    codes_iris: set | None = None,
) -> None:
    """Check the values the codebook uses, and say which indicators a table cannot give.

    Counts and populations must be finite and not negative, shares and rates within
    their bounds; only the columns the requested indicators use are checked, and an
    out-of-bounds value is an error in the rows of the territory (``codes_iris``), a
    warning elsewhere. A column
    missing for a requested indicator is a warning naming the indicators lost; a
    vintage of the rate table without its population column (``P22_POP``) too.

    Raises
    ------
    ErreurDonnees
        Naming the file, the column, the vintage, the lines and example values.
    """
    from observatoire.indicateurs import charger_codebook

    cb = charger_codebook()
    if cfg.indicateurs != "all":
        cb = cb.selection(cfg.indicateurs)
    indicateurs = list(cb)

    def fichier(role: str) -> str:
        e = entrees.get(f"sources.{role}")
        return str(e.chemin) if e is not None else role

    # INSEE count tables: every variable of a numerator or denominator.
    for role in _ROLES_COMPTES:
        t = tables.get(role)
        if t is None:
            continue
        colonnes = set(t.columns)
        for ind in indicateurs:
            if ind.insee is None:
                continue
            variables = set()
            for partie in (ind.insee.numerateur, ind.insee.denominateur):
                if partie is not None:
                    variables |= partie.toutes_variables()
            if ind.insee.valeur:
                variables.add(ind.insee.valeur)
            for col in sorted(variables & colonnes):
                _hors_bornes(
                    t,
                    col,
                    0.0,
                    np.inf,
                    source=fichier(role),
                    libelle=f"a count of {ind.id}",
                    cle_code="code_iris",
                    utilises=codes_iris,
                    rapport=rapport,
                )
        for annee in sorted(set(t["annee"])) if "annee" in t.columns else []:
            presentes = set(t.columns[t[t["annee"] == annee].notna().any()])
            perdus = []
            for ind in indicateurs:
                if ind.insee is None or ind.insee.numerateur is None:
                    continue
                utilisees = ind.insee.numerateur.toutes_variables() | (
                    ind.insee.denominateur.toutes_variables() if ind.insee.denominateur else set()
                )
                if not (utilisees & presentes):
                    continue  # this table is not meant to give it
                num, _den = ind.expressions_insee(annee, presentes)
                if num is None and ind.insee.numerateur.pour(annee):
                    perdus.append(f"{ind.id} ({ind.sexe})" if ind.sexe != "ensemble" else ind.id)
            if perdus:
                rapport.avertir(
                    "verification",
                    f"sources.{role}",
                    f"{fichier(role)}: vintage {annee} lacks columns the codebook needs for "
                    f"{sorted(set(perdus))}: these indicators are not computed from this table "
                    f"for {annee}",
                    n=len(perdus),
                )

    # Rate table (ptod): the published rates and the population.
    ptod = tables.get("indicateurs_iris")
    if ptod is not None:
        src = fichier("indicateurs_iris")
        if "p_pop" in ptod.columns:
            _hors_bornes(
                ptod,
                "p_pop",
                0.0,
                np.inf,
                source=src,
                libelle="a population",
                cle_code="code",
                utilises=codes_iris,
                rapport=rapport,
            )
        vus = set()
        for ind in indicateurs:
            if ind.ptod is None or ind.ptod.colonne in vus:
                continue
            vus.add(ind.ptod.colonne)
            if ind.ptod.colonne not in ptod.columns:
                rapport.avertir(
                    "verification",
                    "sources.indicateurs_iris",
                    f"{src}: no column {ind.ptod.colonne} (any vintage): indicator "
                    f"{ind.id} is not computed from this table",
                )
                continue
            bas, haut = _bornes(ind)
            _hors_bornes(
                ptod,
                ind.ptod.colonne,
                bas,
                haut,
                source=src,
                libelle=f"{ind.id} ({ind.type})",
                cle_code="code",
                utilises=codes_iris,
                rapport=rapport,
            )
        # vintages the codebook expects from this table (ptod.annees) but it does not hold
        for ind in indicateurs:
            if ind.ptod is None or not ind.ptod.annees:
                continue
            col = ind.ptod.colonne
            tenues = set(ptod.loc[ptod[col].notna(), "annee"]) if col in ptod.columns else set()
            manquantes = sorted(set(ind.ptod.annees) - tenues)
            if manquantes:
                colonnes = ", ".join(
                    f"{col.upper()[:1]}{a % 100:02d}_{col[2:].upper()}"
                    if col.startswith("p_")
                    else f"{col}_{a % 100:02d}"
                    for a in manquantes
                )
                quoi = (
                    " and these vintages are not census vintages of the run"
                    if col == "p_pop"
                    else ""
                )
                rapport.avertir(
                    "verification",
                    "sources.indicateurs_iris",
                    f"{src}: no value of {ind.id} for {manquantes} (column(s) {colonnes} "
                    f"missing or empty): this indicator is not computed for these "
                    f"vintages{quoi}",
                    n=len(manquantes),
                )

    # Official QPV values.
    off = tables.get("qpv_officiel")
    if off is not None:
        vus = set()
        for ind in indicateurs:
            if ind.qpv_officiel is None or ind.qpv_officiel.colonne in vus:
                continue
            col = ind.qpv_officiel.colonne
            vus.add(col)
            if col not in off.columns:
                continue
            bas, haut = _bornes(ind)
            _hors_bornes(
                off,
                col,
                bas,
                haut,
                source=fichier("qpv_officiel"),
                libelle=f"{ind.id} ({ind.type})",
                cle_code="code_qpv",
            )


def _verifier_codes_zones(cfg: ConfigTerritoire, qpv: gpd.GeoDataFrame, couches, entrees):
    """QPV codes taken from the perimeter files are QPV codes, distinct from veille codes."""
    from observatoire.config import _RE_QPV

    fichiers = ", ".join(str(entrees[cle].chemin) for cle, _ in couches)
    mauvais = sorted(str(c) for c in qpv["code_qpv"] if not _RE_QPV.match(str(c)))
    if mauvais:
        raise ErreurConfig(
            f"qpv.liste: all selects features of {fichiers} whose codes are not QPV codes: "
            f"{mauvais[:10]} (expected 'QN' or 'QP' + 6 letters or digits; zone codes name "
            "output files)"
        )
    vus: dict[str, str] = {}
    for c in [*qpv["code_qpv"].astype(str), *(v.code for v in cfg.veille)]:
        autre = vus.get(c.lower())
        vus[c.lower()] = c
        if autre is not None:
            raise ErreurConfig(
                f"zone code {c!r} is used twice among the QPV of {fichiers} and the veille "
                f"zones (clash with {autre!r}); zone codes name output files and must differ"
            )


#: Share of a veille perimeter's area that must lie in its declared commune (the IRIS
#: of the commune stand for it; perimeters drawn on other layers overlap them a little).
PART_MIN_COMMUNE = 0.95


def _verifier_perimetres_veille(
    cfg: ConfigTerritoire,
    entrees: dict[str, Entree],
    iris_territoire: gpd.GeoDataFrame,
    rapport: Rapport,
) -> dict[str, Any]:
    """Veille perimeters: a CRS, valid polygons, inside their declared commune.

    Returns veille code → the perimeter's geometry (union of its features, EPSG:2154).
    """
    import shapely

    from observatoire.chargement.validation import CRS_TRAVAIL, lire_vecteur

    out: dict[str, Any] = {}
    for i, v in enumerate(cfg.veille):
        if v.perimetre is None:
            continue
        cle = f"veille[{i}] ({v.code}).perimetre"
        e = entrees[f"veille[{i}].perimetre"]
        brut = lire_vecteur(e.chemin, e.couche)
        if brut.crs is None:
            raise ErreurDonnees(f"{e.chemin}: no CRS declared ({cle}); cannot place it")
        g = brut.to_crs(CRS_TRAVAIL).geometry
        g = g[g.notna() & ~g.is_empty]
        if g.empty:
            raise ErreurConfig(f"{cle}: {e.chemin} holds no geometry")
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
                f"{cle}: {e.chemin} holds non-polygon geometries "
                f"{sorted(set(g.geom_type))} (expected polygons)"
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
                f"{cle}: only {part:.0%} of {e.chemin} lies in its commune {v.commune} "
                f"(veille[{i}].commune; expected at least {PART_MIN_COMMUNE:.0%}): wrong "
                "commune, wrong file, or wrong CRS?"
            )
        rapport.info("verification", cle, f"{geom.area:,.0f} m², {part:.1%} in commune {v.commune}")
        out[v.code] = geom
    return out
