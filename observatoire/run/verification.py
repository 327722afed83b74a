"""Checks of a territory's data before a run writes anything.

:func:`preparer_run` loads the territory once
(:func:`observatoire.territoire.charger_territoire`, which already refuses a missing
file, an unknown QPV code, an IRIS absent from the geography or a veille perimeter
outside its commune), then checks what a schema cannot:

- the years asked (``--years``) are vintages the sources hold;
- the weighting method's prerequisites are configured;
- the indicator ids are in the codebook;
- the values the codebook uses are within their bounds.

It also records warnings the run summary must show: IRIS edition different from
the statistics' edition, population of the EPCI missing from the IRIS count tables.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from observatoire.config import ConfigTerritoire, ErreurConfig
from observatoire.rapport import ErreurDonnees, Rapport
from observatoire.territoire.donnees import (
    ROLES_COMPTAGES,
    ROLES_IRIS,
    DonneesTerritoire,
    charger_territoire,
)
from observatoire.territoire.entrees import Entree

__all__ = ["preparer_run"]


def preparer_run(
    cfg: ConfigTerritoire,
    *,
    annees: str | list[int] = "all",
    depuis: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
    rapport: Rapport | None = None,
) -> DonneesTerritoire:
    """Load the territory and check everything a run needs; raise before anything is written.

    ``annees`` (``--years``) replaces the configuration's years when it is not ``"all"``.

    Raises
    ------
    ErreurConfig
        Missing file, unknown QPV code, IRIS absent from the geography, commune without
        IRIS, year the sources do not hold, unknown indicator id, a weighting method
        without its inputs.
    ErreurDonnees
        An input file cannot be read into the normalised schema, or a value is out of
        its bounds in the territory.
    """
    rapport = rapport if rapport is not None else Rapport()
    donnees = charger_territoire(cfg, annees=annees, depuis=depuis, cache=cache, rapport=rapport)
    tables = dict(donnees.tables)
    if donnees.qpv_officiel is not None:
        tables["qpv_officiel"] = donnees.qpv_officiel
    _verifier_methode(cfg, tables)
    _verifier_indicateurs(cfg)
    _verifier_valeurs(
        cfg, tables, donnees.entrees, rapport, set(donnees.iris_territoire["code_iris"])
    )
    _avertir_editions(cfg, donnees.entrees, rapport)
    _avertir_population_manquante(cfg, donnees.iris_territoire, tables, rapport)
    rapport.info(
        "verification",
        "config",
        f"{len(donnees.entrees)} entrées résolues ; {len(donnees.qpv)} QPV, "
        f"{len(cfg.veille)} territoires de veille, {len(donnees.iris_territoire)} IRIS ; "
        f"années {donnees.annees}",
    )
    return donnees


def _verifier_indicateurs(cfg: ConfigTerritoire) -> None:
    """Refuse configured indicator ids absent from the codebook."""
    if cfg.indicateurs == "all":
        return
    from observatoire.indicateurs import charger_codebook

    connus = {i.id for i in charger_codebook()}
    inconnus = sorted(set(cfg.indicateurs) - connus)
    if inconnus:
        raise ErreurConfig(
            f"indicateurs : {inconnus} ne sont pas dans le codebook (attendu : des ids comme "
            f"{sorted(connus)[:6]}, ou all)"
        )


def _verifier_methode(cfg: ConfigTerritoire, tables: dict) -> None:
    """Each weighting method's prerequisites are in the configuration (else exit 2)."""
    methode = cfg.methode_ponderation
    if methode == "dasymetric" and "grille" not in cfg.sources:
        raise ErreurConfig(
            "ponderation.methode : dasymetric demande sources.grille (un carroyage de "
            "population : id du catalogue comme grille_filosofi2019_san_ouest_provence, ou un "
            "fichier)"
        )
    if methode == "calibrated":
        off = tables.get("qpv_officiel")
        if off is None:
            raise ErreurConfig(
                "ponderation.methode : calibrated demande sources.qpv_officiel (populations "
                "officielles des QPV, par ex. qpv2024_indicateurs_dep13)"
            )
        if "pop_mun" not in off.columns or off["pop_mun"].notna().sum() == 0:
            raise ErreurConfig(
                "ponderation.methode : calibrated demande les populations officielles des QPV, "
                "mais sources.qpv_officiel n'a pas de colonne de population (popMuniQPV / pop_mun)"
            )


def _avertir_editions(cfg: ConfigTerritoire, entrees: dict[str, Entree], rapport: Rapport):
    e_iris = entrees["sources.iris"]
    if e_iris.edition is None:
        rapport.avertir(
            "verification",
            "sources.iris",
            "édition des IRIS non indiquée dans la configuration : impossible de la comparer "
            "à l'édition des IRIS des statistiques",
        )
        return
    autres: dict[int, list[str]] = {}
    for cle, e in sorted(entrees.items()):
        if e.edition is None or cle.removeprefix("sources.") not in ROLES_IRIS:
            continue
        if e.edition != e_iris.edition:
            autres.setdefault(e.edition, []).append(cle.removeprefix("sources."))
    if autres:
        detail = "; ".join(f"{ed} ({', '.join(roles)})" for ed, roles in sorted(autres.items()))
        rapport.avertir(
            "verification",
            "sources.iris",
            f"édition {e_iris.edition} de la géographie IRIS ({e_iris.source}) différente de "
            f"l'édition des IRIS des statistiques : {detail}. Les IRIS redessinés entre éditions "
            "reçoivent des poids d'une géométrie qui n'est pas celle des statistiques ; les codes "
            "IRIS présents d'un seul côté sont signalés",
        )


