"""Application of the dilution correction to the long indicator table of a run."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from observatoire.correction.modeles import FORMES, ModeleCorrection, _texte_coefficients

__all__ = ["zones_iris_coupes", "corriger"]

_STATUTS_ESTIMES = ("estime", "estime_corrige", "approximation")


def zones_iris_coupes(poids: pd.DataFrame) -> set[str]:
    """Zones of a weights table that cut at least one IRIS (some weight below 1).

    Examples
    --------
    >>> p = pd.DataFrame({"code_zone": ["Q", "Q", "V"], "code_iris": ["1", "2", "3"],
    ...                   "poids": [1.0, 0.3, 1.0]})
    >>> zones_iris_coupes(p)
    {'Q'}
    """
    p = poids[poids["poids"] > 0]
    coupe = p.groupby("code_zone")["poids"].agg(
        lambda w: not np.allclose(w.to_numpy(dtype="float64"), 1.0)
    )
    return {str(z) for z in coupe[coupe].index}


def _valeurs_communes(indicateurs: pd.DataFrame, communes, cles: pd.DataFrame) -> np.ndarray:
    """Commune value of each row of ``cles`` (zone, indicator, sex, vintage)."""
    if isinstance(communes, pd.DataFrame):
        on = [
            c for c in ("territoire_code", "indicateur", "sexe", "annee") if c in communes.columns
        ]
        col = "valeur_commune" if "valeur_commune" in communes.columns else "valeur"
        ref = communes[[*on, col]].drop_duplicates(on)
        if "annee" in on:
            ref = ref.assign(annee=ref["annee"].astype("int64"))
            cles = cles.assign(annee=cles["annee"].astype("int64"))
        return cles[on].merge(ref, on=on, how="left")[col].to_numpy(dtype="float64")
    from observatoire.indicateurs.valeur_retenue import valeurs_retenues

    # the commune's value of record (the rule every reference of the run follows)
    c = valeurs_retenues(
        indicateurs[indicateurs["niveau"] == "commune"],
        ["territoire_code", "indicateur", "sexe", "annee"],
    )
    c = c[c["valeur"].notna()].assign(annee=lambda d: d["annee"].astype("int64"))
    k = cles.assign(
        territoire_code=cles["territoire_code"].map(dict(communes)),
        annee=cles["annee"].astype("int64"),
    )
    return k.merge(
        c[["territoire_code", "indicateur", "sexe", "annee", "valeur"]],
        on=["territoire_code", "indicateur", "sexe", "annee"],
        how="left",
    )["valeur"].to_numpy(dtype="float64")


def _fr(x: float) -> str:
    return f"{x:.1f}".replace(".", ",")


def corriger(
    indicateurs: pd.DataFrame,
    modele: ModeleCorrection,
    *,
    zones_coupees: set[str],
    communes: Mapping[str, str] | pd.DataFrame,
) -> pd.DataFrame:
    """Return new rows with the dilution-corrected value of the zones that cut IRIS.

    Only rows of level ``qpv``/``veille`` whose zone is in ``zones_coupees``, whose
    indicator has an applied model and whose status is an estimate (``estime``,
    ``estime_corrige``, ``approximation``) are corrected. Zones made of whole IRIS are
    outside the model's domain and get nothing: their estimate is not diluted by the
    rest of an IRIS. Corrected rates and interval bounds are clipped to [0, 100].

    Parameters
    ----------
    indicateurs : DataFrame
        Long indicator table (:data:`observatoire.indicateurs.COLONNES`).
    modele : ModeleCorrection
        From :func:`ajuster`.
    zones_coupees : set of str
        Zones that cut at least one IRIS (:func:`zones_iris_coupes` of the weights).
    communes : mapping or DataFrame
        Zone code → commune code (the commune value is then read from the commune rows
        of ``indicateurs``, official value first), or a frame ``territoire_code,
        indicateur[, sexe][, annee], valeur_commune`` with each zone's commune value.

    Returns
    -------
    DataFrame
        Only the new rows (the original ones are not modified): same columns plus
        ``valeur_non_corrigee, intervalle_bas, intervalle_haut``; ``statut =
        "estime_corrige"``, ``methode = "correction_dilution(<forme>)"``, a French
        ``note``. Numerator and denominator are emptied (the value is no longer their
        ratio).
    """
    colonnes = [
        *indicateurs.columns,
        *(["note"] if "note" not in indicateurs.columns else []),
        "valeur_non_corrigee",
        "intervalle_bas",
        "intervalle_haut",
    ]
    t = indicateurs[
        indicateurs["niveau"].isin(["qpv", "veille"])
        & indicateurs["territoire_code"].astype(str).isin(set(zones_coupees))
        & indicateurs["statut"].isin(_STATUTS_ESTIMES)
        & ~indicateurs["methode"].astype(str).str.startswith("correction")
        & indicateurs["valeur"].notna()
    ]
    morceaux = []
    for (ind, sexe), g in t.groupby(["indicateur", "sexe"], sort=True):
        m = modele.modele(ind, sexe)
        if m is None:
            continue
        c = _valeurs_communes(
            indicateurs, communes, g[["territoire_code", "indicateur", "sexe", "annee"]]
        )
        g, c = g[~np.isnan(c)], c[~np.isnan(c)]
        if g.empty:
            continue
        p = m.predire(g["valeur"].to_numpy(dtype="float64"), c, modele.alpha)
        n = g.copy()
        n["valeur_non_corrigee"] = g["valeur"].to_numpy()
        n["valeur"] = p["valeur"].clip(0, 100).to_numpy()
        n["intervalle_bas"] = p["bas"].clip(0, 100).to_numpy()
        n["intervalle_haut"] = p["haut"].clip(0, 100).to_numpy()
        n["statut"] = "estime_corrige"
        n["methode"] = f"correction_dilution({m.forme})"
        if "formule" in n.columns:
            n["formule"] = f"{FORMES[m.forme]} ({_texte_coefficients(m.coefficients)})"
        for col in ("numerateur", "denominateur"):
            if col in n.columns:
                n[col] = np.nan
        v = m.validation
        n["note"] = [
            f"Estimation IRIS corrigée de la dilution (modèle « {FORMES[m.forme]} », appris "
            f"sur {m.n} QPV de {len(m.communes)} communes : valeurs officielles "
            f"{modele.annee_officielle}, estimations IRIS {modele.annee_estimation} ; "
            f"validation par commune exclue : erreur absolue moyenne "
            f"{_fr(v['mae_avant'])} → {_fr(v['mae_apres'])} points). Valeur non corrigée "
            f"{_fr(a)}, commune {_fr(b)}, intervalle à {100 * (1 - modele.alpha):.0f} % "
            f"[{_fr(lo)} ; {_fr(hi)}]."
            for a, b, lo, hi in zip(
                n["valeur_non_corrigee"], c, n["intervalle_bas"], n["intervalle_haut"], strict=True
            )
        ]
        morceaux.append(n)
    if not morceaux:
        return pd.DataFrame(columns=colonnes)
    return pd.concat(morceaux, ignore_index=True)[colonnes]
