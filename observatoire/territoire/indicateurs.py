"""Indicators of a territory: every level and vintage, with their reliability.

:func:`indicateurs_territoire` consolidates the IRIS statistics onto the levels of
:func:`niveaux_territoire` (IRIS, QPV, veille, communes, EPCI, département), adds the
official values, the grid estimates (:mod:`observatoire.indicateurs.grille`), the
dilution-corrected estimates (:mod:`observatoire.territoire.correction`), the partners'
counts (:mod:`observatoire.territoire.partenaires`) and grades each value's
reliability.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from observatoire.indicateurs.codebook import Codebook
from observatoire.rapport import Rapport
from observatoire.territoire.donnees import ROLES_COMPTAGES, DonneesTerritoire
from observatoire.territoire.poids import PoidsTerritoire

__all__ = [
    "IndicateursTerritoire",
    "indicateurs_territoire",
    "niveaux_territoire",
    "codebook_territoire",
    "appartenance",
    "departement_territoire",
    "noms_territoires",
]


@dataclass
class IndicateursTerritoire:
    """Indicators of a territory and what they were computed on.

    Attributes
    ----------
    indicateurs : DataFrame
        Long table (:data:`observatoire.indicateurs.COLONNES` + ``fiabilite``,
        ``fiabilite_motif``...).
    niveaux : dict
        Level → its weights (``qpv``, ``veille``, ``commune``, ``epci``) or IRIS codes.
    departement : DataFrame or None
        The département level (all its IRIS), consolidated on its own; ``None`` when it is
        not a reference or the IRIS layer lacks it.
    infos_zones : DataFrame
        Zone-level facts of the reliability grade.
    codes_iris : DataFrame
        IRIS codes of the territory present in a statistics table or the geometry only.
    modeles : dict or None
        Dilution-correction models applied (for the manifest).
    partenaires : DataFrame or None
        Placement report of the partners' tables.
    resume : list of str
        Lines for the run summary.
    """

    indicateurs: pd.DataFrame
    niveaux: dict[str, pd.DataFrame | list[str]]
    departement: pd.DataFrame | None
    infos_zones: pd.DataFrame
    codes_iris: pd.DataFrame
    modeles: dict | None = None
    partenaires: pd.DataFrame | None = None
    resume: list[str] = field(default_factory=list)


def codebook_territoire(donnees: DonneesTerritoire) -> Codebook:
    """Return the codebook of the configured indicators, with the partners' indicators."""
    from observatoire.indicateurs import charger_codebook

    cfg = donnees.config
    cb = charger_codebook()
    if cfg.indicateurs != "all":
        cb = cb.selection(cfg.indicateurs)
    if cfg.partenaires:
        from observatoire.partenaires import indicateurs_codebook

        extra = {i.cle: i for spec in cfg.partenaires for i in indicateurs_codebook(spec)}
        cb = Codebook([*cb, *extra.values()], source=cb.source)
    return cb


def appartenance(donnees: DonneesTerritoire) -> pd.DataFrame:
    """IRIS of the territory with their commune and EPCI (``code_iris, code_commune, code_epci``).

    One row per IRIS of the member communes.
    """
    it = donnees.iris_territoire
    return pd.DataFrame(
        {
            "code_iris": it["code_iris"].to_numpy(),
            "code_commune": it["code_commune"].to_numpy(),
            "code_epci": donnees.config.epci.code,
        }
    )


def noms_territoires(donnees: DonneesTerritoire, zones: gpd.GeoDataFrame) -> dict:
    """Level → code → display name (IRIS with their commune, zones, communes, EPCI)."""
    cfg = donnees.config
    it = donnees.iris_territoire
    communes = {c: (n or c) for c, n in cfg.epci.communes.items()}
    return {
        "iris": dict(
            zip(
                it["code_iris"],
                it["nom_iris"].astype(str) + " (" + it["nom_commune"].astype(str) + ")",
                strict=True,
            )
        ),
        "qpv": dict(zip(zones["code_zone"], zones["nom_zone"], strict=True)),
        "veille": dict(zip(zones["code_zone"], zones["nom_zone"], strict=True)),
        "commune": communes,
        "epci": {cfg.epci.code: cfg.epci.nom},
    }


