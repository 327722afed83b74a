"""Weights of every zone of a territory: QPV and veille territories, with their warnings.

:func:`poids_territoire` is the one entry point: the yearly run's ``poids`` step and
``observatoire weights --config`` both call it, so both give the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.chargement import CRS_TRAVAIL
from observatoire.nombres import formater_nombre
from observatoire.rapport import Rapport
from observatoire.territoire.donnees import DonneesTerritoire

__all__ = [
    "PoidsTerritoire",
    "poids_territoire",
    "zones_territoire",
    "population_iris_territoire",
    "COLONNES_ZONES",
]

#: The zone schema, from the weights to the maps: one row per QPV or veille territory.
COLONNES_ZONES = ["code_zone", "nom_zone", "niveau", "generation", "geometry"]


@dataclass
class PoidsTerritoire:
    """Weights of a territory's zones and what the sheets must say about them.

    Attributes
    ----------
    poids : DataFrame
        ``niveau, code_zone, code_iris, poids, methode...``, sorted.
    zones : GeoDataFrame
        The zones (:data:`COLONNES_ZONES`), QPV then veille territories.
    implausibles : dict
        QPV code → population its IRIS weights give, under the legal minimum.
    notes : dict
        Zone code → notes on how its weights are computed (veille minus QPV).
    chevauchements : dict
        Veille code → notes on the population it shares with a QPV.
    zones_vides : dict
        Zone code → why its weights give it no inhabitant.
    iris_redessines : list of str
        IRIS of the zones drawn differently in the statistics' edition.
    resume : list of str
        Lines for the run summary.
    """

    poids: pd.DataFrame
    zones: gpd.GeoDataFrame
    implausibles: dict[str, float] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    chevauchements: dict[str, list[str]] = field(default_factory=dict)
    zones_vides: dict[str, str] = field(default_factory=dict)
    iris_redessines: list[str] = field(default_factory=list)
    resume: list[str] = field(default_factory=list)

    def niveau(self, niveau: str) -> pd.DataFrame:
        """Weights of one level (``qpv`` or ``veille``)."""
        return self.poids[self.poids["niveau"] == niveau]


def population_iris_territoire(
    donnees: DonneesTerritoire, annee: int | None = None
) -> pd.DataFrame | None:
    """IRIS population of a census vintage of the territory (``code_iris, population``).

    Default: the latest vintage computed; otherwise the vintage nearest to ``annee`` (ties
    go to the later one). ``None`` without a population column.
    """
    from observatoire.indicateurs.valeur_retenue import millesime_proche

    ptod = donnees.tables.get("indicateurs_iris")
    if ptod is None or "p_pop" not in ptod.columns:
        return None
    dispo = sorted(set(ptod.loc[ptod["p_pop"].notna(), "annee"].astype(int)) & set(donnees.annees))
    if not dispo:
        return None
    choisi = max(dispo) if annee is None else int(millesime_proche([annee], dispo)[0])
    t = ptod[(ptod["annee"] == choisi) & ptod["p_pop"].notna()]
    out = pd.DataFrame(
        {"code_iris": t["code_iris"].to_numpy(), "population": t["p_pop"].to_numpy(dtype="float64")}
    )
    out.attrs["annee"] = choisi
    return out


def _zone(code, nom, niveau, generation, geometrie) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code_zone": [code], "nom_zone": [nom], "niveau": [niveau], "generation": [generation]},
        geometry=[geometrie],
        crs=CRS_TRAVAIL,
    )


def zones_territoire(donnees: DonneesTerritoire, rapport: Rapport | None = None):
    """Geometries of the QPV and veille territories (:data:`COLONNES_ZONES`).

    Veille territories given as IRIS sets are the union of their IRIS, minus the zones of
    ``moins``; those given by a perimeter file keep it.
    """
    from observatoire.ponderation import zone_depuis_iris

    q = donnees.qpv
    qpv = gpd.GeoDataFrame(
        {
            "code_zone": q["code_zone"].to_numpy(),
            "nom_zone": q["nom_zone"].to_numpy(),
            "niveau": "qpv",
            "generation": q["generation"].to_numpy(),
        },
        geometry=q.geometry.to_numpy(),
        crs=q.crs,
    )
    morceaux = [qpv]
    for v in donnees.config.veille:
        if v.perimetre is not None:
            continue
        moins = qpv[qpv["code_zone"].isin(v.moins)] if v.moins else None
        z = zone_depuis_iris(
            donnees.iris_territoire,
            list(v.iris),
            code=v.code,
            nom=v.nom,
            moins=moins,
            rapport=rapport,
        )
        morceaux.append(_zone(v.code, v.nom, "veille", pd.NA, z.geometry.iloc[0]))
    for v in donnees.config.veille:
        if v.perimetre is not None:
            morceaux.append(
                _zone(v.code, v.nom, "veille", pd.NA, donnees.perimetres_veille[v.code])
            )
    out = pd.concat(morceaux, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS_TRAVAIL)


def poids_territoire(donnees: DonneesTerritoire, rapport: Rapport | None = None) -> PoidsTerritoire:
    """Weights of every zone of the territory.

    QPV: the configuration's method (by default calibrated on the official QPV
    populations, on the grid weights when a grid is given), derived once from the IRIS
    population of the census vintage nearest to the official one and applied as shares
    to every vintage. Veille territories: perimeter files get the spatial method (grid
    when there is one, else surface); IRIS sets are whole IRIS, minus the zones of
    ``moins`` — weighted with the grid where one is given, else with those zones' own
    weights. Overlaps of a veille territory with a QPV, zones without inhabitants and
    IRIS redrawn in the statistics' edition are reported.
    """
    from observatoire.ponderation import poids_iris_moins_zones, table_poids, zones_implausibles

    rapport = rapport if rapport is not None else Rapport()
    cfg = donnees.config
    pond = cfg.ponderation
    methode = cfg.methode_ponderation
    grille = donnees.grille
    spatiale = "dasymetric" if grille is not None else "surface"
    iris = donnees.iris_territoire
    resultat = PoidsTerritoire(poids=pd.DataFrame(), zones=gpd.GeoDataFrame())
    t_off = donnees.qpv_officiel
    officiel = None
    annee_off = None
    if t_off is not None and "pop_mun" in t_off.columns:
        officiel = pd.DataFrame({"code_zone": t_off["code_zone"], "pop_mun": t_off["pop_mun"]})
        officiel = officiel.dropna().drop_duplicates("code_zone")
        annee_off = cfg.sources["qpv_officiel"].annee_valeurs
    population = population_iris_territoire(donnees, annee_off if methode == "calibrated" else None)
    qpv = donnees.qpv
    poids_qpv = table_poids(
        iris,
        qpv[["code_zone", "geometry"]],
        methode=methode,
        grille=grille,
        population_iris=population,
        officiel=officiel if methode == "calibrated" else None,
        part_min=pond.part_min,
        population_min_qpv=pond.population_min_qpv,
        rapport=rapport,
    )
    if methode == "calibrated" and population is not None:
        facteurs = poids_qpv.groupby("code_zone")["facteur_calibration"].first()
        resultat.resume.append(
            f"calage sur les populations officielles des QPV ({annee_off}) et la population "
            f"des IRIS {population.attrs.get('annee')} : facteurs "
            + ", ".join(f"{z} {f:.2f}" for z, f in facteurs.items() if f == f)
        )
    morceaux = [poids_qpv.assign(niveau="qpv")]

    # Veille territories given by a perimeter file: the spatial method.
    for v in cfg.veille:
        if v.perimetre is None:
            continue
        z = _zone(v.code, v.nom, "veille", pd.NA, donnees.perimetres_veille[v.code])
        z = z[["code_zone", "geometry"]]
        m = spatiale if methode == "calibrated" else methode
        morceaux.append(
            table_poids(
                iris, z, methode=m, grille=grille, part_min=pond.part_min, rapport=rapport
            ).assign(niveau="veille")
        )

    # Veille territories given as IRIS sets (optionally minus other zones).
    simples = [
        (v.code, code, part)
        for v in cfg.veille
        if v.iris and not v.moins
        for code, part in v.iris.items()
    ]
    if simples:
        liste = pd.DataFrame(simples, columns=["code_zone", "code_iris", "part"])
        morceaux.append(
            table_poids(iris, liste, methode="iris_list", rapport=rapport).assign(niveau="veille")
        )
    for v in cfg.veille:
        if v.iris and v.moins:
            retrait = pd.concat(morceaux, ignore_index=True)
            if grille is not None and set(v.moins) <= set(qpv["code_zone"]):
                # the population the QPV takes out of these IRIS, as the grid places it
                retrait = table_poids(
                    iris,
                    qpv.loc[qpv["code_zone"].isin(v.moins), ["code_zone", "geometry"]],
                    methode="dasymetric",
                    grille=grille,
                    part_min=pond.part_min,
                    rapport=rapport,
                )
            pv = poids_iris_moins_zones(
                list(v.iris),
                retrait,
                code=v.code,
                moins=v.moins,
                parts=list(v.iris.values()),
                rapport=rapport,
            )
            morceaux.append(pv.assign(niveau="veille"))
            resultat.notes[v.code] = [_note_moins(v, pv, grille)]
    poids = pd.concat(morceaux, ignore_index=True)
    poids = poids.sort_values(["niveau", "code_zone", "code_iris"], kind="stable")
    resultat.poids = poids = poids.reset_index(drop=True)
    annee_recente = max(donnees.annees)
    resultat.chevauchements = _chevauchements(donnees, poids, population, annee_recente, rapport)
    pop_recente = population_iris_territoire(donnees)
    if pop_recente is not None:
        resultat.implausibles = zones_implausibles(poids_qpv, pop_recente, pond.population_min_qpv)
    resultat.zones_vides = _zones_vides(poids, pop_recente, rapport)
    resultat.iris_redessines = _iris_redessines(donnees, poids, rapport)
    resultat.zones = zones_territoire(donnees, rapport)
    resultat.resume.append(
        f"poids : {poids['code_zone'].nunique()} zones × "
        f"{poids['code_iris'].nunique()} IRIS, méthode {methode}"
        + (" (poids du carroyage)" if grille is not None else "")
    )
    return resultat


def _note_moins(v, pv: pd.DataFrame, grille) -> str:
    """Sheet note of a veille territory drawn as IRIS minus other zones: how it is computed."""
    parts = ", ".join(
        f"{c} : {100 * r:.0f} %".replace(".", ",")
        for c, r in zip(pv["code_iris"], pv["poids_retire"], strict=True)
    )
    comment = (
        "telle que le carroyage Filosofi la place (poids carroyés)"
        if grille is not None
        else "selon les poids de ces zones"
    )
    return (
        f"Calcul : population des IRIS {', '.join(pv['code_iris'])} moins celle de "
        f"{', '.join(v.moins)}, {comment} ; part retirée de chaque IRIS : {parts}."
    )


def _iris_redessines(donnees: DonneesTerritoire, poids: pd.DataFrame, rapport: Rapport):
    """IRIS of the zones drawn differently in the statistics' edition (lower reliability)."""
    from observatoire.indicateurs.geographie import iris_redessines

    stats = donnees.iris_statistiques
    if stats is None:
        return []
    r = iris_redessines(donnees.iris_territoire, stats, poids["code_iris"].unique())
    for row in r.itertuples(index=False):
        zones = sorted(poids.loc[poids["code_iris"] == row.code_iris, "code_zone"].unique())
        qui = "absent" if row.iou != row.iou else f"recouvrement {row.iou:.0%} (IoU)"
        rapport.avertir(
            "poids",
            row.code_iris,
            f"IRIS {row.code_iris} dessiné autrement dans l'édition des statistiques ({qui}) : "
            f"les estimations de {', '.join(zones)} fondées sur cet IRIS sont classées 'faible'",
        )
    return r["code_iris"].tolist()