def _avertir_population_manquante(cfg, iris_territoire, tables, rapport: Rapport) -> None:
    """Warn about member communes' population in IRIS absent from the count tables."""
    ptod = tables.get("indicateurs_iris")
    comptes = tables.get("population_iris")
    if ptod is None or comptes is None:
        return
    codes = set(iris_territoire["code_iris"])
    for annee in sorted(set(comptes["annee"])):
        ref = ptod[(ptod["annee"] == annee) & ptod["code_iris"].isin(codes)]
        if ref.empty or "p_pop" not in ref:
            continue
        presents = set(comptes.loc[comptes["annee"] == annee, "code_iris"])
        manquants = ref[~ref["code_iris"].isin(presents)]
        total = float(ref["p_pop"].sum())
        manque = float(manquants["p_pop"].sum())
        if manque > 0:
            types = iris_territoire.set_index("code_iris").loc[manquants["code_iris"], "type_iris"]
            detail = ", ".join(
                f"{t}: {int(n)}" for t, n in types.value_counts().sort_index().items()
            )
            rapport.avertir(
                "verification",
                "sources.population_iris",
                f"EPCI {cfg.epci.nom} : {manque:,.0f} des {total:,.0f} habitants ({annee}) vivent "
                f"dans {len(manquants)} IRIS absents des tables de comptage IRIS "
                f"(types {detail}) ; les totaux agrégés depuis ces tables ne les comptent pas ; "
                "la table des taux (sources.indicateurs_iris, P_POP) les couvre",
                n=len(manquants),
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
    libelle_fr: str | None = None,
) -> None:
    """Raise on values out of bounds in the rows the run uses (warn for the other rows).

    ``libelle_fr`` (default ``libelle``) names the values in the error and the warnings.
    """
    libelle_fr = libelle if libelle_fr is None else libelle_fr
    v = pd.to_numeric(table[colonne], errors="coerce").to_numpy(dtype="float64")
    hors = np.isinf(v) | (v < bas) | (v > haut * (1 + _TOLERANCE_TAUX))
    depasse = np.flatnonzero(~hors & (v > haut))
    if len(depasse) and rapport is not None:
        exemples = [f"{table[cle_code].iloc[i]}: {v[i]:g}" for i in depasse[:5]]
        rapport.avertir(
            "verification",
            source,
            f"colonne {colonne} : {len(depasse)} valeur(s) légèrement au-dessus de {haut:g} pour "
            f"{libelle_fr} (arrondi d'un taux calculé par l'éditeur de la table ; gardées "
            f"telles que publiées) : {exemples}",
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
                f"colonne {colonne} : {len(ailleurs)} valeur(s) hors bornes pour "
                f"{libelle_fr} hors du territoire (non utilisées) : {exemples}",
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
        f" (millésime {sorted(set(table['annee'].iloc[mauvais]))})"
        if "annee" in table.columns
        else ""
    )
    borne = f"[{bas:g}, {haut:g}]" if np.isfinite(haut) else f">= {bas:g} et fini"
    raise ErreurDonnees(
        f"{source} : colonne {colonne}{annee} : {len(mauvais)} valeur(s) hors bornes pour "
        f"{libelle_fr} (attendu : {borne})"
        + (f", ligne(s) {lignes}" if lignes else "")
        + f" : {exemples}"
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
    for role in ROLES_COMPTAGES:
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
                    libelle_fr=f"un comptage de {ind.id}",
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
                    f"{fichier(role)} : il manque au millésime {annee} des colonnes dont le "
                    f"codebook a besoin pour {sorted(set(perdus))} : ces indicateurs ne sont "
                    f"pas calculés depuis cette table pour {annee}",
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
                libelle_fr="une population",
                cle_code="code_iris",
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
                    f"{src} : pas de colonne {ind.ptod.colonne} (aucun millésime) : l'indicateur "
                    f"{ind.id} n'est pas calculé depuis cette table",
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
                cle_code="code_iris",
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
                    " et ces millésimes ne sont pas des millésimes de recensement du run"
                    if col == "p_pop"
                    else ""
                )
                rapport.avertir(
                    "verification",
                    "sources.indicateurs_iris",
                    f"{src} : aucune valeur de {ind.id} pour {manquantes} (colonne(s) {colonnes} "
                    f"absente(s) ou vide(s)) : cet indicateur n'est pas calculé pour ces "
                    f"millésimes{quoi}",
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
                cle_code="code_zone",
            )
