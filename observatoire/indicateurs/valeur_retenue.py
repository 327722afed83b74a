"""Value of record: which of the values held for one territory × indicator × sex is shown.

The observatory often holds several values of the same indicator for a zone: an
official value published for the zone, a direct aggregation of a fine grid, an
IRIS-based estimate corrected for dilution, and IRIS-based estimates under one
weighting method or another. The order between them is the rule table
:data:`RANGS` (data, not code): the first rule a row matches gives its rank, the
lowest rank wins, and a row without a value always loses to a row with one.

1. ``officiel``: status ``officiel`` (QPV tables, commune/département tables,
   INSEE IRIS values);
2. ``grille``: method starting with ``grille`` (fine grid aggregated on the zone);
3. ``corrige``: method starting with ``correction`` (IRIS estimate corrected for
   dilution, validated out of sample);
4. ``iris_entiers``: ``somme_iris`` / ``appartenance`` (zone made of whole IRIS);
5. ``iris_cale``: IRIS counts apportioned with calibrated weights;
6. ``iris_dasymetrique``: IRIS counts apportioned with grid (dasymetric) weights;
7. ``iris_surface``: IRIS counts apportioned with surface or IRIS-list weights;
8. ``estimation``: any other estimate (status ``estime`` / ``estime_corrige``);
9. ``approximation``: status ``approximation`` (rates published without counts,
   weighted by an approximate denominator);
10. ``autre``: anything else.

Census vintages: a value belongs to the census vintage nearest to its own year
(ties go to the later one), see :func:`millesime_proche`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "RegleRang",
    "RANGS",
    "rang_valeurs",
    "valeurs_retenues",
    "millesime_proche",
]


@dataclass(frozen=True)
class RegleRang:
    """One rule of the value-of-record order.

    Attributes
    ----------
    rang : int
        Lower wins.
    nom : str
        Identifier of the rule (written in the ``rang_valeur`` column).
    statuts : tuple of str, optional
        Statuses the rule matches (any when empty).
    methode : str, optional
        Regular expression searched in ``methode`` (any when None).
    libelle : str
        French description.
    """

    rang: int
    nom: str
    statuts: tuple[str, ...] = ()
    methode: str | None = None
    libelle: str = ""


#: The value-of-record order (see the module docstring).
RANGS: tuple[RegleRang, ...] = (
    RegleRang(1, "officiel", ("officiel",), None, "valeur officielle publiée"),
    RegleRang(2, "grille", (), r"^grille", "agrégation directe d'un carroyage"),
    RegleRang(3, "corrige", (), r"^correction", "estimation IRIS corrigée de la dilution"),
    RegleRang(4, "iris_entiers", (), r"^(somme_iris|appartenance)", "somme d'IRIS entiers"),
    RegleRang(
        5,
        "iris_cale",
        ("estime", "estime_corrige"),
        r"calibrated",
        "IRIS ventilés avec des poids calés sur la population officielle",
    ),
    RegleRang(
        6,
        "iris_dasymetrique",
        ("estime", "estime_corrige"),
        r"dasymetric",
        "IRIS ventilés avec des poids carroyés (dasymétriques)",
    ),
    RegleRang(
        7,
        "iris_surface",
        ("estime", "estime_corrige"),
        r"surface|iris_list",
        "IRIS ventilés avec des poids de surface",
    ),
    RegleRang(8, "estimation", ("estime", "estime_corrige"), None, "autre estimation"),
    RegleRang(
        9,
        "approximation",
        ("approximation",),
        None,
        "taux IRIS pondérés par un dénominateur approché",
    ),
    RegleRang(10, "autre", (), None, "autre valeur"),
)

#: Added to the rank of a row without a value (secret, missing).
PENALITE_SANS_VALEUR = 100


def rang_valeurs(
    table: pd.DataFrame, regles: Sequence[RegleRang] = RANGS
) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each row under ``regles`` and the name of the rule it matched.

    Parameters
    ----------
    table : DataFrame
        ``statut``, ``methode`` and ``valeur`` columns.
    regles : sequence of RegleRang

    Returns
    -------
    (ndarray of int, ndarray of str)

    Examples
    --------
    >>> t = pd.DataFrame({"statut": ["estime", "officiel", "approximation", "manquant"],
    ...                   "methode": ["ventilation_iris(surface)", "valeur_publiee_qpv",
    ...                               "taux_iris_pondere_par_p_pop", "non_additif"],
    ...                   "valeur": [79.0, 1093.0, 8.0, float("nan")]})
    >>> r, n = rang_valeurs(t)
    >>> r.tolist(), n.tolist()
    ([7, 1, 9, 110], ['iris_surface', 'officiel', 'approximation', 'autre'])
    """
    n = len(table)
    statut = table["statut"].astype(str).to_numpy()
    methode = table["methode"].fillna("").astype(str).to_numpy()
    rang = np.full(n, -1, dtype="int64")
    nom = np.full(n, "", dtype=object)
    for r in sorted(regles, key=lambda r: r.rang):
        ok = rang < 0
        if r.statuts:
            ok &= np.isin(statut, r.statuts)
        if r.methode is not None:
            motif = re.compile(r.methode)
            ok &= np.fromiter((bool(motif.search(m)) for m in methode), bool, n)
        rang[ok] = r.rang
        nom[ok] = r.nom
    rang[rang < 0] = max(r.rang for r in regles) + 1
    sans = table["valeur"].isna().to_numpy()
    rang[sans] += PENALITE_SANS_VALEUR
    return rang, nom


