"""Reliability grade (*fiabilité*) of every value: ``bonne``, ``moyenne`` or ``faible``.

The grade of a value is the worst grade of the rules it meets (:data:`REGLES`):

- ``bonne``: an official value; a level made of whole IRIS (commune, EPCI, a zone
  declared as whole IRIS); a grid value with under 20 % of imputed cells;
- ``moyenne``: a zone cutting IRIS with calibrated or grid (dasymetric) weights; a
  grid value with 20 % or more imputed cells; an estimate corrected for dilution; a
  rate published without counts and weighted by an approximate denominator;
- ``faible``: a zone cutting IRIS with surface weights; a calibration factor above
  2; a value compared with a reference more than 2 years apart; a zone holding IRIS
  redrawn or recoded between the geometry's and the statistics' editions; a zone
  under a plausibility warning (a QPV estimated under the legal minimum population).

A value without a number (secret, missing) has no grade. Zone-level facts come
from :func:`infos_zones` (weights table, plausibility, redrawn IRIS).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "GRADES",
    "REGLES",
    "SEUIL_FACTEUR",
    "SEUIL_IMPUTES",
    "infos_zones",
    "fiabilite",
    "motifs_zone",
]

#: Grades from the best to the worst.
GRADES = ("bonne", "moyenne", "faible")
#: Calibration factor above which an estimate is ``faible``.
SEUIL_FACTEUR = 2.0
#: Share of imputed grid cells from which a grid value is only ``moyenne``.
SEUIL_IMPUTES = 0.2
#: Vintage difference (years) above which a value compared with a reference is ``faible``.
SEUIL_MILLESIMES = 2

#: Rule id → (grade, French reason printed beside the value).
REGLES: dict[str, tuple[str, str]] = {
    "officiel": ("bonne", "valeur officielle"),
    "iris_entiers": ("bonne", "IRIS entiers"),
    "grille": ("bonne", "carroyage fin"),
    "grille_imputee": ("moyenne", "carroyage avec au moins 20 % de carreaux imputés"),
    "corrige": ("moyenne", "estimation corrigée de la dilution"),
    "approximation": ("moyenne", "taux IRIS pondérés par un dénominateur approché"),
    "coupe_cale": ("moyenne", "la zone coupe des IRIS (poids calés sur la population officielle)"),
    "coupe_grille": ("moyenne", "la zone coupe des IRIS (poids carroyés)"),
    "coupe_surface": ("faible", "la zone coupe des IRIS (poids de surface)"),
    "facteur": ("faible", "facteur de calage supérieur à 2"),
    "millesimes": ("faible", "millésimes distants de plus de 2 ans"),
    "iris_redessines": ("faible", "IRIS redessinés entre éditions"),
    "plausibilite": ("faible", "alerte de plausibilité"),
}

_ZONES = ("qpv", "veille")


def infos_zones(
    poids: pd.DataFrame,
    *,
    plausibilite: Iterable[str] = (),
    iris_redessines: Iterable[str] = (),
) -> pd.DataFrame:
    """Zone-level facts the grade needs, from the weights table of the run.

    Parameters
    ----------
    poids : DataFrame
        ``code_zone, code_iris, poids, methode`` (+ ``part_iris``,
        ``facteur_calibration``, ``methode_retrait`` when present).
    plausibilite : iterable of str
        Zones under a plausibility warning.
    iris_redessines : iterable of str
        IRIS codes redrawn or recoded between the geometry's and the statistics'
        editions.

    Returns
    -------
    DataFrame
        Indexed by ``code_zone``: ``coupe_iris`` (bool), ``methode_poids`` (methods of
        the cut IRIS, comma-separated), ``facteur_calibration`` (largest, NaN when not
        calibrated), ``plausibilite`` (bool), ``iris_redessines`` (codes, comma-separated,
        empty when none).

    Examples
    --------
    >>> p = pd.DataFrame({"code_zone": ["Q", "Q", "V"], "code_iris": ["1", "2", "3"],
    ...                   "poids": [0.2, 1.0, 1.0], "methode": ["surface", "surface",
    ...                   "iris_list"], "part_iris": [0.2, 1.0, float("nan")]})
    >>> infos_zones(p, iris_redessines=["2"])[["coupe_iris", "methode_poids",
    ...                                         "iris_redessines"]].values.tolist()
    [[True, 'surface', '2'], [False, '', '']]
    """
    p = poids.copy()
    part = p["part_iris"] if "part_iris" in p.columns else pd.Series(np.nan, index=p.index)
    # an IRIS is cut when the zone holds part of it (part_iris < 1) or part of its weight
    coupe = (part.astype("float64") < 0.999) | (p["poids"].astype("float64") < 0.999)
    p["_coupe"] = coupe.fillna(False)
    methode = p["methode"].astype(str)
    if "methode_retrait" in p.columns:
        retrait = p["methode_retrait"].fillna("").astype(str)
        methode = methode.where(retrait.eq(""), methode + "," + retrait)
    p["_methode"] = methode
    redess = set(map(str, iris_redessines))
    plaus = set(map(str, plausibilite))
    lignes = []
    for code, g in p.groupby("code_zone", sort=True):
        cut = g[g["_coupe"]]
        meths = sorted({m for x in cut["_methode"] for m in x.split(",") if m})
        fac = (
            g["facteur_calibration"].astype("float64").max()
            if "facteur_calibration" in g.columns
            else np.nan
        )
        lignes.append(
            {
                "code_zone": code,
                "coupe_iris": bool(len(cut)),
                "methode_poids": ",".join(meths),
                "facteur_calibration": fac,
                "plausibilite": str(code) in plaus,
                "iris_redessines": ",".join(sorted(set(g["code_iris"].astype(str)) & redess)),
            }
        )
    return pd.DataFrame(lignes).set_index("code_zone")


def fiabilite(
    table: pd.DataFrame,
    zones: pd.DataFrame | None = None,
    *,
    ecart_annees: pd.Series | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Grade and French reasons of each row of a long indicator table.

    Parameters
    ----------
    table : DataFrame
        ``niveau, territoire_code, valeur, statut, methode`` (+ ``part_imputee`` for grid
        values).
    zones : DataFrame, optional
        :func:`infos_zones` (zone rows without it are graded on their method only).
    ecart_annees : Series, optional
        Vintage difference with the reference each row is compared with.

    Returns
    -------
    (ndarray, ndarray)
        Grade (``None`` for a row without a value) and reasons (``"; "``-joined).

    Examples
    --------
    >>> t = pd.DataFrame({"niveau": ["qpv", "qpv", "commune"],
    ...     "territoire_code": ["Q", "Q", "13078"], "valeur": [1093.0, 79.0, 8510.0],
    ...     "statut": ["officiel", "estime", "estime"],
    ...     "methode": ["valeur_publiee_qpv", "ventilation_iris(surface)", "somme_iris"]})
    >>> z = pd.DataFrame({"coupe_iris": [True], "methode_poids": ["surface"],
    ...     "facteur_calibration": [float("nan")], "plausibilite": [True],
    ...     "iris_redessines": [""]}, index=pd.Index(["Q"], name="code_zone"))
    >>> g, m = fiabilite(t, z)
    >>> g.tolist()
    ['bonne', 'faible', 'bonne']
    >>> m[1]
    'la zone coupe des IRIS (poids de surface) ; alerte de plausibilité'
    """
    n = len(table)
    statut = table["statut"].astype(str).to_numpy()
    methode = table["methode"].fillna("").astype(str).to_numpy()
    niveau = table["niveau"].astype(str).to_numpy()
    code = table["territoire_code"].astype(str).to_numpy()
    motifs: list[list[str]] = [[] for _ in range(n)]

    def appliquer(masque, regle):
        for i in np.flatnonzero(masque):
            motifs[i].append(regle)

    officiel = statut == "officiel"
    grille = np.char.startswith(methode.astype(str), "grille") & ~officiel
    corrige = np.char.startswith(methode.astype(str), "correction") & ~officiel
    appliquer(officiel, "officiel")
    if "part_imputee" in table.columns:
        imp = table["part_imputee"].astype("float64").to_numpy()
        appliquer(grille & (imp >= SEUIL_IMPUTES), "grille_imputee")
        appliquer(grille & ~(imp >= SEUIL_IMPUTES), "grille")
    else:
        appliquer(grille, "grille")
    appliquer(corrige, "corrige")
    iris_estimes = ~officiel & ~grille & ~corrige
    appliquer(iris_estimes & (statut == "approximation"), "approximation")
    # corrected values are IRIS estimates too: the zone's weights still grade them
    zone = np.isin(niveau, _ZONES) & ~officiel & ~grille
    if zones is not None and len(zones):
        z = zones.reindex(code)
        coupe = z["coupe_iris"].fillna(False).to_numpy(dtype=bool) & zone
        meth = z["methode_poids"].fillna("").astype(str).to_numpy()
        surf = np.char.find(meth.astype(str), "surface") >= 0
        surf |= np.char.find(meth.astype(str), "iris_list") >= 0
        cale = np.char.find(meth.astype(str), "calibrated") >= 0
        dasy = np.char.find(meth.astype(str), "dasymetric") >= 0
        appliquer(coupe & surf & ~cale & ~dasy, "coupe_surface")
        appliquer(coupe & cale, "coupe_cale")
        appliquer(coupe & dasy & ~cale, "coupe_grille")
        fac = z["facteur_calibration"].astype("float64").to_numpy()
        appliquer(zone & (fac > SEUIL_FACTEUR), "facteur")
        appliquer(zone & z["plausibilite"].fillna(False).to_numpy(dtype=bool), "plausibilite")
        appliquer(
            zone & z["iris_redessines"].fillna("").astype(str).ne("").to_numpy(), "iris_redessines"
        )
        sans_regle = zone & ~coupe
    else:
        sans_regle = zone
    appliquer(sans_regle & ~corrige & np.array([not m for m in motifs]), "iris_entiers")
    appliquer(~np.isin(niveau, _ZONES) & iris_estimes & (statut != "approximation"), "iris_entiers")
    if ecart_annees is not None:
        d = pd.to_numeric(ecart_annees, errors="coerce").to_numpy(dtype="float64")
        appliquer(d > SEUIL_MILLESIMES, "millesimes")
    sans_valeur = table["valeur"].isna().to_numpy()
    grades = np.empty(n, dtype=object)
    textes = np.empty(n, dtype=object)
    rang = {g: i for i, g in enumerate(GRADES)}
    for i, ms in enumerate(motifs):
        if sans_valeur[i]:
            grades[i], textes[i] = None, None
            continue
        ms = list(dict.fromkeys(ms)) or ["iris_entiers"]
        pire = max(ms, key=lambda r: rang[REGLES[r][0]])
        grades[i] = REGLES[pire][0]
        # the reasons shown are those of the grade given (the worst ones)
        textes[i] = " ; ".join(REGLES[r][1] for r in ms if REGLES[r][0] == grades[i])
    return grades, textes


def motifs_zone(infos: Mapping) -> list[str]:
    """French sentences on a zone's weights for its sheet (calibration factor, redrawn IRIS).

    Examples
    --------
    >>> m = motifs_zone({"facteur_calibration": 13.8, "iris_redessines": "130470115"})
    >>> m[0]
    'poids calés sur la population officielle (facteur 13,8 : supérieur à 2, fiabilité faible)'
    >>> m[1][-9:]
    '130470115'
    """
    out = []
    f = infos.get("facteur_calibration")
    if f is not None and np.isinf(f):
        out.append(
            "poids calés sur la population officielle et plafonnés à 1 : ses IRIS "
            "ne peuvent pas contenir toute la population officielle (fiabilité faible)"
        )
    elif f is not None and not pd.isna(f):
        txt = f"poids calés sur la population officielle (facteur {f:.1f}".replace(".", ",")
        txt += " : supérieur à 2, fiabilité faible)" if f > SEUIL_FACTEUR else ")"
        out.append(txt)
    r = infos.get("iris_redessines")
    if r:
        out.append(
            f"IRIS redessinés entre l’édition de la géométrie et celle des statistiques : {r}"
        )
    return out