def niveaux_territoire(
    donnees: DonneesTerritoire, poids: pd.DataFrame
) -> dict[str, pd.DataFrame | list[str]]:
    """Levels the indicators are consolidated on: IRIS codes, or IRIS × territory weights.

    ``qpv`` and ``veille`` take the zones' weights (``niveau`` column of ``poids``);
    ``commune`` and ``epci`` the whole IRIS of their members; ``veille`` is absent when
    the territory has none.
    """
    from observatoire.indicateurs import poids_appartenance

    app = appartenance(donnees)
    niveaux = {
        "iris": app["code_iris"].tolist(),
        "qpv": poids[poids["niveau"] == "qpv"],
        "veille": poids[poids["niveau"] == "veille"],
        "commune": poids_appartenance(app, code_zone="code_commune"),
        "epci": poids_appartenance(app, code_zone="code_epci"),
    }
    if niveaux["veille"].empty:
        del niveaux["veille"]
    return niveaux


def departement_territoire(donnees: DonneesTerritoire) -> pd.DataFrame | None:
    """Département level (membership of all its IRIS) when it is a reference and covered.

    ``None`` when the département is not a reference or the IRIS layer lacks it.
    """
    from observatoire.indicateurs import poids_appartenance

    cfg = donnees.config
    if "departement" not in cfg.niveaux_comparaison:
        return None
    toutes = donnees.iris
    dep = toutes[toutes["code_commune"].str.startswith(cfg.departement)]
    if not len(dep):
        return None
    return poids_appartenance(
        pd.DataFrame(
            {"code_iris": dep["code_iris"].to_numpy(), "code_departement": cfg.departement}
        ),
        code_zone="code_departement",
    )


def _officiels(donnees: DonneesTerritoire, cb: Codebook, rapport: Rapport) -> list[pd.DataFrame]:
    """Official values: communes, département and France (ptod), QPV (official table)."""
    from observatoire.indicateurs.officiel import valeurs_officielles_ptod, valeurs_officielles_qpv

    cfg, tables = donnees.config, donnees.tables
    officiels = []
    if "indicateurs_communes" in tables and "commune" in cfg.niveaux_comparaison:
        officiels.append(
            valeurs_officielles_ptod(
                tables["indicateurs_communes"],
                codebook=cb,
                codes=cfg.codes_communes,
                noms=dict(cfg.epci.communes),
            )
        )
    if "indicateurs_departements" in tables:
        codes = ([cfg.departement] if "departement" in cfg.niveaux_comparaison else []) + (
            ["00FR"] if "france" in cfg.niveaux_comparaison else []
        )
        if codes:
            officiels.append(
                valeurs_officielles_ptod(
                    tables["indicateurs_departements"], codebook=cb, codes=codes
                )
            )
    if donnees.qpv_officiel is not None:
        ref = cfg.sources["qpv_officiel"]
        officiels.append(
            valeurs_officielles_qpv(
                donnees.qpv_officiel,
                codebook=cb,
                codes=list(donnees.qpv["code_zone"]),
                annee=ref.annee_valeurs,
                annees_colonnes=ref.annees_colonnes,
                rapport=rapport,
            )
        )
    return officiels


