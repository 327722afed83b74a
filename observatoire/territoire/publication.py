"""The published tables of a territory: long tables, GeoPackage layers, the workbook.

Contents are sorted so that the same inputs give the same files.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.config import ConfigTerritoire
from observatoire.territoire.donnees import DonneesTerritoire
from observatoire.territoire.ecarts import EcartsTerritoire
from observatoire.territoire.indicateurs import IndicateursTerritoire
from observatoire.territoire.poids import PoidsTerritoire

__all__ = [
    "tables_publiees",
    "geometries_territoire",
    "table_large",
    "feuilles_classeur",
    "DECIMALES",
]

#: Keys of an indicator row.
CLES = ["niveau", "territoire_code", "indicateur", "sexe", "annee"]


def tables_publiees(
    poids: PoidsTerritoire, ind: IndicateursTerritoire, ecarts: EcartsTerritoire
) -> dict[str, pd.DataFrame]:
    """Name → table of ``tables/``, each sorted on its keys."""
    tables = {
        "indicateurs": _trier(ind.indicateurs, CLES),
        "ecarts": _trier(ecarts.ecarts, CLES + ["reference_niveau", "reference_code"]),
        "evolution_ecarts": _trier(
            ecarts.evolution,
            [
                "niveau",
                "territoire_code",
                "indicateur",
                "sexe",
                "reference_niveau",
                "reference_code",
                "annee_debut",
            ],
        ),
        "poids": poids.poids,
        "synthese": ecarts.synthese,
        "qualite": ecarts.qualite,
    }
    if ind.partenaires is not None:
        tables["partenaires_localisation"] = ind.partenaires
    tables["references"] = _trier(
        ecarts.references, ["niveau", "territoire_code", "reference_niveau"]
    )
    tables["iris_non_apparies"] = _trier(ind.codes_iris, ["source", "annee", "cote", "code_iris"])
    return tables


def geometries_territoire(
    donnees: DonneesTerritoire, poids: PoidsTerritoire, ind: IndicateursTerritoire
) -> dict[str, gpd.GeoDataFrame]:
    """Level → its territories' geometries (``code``, geometry) for the GeoPackage.

    IRIS, QPV and veille zones as drawn; communes and the EPCI dissolved from their IRIS;
    the département from all its IRIS when the IRIS layer covers it and it is a reference.
    """
    from observatoire.sorties import geometries_niveaux

    niveaux = dict(ind.niveaux)
    if ind.departement is not None:
        niveaux["departement"] = ind.departement
    zones = dict(iter(poids.zones.groupby("niveau", sort=False)))
    return geometries_niveaux(donnees.iris, niveaux, zones)


#: Published precision (decimals) by unit; other units get 2 decimals.
DECIMALES = {"%": 1, "habitants": 0, "ménages": 0, "allocataires": 0, "€": 0, "€/UC": 0}


def table_large(indicateurs: pd.DataFrame) -> pd.DataFrame:
    """One row per territory, one column per indicator × sex × vintage (value of record).

    Column names are ``<indicateur>_<annee>`` (``<indicateur>_<sexe>_<annee>`` for F/H),
    values rounded to their published precision (:data:`DECIMALES`), each followed by
    ``<colonne>_statut``, ``<colonne>_methode`` and ``<colonne>_fiabilite``; this is the
    attribute table of the GeoPackage layers, ready for a QGIS choropleth.

    Examples
    --------
    >>> t = pd.DataFrame({"niveau": ["qpv"] * 2, "territoire_code": ["Q"] * 2,
    ...     "territoire_nom": ["q"] * 2, "indicateur": ["part_etrangers"] * 2,
    ...     "sexe": ["ensemble"] * 2, "annee": [2020] * 2, "valeur": [21.345, 8.0],
    ...     "unite": ["%"] * 2, "statut": ["officiel", "approximation"],
    ...     "methode": ["valeur_publiee_qpv", "taux"], "fiabilite": ["bonne", "moyenne"]})
    >>> r = table_large(t).iloc[0]
    >>> float(r["part_etrangers_2020"]), r["part_etrangers_2020_fiabilite"]
    (21.3, 'bonne')
    """
    from observatoire.indicateurs.valeur_retenue import valeurs_retenues

    v = valeurs_retenues(indicateurs)
    v = v[v["valeur"].notna()]
    sexe = v["sexe"].astype(str)
    decimales = (
        v["unite"].map(DECIMALES).fillna(2).astype(int)
        if "unite" in v.columns
        else pd.Series(2, index=v.index)
    )
    v = v.assign(
        colonne=v["indicateur"].astype(str)
        + np.where(sexe.eq("ensemble"), "", "_" + sexe.str.lower())
        + "_"
        + v["annee"].astype(int).astype(str),
        valeur=[round(float(x), int(d)) for x, d in zip(v["valeur"], decimales, strict=True)],
    )
    if "fiabilite" not in v.columns:
        v = v.assign(fiabilite=None)
    morceaux = []
    for champ, suffixe in (
        ("valeur", ""),
        ("statut", "_statut"),
        ("methode", "_methode"),
        ("fiabilite", "_fiabilite"),
    ):
        p = v.pivot(index=["niveau", "territoire_code"], columns="colonne", values=champ)
        p.columns = [f"{c}{suffixe}" for c in p.columns]
        morceaux.append(p)
    large = pd.concat(morceaux, axis=1)
    ordre = sorted(v["colonne"].unique())
    large = large[[f"{c}{s}" for c in ordre for s in ("", "_statut", "_methode", "_fiabilite")]]
    large = large.reset_index()
    large.columns.name = None
    for c in ordre:
        large[c] = large[c].astype("float64")
    noms = (
        indicateurs.dropna(subset=["territoire_nom"])
        .drop_duplicates(["niveau", "territoire_code"])
        .set_index(["niveau", "territoire_code"])["territoire_nom"]
    )
    large.insert(
        2,
        "territoire_nom",
        [noms.get((n, c)) for n, c in zip(large["niveau"], large["territoire_code"], strict=True)],
    )
    return large.sort_values(["niveau", "territoire_code"], kind="stable").reset_index(drop=True)


def feuilles_classeur(
    cfg: ConfigTerritoire,
    annees: list[int],
    tables: dict[str, pd.DataFrame],
    avertissements: dict[str, list[str]],
) -> dict[str, pd.DataFrame]:
    """Sheets of the partners' workbook: zones and references, not the IRIS detail.

    ``tables`` are the published tables (:func:`tables_publiees`); the first sheet,
    ``lisez_moi``, says what each sheet holds.
    """
    from observatoire.ecarts import COLONNES_ECARTS, LECTURE_EFFECTIF
    from observatoire.indicateurs import COLONNES

    zones = ["qpv", "veille"]
    ind = tables["indicateurs"]
    ind = ind.loc[
        ind["niveau"] != "iris",
        [
            c
            for c in [
                *COLONNES,
                "fiabilite",
                "fiabilite_motif",
                "valeur_non_corrigee",
                "intervalle_bas",
                "intervalle_haut",
                "note",
            ]
            if c in ind.columns
        ],
    ]
    e = tables["ecarts"]
    # head counts have no gap in points: no gap row for them in the partners' workbook
    e = e.loc[
        e["niveau"].isin(zones) & (e["lecture"] != LECTURE_EFFECTIF),
        [
            c
            for c in [
                "territoire_nom",
                *COLONNES_ECARTS,
                "valeur_statut",
                "methode",
                "reference_annee",
                "ecart_annees",
                "avertissement",
            ]
            if c in e.columns
        ],
    ]
    ev = tables["evolution_ecarts"]
    ev = ev.loc[
        ev["niveau"].isin(zones),
        [
            c
            for c in (
                "territoire_nom",
                "territoire_code",
                "niveau",
                "indicateur",
                "sexe",
                "reference_niveau",
                "reference_code",
                "annee_debut",
                "annee_fin",
                "valeur_debut",
                "valeur_fin",
                "ecart_debut",
                "ecart_fin",
                "evolution_ecart",
                "lecture",
                "statut",
            )
            if c in ev.columns
        ],
    ]
    refs = tables["references"]
    lisez_moi = pd.DataFrame(
        {
            "rubrique": [
                "territoire",
                "millésimes",
                "feuilles",
                "synthese",
                "indicateurs",
                "ecarts",
                "evolution_ecarts",
                "qualite",
                "poids",
                "references",
                "statuts",
                "fiabilite",
                "détail",
            ],
            "contenu": [
                f"{cfg.nom} ({cfg.code}); communes {', '.join(cfg.codes_communes)}",
                ", ".join(map(str, annees)),
                "synthese, avertissements, indicateurs, ecarts, evolution_ecarts, qualite, "
                "poids, references",
                "valeur retenue de chaque QPV / territoire de veille (valeur officielle si elle "
                "existe à moins de 3 ans du dernier recensement, sinon la meilleure estimation), "
                "sa fiabilité et son écart à chaque référence (millésimes de la valeur et de la "
                "référence indiqués ; pas d'écart en points pour les effectifs)",
                "valeur par territoire (QPV, veille, commune, EPCI, département, France), "
                "indicateur, sexe et millésime, avec méthode, statut et source",
                "écart en points et ratio de chaque QPV / territoire de veille à ses références",
                "évolution des valeurs et des écarts entre millésimes (≥ "
                f"{cfg.ecart_min_annees} ans d'écart)",
                "population et ménages officiels des QPV comparés à chaque estimation possible "
                "(poids de surface, carroyés, calés ; agrégation du carroyage)",
                "part de la population de chaque IRIS attribuée à chaque zone",
                "territoires de référence de chaque zone",
                "officiel, estime, estime_corrige, approximation, secret, manquant",
                "bonne : valeur officielle ou IRIS entiers ; moyenne : IRIS coupés avec poids "
                "calés ou carroyés, taux approchés, estimation corrigée ; faible : poids de "
                "surface sur IRIS coupés, facteur de calage > 2, millésimes distants de plus de "
                "2 ans, IRIS redessinés, alerte de plausibilité",
                "le détail par IRIS est dans tables/*.csv et tables/observatoire.gpkg",
            ],
        }
    )
    avert = pd.DataFrame(
        [(c, m) for c, ms in sorted(avertissements.items()) for m in ms],
        columns=["territoire_code", "avertissement"],
    )
    return {
        "lisez_moi": lisez_moi,
        "synthese": tables["synthese"],
        "avertissements": avert,
        "indicateurs": ind,
        "ecarts": e,
        "evolution_ecarts": ev,
        "qualite": tables["qualite"],
        "poids": tables["poids"],
        "references": refs[refs["niveau"] != "iris"],
    }


def _trier(df: pd.DataFrame, cles: list[str]) -> pd.DataFrame:
    """Sort a table on its keys (then method/origin) so that files are deterministic."""
    cles = [c for c in cles if c in df.columns]
    cles += [c for c in ("methode", "origine") if c in df.columns and c not in cles]
    if not cles:
        return df.reset_index(drop=True)
    return df.sort_values(cles, kind="stable", na_position="last").reset_index(drop=True)
