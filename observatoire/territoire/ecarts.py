"""Gaps of a territory's zones to their references, the synthesis and the quality table."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from observatoire.indicateurs.codebook import Codebook
from observatoire.territoire.donnees import DonneesTerritoire
from observatoire.territoire.indicateurs import IndicateursTerritoire, appartenance
from observatoire.territoire.poids import PoidsTerritoire

__all__ = ["EcartsTerritoire", "ecarts_territoire", "noms_references"]


@dataclass
class EcartsTerritoire:
    """Gaps, their evolution, the synthesis of the values of record, the quality table.

    Attributes
    ----------
    references : DataFrame
        Reference territories of each zone and IRIS.
    ecarts, evolution : DataFrame
        Gaps (zone × reference × indicator × year) and their evolution between vintages.
    synthese_millesimes : DataFrame
        Values of record and their gaps, every census vintage.
    synthese : DataFrame
        The same, latest census vintage.
    qualite : DataFrame
        Official QPV figures against every estimate the inputs allow.
    resume : list of str
        Lines for the run summary.
    """

    references: pd.DataFrame
    ecarts: pd.DataFrame
    evolution: pd.DataFrame
    synthese_millesimes: pd.DataFrame
    synthese: pd.DataFrame
    qualite: pd.DataFrame
    resume: list[str] = field(default_factory=list)


def ecarts_territoire(
    donnees: DonneesTerritoire,
    poids: PoidsTerritoire,
    ind: IndicateursTerritoire,
    *,
    codebook: Codebook,
) -> EcartsTerritoire:
    """Gaps against the reference territories and their evolution between vintages."""
    from observatoire.ecarts import calculer_ecarts
    from observatoire.indicateurs.references import references_territoires
    from observatoire.indicateurs.synthese import table_synthese

    cfg = donnees.config
    app = appartenance(donnees)
    niveaux = ind.niveaux
    refs = references_territoires(
        {k: v for k, v in niveaux.items() if k in ("qpv", "veille")},
        app[["code_iris", "code_commune"]],
        communes_epci={cfg.epci.code: cfg.codes_communes},
        france="FR" if "france" in cfg.niveaux_comparaison else None,
        zones=[
            z
            for z in ("iris", "qpv", "veille", "commune")
            if z == "commune" or z in niveaux or z == "iris"
        ],
    )
    refs = refs[refs["reference_niveau"].isin(cfg.niveaux_comparaison)].reset_index(drop=True)
    ecarts, evolution = calculer_ecarts(
        ind.indicateurs, refs, codebook=codebook, ecart_min_annees=cfg.ecart_min_annees
    )
    synth = table_synthese(
        ind.indicateurs,
        ecarts,
        millesimes=donnees.annees,
        references=refs,
        niveaux_reference=cfg.niveaux_comparaison,
        codebook=codebook,
        zones=ind.infos_zones,
        noms_references=noms_references(donnees, ind.indicateurs),
        tous_millesimes=True,
    )
    n_fav = ecarts["lecture"].astype(str).str.contains("moins favorable").sum()
    return EcartsTerritoire(
        references=refs,
        ecarts=ecarts,
        evolution=evolution,
        synthese_millesimes=synth,
        synthese=synth[synth["annee_recensement"] == max(donnees.annees)],
        qualite=_qualite(donnees, poids, ind.indicateurs),
        resume=[
            f"écarts : {len(ecarts):,} (zone × référence × indicateur × année), "
            f"{n_fav:,} moins favorables que leur référence ; "
            f"{len(evolution):,} évolutions entre millésimes"
        ],
    )


def noms_references(donnees: DonneesTerritoire, ind: pd.DataFrame) -> dict[tuple[str, str], str]:
    """``(niveau, code)`` → name of every reference territory of the territory."""
    cfg = donnees.config
    noms = {
        (n, c): v
        for n, c, v in ind[["niveau", "territoire_code", "territoire_nom"]]
        .dropna()
        .drop_duplicates(["niveau", "territoire_code"])
        .itertuples(index=False)
    }
    noms.update({("commune", c): n for c, n in cfg.epci.communes.items() if n})
    noms[("epci", cfg.epci.code)] = cfg.epci.nom
    noms.setdefault(("departement", cfg.departement), f"Département {cfg.departement}")
    noms[("france", "FR")] = "France"
    return noms


def _qualite(donnees: DonneesTerritoire, poids: PoidsTerritoire, ind: pd.DataFrame) -> pd.DataFrame:
    """Official QPV population and households against every estimate the inputs allow."""
    from observatoire.indicateurs.valeur_retenue import millesime_proche
    from observatoire.ponderation.qualite_zones import (
        COLONNES_QUALITE,
        EQUIVALENTS_GRILLE,
        comparer_taux_officiels,
        qualite_zones,
    )

    off = donnees.qpv_officiel
    ptod = donnees.tables.get("indicateurs_iris")
    if off is None or ptod is None or "p_pop" not in ptod.columns:
        return pd.DataFrame(columns=COLONNES_QUALITE)
    cfg = donnees.config
    annees = donnees.annees
    annee_off = cfg.sources["qpv_officiel"].annee_valeurs or max(annees)
    dispo = sorted(set(ptod.loc[ptod["p_pop"].notna(), "annee"].astype(int)) & set(annees))
    annee = int(millesime_proche([annee_off], dispo)[0])
    t = ptod[ptod["annee"] == annee]
    comptages = pd.DataFrame(
        {"code_iris": t["code_iris"].to_numpy(), "population": t["p_pop"].to_numpy(dtype="float64")}
    )
    corr = {"population": ("population", "pop_mun")}
    if "men_tot_stock" in t.columns and "nombre_menages" in off.columns:
        comptages["menages"] = t["men_tot_stock"].to_numpy(dtype="float64")
        corr["nombre_menages"] = ("menages", "nombre_menages")
    officiel = off[[c for c in ("code_zone", "pop_mun", "nombre_menages") if c in off.columns]]
    zones = poids.zones[poids.zones["niveau"] == "qpv"]
    e_grille = donnees.entree("grille")
    comptes = qualite_zones(
        donnees.iris_territoire,
        zones,
        officiel,
        comptages,
        correspondances=corr,
        annee_officielle=annee_off,
        annee_estimation=annee,
        grille=donnees.grille,
        correspondances_grille={"population": "population", "nombre_menages": "menages"},
        annee_grille=e_grille.edition if e_grille is not None else None,
        noms=dict(zip(zones["code_zone"], zones["nom_zone"], strict=True)),
        part_min=cfg.ponderation.part_min,
    )
    taux = comparer_taux_officiels(ind, equivalents=EQUIVALENTS_GRILLE)
    return (
        pd.concat([comptes, taux], ignore_index=True)
        .sort_values(["territoire_code", "indicateur", "methode"], kind="stable")
        .reset_index(drop=True)
    )