def valeurs_retenues(
    table: pd.DataFrame,
    cles: Sequence[str] = ("niveau", "territoire_code", "indicateur", "sexe", "annee"),
    *,
    regles: Sequence[RegleRang] = RANGS,
) -> pd.DataFrame:
    """One row per key: the value of record under the rank rules.

    Returns the winning rows with every input column, plus ``rang_valeur`` (the
    name of the rule matched). Ties keep the first row in table order.

    Examples
    --------
    >>> t = pd.DataFrame({"niveau": ["qpv"] * 2, "territoire_code": ["Q"] * 2,
    ...     "indicateur": ["population"] * 2, "sexe": ["ensemble"] * 2, "annee": [2020] * 2,
    ...     "valeur": [79.0, 1093.0], "statut": ["estime", "officiel"],
    ...     "methode": ["ventilation_iris(surface)", "valeur_publiee_qpv"]})
    >>> valeurs_retenues(t)[["valeur", "rang_valeur"]].values.tolist()
    [[1093.0, 'officiel']]
    """
    cles = list(cles)
    rang, nom = rang_valeurs(table, regles)
    t = table.assign(_rang=rang, rang_valeur=nom)
    t = t.sort_values([*cles, "_rang"], kind="stable").drop_duplicates(cles, keep="first")
    return t.drop(columns="_rang").reset_index(drop=True)


def millesime_proche(annees, millesimes: Sequence[int]) -> np.ndarray:
    """Census vintage nearest to each year (ties go to the later vintage).

    Examples
    --------
    >>> millesime_proche([2020, 2019, 2011, 2013, 2030], [2011, 2016, 2022]).tolist()
    [2022, 2022, 2011, 2011, 2022]
    >>> millesime_proche([2019], [2016, 2022]).tolist()  # 3 years from each: the later
    [2022]
    """
    a = np.asarray(annees, dtype="int64")
    m = np.sort(np.asarray(list(millesimes), dtype="int64"))
    if m.size == 0:
        return np.full(a.shape, -1, dtype="int64")
    d = np.abs(a[:, None] - m[None, :])
    # reversed so that argmin picks the later vintage on ties
    i = d[:, ::-1].argmin(axis=1)
    return m[::-1][i]