def indicateurs_territoire(
    donnees: DonneesTerritoire,
    poids: PoidsTerritoire,
    *,
    codebook: Codebook | None = None,
    rapport: Rapport | None = None,
) -> IndicateursTerritoire:
    """Compute every level's indicators and vintages; official values beside estimates."""
    from observatoire.indicateurs import consolider
    from observatoire.indicateurs.fiabilite import fiabilite
    from observatoire.territoire.correction import corrections
    from observatoire.territoire.partenaires import indicateurs_partenaires

    rapport = rapport if rapport is not None else Rapport()
    cb = codebook if codebook is not None else codebook_territoire(donnees)
    cfg, tables = donnees.config, donnees.tables
    resume: list[str] = []
    niveaux = niveaux_territoire(donnees, poids.poids)
    departement = departement_territoire(donnees)
    noms = noms_territoires(donnees, poids.zones)
    comptages = [tables[r] for r in ROLES_COMPTAGES if r in tables]
    ptod = tables.get("indicateurs_iris")
    population = None
    if ptod is not None and "p_pop" in ptod.columns:
        population = pd.DataFrame(
            {"code_iris": ptod["code_iris"], "annee": ptod["annee"], "population": ptod["p_pop"]}
        ).dropna()
    annees = list(donnees.annees)
    ind = consolider(
        niveaux,
        comptages=comptages or None,
        taux=ptod,
        officiels=_officiels(donnees, cb, rapport),
        codebook=cb,
        noms=noms,
        population=population,
        annees=None,
        rapport=rapport,
    )
    if departement is not None:
        # Consolidated on its own, without the secret step: the whole département is far
        # above every publication threshold, and the only complement it could form with
        # the published territories (département minus the EPCI) is the rest of the
        # département, hundreds of thousands of inhabitants — nothing to protect, while
        # its 800+ IRIS would make the complement search several seconds slower. The
        # reference of record stays the official value where one is published; other
        # vintages get this IRIS aggregate, labelled as such.
        dep_ind = consolider(
            {"departement": departement},
            comptages=comptages or None,
            taux=ptod,
            codebook=cb,
            population=population,
            annees=None,
            secret=False,
            rapport=rapport,
        )
        ind = pd.concat([ind, dep_ind], ignore_index=True)
    # Keep the census vintages asked, plus the non-census values of record (official QPV
    # tables, income series) that have their own years.
    garder = ind["annee"].isin(annees) | ~ind["origine"].isin(["insee", "ptod"])
    if "revenus_iris" in tables:
        garder |= ind["origine"].eq("insee") & ind["annee"].lt(min(annees))
    ind = ind[garder].reset_index(drop=True)
    if donnees.grille is not None:
        ind = pd.concat(
            [ind, _indicateurs_grille(donnees, poids.zones, cb, noms, rapport, resume)],
            ignore_index=True,
        )
    corriges, modeles = corrections(donnees, ind, poids.poids, cb, rapport, resume)
    if len(corriges):
        ind = pd.concat([ind, corriges], ignore_index=True)
    partenaires = None
    if cfg.partenaires:
        lignes, partenaires = indicateurs_partenaires(donnees, ind, poids, rapport, resume)
        ind = pd.concat([ind, lignes], ignore_index=True)
    infos = _infos_zones(poids)
    grade, motif = fiabilite(ind, infos)
    ind["fiabilite"] = grade
    ind["fiabilite_motif"] = motif
    par_statut = ind["statut"].value_counts().to_dict()
    resume.append(
        f"indicateurs : {len(ind):,} valeurs, {ind['indicateur'].nunique()} indicateurs × "
        f"{ind['territoire_code'].nunique()} territoires ; statuts "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(par_statut.items())),
    )
    return IndicateursTerritoire(
        indicateurs=ind,
        niveaux=niveaux,
        departement=departement,
        infos_zones=infos,
        codes_iris=_codes_non_apparies(donnees, population, rapport),
        modeles=modeles,
        partenaires=partenaires,
        resume=resume,
    )


