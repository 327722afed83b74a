"""Quality table of a run: official zone counts against every estimate the run can make.

For each zone with official values (population, households), the table puts the
official value beside the estimate of each weighting method the inputs allow
(surface; dasymetric and a direct grid aggregation when a grid is given;
calibrated when official populations are given) with the error. Calibrated weights
reproduce the official population by construction: their population error is 0 and
only their household error says something.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.chargement import CRS_TRAVAIL
from observatoire.ponderation.poids import table_poids
from observatoire.ponderation.ventilation import ventiler
from observatoire.rapport import Rapport

__all__ = [
    "COLONNES_QUALITE",
    "EQUIVALENTS_GRILLE",
    "agreger_grille",
    "qualite_zones",
    "comparer_taux_officiels",
]

#: Official QPV indicator → grid indicator of the nearest definition (tax households).
EQUIVALENTS_GRILLE = {"part_menages_une_personne": "fil_part_menages_1personne"}

COLONNES_QUALITE = [
    "territoire_code",
    "territoire_nom",
    "indicateur",
    "annee_officielle",
    "valeur_officielle",
    "methode",
    "annee_estimation",
    "valeur_estimee",
    "erreur",
    "erreur_relative",
    "note",
]


def agreger_grille(
    grille: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    colonnes: Sequence[str],
    *,
    code_zone: str = "code_zone",
) -> pd.DataFrame:
    """Sum grid columns over each zone by cell-area share (``Σ_c share_c · x_c``).

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"population": [100.0, 40.0]},
    ...     geometry=[box(0, 0, 200, 200), box(200, 0, 400, 200)], crs="EPSG:2154")
    >>> z = gpd.GeoDataFrame({"code_zone": ["A"]}, geometry=[box(100, 0, 300, 200)],
    ...                      crs="EPSG:2154")
    >>> agreger_grille(g, z, ["population"]).to_dict("records")
    [{'code_zone': 'A', 'population': 70.0}]
    """
    from observatoire.ponderation.carroyage import sommes_grille

    s = sommes_grille(grille, zones.rename(columns={code_zone: "code"}), list(colonnes))
    return s[list(colonnes)].rename_axis(code_zone).reset_index()


def qualite_zones(
    iris: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    officiel: pd.DataFrame,
    comptages_iris: pd.DataFrame,
    *,
    correspondances: Mapping[str, tuple[str, str]],
    annee_officielle: int,
    annee_estimation: int,
    grille: gpd.GeoDataFrame | None = None,
    correspondances_grille: Mapping[str, str] | None = None,
    annee_grille: int | None = None,
    noms: Mapping[str, str] | None = None,
    part_min: float = 0.005,
) -> pd.DataFrame:
    """Official counts of each zone against each estimate the inputs allow.

    Parameters
    ----------
    iris : GeoDataFrame
        IRIS layer (``code_iris``).
    zones : GeoDataFrame
        ``code_zone`` and geometry.
    officiel : DataFrame
        ``code_zone`` and the official columns.
    comptages_iris : DataFrame
        ``code_iris`` and the IRIS count columns (one vintage: ``annee_estimation``);
        its ``population`` column calibrates the weights.
    correspondances : mapping
        Indicator id → (IRIS column, official column), e.g.
        ``{"population": ("population", "pop_mun")}``.
    annee_officielle, annee_estimation : int
        Vintages of the official values and of the IRIS counts.
    grille : GeoDataFrame, optional
        Population grid: adds ``dasymetric`` weights and a direct ``grille``
        aggregation (by cell-area share) of ``correspondances_grille``
        (indicator id → grid column), vintage ``annee_grille``.
    noms : mapping, optional
        Zone code → name.

    Returns
    -------
    DataFrame
        :data:`COLONNES_QUALITE`, one row per zone × indicator × method.
    """
    muet = Rapport()
    officiel = officiel.dropna(subset=["code_zone"]).drop_duplicates("code_zone")
    off = officiel.set_index("code_zone")
    z = zones[zones["code_zone"].isin(off.index)][["code_zone", "geometry"]]
    if z.empty:
        return pd.DataFrame(columns=COLONNES_QUALITE)
    colonnes = [c for c, _ in correspondances.values()]
    methodes = ["surface"] + (["dasymetric"] if grille is not None else [])
    a_pop = "pop_mun" in off.columns and off["pop_mun"].notna().any()
    if a_pop and "population" in comptages_iris.columns:
        methodes.append("calibrated")
    lignes = []

    def ajouter(code, ind, methode, annee, v, note=None):
        o = (
            off.at[code, correspondances[ind][1]]
            if correspondances[ind][1] in off.columns
            else np.nan
        )
        err = v - o if pd.notna(v) and pd.notna(o) else np.nan
        lignes.append(
            {
                "territoire_code": code,
                "territoire_nom": (noms or {}).get(code),
                "indicateur": ind,
                "annee_officielle": annee_officielle,
                "valeur_officielle": o,
                "methode": methode,
                "annee_estimation": annee,
                "valeur_estimee": v,
                "erreur": err,
                "erreur_relative": err / o if pd.notna(err) and o else np.nan,
                "note": note,
            }
        )

    for methode in methodes:
        p = table_poids(
            iris,
            z,
            methode=methode,
            grille=grille,
            population_iris=comptages_iris[["code_iris", "population"]].dropna()
            if methode == "calibrated"
            else None,
            officiel=officiel[["code_zone", "pop_mun"]].dropna()
            if methode == "calibrated"
            else None,
            part_min=part_min,
            crs=CRS_TRAVAIL,
            rapport=muet,
        )
        est = ventiler(p, comptages_iris[["code_iris", *colonnes]], colonnes)
        est = est.set_index("code_zone")
        for code in z["code_zone"]:
            for ind, (col, _) in correspondances.items():
                v = est[col].get(code, np.nan)
                note = None
                if methode == "calibrated" and ind == "population":
                    note = (
                        "calé sur la population officielle : égal par construction"
                        if abs(v - off.at[code, "pop_mun"]) < 0.5
                        else "calé sur la population officielle, que ses IRIS ne peuvent pas "
                        "contenir entièrement (poids plafonnés à 1)"
                    )
                ajouter(code, ind, methode, annee_estimation, v, note)
    if grille is not None and correspondances_grille:
        cols = [c for c in correspondances_grille.values() if c in grille.columns]
        agr = agreger_grille(grille, z, cols).set_index("code_zone")
        for code in z["code_zone"]:
            for ind, col in correspondances_grille.items():
                if ind in correspondances and col in agr.columns:
                    ajouter(
                        code,
                        ind,
                        "grille",
                        annee_grille,
                        agr.at[code, col],
                        "carreaux agrégés par part de surface (individus et ménages "
                        "fiscaux, pas ceux du recensement)",
                    )
    out = pd.DataFrame(lignes, columns=COLONNES_QUALITE)
    return out.sort_values(["territoire_code", "indicateur", "methode"], kind="stable").reset_index(
        drop=True
    )


def comparer_taux_officiels(
    indicateurs: pd.DataFrame,
    *,
    equivalents: Mapping[str, str] | None = None,
    tolerance_annees: int = 3,
) -> pd.DataFrame:
    """Official rates of the QPV against every estimate of the run (and grid equivalents).

    For each QPV rate or share with an official value, each non-official value of the
    same indicator within ``tolerance_annees`` (the nearest vintage per method), and the
    grid indicator named in ``equivalents`` (a definition of its own: tax households).

    Examples
    --------
    >>> t = pd.DataFrame({"territoire_code": ["Q"] * 3, "territoire_nom": ["q"] * 3,
    ...     "niveau": ["qpv"] * 3, "indicateur": ["part_menages_une_personne"] * 2
    ...     + ["fil_part_menages_1personne"], "sexe": ["ensemble"] * 3,
    ...     "annee": [2020, 2022, 2019], "valeur": [44.4, 38.3, 39.6], "unite": ["%"] * 3,
    ...     "statut": ["officiel", "approximation", "estime"],
    ...     "methode": ["valeur_publiee_qpv", "taux_iris", "grille(part de surface)"]})
    >>> r = comparer_taux_officiels(t, equivalents=EQUIVALENTS_GRILLE)
    >>> r[["methode", "valeur_estimee", "erreur"]].round(1).values.tolist()
    [['grille(part de surface)', 39.6, -4.8], ['taux_iris', 38.3, -6.1]]
    """
    q = indicateurs[(indicateurs["niveau"] == "qpv") & (indicateurs["sexe"] == "ensemble")]
    off = q[(q["statut"] == "officiel") & q["valeur"].notna() & q["unite"].eq("%")]
    est = q[(q["statut"] != "officiel") & q["valeur"].notna()]
    lignes = []
    for row in off.itertuples(index=False):
        cibles = [row.indicateur] + (
            [equivalents[row.indicateur]] if equivalents and row.indicateur in equivalents else []
        )
        e = est[(est["territoire_code"] == row.territoire_code) & est["indicateur"].isin(cibles)]
        e = e.assign(_d=(e["annee"].astype(int) - int(row.annee)).abs())
        e = e[e["_d"] <= tolerance_annees].sort_values(["_d", "annee"], ascending=[True, False])
        for r in e.drop_duplicates(["indicateur", "methode"]).itertuples(index=False):
            err = r.valeur - row.valeur
            note = (
                f"indicateur du carroyage (ménages fiscaux) : {r.indicateur}"
                if r.indicateur != row.indicateur
                else None
            )
            lignes.append(
                {
                    "territoire_code": row.territoire_code,
                    "territoire_nom": row.territoire_nom,
                    "indicateur": row.indicateur,
                    "annee_officielle": int(row.annee),
                    "valeur_officielle": row.valeur,
                    "methode": r.methode,
                    "annee_estimation": int(r.annee),
                    "valeur_estimee": r.valeur,
                    "erreur": err,
                    "erreur_relative": err / row.valeur if row.valeur else np.nan,
                    "note": note,
                }
            )
    return pd.DataFrame(lignes, columns=COLONNES_QUALITE)
