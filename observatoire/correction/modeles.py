"""Forms of the dilution correction, grouped cross-validation and the fitted models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FORMES",
    "COLONNES_RAPPORT",
    "ALPHA",
    "plis_par_commune",
    "valider",
    "ModeleIndicateur",
    "ModeleCorrection",
    "ajuster",
]

#: Candidate forms and the French formula printed in notes.
FORMES = {
    "dilution": "officiel − commune = k·(estimation − commune)",
    "dilution_constante": "officiel − commune = a + k·(estimation − commune)",
    "lineaire": "officiel = a + b·estimation + g·commune",
}
#: Leading columns of the validation report (one row per indicator).
COLONNES_RAPPORT = [
    "indicateur",
    "sexe",
    "n",
    "n_communes",
    "modele",
    "coefficients",
    "mae_avant",
    "mae_apres",
    "medae_avant",
    "medae_apres",
    "biais_avant",
    "biais_apres",
    "couverture_intervalle",
    "applique",
]
ALPHA = 0.2  # 80 % prediction intervals
_MIN_ZONES, _MIN_COMMUNES = 8, 3


def _exog(forme: str, estimation, commune) -> tuple[pd.DataFrame, np.ndarray]:
    """Design matrix and offset (the prediction is offset + exog · params)."""
    e = np.asarray(estimation, dtype="float64")
    c = np.asarray(commune, dtype="float64")
    if forme == "dilution":
        return pd.DataFrame({"k": e - c}), c
    if forme == "dilution_constante":
        return pd.DataFrame({"a": np.ones_like(e), "k": e - c}), c
    if forme == "lineaire":
        return pd.DataFrame({"a": np.ones_like(e), "b": e, "g": c}), np.zeros_like(e)
    raise ValueError(f"forme inconnue {forme!r} ; choisir parmi {list(FORMES)}")


def _ajuster_forme(forme: str, d: pd.DataFrame):
    import statsmodels.api as sm

    x, decalage = _exog(forme, d["estimation"], d["commune"])
    return sm.OLS(d["officiel"].to_numpy(dtype="float64") - decalage, x).fit()


def _predire(resultat, forme: str, estimation, commune, alpha: float = ALPHA) -> pd.DataFrame:
    x, decalage = _exog(forme, estimation, commune)
    sf = resultat.get_prediction(x).summary_frame(alpha=alpha)
    return pd.DataFrame(
        {
            "valeur": sf["mean"].to_numpy() + decalage,
            "bas": sf["obs_ci_lower"].to_numpy() + decalage,
            "haut": sf["obs_ci_upper"].to_numpy() + decalage,
        }
    )


def plis_par_commune(groupes) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-commune-out folds: ``(train, test)`` positions, one fold per commune.

    Examples
    --------
    >>> [(a.tolist(), t.tolist()) for a, t in plis_par_commune(["A", "B", "A"])]
    [([1], [0, 2]), ([0, 2], [1])]
    """
    g = np.asarray(groupes, dtype=object)
    pos = np.arange(len(g))
    return [(pos[g != c], pos[g == c]) for c in pd.unique(g)]


