"""The steps of the yearly run, each a thin call to the public API of one stage.

Every step reads what the previous ones left in ``ctx.resultats`` and writes under
``ctx.dossier`` (the run's temporary folder). Table contents are sorted so that
the same inputs give the same files.

==============  ===============================================================
step            what it does
==============  ===============================================================
``sources``     reads the boundary layers and statistics tables of the config
``poids``       IRIS × zone weights: QPV (spatial method of the config), veille
                territories (perimeter, or IRIS set minus other zones);
                overlaps between veille territories and QPV are reported
``indicateurs`` indicators for every level and year (codebook)
``ecarts``      gaps against the references, and their evolution across years
``tables``      CSV / Parquet / GeoPackage / XLSX at the territory level
``cartes``      one sub-folder per vintage with the maps
``fiches``      one sheet per QPV and veille territory, and ``index.html``
==============  ===============================================================
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.chargement import CRS_TRAVAIL
from observatoire.run import Contexte, Etape

__all__ = [
    "ETAPES",
    "etape_sources",
    "etape_poids",
    "poids_veille",
    "zones_territoire",
]


def _lire_couche(ctx: Contexte, role: str, lecteur):
    chemin = ctx.preparation.chemin(role)
    if chemin is None:
        return None
    e = ctx.preparation.entrees[f"sources.{role}"]
    return lecteur(chemin, e.couche, rapport=ctx.rapport)


def etape_sources(ctx: Contexte) -> None:
    """Read the boundary layers and the tables the later steps need."""
    from observatoire.chargement import (
        lire_communes,
        lire_departements,
        lire_epci,
        lire_indicateurs_ptod,
        lire_qpv_officiel,
        lire_table_iris,
    )

    prep = ctx.preparation
    cfg = ctx.config
    communes = _lire_couche(ctx, "communes", lire_communes)
    if communes is not None:
        communes = communes[communes["code_commune"].isin(cfg.codes_communes)].reset_index(
            drop=True)
    couches = {
        "communes": communes,
        "departement": _lire_couche(ctx, "departement", lire_departements),
        "epci": _lire_couche(ctx, "epci", lire_epci),
    }
    tables = dict(prep.tables)
    for role, niveau in (("indicateurs_communes", "commune"),
                         ("indicateurs_departements", "departement")):
        chemin = prep.chemin(role)
        if chemin is not None:
            tables[role] = lire_indicateurs_ptod(chemin, niveau, rapport=ctx.rapport)
    if prep.chemin("revenus_iris") is not None:
        tables["revenus_iris"] = lire_table_iris(prep.chemin("revenus_iris"))
    if prep.chemin("qpv_officiel") is not None:
        tables["qpv_officiel"] = lire_qpv_officiel(prep.chemin("qpv_officiel"),
                                                   rapport=ctx.rapport)
    ctx.resultats["couches"] = couches
    ctx.resultats["tables"] = tables
    ctx.resume.append(
        f"sources: {len(prep.entrees)} inputs, {len(prep.iris_territoire)} IRIS of "
        f"{len(cfg.codes_communes)} communes, {len(prep.qpv)} QPV, {len(cfg.veille)} veille "
        "territories"
    )


def _population_iris(ctx: Contexte) -> pd.DataFrame | None:
    """IRIS population of the latest census vintage of the run (``code_iris, population``)."""
    ptod = ctx.preparation.tables.get("indicateurs_iris")
    if ptod is None or "p_pop" not in ptod.columns:
        return None
    annee = max(ctx.annees)
    t = ptod[(ptod["annee"] == annee) & ptod["p_pop"].notna()]
    return pd.DataFrame({"code_iris": t["code"].to_numpy(),
                         "population": t["p_pop"].to_numpy(dtype="float64")})


def poids_veille(liste: pd.DataFrame, poids_moins: pd.DataFrame,
                 moins: dict[str, list[str]]) -> pd.DataFrame:
    """Weights of zones declared as IRIS sets minus other zones.

    ``poids(v, i) = part(v, i) × max(0, 1 − Σ_m poids(m, i))`` over the zones ``m``
    taken out of ``v``: the population the other zones already hold is not counted
    twice, whatever method gave their weights.

    Parameters
    ----------
    liste : DataFrame
        Weights table of the IRIS sets (``code_zone, code_iris, poids``...).
    poids_moins : DataFrame
        Weights table holding the zones to take out.
    moins : dict
        Zone code → codes of the zones taken out of it.

    Examples
    --------
    >>> liste = pd.DataFrame({"code_zone": ["V", "V"], "code_iris": ["1", "2"],
    ...                       "poids": [1.0, 1.0], "methode": "iris_list"})
    >>> q = pd.DataFrame({"code_zone": ["Q", "Q"], "code_iris": ["1", "3"], "poids": [0.25, 1.0]})
    >>> poids_veille(liste, q, {"V": ["Q"]})[["code_iris", "poids"]].to_dict("list")
    {'code_iris': ['1', '2'], 'poids': [0.75, 1.0]}
    """
    out = liste.copy()
    if not moins:
        return out
    for zone, retirees in moins.items():
        if not retirees:
            continue
        pris = (poids_moins[poids_moins["code_zone"].isin(retirees)]
                .groupby("code_iris")["poids"].sum())
        sel = out["code_zone"] == zone
        reste = np.clip(1.0 - out.loc[sel, "code_iris"].map(pris).fillna(0.0).to_numpy(), 0, 1)
        out.loc[sel, "poids"] = out.loc[sel, "poids"].to_numpy() * reste
        out.loc[sel, "methode"] = "iris_list_moins_zones"
    return out


def zones_territoire(ctx: Contexte) -> gpd.GeoDataFrame:
    """Geometries of the QPV and veille territories (``code_zone, nom_zone, niveau``)."""
    from observatoire.ponderation import zone_depuis_iris

    prep = ctx.preparation
    q = prep.qpv
    morceaux = [gpd.GeoDataFrame({
        "code_zone": q["code_qpv"].to_numpy(),
        "nom_zone": q["nom_qpv"].to_numpy(),
        "niveau": "qpv",
        "generation": q["generation"].to_numpy(),
    }, geometry=q.geometry.to_numpy(), crs=q.crs)]
    qpv_geo = morceaux[0]
    for v in ctx.config.veille:
        if v.perimetre is not None:
            continue
        moins = qpv_geo[qpv_geo["code_zone"].isin(v.moins)] if v.moins else None
        z = zone_depuis_iris(prep.iris_territoire, list(v.iris), code=v.code, nom=v.nom,
                             moins=moins, rapport=ctx.rapport)
        morceaux.append(gpd.GeoDataFrame({"code_zone": [v.code], "nom_zone": [v.nom],
                                          "niveau": ["veille"], "generation": [pd.NA]},
                                         geometry=z.geometry.to_numpy(), crs=z.crs))
    for z in ctx.resultats.get("perimetres_veille", []):
        morceaux.append(z)
    out = pd.concat(morceaux, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS_TRAVAIL)


def etape_poids(ctx: Contexte) -> None:
    """Weights of every zone of the territory; writes ``tables/poids.csv``."""
    from observatoire.ponderation import table_poids

    cfg, prep = ctx.config, ctx.preparation
    pond = cfg.ponderation
    population = _population_iris(ctx)
    officiel = None
    t_off = ctx.resultats.get("tables", {}).get("qpv_officiel")
    if t_off is not None and "pop_mun" in t_off.columns:
        officiel = pd.DataFrame({"code_zone": t_off["code_qpv"], "pop_mun": t_off["pop_mun"]})
    qpv = prep.qpv.rename(columns={"code_qpv": "code_zone"})
    poids_qpv = table_poids(
        prep.iris_territoire, qpv[["code_zone", "geometry"]], methode=pond.methode,
        population_iris=population, officiel=officiel if pond.methode == "calibrated" else None,
        part_min=pond.part_min, rapport=ctx.rapport,
    )
    morceaux = [poids_qpv.assign(niveau="qpv")]

    # Veille territories given by a perimeter file: same spatial method as the QPV.
    perimetres = []
    for i, v in enumerate(cfg.veille):
        if v.perimetre is None:
            continue
        e = prep.entrees[f"veille[{i}].perimetre"]
        g = gpd.read_file(e.chemin, layer=e.couche) if e.couche else gpd.read_file(e.chemin)
        if g.crs is None:
            from observatoire.rapport import ErreurDonnees

            raise ErreurDonnees(f"{e.chemin}: no CRS declared (veille[{i}].perimetre)")
        geom = g.to_crs(CRS_TRAVAIL).geometry.union_all()
        z = gpd.GeoDataFrame({"code_zone": [v.code], "nom_zone": [v.nom], "niveau": ["veille"],
                              "generation": [pd.NA]}, geometry=[geom], crs=CRS_TRAVAIL)
        perimetres.append(z)
        methode = "surface" if pond.methode == "calibrated" else pond.methode
        morceaux.append(table_poids(prep.iris_territoire, z[["code_zone", "geometry"]],
                                    methode=methode, part_min=pond.part_min,
                                    rapport=ctx.rapport).assign(niveau="veille"))
    ctx.resultats["perimetres_veille"] = perimetres

    # Veille territories given as IRIS sets (optionally minus other zones).
    lignes = [(v.code, code, part) for v in cfg.veille if v.iris for code, part in v.iris.items()]
    if lignes:
        liste = pd.DataFrame(lignes, columns=["code_zone", "code_iris", "part"])
        t = table_poids(prep.iris_territoire, liste, methode="iris_list", rapport=ctx.rapport)
        deja = pd.concat(morceaux, ignore_index=True)
        t = poids_veille(t, deja, {v.code: v.moins for v in cfg.veille if v.moins})
        morceaux.append(t.assign(niveau="veille"))
    poids = pd.concat(morceaux, ignore_index=True)
    poids = poids.sort_values(["niveau", "code_zone", "code_iris"], kind="stable")
    poids = poids.reset_index(drop=True)
    _signaler_chevauchements(ctx, poids, population)
    ctx.resultats["poids"] = poids
    ctx.resultats["zones"] = zones_territoire(ctx)
    poids.to_csv(ctx.chemin("tables", "poids.csv"), index=False, float_format="%.10g")
    ctx.resume.append(f"weights: {poids['code_zone'].nunique()} zones × "
                      f"{poids['code_iris'].nunique()} IRIS, method {pond.methode}")


def _signaler_chevauchements(ctx: Contexte, poids: pd.DataFrame,
                             population: pd.DataFrame | None) -> None:
    """Report the population a veille territory shares with a QPV (``chevauchements``)."""
    if population is None:
        return
    pop = population.set_index("code_iris")["population"]
    qpv = poids[poids["niveau"] == "qpv"]
    for v in ctx.config.veille:
        if v.chevauchements != "signaler":
            continue
        pv = poids[poids["code_zone"] == v.code]
        if pv.empty:
            continue
        total = float((pv["poids"] * pv["code_iris"].map(pop)).sum())
        # zones taken out of the veille territory are disjoint from it by construction
        m = pv.merge(qpv[~qpv["code_zone"].isin(v.moins)], on="code_iris", suffixes=("_v", "_q"))
        if m.empty or total <= 0:
            continue
        # upper bound of the shared population, exact when the veille takes whole IRIS
        m["commun"] = np.minimum(m["poids_v"], m["poids_q"]) * m["code_iris"].map(pop)
        for q, n in m.groupby("code_zone_q")["commun"].sum().items():
            if n <= 0:
                continue
            ctx.rapport.avertir(
                "poids", v.code,
                f"veille {v.nom} ({v.code}) overlaps QPV {q}: about {n:,.0f} of its "
                f"{total:,.0f} inhabitants ({100 * n / total:.0f} %, {max(ctx.annees)}) are also "
                "counted in the QPV", n=int(round(n)),
            )


ETAPES = [
    Etape("sources", etape_sources, "read boundary layers and tables"),
    Etape("poids", etape_poids, "IRIS × zone weights"),
]
