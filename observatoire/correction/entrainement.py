"""Training set of the dilution correction: official, estimated and commune values per QPV."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from observatoire.indicateurs.codebook import Codebook, charger_codebook
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["FICHIERS", "indicateurs_candidats", "donnees_entrainement"]

#: Default training files, relative to a data folder such as ``../shared/data``.
FICHIERS = {
    "qpv": "qpv/qpv2024_dep13_anct_simplifie.geojson",
    "iris": "iris/iris_2020_dep13_generalise.geojson",
    "taux_iris": "stats/ptod_iris_dep13_indicateurs_rp2011_2016_2022.csv",
    "communes": "stats/ptod_communes5k_dep13_indicateurs.csv",
    "officiel": "stats/qpv2024_indicateurs_sigville_dep13.csv",
}


def indicateurs_candidats(codebook: Codebook | None = None) -> list[str]:
    """Rates and shares with both an IRIS (``ptod``) and an official QPV spec.

    Examples
    --------
    >>> sorted(indicateurs_candidats())[:2]
    ['part_etrangers', 'part_immigres']
    """
    codebook = codebook or charger_codebook()
    ids = [
        i.id
        for i in codebook
        if i.ptod is not None
        and i.qpv_officiel is not None
        and i.est_additif
        and i.type != "effectif"
        and i.ptod.denominateur_approche
    ]
    return list(dict.fromkeys(ids))


def _entree(valeur, dossier: Path | None, role: str):
    if valeur is None:
        if dossier is None:
            raise ErreurDonnees(
                f"jeu d'entraînement : aucun fichier pour {role!r} (donner un dossier ou un chemin)"
            )
        valeur = dossier / FICHIERS[role]
    return valeur


def donnees_entrainement(
    dossier: str | os.PathLike | None = None,
    *,
    fichiers: Mapping[str, Any] | None = None,
    annee_officielle: int = 2020,
    annee_estimation: int = 2022,
    indicateurs: Iterable[str] | None = None,
    codebook: Codebook | None = None,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """Official value, IRIS-based estimate and commune value of every QPV.

    The estimates are those of the yearly run: calibrated weights
    (:func:`observatoire.ponderation.table_poids`, ``methode="calibrated"``, on the IRIS
    population of ``annee_estimation`` and the official QPV populations), then rates
    consolidated by :func:`observatoire.indicateurs.indicateurs_taux`.

    Parameters
    ----------
    dossier : path, optional
        Data folder holding the files of :data:`FICHIERS`.
    fichiers : mapping, optional
        Role → path or already-read table, overriding the folder: ``qpv`` (perimeters,
        :func:`~observatoire.chargement.lire_qpv`), ``iris`` (layer of the statistics'
        edition), ``taux_iris`` and ``communes`` (``ptod`` tables), ``officiel`` (official
        QPV table, :func:`~observatoire.chargement.lire_qpv_officiel`).
    annee_officielle, annee_estimation : int
        Vintage of the official QPV values and of the IRIS rates compared with them.
    indicateurs : iterable of str, optional
        Default: :func:`indicateurs_candidats`.
    codebook : Codebook, optional
    rapport : Rapport, optional

    Returns
    -------
    DataFrame
        One row per QPV × indicator with all three values: ``code_zone, nom_zone,
        code_commune`` (commune holding most of the zone's area; Marseille is 13055),
        ``indicateur, sexe, officiel, estimation, commune, origine_commune``
        (``officiel`` or ``agregat_iris`` for communes absent from the commune table),
        ``part_population`` (Σ w·P / Σ P over the zone's IRIS), ``n_iris``,
        ``annee_officielle, annee_estimation``.
    """
    from observatoire.chargement import (
        lire_indicateurs_ptod,
        lire_iris,
        lire_qpv,
        lire_qpv_officiel,
    )
    from observatoire.indicateurs.consolidation import indicateurs_taux, poids_appartenance
    from observatoire.ponderation import table_poids

    codebook = codebook or charger_codebook()
    dossier = Path(dossier) if dossier is not None else None
    f = dict(fichiers or {})

    def lire(role, lecteur, *args):
        v = _entree(f.get(role), dossier, role)
        return v if isinstance(v, pd.DataFrame) else lecteur(v, *args, rapport=rapport)

    qpv = lire("qpv", lire_qpv)
    iris = lire("iris", lire_iris)
    taux = lire("taux_iris", lire_indicateurs_ptod, "iris")
    communes = lire("communes", lire_indicateurs_ptod, "commune")
    off = lire("officiel", lire_qpv_officiel)
    ids = list(indicateurs) if indicateurs is not None else indicateurs_candidats(codebook)
    cb = codebook.selection(ids)

    t = taux[(taux["annee"].astype(int) == annee_estimation) & taux["p_pop"].notna()]
    population = pd.DataFrame(
        {
            "code_iris": t["code_iris"].astype(str).to_numpy(),
            "population": t["p_pop"].to_numpy(dtype="float64"),
        }
    )
    if population.empty:
        raise ErreurDonnees(f"jeu d'entraînement : aucune population IRIS pour {annee_estimation}")
    officiel_pop = off[["code_zone", "pop_mun"]]
    zones = qpv[qpv["code_zone"].isin(officiel_pop.dropna()["code_zone"])]
    poids = table_poids(
        iris,
        zones[["code_zone", "geometry"]],
        methode="calibrated",
        population_iris=population,
        officiel=officiel_pop.dropna(),
        rapport=rapport,
    )
    commune_iris = iris.set_index("code_iris")["code_commune"]
    surf = (
        poids.assign(c=poids["code_iris"].map(commune_iris))
        .groupby(["code_zone", "c"])["surface_m2"]
        .sum()
        .reset_index()
        .sort_values(["code_zone", "surface_m2"])
        .drop_duplicates("code_zone", keep="last")
    )
    commune_zone = surf.set_index("code_zone")["c"]
    p = poids["code_iris"].map(population.set_index("code_iris")["population"])
    part = (poids["poids"] * p).groupby(poids["code_zone"]).sum() / p.groupby(
        poids["code_zone"]
    ).sum()
    app = poids_appartenance(iris[["code_iris", "code_commune"]])
    ind = indicateurs_taux(
        taux,
        {"qpv": poids, "commune": app},
        codebook=cb,
        annees=[annee_estimation],
        rapport=rapport,
    )
    c_off = communes[communes["annee"].astype(int) == annee_estimation].set_index("code_commune")
    o = off.set_index("code_zone")
    noms = dict(zip(zones["code_zone"], zones.get("nom_zone", zones["code_zone"]), strict=True))
    morceaux = []
    for i in cb:
        if i.ptod is None or i.qpv_officiel is None:
            continue
        sel = ind[(ind["indicateur"] == i.id) & (ind["sexe"] == i.sexe)]
        est = sel[sel["niveau"] == "qpv"].set_index("territoire_code")
        agr = sel[sel["niveau"] == "commune"].set_index("territoire_code")["valeur"]
        col = i.ptod.colonne
        ref = (
            pd.to_numeric(c_off[col], errors="coerce")
            if col in c_off.columns
            else pd.Series(dtype="float64")
        )
        codes = est.index
        cz = commune_zone.reindex(codes)
        v_off = cz.map(ref.dropna())
        d = pd.DataFrame(
            {
                "code_zone": codes,
                "nom_zone": [noms.get(c) for c in codes],
                "code_commune": cz.to_numpy(),
                "indicateur": i.id,
                "sexe": i.sexe,
                "officiel": pd.to_numeric(o[i.qpv_officiel.colonne], errors="coerce")
                .reindex(codes)
                .to_numpy()
                if i.qpv_officiel.colonne in o.columns
                else np.nan,
                "estimation": est["valeur"].to_numpy(dtype="float64"),
                "commune": v_off.fillna(cz.map(agr)).to_numpy(dtype="float64"),
                "origine_commune": np.where(v_off.notna(), "officiel", "agregat_iris"),
                "part_population": part.reindex(codes).to_numpy(),
                "n_iris": est["n_iris"].to_numpy(dtype="float64"),
            }
        )
        morceaux.append(d.dropna(subset=["officiel", "estimation", "commune"]))
    out = pd.concat(morceaux, ignore_index=True) if morceaux else pd.DataFrame()
    out["annee_officielle"] = annee_officielle
    out["annee_estimation"] = annee_estimation
    return out.sort_values(["indicateur", "sexe", "code_zone"], ignore_index=True)