def _hors_echantillon(forme: str, d: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Out-of-sample predictions of every zone (NaN where its fold is too small)."""
    out = pd.DataFrame(np.nan, index=range(len(d)), columns=["valeur", "bas", "haut"])
    n_params = _exog(forme, [0.0], [0.0])[0].shape[1]
    for train, test in plis_par_commune(d["code_commune"]):
        if len(train) <= n_params + 1:
            continue
        res = _ajuster_forme(forme, d.iloc[train])
        p = _predire(res, forme, d["estimation"].iloc[test], d["commune"].iloc[test], alpha)
        out.iloc[test] = p.to_numpy()
    return out


def _coefficients(resultat) -> dict[str, float]:
    return {k: float(v) for k, v in resultat.params.items()}


def _texte_coefficients(coefs: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:.3f}" for k, v in coefs.items())


def valider(
    entrainement: pd.DataFrame,
    indicateurs: Iterable[str] | None = None,
    *,
    formes: Iterable[str] = tuple(FORMES),
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Leave-one-commune-out validation of every form, per indicator.

    Parameters
    ----------
    entrainement : DataFrame
        From :func:`donnees_entrainement` (``code_commune, indicateur, sexe, officiel,
        estimation, commune``).
    indicateurs : iterable of str, optional
        Default: every indicator of the training set.
    formes : iterable of str
        Candidate forms (keys of :data:`FORMES`).
    alpha : float
        1 − level of the prediction intervals (0.2: 80 %).

    Returns
    -------
    DataFrame
        :data:`COLONNES_RAPPORT` then ``mae_<forme>, medae_<forme>`` for every form.
        ``mae`` is the mean absolute error against the official value, ``medae`` the
        median one, ``biais`` the mean signed error (estimate − official), all out of
        sample; ``avant`` is the uncorrected estimate. ``modele`` is the form with the
        lowest ``medae``; its ``coefficients`` are fitted on all zones;
        ``couverture_intervalle`` is the share of official values inside their
        out-of-sample interval. ``applique`` is true only where the form lowers both
        the mean and the median absolute error.
    """
    formes = list(formes)
    lignes = []
    cles = entrainement[["indicateur", "sexe"]].drop_duplicates()
    if indicateurs is not None:
        cles = cles[cles["indicateur"].isin(list(indicateurs))]
    for ind, sexe in cles.itertuples(index=False):
        d = entrainement[(entrainement["indicateur"] == ind) & (entrainement["sexe"] == sexe)]
        d = d.dropna(subset=["officiel", "estimation", "commune", "code_commune"])
        d = d.reset_index(drop=True)
        y = d["officiel"].to_numpy(dtype="float64")
        err0 = d["estimation"].to_numpy(dtype="float64") - y
        ligne: dict[str, Any] = {
            "indicateur": ind,
            "sexe": sexe,
            "n": len(d),
            "n_communes": d["code_commune"].nunique(),
            "modele": None,
            "coefficients": None,
            "mae_avant": np.mean(np.abs(err0)) if len(d) else np.nan,
            "mae_apres": np.nan,
            "medae_avant": np.median(np.abs(err0)) if len(d) else np.nan,
            "medae_apres": np.nan,
            "biais_avant": np.mean(err0) if len(d) else np.nan,
            "biais_apres": np.nan,
            "couverture_intervalle": np.nan,
            "applique": False,
        }
        assez = len(d) >= _MIN_ZONES and ligne["n_communes"] >= _MIN_COMMUNES
        meilleur = None
        for forme in formes:
            if not assez:
                ligne[f"mae_{forme}"] = ligne[f"medae_{forme}"] = np.nan
                continue
            p = _hors_echantillon(forme, d, alpha)
            err = p["valeur"].to_numpy() - y
            ok = ~np.isnan(err)
            stats = {
                "mae_apres": np.mean(np.abs(err[ok])),
                "medae_apres": np.median(np.abs(err[ok])),
                "biais_apres": np.mean(err[ok]),
                "couverture_intervalle": np.mean(
                    (y[ok] >= p["bas"].to_numpy()[ok]) & (y[ok] <= p["haut"].to_numpy()[ok])
                ),
            }
            ligne[f"mae_{forme}"], ligne[f"medae_{forme}"] = (
                stats["mae_apres"],
                stats["medae_apres"],
            )
            if meilleur is None or stats["medae_apres"] < meilleur[1]["medae_apres"]:
                meilleur = (forme, stats)
        if meilleur is not None:
            forme, stats = meilleur
            ligne.update(
                stats,
                modele=forme,
                coefficients=_texte_coefficients(_coefficients(_ajuster_forme(forme, d))),
            )
            ligne["applique"] = bool(
                stats["mae_apres"] < ligne["mae_avant"]
                and stats["medae_apres"] < ligne["medae_avant"]
            )
        lignes.append(ligne)
    extra = [f"{m}_{f}" for f in formes for m in ("mae", "medae")]
    return pd.DataFrame(lignes, columns=COLONNES_RAPPORT + extra)


@dataclass
class ModeleIndicateur:
    """Fitted correction of one indicator (form, coefficients, training zones, validation)."""

    indicateur: str
    sexe: str
    forme: str
    coefficients: dict[str, float]
    echelle_residus: float
    ddl_residus: float
    covariance: list[list[float]]
    n: int
    zones: list[str]
    communes: list[str]
    validation: dict[str, Any]
    resultat: Any = field(default=None, repr=False, compare=False)

    def predire(self, estimation, commune, alpha: float = ALPHA) -> pd.DataFrame:
        r"""Corrected value and ``1 − alpha`` prediction interval (``valeur, bas, haut``).

        Computed from the stored coefficients :math:`b`, their covariance :math:`V`,
        the residual scale :math:`s` and degrees of freedom :math:`\nu` (the OLS
        prediction interval of a new observation), so that a model read back from the
        cache needs no statsmodels:

        .. math:: \hat y = x b, \quad \hat y \pm t_{\nu, 1-\alpha/2}
           \sqrt{s^2 + x V x^\top}
        """
        from scipy.special import stdtrit

        x, decalage = _exog(self.forme, estimation, commune)
        X = x.to_numpy(dtype="float64")
        b = np.array([self.coefficients[c] for c in x.columns])
        moyenne = X @ b
        se = np.sqrt(
            self.echelle_residus**2 + np.einsum("ij,jk,ik->i", X, np.asarray(self.covariance), X)
        )
        t = stdtrit(self.ddl_residus, 1 - alpha / 2)
        return pd.DataFrame(
            {
                "valeur": moyenne + decalage,
                "bas": moyenne - t * se + decalage,
                "haut": moyenne + t * se + decalage,
            }
        )

    def sans_resultat(self) -> ModeleIndicateur:
        """Copy without the statsmodels result (what the run caches)."""
        from dataclasses import replace

        return replace(self, resultat=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (without the statsmodels result)."""
        return {
            "indicateur": self.indicateur,
            "sexe": self.sexe,
            "forme": self.forme,
            "formule": FORMES[self.forme],
            "coefficients": self.coefficients,
            "echelle_residus": self.echelle_residus,
            "ddl_residus": self.ddl_residus,
            "covariance": self.covariance,
            "n": self.n,
            "zones": self.zones,
            "communes": self.communes,
            "validation": self.validation,
        }


@dataclass
class ModeleCorrection:
    """Corrections of the applied indicators, with their training vintages."""

    modeles: dict[tuple[str, str], ModeleIndicateur]
    annee_officielle: int | None
    annee_estimation: int | None
    alpha: float = ALPHA
    rapport: list[dict[str, Any]] = field(default_factory=list)

    def modele(self, indicateur: str, sexe: str = "ensemble") -> ModeleIndicateur | None:
        """Return the applied model of an indicator, or ``None``."""
        return self.modeles.get((indicateur, sexe))

    def sans_resultats(self) -> ModeleCorrection:
        """Copy whose models hold numbers only (no statsmodels object to unpickle)."""
        from dataclasses import replace

        return replace(self, modeles={k: m.sans_resultat() for k, m in self.modeles.items()})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready manifest: applied models and the full validation report."""

        def propre(v):
            return (
                None
                if isinstance(v, float) and v != v
                else (v.item() if isinstance(v, np.generic) else v)
            )

        return {
            "annee_officielle": self.annee_officielle,
            "annee_estimation": self.annee_estimation,
            "niveau_intervalle": 1 - self.alpha,
            "validation": "leave-one-commune-out",
            "modeles": [m.to_dict() for m in self.modeles.values()],
            "rapport": [{k: propre(v) for k, v in r.items()} for r in self.rapport],
        }


def ajuster(
    entrainement: pd.DataFrame,
    *,
    validation: pd.DataFrame | None = None,
    alpha: float = ALPHA,
) -> ModeleCorrection:
    """Fit, on all training zones, the form chosen by :func:`valider` of each applied indicator.

    Parameters
    ----------
    entrainement : DataFrame
        From :func:`donnees_entrainement`.
    validation : DataFrame, optional
        Report of :func:`valider` (computed when not given).
    alpha : float
        1 − level of the prediction intervals.
    """
    rap = validation if validation is not None else valider(entrainement, alpha=alpha)
    modeles = {}
    for r in rap[rap["applique"].astype(bool)].itertuples(index=False):
        d = entrainement[
            (entrainement["indicateur"] == r.indicateur) & (entrainement["sexe"] == r.sexe)
        ].dropna(subset=["officiel", "estimation", "commune"])
        res = _ajuster_forme(r.modele, d)
        modeles[(r.indicateur, r.sexe)] = ModeleIndicateur(
            indicateur=r.indicateur,
            sexe=r.sexe,
            forme=r.modele,
            coefficients=_coefficients(res),
            echelle_residus=float(np.sqrt(res.scale)),
            ddl_residus=float(res.df_resid),
            covariance=res.cov_params().to_numpy().tolist(),
            n=len(d),
            zones=sorted(d["code_zone"]),
            communes=sorted(set(d["code_commune"])),
            validation={
                k: getattr(r, k)
                for k in (
                    "mae_avant",
                    "mae_apres",
                    "medae_avant",
                    "medae_apres",
                    "biais_avant",
                    "biais_apres",
                    "couverture_intervalle",
                )
            },
            resultat=res,
        )
    annees = entrainement.get("annee_officielle"), entrainement.get("annee_estimation")
    return ModeleCorrection(
        modeles=modeles,
        annee_officielle=int(annees[0].iloc[0])
        if annees[0] is not None and len(entrainement)
        else None,
        annee_estimation=int(annees[1].iloc[0])
        if annees[1] is not None and len(entrainement)
        else None,
        alpha=alpha,
        rapport=rap.to_dict("records"),
    )
