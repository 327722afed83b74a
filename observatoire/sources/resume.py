"""Summary of a territory's data: communes, IRIS, QPV and populations.

The main job of ``observatoire data summary``: every figure is read from a named
source id (local store or cache) through the loaders of
:mod:`observatoire.chargement`, so it can be traced to a file and a vintage.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

from observatoire.rapport import Rapport
from observatoire.sources.acquisition import catalogue_pour, chemin_source
from observatoire.sources.cache import Cache
from observatoire.sources.registre import Territoire, sources_resume
from observatoire.sources.telechargement import sha256_fichier

__all__ = ["Resume", "resumer_territoire"]

_AGES_RP = ["p_pop0014", "p_pop1529", "p_pop3044", "p_pop4559", "p_pop6074", "p_pop75p"]


@dataclass
class Resume:
    """Tables of the territory summary.

    Attributes
    ----------
    communes : DataFrame
        code_commune, nom_commune, surface_km2, n_iris_2020, n_iris_2014,
        pop_rp2016_iris_h (Σ age groups of the type-H IRIS, RP 2016),
        pop_2011 / pop_2016 / pop_2022 (Σ IRIS populations of the ptod table).
    qpv : DataFrame
        code_zone, nom_zone, communes, surface_ha, pop_mun, taux_pauvrete_60.
    sources : DataFrame
        role, source_id, chemin, sha256, millesime.
    """

    territoire: Territoire
    communes: pd.DataFrame
    qpv: pd.DataFrame
    sources: pd.DataFrame
    rapport: Rapport = field(default_factory=Rapport)


def _millesime(source_id: str, depuis, cache) -> int | None:
    if depuis is not None:
        return catalogue_pour(depuis)[source_id].millesime
    e = Cache(cache).entree(source_id) or {}
    return e.get("millesime")


def resumer_territoire(
    terr: Territoire,
    *,
    depuis: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
    rapport: Rapport | None = None,
) -> Resume:
    """Load the territory's data and summarise it.

    Parameters
    ----------
    terr : Territoire
        Communes of the territory (see :func:`observatoire.sources.territoire`).
    depuis : path, optional
        Local data store read in place; default: the cache.
    cache : path, optional
        Cache folder (when ``depuis`` is not given).
    rapport : Rapport, optional
        Collects the loaders' events (reprojections, repairs...).

    Returns
    -------
    Resume
    """
    from observatoire.chargement import (
        lire_communes,
        lire_indicateurs_ptod,
        lire_iris,
        lire_qpv,
        lire_qpv_officiel,
        lire_table_iris,
    )

    rapport = rapport if rapport is not None else Rapport()
    roles = sources_resume()
    chemins = {r: chemin_source(s, depuis=depuis, cache=cache) for r, s in roles.items()}
    codes = list(terr.communes)

    communes = lire_communes(chemins["communes"], rapport=rapport)
    communes = communes[communes["code_commune"].isin(codes)].copy()
    communes["surface_km2"] = communes.geometry.area / 1e6
    out = communes[["code_commune", "nom_commune", "surface_km2"]].set_index("code_commune")
    out = out.reindex([c for c in codes if c in out.index])

    for annee, role in ((2020, "iris_2020"), (2014, "iris_2014")):
        iris = lire_iris(chemins[role], rapport=rapport)
        n = iris[iris["code_commune"].isin(codes)].groupby("code_commune").size()
        out[f"n_iris_{annee}"] = n.reindex(out.index).astype("Int64")

    rp = lire_table_iris(chemins["pop_2016"], rapport=rapport)
    rp = rp.assign(code_commune=rp["code_iris"].str[:5])
    rp = rp[rp["code_commune"].isin(codes)]
    # sum of the age groups = P16_POP; min_count=1 keeps NaN (never 0) for a commune without rows
    pop16 = rp[_AGES_RP].sum(axis=1, min_count=len(_AGES_RP)).groupby(rp["code_commune"])
    out["pop_rp2016_iris_h"] = pop16.sum(min_count=1).reindex(out.index)

    ptod = lire_indicateurs_ptod(chemins["ptod_iris"], niveau="iris")
    ptod = ptod.assign(code_commune=ptod["code_iris"].str[:5])
    ptod = ptod[ptod["code_commune"].isin(codes)]
    pops = ptod.pivot_table(
        index="code_commune", columns="annee", values="p_pop", aggfunc=lambda s: s.sum(min_count=1)
    )
    for annee in pops.columns:
        out[f"pop_{int(annee)}"] = pops[annee].reindex(out.index)

    qpv = lire_qpv(chemins["qpv"], rapport=rapport)
    qpv = qpv[qpv["communes"].map(lambda cs: any(c in codes for c in cs))]
    stats = lire_qpv_officiel(chemins["qpv_stats"], rapport=rapport)
    qpv = qpv.assign(surface_ha=qpv.geometry.area / 1e4)
    qpv = qpv.merge(stats[["code_zone", "pop_mun", "taux_pauvrete_60"]], on="code_zone", how="left")
    qpv_tab = pd.DataFrame(qpv.drop(columns="geometry"))[
        ["code_zone", "nom_zone", "communes", "surface_ha", "pop_mun", "taux_pauvrete_60"]
    ]

    sources = pd.DataFrame(
        [
            {
                "role": role,
                "source_id": sid,
                "chemin": str(chemins[role]),
                "sha256": sha256_fichier(chemins[role]) if chemins[role].is_file() else None,
                "millesime": _millesime(sid, depuis, cache),
            }
            for role, sid in roles.items()
        ]
    )
    return Resume(terr, out.reset_index(), qpv_tab.reset_index(drop=True), sources, rapport)
