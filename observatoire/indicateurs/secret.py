"""Secret statistique: publication threshold and complement suppression.

Primary suppression: a value whose (apportioned) denominator — or, for a count,
the count itself — is below the codebook's ``seuil_denominateur`` is published
as ``secret``: value, numerator and denominator set to NaN.

Complement suppression: every published IRIS aggregate is a linear combination
of IRIS counts (its weight vector). A suppressed cell is recoverable by
difference (commune minus its QPV, an IRIS group minus the QPV inside it, EPCI
minus its communes, a zone from its IRIS...) exactly when its weight vector lies
in the span of the published cells' vectors. While a primary cell is
recoverable, the published cell that takes part in the recovery with the lowest
level (IRIS first, then zones, communes, EPCI...) and the smallest denominator
is suppressed as well (status ``secret``, note ``secret par complément``).

Official values published by others (commune/département/QPV tables) are not
part of the linear system: their numerators are not ours to publish.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from observatoire.indicateurs.codebook import Codebook, charger_codebook
from observatoire.rapport import Rapport

__all__ = ["appliquer_secret", "vecteurs_territoires", "ORDRE_COMPLEMENT"]

#: Order in which published cells are chosen for complement suppression.
ORDRE_COMPLEMENT = ("iris", "veille", "qpv", "commune", "epci", "departement", "france")

_ORIGINES_LINEAIRES = ("insee", "ptod")


def vecteurs_territoires(
    niveaux: Mapping[str, pd.DataFrame | Iterable[str] | None],
) -> dict[tuple[str, str], dict[str, float]]:
    """Weight vector over IRIS of every territory, keyed by ``(niveau, code)``.

    Examples
    --------
    >>> p = pd.DataFrame({"code_zone": ["Z", "Z"], "code_iris": ["1", "2"], "poids": [1.0, .5]})
    >>> vecteurs_territoires({"qpv": p})[("qpv", "Z")]
    {'1': 1.0, '2': 0.5}
    """
    out: dict[tuple[str, str], dict[str, float]] = {}
    for niveau, poids in niveaux.items():
        if niveau == "iris" or poids is None or not isinstance(poids, pd.DataFrame):
            continue
        p = poids[poids["poids"] > 0]
        s = p.groupby([p["code_zone"].astype(str), p["code_iris"].astype(str)])["poids"].sum()
        for (zone, iris), w in s.items():
            out.setdefault((niveau, zone), {})[iris] = float(w)
    return out


def _vecteur(niveau: str, code: str, vecteurs) -> dict[str, float] | None:
    if niveau == "iris":
        return {str(code): 1.0}
    return vecteurs.get((niveau, str(code)))


def appliquer_secret(
    table: pd.DataFrame,
    niveaux: Mapping[str, pd.DataFrame | Iterable[str] | None] | None = None,
    *,
    codebook: Codebook | None = None,
    complement: bool = True,
    tolerance: float = 1e-9,
    max_iterations: int = 200,
    iris_presents: Mapping[tuple[str, int], set[str]] | None = None,
    origines: Iterable[str] = _ORIGINES_LINEAIRES,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """Apply the publication threshold, then complement suppression.

    Parameters
    ----------
    table : DataFrame
        Long indicator table (:mod:`observatoire.indicateurs.consolidation`).
    niveaux : mapping, optional
        The weights tables used to build the table (level → ``code_zone, code_iris,
        poids``); needed for complement suppression.
    codebook : Codebook, optional
    complement : bool
        Run complement suppression (default True).
    tolerance : float
        Relative residual below which a cell counts as recoverable.
    max_iterations : int
        Safety bound on complement rounds per indicator × year.
    iris_presents : mapping, optional
        ``(origine, annee)`` → IRIS codes of the source table. IRIS absent from it
        (e.g. activity IRIS absent from type-H tables) contribute nothing to any
        aggregate, so they are left out of the territories' vectors.
    origines : iterable of str
        Origins of the rows that are sums of the units of ``niveaux`` (default: the
        INSEE and ptod IRIS aggregates; a partner's counts pass their own).
    rapport : Rapport, optional

    Returns
    -------
    DataFrame
        A new table; suppressed rows have status ``secret`` and NaN value, numerator
        and denominator. The input is not modified.
    """
    codebook = codebook or charger_codebook()
    out = table.copy()
    if out.empty:
        return out
    seuils = {(i.id, i.sexe): i.seuil_denominateur for i in codebook}
    types = {(i.id, i.sexe): i.type for i in codebook}
    cle = list(zip(out["indicateur"], out["sexe"], strict=True))
    seuil = np.array([seuils.get(k, 0.0) for k in cle], dtype="float64")
    effectif = np.array([types.get(k) == "effectif" for k in cle])
    base = np.where(
        effectif,
        out["valeur"].to_numpy(dtype="float64"),
        out["denominateur"].to_numpy(dtype="float64"),
    )
    eligibles = (
        out["origine"].isin(list(origines))
        & out["statut"].isin(["estime", "estime_corrige", "approximation", "officiel"])
        & out["valeur"].notna()
    ).to_numpy()
    primaire = eligibles & (seuil > 0) & ~np.isnan(base) & (base < seuil)
    # A territory with a zero denominator (no inhabitants) has no rate, but everyone knows
    # it contributes nothing: it counts as published in the linear system.
    zero = (
        out["origine"].isin(list(origines)).to_numpy()
        & out["valeur"].isna().to_numpy()
        & (out["denominateur"].to_numpy(dtype="float64") == 0)
    )
    out["_primaire"] = primaire
    out["_secret"] = primaire.copy()
    out["_zero"] = zero
    if complement and niveaux is not None and primaire.any():
        vecteurs = vecteurs_territoires(niveaux)
        groupes = out[eligibles | zero].groupby(
            ["indicateur", "sexe", "annee", "origine"], sort=False
        )
        for (ident, sexe, annee, origine), g in groupes:
            if not g["_primaire"].any():
                continue
            presents = None if iris_presents is None else iris_presents.get((origine, annee))
            caches = _complement(
                g,
                vecteurs,
                tolerance,
                max_iterations,
                rapport,
                seuils.get((ident, sexe), 0.0),
                presents,
            )
            out.loc[caches, "_secret"] = True
    n_prim = int(out["_primaire"].sum())
    n_comp = int((out["_secret"] & ~out["_primaire"]).sum())
    sec = out["_secret"].to_numpy()
    out.loc[sec, ["valeur", "numerateur", "denominateur"]] = np.nan
    out.loc[sec, "statut"] = "secret"
    prim = out["_primaire"].to_numpy()
    out.loc[prim, "note"] = "secret : dénominateur sous le seuil de publication"
    out.loc[sec & ~prim, "note"] = "secret par complément (empêche le calcul par différence)"
    if rapport is not None and (n_prim or n_comp):
        rapport.info(
            "secret",
            "indicateurs",
            f"{n_prim} valeur(s) sous le seuil, {n_comp} supprimée(s) par complément",
            n=n_prim + n_comp,
        )
    return out.drop(columns=["_primaire", "_secret", "_zero"])


def _complement(
    g: pd.DataFrame,
    vecteurs,
    tol: float,
    max_it: int,
    rapport,
    seuil: float = 0.0,
    presents: set[str] | None = None,
) -> list:
    """Indexes of ``g`` to suppress in complement (one indicator × year × origin).

    Tested for recovery: each primary cell, and the sum of the hidden cells lying
    inside one published cell when their combined denominator is below the threshold
    (two small IRIS of one commune must not be recoverable together either).
    """
    cellules = []
    for idx, niv, code in zip(g.index, g["niveau"], g["territoire_code"], strict=True):
        v = _vecteur(niv, code, vecteurs)
        if v is not None and presents is not None:
            v = {i: w for i, w in v.items() if i in presents}
        if v is not None and len(v):
            cellules.append((idx, niv, v))
    if not cellules:
        return []
    colonnes = sorted({c for _, _, v in cellules for c in v})
    pos = {c: i for i, c in enumerate(colonnes)}
    M = np.zeros((len(cellules), len(colonnes)))
    for r, (_, _, v) in enumerate(cellules):
        M[r, [pos[c] for c in v]] = list(v.values())
    index = np.array([c[0] for c in cellules])
    niv = np.array([c[1] for c in cellules])
    rang_niv = np.array(
        [ORDRE_COMPLEMENT.index(n) if n in ORDRE_COMPLEMENT else len(ORDRE_COMPLEMENT) for n in niv]
    )
    den = g.loc[index, "denominateur"].fillna(g.loc[index, "valeur"]).to_numpy(dtype="float64")
    primaire = g.loc[index, "_primaire"].to_numpy()
    zero = g.loc[index, "_zero"].to_numpy()
    cache = primaire.copy()
    caches_comp: list = []
    support = M != 0
    for _ in range(max_it):
        publie = ~cache
        if not publie.any():
            break
        P = M[publie]
        tests = [M[primaire]]
        caches_ids = np.flatnonzero(cache)
        if seuil > 0 and len(caches_ids) > 1:
            for c in np.flatnonzero(publie & ~zero):
                dedans = caches_ids[~(support[caches_ids] & ~support[c]).any(axis=1)]
                if len(dedans) > 1 and np.nansum(den[dedans]) < seuil:
                    tests.append(M[dedans].sum(axis=0, keepdims=True))
        S = np.vstack(tests)
        # Least squares: is each primary vector a combination of the published ones?
        coef, *_ = np.linalg.lstsq(P.T, S.T, rcond=None)
        residu = np.linalg.norm(P.T @ coef - S.T, axis=0)
        echelle = np.maximum(np.linalg.norm(S, axis=1), 1.0)
        recuperables = residu < tol * 1e3 * echelle
        if not recuperables.any():
            break
        # Cells involved in recovering the first recoverable vector: lowest level first
        # (IRIS before zones, communes, EPCI...), then the most local (inside the smallest
        # published cell containing it, inside any such cell, touching it), then the
        # smallest denominator.
        j = int(np.argmax(recuperables))
        implique = np.abs(coef[:, j]) > 1e-9
        ids_publies = np.flatnonzero(publie)
        candidats = ids_publies[implique]
        candidats = candidats[~zero[candidats]]
        if len(candidats) == 0:
            break
        cible = S[j] != 0
        parents = ids_publies[~(cible & ~support[ids_publies]).any(axis=1)]
        localite = np.full(len(candidats), 3)
        localite[(support[candidats] & cible).any(axis=1)] = 2
        if len(parents):
            taille = support[parents].sum(axis=1)
            for rang, parent in ((1, None), (0, parents[np.argmin(taille)])):
                for par in [parent] if parent is not None else parents:
                    dedans = ~(support[candidats] & ~support[par]).any(axis=1)
                    dedans &= candidats != par
                    localite[dedans] = np.minimum(localite[dedans], rang)
        ordre = np.lexsort(
            (np.nan_to_num(den[candidats], nan=np.inf), localite, rang_niv[candidats])
        )
        choisi = candidats[ordre[0]]
        cache[choisi] = True
        caches_comp.append(index[choisi])
    else:
        if rapport is not None:
            rapport.avertir(
                "secret",
                "indicateurs",
                "secret par complément arrêté après "
                f"{max_it} itérations pour {g['indicateur'].iloc[0]} {g['annee'].iloc[0]}",
            )
    return caches_comp