def _zones_vides(
    poids: pd.DataFrame, population: pd.DataFrame | None, rapport: Rapport
) -> dict[str, str]:
    """Report each zone whose weights give it no inhabitant (never dropped silently)."""
    zones: dict[str, str] = {}
    pop = population.set_index("code_iris")["population"] if population is not None else None
    for code, g in poids.groupby("code_zone", sort=True):
        n = (
            float((g["poids"] * g["code_iris"].map(pop)).sum())
            if pop is not None
            else float(g["poids"].sum())
        )
        if n > 0:
            continue
        pourquoi = (
            "les zones retirées (moins:) prennent toute la population de ses IRIS"
            if "poids_retire" in g.columns and g["poids_retire"].fillna(0).gt(0).any()
            else "aucun IRIS habité ne lui est attribué"
        )
        zones[code] = (
            f"Poids nul : aucun habitant n'est attribué à ce territoire ({pourquoi}) ; "
            "ses indicateurs estimés sont manquants."
        )
        rapport.avertir(
            "poids",
            code,
            f"zone {code} : ses poids ne lui attribuent aucun habitant "
            f"({pourquoi}) ; ses indicateurs estimés sont manquants",
        )
    return zones


def _chevauchements(
    donnees: DonneesTerritoire,
    poids: pd.DataFrame,
    population: pd.DataFrame | None,
    annee: int,
    rapport: Rapport,
) -> dict[str, list[str]]:
    """Report the population a veille territory shares with a QPV (sheet notes by code)."""
    from observatoire.ponderation import chevauchements

    notes: dict[str, list[str]] = {}
    qpv = poids[poids["niveau"] == "qpv"]
    pop = (
        population.set_index("code_iris")["population"]
        if population is not None
        else pd.Series(dtype="float64")
    )
    for v in donnees.config.veille:
        if v.chevauchements != "signaler":
            continue
        pv = poids[poids["code_zone"] == v.code]
        # zones taken out of the veille territory are disjoint from it by construction
        c = chevauchements(pv, qpv[~qpv["code_zone"].isin(v.moins)])
        if c.empty:
            continue
        total = float((pv["poids"] * pv["code_iris"].map(pop)).sum())
        # upper bound of the shared population, exact when the veille takes whole IRIS
        c["commun"] = np.minimum(c["poids"], c["poids_autre"]) * c["code_iris"].map(pop)
        for q, g in c.groupby("code_zone_autre"):
            n = float(g["commun"].sum())
            iris = ", ".join(
                f"{i} ({p:.0%})" for i, p in zip(g["code_iris"], g["poids_autre"], strict=True)
            )
            chiffre = (
                f" : environ {n:,.0f} de ses {total:,.0f} habitants "
                f"({100 * n / total:.0f} %, {annee}) sont aussi comptés dans le QPV"
                if total > 0
                else ""
            )
            if total > 0:
                notes.setdefault(v.code, []).append(
                    f"Chevauchement avec le QPV {q} : environ {formater_nombre(n, 0)} des "
                    f"{formater_nombre(total, 0)} "
                    f"habitants du territoire ({100 * n / total:.0f} %, {annee}) "
                    "sont aussi comptés dans le QPV."
                )
            rapport.avertir(
                "poids",
                v.code,
                f"territoire de veille {v.nom} ({v.code}) chevauche le QPV {q}{chiffre} "
                f"(part de la population des IRIS pondérée dans le QPV : {iris})",
                n=int(round(n)) if n == n else 0,
            )
    return notes
