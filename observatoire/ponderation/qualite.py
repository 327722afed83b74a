"""Quality report: weighted estimates against official zone figures, per method.

Wherever official zone figures exist (``pop_mun`` of the QPV tables...), each
method's estimate is compared with them: error, error %, and per method the
median bias and median absolute error. The ``calibrated`` method reproduces the
official population by construction: it is marked so and scored only on other
official variables where both sides exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.ponderation.poids import table_poids
from observatoire.ponderation.ventilation import ventiler
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = [
    "population_iris",
    "variables_comparees",
    "estimer_zones",
    "evaluer",
    "resumer",
    "rapport_qualite",
    "comparer_parts",
    "parts_reference_2015",
    "resumer_calibration",
    "AGES_RP",
]

#: Age groups of the RP IRIS tables whose sum is the total population.
AGES_RP = ["p_pop0014", "p_pop1529", "p_pop3044", "p_pop4559", "p_pop6074", "p_pop75p"]


def population_iris(
    table: pd.DataFrame, *, annee: int | None = None, colonne: str | None = None
) -> pd.DataFrame:
    """IRIS population from a normalised IRIS table (``lire_table_iris``).

    Uses ``colonne`` if given, else ``p_pop``, else the sum of the six RP age groups
    (NaN when any group is missing: missing stays missing).

    Returns
    -------
    DataFrame
        ``code_iris, population``.

    Examples
    --------
    >>> t = pd.DataFrame({"code_iris": ["1", "2"], "annee": [2016, 2016],
    ...                   **{c: [1.0, np.nan if c == "p_pop75p" else 1.0] for c in AGES_RP}})
    >>> population_iris(t)["population"].tolist()
    [6.0, nan]
    """
    if "code_iris" not in table.columns:
        raise ErreurDonnees(
            f"table IRIS : pas de colonne code_iris ; colonnes : {list(table.columns)}"
        )
    t = table
    if "annee" in t.columns:
        annees = sorted(t["annee"].dropna().unique().tolist())
        if annee is not None:
            t = t[t["annee"] == annee]
            if t.empty:
                raise ErreurDonnees(
                    f"table IRIS : aucune ligne pour le millésime {annee} (millésimes : {annees})"
                )
        elif len(annees) > 1:
            raise ErreurDonnees(
                f"la table IRIS contient plusieurs millésimes {annees} : en choisir un (annee=...)"
            )
    if colonne is None:
        colonne = "p_pop" if "p_pop" in t.columns else None
    if colonne is not None:
        if colonne not in t.columns:
            raise ErreurDonnees(f"table IRIS : pas de colonne {colonne!r}")
        pop = pd.to_numeric(t[colonne], errors="coerce")
    else:
        manque = [c for c in AGES_RP if c not in t.columns]
        if manque:
            raise ErreurDonnees(
                f"table IRIS : pas de colonne de population (p_pop) et tranches d'âge {manque} "
                "manquantes ; indiquer la colonne de population"
            )
        pop = t[AGES_RP].astype("float64").sum(axis=1, min_count=len(AGES_RP))
        pop = pop.where(t[AGES_RP].notna().all(axis=1))
    out = pd.DataFrame(
        {"code_iris": t["code_iris"].to_numpy(), "population": pop.to_numpy(dtype="float64")}
    )
    if out["code_iris"].duplicated().any():
        raise ErreurDonnees("table IRIS : codes IRIS répétés pour un même millésime")
    return out


def variables_comparees(
    population: pd.DataFrame,
    tables: Sequence[pd.DataFrame],
    comparaisons: Mapping[str, str],
    *,
    annee: int | None = None,
) -> pd.DataFrame:
    """Add the IRIS side of each compared variable to an IRIS population table.

    Parameters
    ----------
    population : DataFrame
        ``code_iris, population`` (:func:`population_iris`).
    tables : sequence of DataFrame
        Normalised IRIS tables (:func:`~observatoire.chargement.lire_table_iris`) holding
        the columns to compare, e.g. the RP population and housing tables.
    comparaisons : mapping IRIS expression → official column
        An expression is a column (``p_rp_lochlmv``) or a sum of columns
        (``p_rpmaison+p_rpappart``, missing when any term is missing).
    annee : int, optional
        Vintage to take from tables holding several.

    Returns
    -------
    DataFrame
        ``population`` with one more column per expression, named as the expression
        (IRIS absent from the tables get NaN: missing, never 0).

    Raises
    ------
    ErreurDonnees
        A term found in no table, or found in several.

    Examples
    --------
    >>> pop = pd.DataFrame({"code_iris": ["1", "2"], "population": [10.0, 20.0]})
    >>> log = pd.DataFrame({"code_iris": ["1", "2"], "annee": 2016,
    ...                     "p_rpmaison": [3.0, 1.0], "p_rpappart": [1.0, np.nan]})
    >>> t = variables_comparees(pop, [log], {"p_rpmaison+p_rpappart": "nombre_menages"})
    >>> t["p_rpmaison+p_rpappart"].tolist()
    [4.0, nan]
    """
    out = population.copy()
    for expression in comparaisons:
        termes = [t.strip() for t in expression.split("+")]
        colonnes = []
        for terme in termes:
            sources = [t for t in tables if terme in t.columns]
            if len(sources) != 1:
                etat = (
                    "dans aucune table IRIS" if not sources else f"dans {len(sources)} tables IRIS"
                )
                raise ErreurDonnees(f"variable comparée {expression!r} : colonne {terme!r} {etat}")
            t = sources[0]
            if annee is not None and "annee" in t.columns:
                annees = sorted(t["annee"].unique().tolist())
                t = t[t["annee"] == annee]
                if t.empty:
                    raise ErreurDonnees(
                        f"variable comparée {expression!r} : la colonne {terme!r} n'a "
                        f"aucune valeur pour {annee} (millésimes {annees})"
                    )
            if "annee" in t.columns and t["annee"].nunique() > 1:
                raise ErreurDonnees(
                    f"variable comparée {expression!r} : la colonne {terme!r} a "
                    f"plusieurs millésimes {sorted(t['annee'].unique())} : en choisir un"
                )
            serie = t.set_index("code_iris")[terme].astype("float64")
            colonnes.append(serie.reindex(out["code_iris"]).to_numpy())
        valeurs = np.vstack(colonnes)
        out[expression] = np.where(np.isnan(valeurs).any(axis=0), np.nan, valeurs.sum(axis=0))
    return out


def estimer_zones(
    tables: Mapping[str, pd.DataFrame], table_iris: pd.DataFrame, variables: Sequence[str]
) -> pd.DataFrame:
    """Apportion ``variables`` with each weights table.

    Returns
    -------
    DataFrame
        Long: ``code_zone, methode, variable, estimation, n_iris, n_iris_manquants``,
        plus ``couverture`` (Σ part_zone of the zone's kept pieces, NaN for IRIS lists).
    """
    morceaux = []
    for methode, poids in tables.items():
        est = ventiler(poids, table_iris, list(variables))
        couv = poids.groupby("code_zone")["part_zone"].sum(min_count=1)
        for v in variables:
            morceaux.append(
                pd.DataFrame(
                    {
                        "code_zone": est["code_zone"].to_numpy(),
                        "methode": methode,
                        "variable": v,
                        "estimation": est[v].to_numpy(dtype="float64"),
                        "n_iris": est["n_iris"].to_numpy(),
                        "n_iris_manquants": est[f"{v}__manquant"].to_numpy(),
                        "couverture": couv.reindex(est["code_zone"]).to_numpy(),
                    }
                )
            )
    return pd.concat(morceaux, ignore_index=True)


def evaluer(
    estimations: pd.DataFrame,
    officiel: pd.DataFrame,
    correspondances: Mapping[str, str],
    *,
    code_zone_officiel: str = "code_zone",
    variable_calibration: str | None = None,
) -> pd.DataFrame:
    """Join estimates with official figures and compute errors.

    Parameters
    ----------
    estimations : DataFrame
        Output of :func:`estimer_zones`.
    officiel : DataFrame
        Official zone table.
    correspondances : mapping estimated variable → official column
        E.g. ``{"population": "pop_mun"}``.
    variable_calibration : str, optional
        The estimated variable the ``calibrated`` method was fitted on: those rows are
        flagged ``exact_par_construction`` and left out of the scores.

    Returns
    -------
    DataFrame
        ``estimations`` rows for the mapped variables plus ``officiel``, ``erreur``
        (estimate − official), ``erreur_pct`` (100 × erreur / official; NaN when either
        side is missing or the official value is 0), ``exact_par_construction``.

    Examples
    --------
    >>> e = pd.DataFrame({"code_zone": ["A"], "methode": ["surface"], "variable": ["pop"],
    ...                   "estimation": [570.0]})
    >>> o = pd.DataFrame({"code_zone": ["A"], "pop_mun": [1000.0]})
    >>> evaluer(e, o, {"pop": "pop_mun"})[["erreur", "erreur_pct"]].to_dict("list")
    {'erreur': [-430.0], 'erreur_pct': [-43.0]}
    """
    if code_zone_officiel not in officiel.columns:
        raise ErreurDonnees(f"table officielle : pas de colonne {code_zone_officiel!r}")
    morceaux = []
    for var, col in correspondances.items():
        if col not in officiel.columns:
            raise ErreurDonnees(f"table officielle : pas de colonne {col!r} (pour {var})")
        off = officiel.set_index(code_zone_officiel)[col]
        off = pd.to_numeric(off, errors="coerce").astype("float64")
        e = estimations[estimations["variable"] == var].copy()
        e["colonne_officielle"] = col
        e["officiel"] = off.reindex(e["code_zone"]).to_numpy()
        morceaux.append(e)
    out = pd.concat(morceaux, ignore_index=True) if morceaux else estimations.iloc[0:0].copy()
    out["erreur"] = out["estimation"] - out["officiel"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * out["erreur"].to_numpy() / out["officiel"].to_numpy()
    out["erreur_pct"] = np.where(out["officiel"].to_numpy() != 0, pct, np.nan)
    out["exact_par_construction"] = (out["methode"] == "calibrated") & (
        out["variable"] == variable_calibration
    )
    return out


def resumer(detail: pd.DataFrame) -> pd.DataFrame:
    """Summary per method and variable over zones where both sides are known.

    Returns
    -------
    DataFrame
        ``methode, variable, n_zones, n_scorees, total_estime, total_officiel,
        biais_median_pct, erreur_abs_mediane_pct, biais_moyen_pct, erreur_abs_moyenne_pct,
        note``. Calibrated rows on the calibration variable are not scored (note).

    Examples
    --------
    >>> d = pd.DataFrame({"methode": ["surface"] * 3, "variable": ["pop"] * 3,
    ...     "estimation": [50.0, 80.0, np.nan], "officiel": [100.0, 100.0, 100.0],
    ...     "erreur_pct": [-50.0, -20.0, np.nan], "exact_par_construction": False})
    >>> r = resumer(d).iloc[0]
    >>> int(r.n_scorees), float(r.biais_median_pct), float(r.erreur_abs_mediane_pct)
    (2, -35.0, 35.0)
    """
    lignes = []
    for (methode, variable), g in detail.groupby(["methode", "variable"], sort=False):
        exact = g["exact_par_construction"].to_numpy(dtype=bool)
        ok = np.isfinite(g["erreur_pct"].to_numpy(dtype="float64")) & ~exact
        s = g[ok]
        note = ""
        if exact.any():
            note = (
                "exact by construction (weights fitted on this official figure): not scored; "
                "score calibrated on other official variables"
            )
        lignes.append(
            {
                "methode": methode,
                "variable": variable,
                "n_zones": len(g),
                "n_scorees": int(ok.sum()),
                "total_estime": float(s["estimation"].sum()) if ok.any() else np.nan,
                "total_officiel": float(s["officiel"].sum()) if ok.any() else np.nan,
                "biais_median_pct": float(s["erreur_pct"].median()) if ok.any() else np.nan,
                "erreur_abs_mediane_pct": float(s["erreur_pct"].abs().median())
                if ok.any()
                else np.nan,
                "biais_moyen_pct": float(s["erreur_pct"].mean()) if ok.any() else np.nan,
                "erreur_abs_moyenne_pct": float(s["erreur_pct"].abs().mean())
                if ok.any()
                else np.nan,
                "note": note,
            }
        )
    return pd.DataFrame(lignes)


def rapport_qualite(
    iris: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    table_iris: pd.DataFrame,
    officiel: pd.DataFrame,
    *,
    methodes: Sequence[str] = ("surface", "calibrated"),
    code_zone: str = "code_zone",
    code_iris: str = "code_iris",
    code_zone_officiel: str | None = None,
    colonne_population: str = "population",
    colonne_officielle: str = "pop_mun",
    autres: Mapping[str, str] | None = None,
    grille: gpd.GeoDataFrame | None = None,
    part_min: float = 0.005,
    parts_reference: pd.DataFrame | None = None,
    rapport: Rapport | None = None,
) -> dict[str, pd.DataFrame]:
    """Weights under several methods, estimates, errors against official figures.

    Parameters
    ----------
    iris, zones : GeoDataFrame
        IRIS layer and zone layer (``code_iris``, ``code_zone`` columns).
    table_iris : DataFrame
        ``code_iris``, ``colonne_population`` and the IRIS columns named in ``autres``.
    officiel : DataFrame
        Official zone table (``code_zone_officiel``, ``colonne_officielle``...).
    methodes : sequence of str
        Methods to compare (``dasymetric`` needs ``grille``).
    autres : mapping IRIS column → official column, optional
        Other count variables scored for every method (including ``calibrated``).
    parts_reference : DataFrame, optional
        Reference area shares (``code_zone, code_iris, part_zone_reference``, e.g.
        :func:`parts_reference_2015`) shown next to the computed ``part_zone``.

    Returns
    -------
    dict
        ``detail`` (one row per zone × method × variable, see :func:`evaluer`),
        ``resume`` (see :func:`resumer`), ``poids`` (all weights tables stacked),
        ``calibration`` (per zone: spatial estimate, official value, factor, capped IRIS,
        residual — what ``calibrated`` changes; empty without it), ``parts`` (computed vs
        reference shares; empty without ``parts_reference``), ``rapport`` (events).
    """
    rapport = rapport if rapport is not None else Rapport()
    code_zone_officiel = code_zone_officiel or code_zone
    autres = dict(autres or {})
    pop = table_iris[["code_iris", colonne_population]]
    tables = {}
    for m in methodes:
        tables[m] = table_poids(
            iris,
            zones,
            methode=m,
            code_zone=code_zone,
            code_iris=code_iris,
            grille=grille,
            population_iris=pop,
            colonne_population=colonne_population,
            officiel=officiel,
            colonne_officielle=colonne_officielle,
            code_zone_officiel=code_zone_officiel,
            part_min=part_min,
            rapport=rapport,
        )
    variables = [colonne_population, *autres]
    est = estimer_zones(tables, table_iris[["code_iris", *variables]], variables)
    detail = evaluer(
        est,
        officiel,
        {colonne_population: colonne_officielle, **autres},
        code_zone_officiel=code_zone_officiel,
        variable_calibration=colonne_population,
    )
    calibration = pd.DataFrame()
    if "calibrated" in tables:
        cal = tables["calibrated"]
        fac = cal.groupby("code_zone")["facteur_calibration"].first()
        detail["facteur_calibration"] = np.where(
            detail["methode"] == "calibrated", fac.reindex(detail["code_zone"]).to_numpy(), np.nan
        )
        calibration = resumer_calibration(cal, pop, colonne_population)
    parts = pd.DataFrame()
    if parts_reference is not None:
        base = tables.get("surface", next(iter(tables.values())))
        parts = comparer_parts(base, parts_reference)
    return {
        "detail": detail,
        "resume": resumer(detail),
        "poids": pd.concat(tables.values(), ignore_index=True),
        "calibration": calibration,
        "parts": parts,
        "rapport": rapport.to_frame(),
    }


def resumer_calibration(
    poids: pd.DataFrame, population: pd.DataFrame, colonne_population: str = "population"
) -> pd.DataFrame:
    """Summarise what calibration changed, per zone.

    Parameters
    ----------
    poids : DataFrame
        Calibrated weights table (output of :func:`~observatoire.ponderation.calibrer`).
    population : DataFrame
        ``code_iris`` and ``colonne_population``.

    Returns
    -------
    DataFrame
        ``code_zone, methode_base, estimation_base, estimation_calibree, facteur_calibration,
        n_iris, n_iris_plafonnes, residu, calibre``.
    """
    base = poids.assign(poids=poids["poids_base"])
    avant = ventiler(base, population, [colonne_population]).set_index("code_zone")
    apres = ventiler(poids, population, [colonne_population]).set_index("code_zone")
    g = poids.groupby("code_zone")
    out = pd.DataFrame(
        {
            "methode_base": g["methode_base"].first(),
            "estimation_base": avant[colonne_population],
            "estimation_calibree": apres[colonne_population],
            "facteur_calibration": g["facteur_calibration"].first(),
            "n_iris": g["code_iris"].nunique(),
            "n_iris_plafonnes": g["plafonne"].sum().astype("int64"),
            "residu": g["residu"].first(),
            "calibre": g["calibre"].first().astype(bool),
        }
    )
    return out.reset_index()


def comparer_parts(
    poids: pd.DataFrame, reference: pd.DataFrame, *, colonne_reference: str = "part_zone_reference"
) -> pd.DataFrame:
    """Put computed ``part_zone`` next to reference shares (e.g. the 2015 Contrat de Ville).

    Parameters
    ----------
    poids : DataFrame
        Weights table (``code_zone, code_iris, part_zone``).
    reference : DataFrame
        ``code_zone, code_iris, colonne_reference`` (fractions), other columns kept.

    Returns
    -------
    DataFrame
        Outer join on (zone, IRIS) restricted to the zones of ``reference``:
        ``part_zone``, the reference share and ``ecart_points`` (100 × difference).

    Examples
    --------
    >>> p = pd.DataFrame({"code_zone": ["A", "A"], "code_iris": ["1", "2"],
    ...                   "part_zone": [0.779, 0.221]})
    >>> r = pd.DataFrame({"code_zone": ["A", "A"], "code_iris": ["1", "2"],
    ...                   "part_zone_reference": [0.789, 0.211]})
    >>> comparer_parts(p, r)["ecart_points"].round(1).tolist()
    [-1.0, 1.0]
    """
    zones = reference["code_zone"].unique()
    p = poids.loc[poids["code_zone"].isin(zones), ["code_zone", "code_iris", "part_zone"]]
    out = p.merge(reference, on=["code_zone", "code_iris"], how="outer")
    out["ecart_points"] = 100.0 * (out["part_zone"] - out[colonne_reference])
    return out.sort_values(["code_zone", "code_iris"]).reset_index(drop=True)


def parts_reference_2015() -> pd.DataFrame:
    """Shares of the 2015 QPV areas by IRIS published in the SAN Ouest Provence Contrat de Ville.

    Keyed by the 2024 code of the same QPV (their 2015 perimeters differ for the ``M``
    codes, so the 2024 shares are expected to differ there).

    Returns
    -------
    DataFrame
        ``code_zone, nom_zone, code_iris, nom_iris, part_zone_reference,
        perimetre_reference, source`` (shares as fractions).

    Examples
    --------
    >>> r = parts_reference_2015()
    >>> r.groupby("code_zone")["part_zone_reference"].sum().round(3).to_dict()
    {'QN01365M': 1.0, 'QN01366I': 1.0, 'QN01367M': 0.999}
    """
    from importlib.resources import files

    chemin = files("observatoire") / "donnees" / "parts_iris_contrat_de_ville_2015.csv"
    with chemin.open("r", encoding="utf-8") as f:
        return pd.read_csv(f, dtype={"code_iris": str, "code_zone": str})
