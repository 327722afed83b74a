"""Calibrated weights: scale a zone's weights so that it receives its official population.

The relative distribution across IRIS comes from the best spatial method
(dasymetric when a grid is available, else surface); a weight never exceeds 1,
the excess is redistributed to the zone's other IRIS, and if the IRIS cannot
hold the official population at all the weights are capped at 1 and the
residual is reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["calibrer", "facteurs_calibration", "remplir"]

ETAPE = "ponderation"


def facteurs_calibration(
    poids: np.ndarray, population: np.ndarray, cible: float
) -> tuple[float, np.ndarray, float]:
    r"""Solve :math:`\sum_i \min(1, f w_i) X_i = O` for one zone (water-filling).

    Parameters
    ----------
    poids : array
        Spatial weights :math:`w_i > 0` of the zone's IRIS.
    population : array
        IRIS populations :math:`X_i` (no NaN).
    cible : float
        Official population :math:`O` of the zone.

    Returns
    -------
    facteur : float
        :math:`f` (``inf`` when every IRIS is capped).
    nouveaux : ndarray
        Calibrated weights :math:`\min(1, f w_i)`.
    residu : float
        :math:`O - \sum_i \min(1, f w_i) X_i` (0 unless every weight is capped).

    Examples
    --------
    Two IRIS of 100 inhabitants, surface weights 0.5 and 0.2, official 90:
    f = 90 / 70, no cap.

    >>> f, w, r = facteurs_calibration(np.array([0.5, 0.2]), np.array([100.0, 100.0]), 90.0)
    >>> round(f, 6), np.round(w, 6).tolist(), r
    (1.285714, [0.642857, 0.257143], 0.0)

    Official 160: the first weight is capped at 1, the second takes the rest (0.6).

    >>> f, w, r = facteurs_calibration(np.array([0.5, 0.2]), np.array([100.0, 100.0]), 160.0)
    >>> round(f, 6), np.round(w, 6).tolist(), r
    (3.0, [1.0, 0.6], 0.0)

    Official 250 > 200 held by the two IRIS: both capped, residual 50.

    >>> facteurs_calibration(np.array([0.5, 0.2]), np.array([100.0, 100.0]), 250.0)[1:]
    (array([1., 1.]), 50.0)
    """
    w = np.asarray(poids, dtype="float64")
    x = np.asarray(population, dtype="float64")
    ordre = np.argsort(-w, kind="stable")  # largest weight caps first
    ws, xs = w[ordre], x[ordre]
    wx = ws * xs
    # k IRIS capped (the k largest weights): f_k = (O - Σ_{j<k} X_j) / Σ_{j>=k} w_j X_j
    plafonnee = np.concatenate([[0.0], np.cumsum(xs)])[:-1]
    reste = wx[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (cible - plafonnee) / reste
    # the k capped IRIS must really reach 1: f_k * w_{k-1} >= 1
    seuil = np.concatenate([[0.0], 1.0 / ws[:-1]])
    valide = (f * ws <= 1.0 + 1e-12) & (f >= seuil * (1 - 1e-12)) & (reste > 0) & (f >= 0)
    if valide.any():
        k = int(np.argmax(valide))
        facteur = float(f[k])
        nouveaux = np.minimum(1.0, facteur * w)
        return facteur, nouveaux, 0.0
    nouveaux = np.ones_like(w)
    return float("inf"), nouveaux, float(cible - x.sum())


def remplir(
    zones: np.ndarray, poids: np.ndarray, population: np.ndarray, cible: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised :func:`facteurs_calibration` over many zones at once.

    Parameters
    ----------
    zones : array
        Zone code of each row (rows of a zone need not be contiguous).
    poids, population, cible : array of float
        Spatial weight (> 0), IRIS population (no NaN) and the zone's official population
        (repeated on each of its rows).

    Returns
    -------
    nouveaux, facteur, residu : ndarray
        Per row, in the input order: calibrated weight, the zone's factor, the zone's residual.

    Examples
    --------
    >>> z = np.array(["A", "B", "A"])
    >>> w, f, r = remplir(z, np.array([0.5, 0.5, 0.2]), np.array([100.0, 10.0, 100.0]),
    ...                   np.array([160.0, 20.0, 160.0]))
    >>> np.round(w, 6).tolist(), np.round(f, 6).tolist(), r.tolist()
    ([1.0, 1.0, 0.6], [3.0, inf, 3.0], [0.0, 10.0, 0.0])
    """
    n = len(poids)
    _, code = np.unique(np.asarray(zones, dtype=object).astype(str), return_inverse=True)
    ordre = np.lexsort((-poids, code))  # by zone, largest weight first
    g, ws, xs, os_ = code[ordre], poids[ordre], population[ordre], cible[ordre]
    debut = np.r_[True, g[1:] != g[:-1]]
    starts = np.flatnonzero(debut)
    grp = np.cumsum(debut) - 1

    def exclusif(v):  # Σ of v over the previous rows of the same zone
        c = np.cumsum(v) - v
        return c - c[starts][grp]

    wx = ws * xs
    plafonnee = exclusif(xs)
    reste = np.add.reduceat(wx, starts)[grp] - exclusif(wx)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (os_ - plafonnee) / reste
        seuil = np.where(debut, 0.0, 1.0 / np.r_[np.inf, ws[:-1]])
    valide = (f * ws <= 1.0 + 1e-12) & (f >= seuil * (1 - 1e-12)) & (reste > 0) & (f >= 0)
    pos = np.where(valide, np.arange(n), n)
    premier = np.minimum.reduceat(pos, starts)
    trouve = premier < n
    f_zone = np.where(trouve, f[np.minimum(premier, n - 1)], np.inf)
    r_zone = np.where(trouve, 0.0, os_[starts] - np.add.reduceat(xs, starts))
    nouveaux = np.where(np.isinf(f_zone[grp]), 1.0, np.minimum(1.0, f_zone[grp] * ws))
    out_w, out_f, out_r = np.empty(n), np.empty(n), np.empty(n)
    out_w[ordre], out_f[ordre], out_r[ordre] = nouveaux, f_zone[grp], r_zone[grp]
    return out_w, out_f, out_r