def _indicateurs_grille(
    donnees: DonneesTerritoire,
    zones: gpd.GeoDataFrame,
    codebook: Codebook,
    noms: dict,
    rapport: Rapport,
    resume: list[str],
) -> pd.DataFrame:
    """Grid indicators of the zones, of the communes the grid covers and of the EPCI.

    The communes covered are those the store's catalogue lists for the grid
    (``communes_couvertes``), else the member communes; the EPCI only when the grid
    covers all of them; never the département or France.
    """
    from observatoire.indicateurs.grille import indicateurs_grille

    cfg = donnees.config
    e = donnees.entree("grille")
    couvertes = set(e.provenance.get("communes_couvertes") or cfg.codes_communes)
    annee = e.edition or e.provenance.get("millesime")
    if annee is None:
        rapport.avertir(
            "indicateurs",
            "sources.grille",
            "millésime du carroyage inconnu (renseigner sources.grille.edition) : aucun indicateur "
            "du carroyage calculé",
        )
        return pd.DataFrame()
    it = donnees.iris_territoire
    communes = it[it["code_commune"].isin(couvertes)].dissolve("code_commune").reset_index()
    terr = {
        niveau: gpd.GeoDataFrame(
            {"code": z["code_zone"].to_numpy()}, geometry=z.geometry.to_numpy(), crs=zones.crs
        )
        for niveau, z in zones.groupby("niveau")
    }
    terr["commune"] = gpd.GeoDataFrame(
        {"code": communes["code_commune"].to_numpy()},
        geometry=communes.geometry.to_numpy(),
        crs=it.crs,
    )
    if set(cfg.codes_communes) <= couvertes:
        terr["epci"] = gpd.GeoDataFrame(
            {"code": [cfg.epci.code]}, geometry=[it.geometry.union_all()], crs=it.crs
        )
    t = indicateurs_grille(
        donnees.grille,
        terr,
        annee=int(annee),
        codebook=codebook,
        noms=noms,
    )
    resume.append(
        f"indicateurs du carroyage ({e.source}, {annee}) : "
        f"{t['indicateur'].nunique()} indicateurs × "
        f"{t['territoire_code'].nunique()} territoires"
    )
    return t


def _infos_zones(poids: PoidsTerritoire) -> pd.DataFrame:
    """Zone-level facts of the reliability grade (cut IRIS, calibration, plausibility)."""
    from observatoire.indicateurs.fiabilite import infos_zones

    p = poids.poids.copy()
    if "calibre" in p.columns and "methode_base" in p.columns:
        # zones left uncalibrated keep their spatial weights
        pas = p["calibre"].eq(False) & p["methode"].eq("calibrated")
        p.loc[pas, "methode"] = p.loc[pas, "methode_base"]
    return infos_zones(p, plausibilite=poids.implausibles, iris_redessines=poids.iris_redessines)


def _codes_non_apparies(
    donnees: DonneesTerritoire, population: pd.DataFrame | None, rapport: Rapport
) -> pd.DataFrame:
    """IRIS codes of the territory present in a statistics table or the geometry only."""
    from observatoire.indicateurs.geographie import comparer_codes_iris

    it = donnees.iris_territoire
    communes = set(donnees.config.codes_communes) | set(it["code_commune_arm"])
    edition = donnees.entree("iris").edition
    morceaux = []
    for role in ("indicateurs_iris", "population_iris", "activite_iris"):
        t = donnees.tables.get(role)
        if t is None:
            continue
        st = t[t["code_iris"].astype(str).str[:5].isin(communes)]
        for annee in sorted(set(st["annee"].dropna().astype(int)) & set(donnees.annees)):
            pop = None
            if population is not None:
                sel = population[population["annee"] == annee]
                pop = pd.Series(sel["population"].to_numpy(), index=sel["code_iris"].astype(str))
            r = comparer_codes_iris(
                st, it, annee=annee, edition=edition, population=pop, rapport=rapport
            )
            morceaux.append(r.assign(source=role))
    if not morceaux:
        return pd.DataFrame(
            columns=["code_iris", "cote", "population", "annee", "edition", "source"]
        )
    return pd.concat(morceaux, ignore_index=True)
