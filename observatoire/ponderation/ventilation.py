"""Apportion IRIS counts to zones with a weights table (*ventilation*).

Counts (extensive variables) are apportioned: the zone receives
``Σ_i poids(z, i) × valeur(i)``. Rates are never apportioned; they are
recomputed downstream from apportioned numerators and denominators.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from observatoire.rapport import ErreurDonnees

__all__ = ["ventiler"]


def ventiler(
    poids: pd.DataFrame,
    table: pd.DataFrame,
    variables: Sequence[str],
    *,
    code_zone: str = "code_zone",
    code_iris: str = "code_iris",
    colonne_poids: str = "poids",
) -> pd.DataFrame:
    r"""Apportion the counts of ``table`` to the zones of ``poids``.

    Parameters
    ----------
    poids : DataFrame
        One row per (zone, IRIS) with ``colonne_poids`` in [0, 1]: the share of the
        IRIS's stock attributed to the zone.
    table : DataFrame
        One row per IRIS with the count ``variables``. NaN means missing or secret.
    variables : sequence of str
        Count columns of ``table`` to apportion.
    code_zone, code_iris, colonne_poids : str
        Column names.

    Returns
    -------
    DataFrame
        One row per zone: ``code_zone``, each variable, ``n_iris`` (IRIS with a
        positive weight) and ``<variable>__manquant`` (how many of those IRIS are
        absent from ``table`` or NaN for that variable). A zone with any missing
        contributing IRIS gets NaN for that variable, never a partial sum.

    Notes
    -----
    .. math:: \hat{X}_z = \sum_i w_{zi} X_i

    Over a partition of the territory (zones plus their complement) the weights
    of each IRIS sum to 1, so apportioned counts sum to the IRIS totals (mass
    preservation).

    Examples
    --------
    >>> poids = pd.DataFrame({"code_zone": ["A", "A", "B"],
    ...                       "code_iris": ["1", "2", "2"], "poids": [0.5, 0.25, 0.75]})
    >>> table = pd.DataFrame({"code_iris": ["1", "2"], "pop": [100.0, 40.0]})
    >>> ventiler(poids, table, ["pop"])[["code_zone", "pop"]].to_dict("list")
    {'code_zone': ['A', 'B'], 'pop': [60.0, 30.0]}
    """
    variables = list(variables)
    for nom, frame, cols in (
        ("poids", poids, [code_zone, code_iris, colonne_poids]),
        ("table", table, [code_iris, *variables]),
    ):
        manquantes = [c for c in cols if c not in frame.columns]
        if manquantes:
            raise ErreurDonnees(
                f"ventiler : colonne(s) {manquantes} absente(s) du DataFrame {nom} "
                f"(colonnes : {list(frame.columns)})"
            )
    if table[code_iris].duplicated().any():
        doublons = table.loc[table[code_iris].duplicated(), code_iris].unique()[:10].tolist()
        raise ErreurDonnees(f"ventiler : codes IRIS répétés dans la table : {doublons}")

    p = poids[[code_zone, code_iris, colonne_poids]]
    p = p[p[colonne_poids] > 0]
    valeurs = table[[code_iris, *variables]].astype({v: "float64" for v in variables})
    joint = p.merge(valeurs, on=code_iris, how="left")
    w = joint[colonne_poids].to_numpy(dtype="float64")
    contrib = pd.DataFrame(
        {v: w * joint[v].to_numpy(dtype="float64") for v in variables}, index=joint.index
    )
    manque = pd.DataFrame(
        {f"{v}__manquant": joint[v].isna().to_numpy() for v in variables}, index=joint.index
    )
    cles = joint[code_zone]
    sommes = contrib.groupby(cles, sort=True).sum(min_count=1)
    n_manq = manque.groupby(cles, sort=True).sum().astype("int64")
    for v in variables:
        sommes.loc[n_manq[f"{v}__manquant"] > 0, v] = np.nan
    n_iris = joint.groupby(cles, sort=True)[code_iris].nunique().rename("n_iris")
    out = pd.concat([sommes, n_iris, n_manq], axis=1).reset_index()
    return out.rename(columns={out.columns[0]: code_zone})