def calibrer(
    poids: pd.DataFrame,
    population_iris: pd.DataFrame,
    officiel: pd.DataFrame,
    *,
    colonne_population: str = "population",
    colonne_officielle: str = "pop_mun",
    code_zone_officiel: str = "code_zone",
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """Calibrate a weights table on official zone populations.

    Parameters
    ----------
    poids : DataFrame
        Weights table from a spatial method (``code_zone, code_iris, poids, methode``).
    population_iris : DataFrame
        ``code_iris`` and ``colonne_population`` (IRIS population, NaN = missing).
    officiel : DataFrame
        ``code_zone_officiel`` and ``colonne_officielle`` (official population).
    rapport : Rapport, optional
        Receives zones left uncalibrated, capped weights, residuals and factors far from 1.

    Returns
    -------
    DataFrame
        A copy of ``poids`` with ``poids`` calibrated, ``methode = "calibrated"``,
        ``methode_base`` (the spatial method), ``poids_base``, ``facteur_calibration``
        (per zone; NaN when not calibrated, ``inf`` when every IRIS is capped),
        ``plafonne`` (weight capped at 1), ``residu`` (official population the IRIS
        could not hold, per zone) and ``calibre`` (bool).

    Notes
    -----
    A zone is calibrated only when its official population is known and every IRIS
    it draws from has a known population; otherwise its spatial weights are kept
    (``calibre = False``, reported). Calibrated estimates of population equal the
    official values by construction: they cannot be scored on population.
    """
    rapport = rapport if rapport is not None else Rapport()
    for nom, frame, cols in (
        ("des poids", poids, ["code_zone", "code_iris", "poids"]),
        ("des populations IRIS", population_iris, ["code_iris", colonne_population]),
        ("officielle", officiel, [code_zone_officiel, colonne_officielle]),
    ):
        manque = [c for c in cols if c not in frame.columns]
        if manque:
            raise ErreurDonnees(f"calibrer : colonne(s) {manque} absente(s) de la table {nom}")
    if population_iris["code_iris"].duplicated().any():
        raise ErreurDonnees("calibrer : codes IRIS répétés dans la table des populations IRIS")
    if officiel[code_zone_officiel].duplicated().any():
        raise ErreurDonnees("calibrer : codes de zone répétés dans la table officielle")

    out = poids.copy()
    base = out["methode"].iloc[0] if "methode" in out.columns and len(out) else "surface"
    out["methode_base"] = out["methode"] if "methode" in out.columns else base
    out["poids_base"] = out["poids"].astype("float64")
    pop = population_iris.set_index("code_iris")[colonne_population].astype("float64")
    x = pop.reindex(out["code_iris"]).to_numpy()
    off = officiel.set_index(code_zone_officiel)[colonne_officielle].astype("float64")
    o = off.reindex(out["code_zone"]).to_numpy()

    w = out["poids_base"].to_numpy(dtype="float64")
    zones = out["code_zone"].to_numpy()
    actif = w > 0
    sans_off = ~np.isfinite(o)
    pop_inconnue = pd.Series(actif & np.isnan(x)).groupby(zones).transform("any").to_numpy()
    calibre = ~sans_off & ~pop_inconnue
    sel = calibre & actif
    nouveaux = w.copy()
    facteur = np.full(len(out), np.nan)
    residu = np.full(len(out), np.nan)
    if sel.any():
        nouveaux[sel], f_sel, r_sel = remplir(zones[sel], w[sel], x[sel], o[sel])
        f_zone = pd.Series(f_sel).groupby(zones[sel]).first()
        r_zone = pd.Series(r_sel).groupby(zones[sel]).first()
        facteur[calibre] = f_zone.reindex(zones[calibre]).to_numpy()
        residu[calibre] = r_zone.reindex(zones[calibre]).to_numpy()
    par_zone = (
        pd.DataFrame(
            {
                "zone": zones,
                "sans_off": sans_off,
                "sans_pop": pop_inconnue,
                "f": facteur,
                "r": residu,
            }
        )
        .groupby("zone", sort=False)
        .first()
    )
    sans_officiel = par_zone.index[par_zone["sans_off"]].tolist()
    sans_pop = par_zone.index[~par_zone["sans_off"] & par_zone["sans_pop"]].tolist()
    residus = [f"{z} ({r:.0f})" for z, r in par_zone["r"][par_zone["r"] > 0].items()]
    ecart = par_zone["f"][
        (par_zone["r"] <= 0) & ~par_zone["f"].between(0.5, 2.0) & par_zone["f"].notna()
    ]
    loin = [f"{z} ({f:.2f})" for z, f in ecart.items()]
    out["poids"] = nouveaux
    out["methode"] = "calibrated"
    out["facteur_calibration"] = facteur
    out["residu"] = residu
    out["plafonne"] = calibre & (nouveaux >= 1.0) & (out["poids_base"].to_numpy() < 1.0)
    out["calibre"] = calibre
    if sans_officiel:
        rapport.avertir(
            ETAPE,
            "calibration",
            f"{len(sans_officiel)} zone(s) sans population "
            f"officielle gardent leurs poids spatiaux : {sans_officiel[:20]}",
            n=len(sans_officiel),
        )
    if sans_pop:
        rapport.avertir(
            ETAPE,
            "calibration",
            f"{len(sans_pop)} zone(s) reposant sur des IRIS de population "
            f"inconnue gardent leurs poids spatiaux : {sans_pop[:20]}",
            n=len(sans_pop),
        )
    if residus:
        rapport.avertir(
            ETAPE,
            "calibration",
            f"{len(residus)} zone(s) dont les IRIS ne peuvent contenir la "
            f"population officielle (poids plafonnés à 1, résidu) : {residus[:20]}",
            n=len(residus),
        )
    if loin:
        rapport.avertir(
            ETAPE,
            "calibration",
            f"{len(loin)} zone(s) avec un facteur de calage "
            f"hors de [0.5, 2] (la méthode spatiale y est biaisée) : {loin[:20]}",
            n=len(loin),
        )
    somme = pd.Series(nouveaux).groupby(out["code_iris"].to_numpy()).sum()
    trop = somme[somme > 1 + 1e-9]
    if len(trop):
        rapport.avertir(
            ETAPE,
            "calibration",
            f"{len(trop)} IRIS donnent plus que toute leur "
            f"population à l'ensemble des zones après calage : "
            f"{trop.index[:20].tolist()}",
            n=len(trop),
        )
    return out
