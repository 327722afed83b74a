"""Consolidate codebook indicators for every level from IRIS data and a weights table.

Counts are apportioned (or summed, when the weights are memberships) with
:func:`observatoire.ponderation.ventiler`, then each rate is recomputed from the
apportioned numerator and denominator — rates are never averaged. Rates
published without counts (``ptod`` files) are consolidated with an approximate
denominator (a count of the same table, e.g. the population) and labelled
``approximation``. Non-additive statistics (medians, poverty rates) are given at
IRIS level only; zones get an explicit ``manquant`` row, never an average.

The long indicator table has the columns of :data:`COLONNES` (plus a few extras:
``origine``, ``formule``, ``n_iris``, ``n_iris_absents``, ``population_couverte``,
``population_non_couverte``, ``note``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from observatoire.indicateurs.codebook import Codebook, Indicateur, charger_codebook
from observatoire.ponderation import ventiler
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = [
    "COLONNES",
    "COLONNES_EXTRA",
    "NIVEAUX",
    "poids_appartenance",
    "indicateurs_comptages",
    "indicateurs_taux",
    "consolider",
    "table_vide",
]

#: Columns of the long indicator table (shared contract).
COLONNES = [
    "territoire_code",
    "territoire_nom",
    "niveau",
    "indicateur",
    "sexe",
    "annee",
    "valeur",
    "numerateur",
    "denominateur",
    "unite",
    "methode",
    "statut",
    "source",
]
#: Extra columns carried for traceability.
COLONNES_EXTRA = [
    "origine",
    "formule",
    "n_iris",
    "n_iris_absents",
    "population_couverte",
    "population_non_couverte",
    "note",
]
#: Known levels, from the finest to the coarsest.
NIVEAUX = ("iris", "qpv", "veille", "commune", "epci", "departement", "france")


def table_vide() -> pd.DataFrame:
    """Return an empty long indicator table with the right columns and dtypes."""
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in COLONNES + COLONNES_EXTRA})
    for c in (
        "valeur",
        "numerateur",
        "denominateur",
        "population_couverte",
        "population_non_couverte",
    ):
        df[c] = df[c].astype("float64")
    for c in ("annee", "n_iris", "n_iris_absents"):
        df[c] = df[c].astype("Int64")
    return df


def _normaliser(df: pd.DataFrame) -> pd.DataFrame:
    out = table_vide() if df is None or df.empty else df
    for c in COLONNES + COLONNES_EXTRA:
        if c not in out.columns:
            out[c] = np.nan
    out = out[COLONNES + COLONNES_EXTRA].copy()
    for c in (
        "valeur",
        "numerateur",
        "denominateur",
        "population_couverte",
        "population_non_couverte",
    ):
        out[c] = out[c].astype("float64")
    for c in ("annee", "n_iris", "n_iris_absents"):
        out[c] = pd.to_numeric(out[c]).astype("Int64")
    for c in (
        "territoire_code",
        "territoire_nom",
        "niveau",
        "indicateur",
        "sexe",
        "unite",
        "methode",
        "statut",
        "source",
        "origine",
        "formule",
        "note",
    ):
        out[c] = out[c].astype("object")
    return out


def _iris_presents(comptages, taux) -> dict[tuple[str, int], set[str]]:
    """IRIS codes present in the source tables, by origin and vintage."""
    out: dict[tuple[str, int], set[str]] = {}
    table = _fusionner(comptages)
    if table is not None:
        for annee, g in table.groupby("annee"):
            out[("insee", int(annee))] = set(g["code_iris"].astype(str))
    if taux is not None:
        for annee, g in taux.groupby("annee"):
            out[("ptod", int(annee))] = set(g["code_iris"].astype(str))
    return out


def poids_appartenance(
    appartenance: pd.DataFrame,
    *,
    code_iris: str = "code_iris",
    code_zone: str = "code_commune",
) -> pd.DataFrame:
    """Weights table for levels made of whole IRIS (commune, EPCI, département...).

    Parameters
    ----------
    appartenance : DataFrame
        One row per IRIS with the code of the territory it belongs to.
    code_iris, code_zone : str
        Column names in ``appartenance``.

    Returns
    -------
    DataFrame
        ``code_zone, code_iris, poids`` (= 1) and ``methode = "appartenance"``.

    Examples
    --------
    >>> a = pd.DataFrame({"code_iris": ["1", "2", "3"], "code_commune": ["A", "A", "B"]})
    >>> poids_appartenance(a)["poids"].tolist()
    [1.0, 1.0, 1.0]
    """
    for c in (code_iris, code_zone):
        if c not in appartenance.columns:
            raise ErreurDonnees(
                f"poids_appartenance : colonne {c!r} manquante "
                f"(colonnes : {list(appartenance.columns)})"
            )
    out = (
        pd.DataFrame(
            {
                "code_zone": appartenance[code_zone].astype("object").to_numpy(),
                "code_iris": appartenance[code_iris].astype("object").to_numpy(),
            }
        )
        .dropna()
        .drop_duplicates()
    )
    out["poids"] = 1.0
    out["methode"] = "appartenance"
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- helpers


def _statut_zone(poids: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(statut, methode) of each zone's IRIS aggregate, indexed by ``code_zone``.

    A zone whose weights are all 1 is a sum of whole IRIS (``somme_iris``); otherwise
    ``ventilation_iris(<methods>)``, ``estime_corrige`` with calibrated or grid weights.
    """
    w = poids["poids"].to_numpy(dtype="float64")
    p = pd.DataFrame(
        {
            "code_zone": poids["code_zone"].to_numpy(),
            "_un": np.abs(w - 1.0) <= 1e-8 + 1e-5,  # np.allclose, element-wise
            "_m": (poids["methode"].astype(str).to_numpy() if "methode" in poids.columns else ""),
        }
    )
    entiers = p.groupby("code_zone", sort=False)["_un"].all()
    m = p.loc[p["_m"] != "", ["code_zone", "_m"]].drop_duplicates().sort_values("_m")
    meths = m.groupby("code_zone", sort=False)["_m"].agg(",".join).reindex(entiers.index)
    meths = meths.fillna("")
    corrige = meths.str.contains("calib|corrig|dasym", case=False, regex=True)
    statut = pd.Series(
        np.where(entiers, "estime", np.where(corrige, "estime_corrige", "estime")),
        index=entiers.index,
    )
    methode = pd.Series(
        np.where(
            entiers,
            "somme_iris",
            np.where(meths.eq(""), "ventilation_iris", "ventilation_iris(" + meths + ")"),
        ),
        index=entiers.index,
    )
    return statut, methode


def _verifier_poids(niveau: str, poids: pd.DataFrame) -> pd.DataFrame:
    manquantes = [c for c in ("code_zone", "code_iris", "poids") if c not in poids.columns]
    if manquantes:
        raise ErreurDonnees(
            f"table des poids du niveau {niveau!r} : colonne(s) {manquantes} manquante(s) "
            f"(colonnes : {list(poids.columns)})"
        )
    p = poids.copy()
    p["code_zone"] = p["code_zone"].astype("object")
    p["code_iris"] = p["code_iris"].astype("object")
    p["poids"] = p["poids"].astype("float64")
    hors = (p["poids"] < 0) | (p["poids"] > 1 + 1e-9) | p["poids"].isna()
    if hors.any():
        raise ErreurDonnees(
            f"table des poids du niveau {niveau!r} : {int(hors.sum())} poids hors de [0, 1] "
            f"(par ex. zone {p.loc[hors, 'code_zone'].iloc[0]!r}, "
            f"IRIS {p.loc[hors, 'code_iris'].iloc[0]!r})"
        )
    return p[p["poids"] > 0]


def _codes_iris(disponibles: pd.Index, poids) -> pd.Index:
    """IRIS codes of the IRIS level: all available ones, or those listed (frame or list)."""
    if poids is None:
        return disponibles
    liste = poids["code_iris"] if isinstance(poids, pd.DataFrame) else list(poids)
    return pd.Index(liste).intersection(disponibles)


def _noms(noms, niveau: str) -> Mapping:
    if not noms or niveau not in noms or noms[niveau] is None:
        return {}
    n = noms[niveau]
    if isinstance(n, pd.DataFrame):
        return dict(zip(n.iloc[:, 0].astype(str), n.iloc[:, 1], strict=True))
    if isinstance(n, pd.Series):
        return n.to_dict()
    return dict(n)


def _fusionner(tables: Sequence[pd.DataFrame] | pd.DataFrame | None) -> pd.DataFrame | None:
    """Merge several IRIS tables (code_iris, annee, variables...) into one."""
    if tables is None:
        return None
    if isinstance(tables, pd.DataFrame):
        tables = [tables]
    out = None
    for t in tables:
        for c in ("code_iris", "annee"):
            if c not in t.columns:
                raise ErreurDonnees(
                    f"table de comptages IRIS : colonne {c!r} manquante "
                    f"(colonnes : {list(t.columns)[:12]}...)"
                )
        t = t.copy()
        t["code_iris"] = t["code_iris"].astype("object")
        t["annee"] = t["annee"].astype("int64")
        if out is None:
            out = t
            continue
        communes = [c for c in t.columns if c in out.columns and c not in ("code_iris", "annee")]
        doublons = [c for c in communes if c not in ("type_iris", "code_commune")]
        if doublons:
            raise ErreurDonnees(
                f"des tables de comptages IRIS ont des colonnes de variables en commun "
                f"{doublons[:10]}"
            )
        out = out.merge(t.drop(columns=communes), on=["code_iris", "annee"], how="outer")
    return out


def _population(population: pd.DataFrame | None, annee: int) -> pd.Series | None:
    """IRIS population of ``annee`` (Series indexed by code_iris) or None."""
    if population is None:
        return None
    col = "population" if "population" in population.columns else "p_pop"
    if col not in population.columns or "code_iris" not in population.columns:
        raise ErreurDonnees(
            "table de population : colonnes code_iris, annee et population (ou p_pop) requises"
        )
    sel = population[population["annee"].astype(int) == int(annee)]
    if sel.empty:
        return None
    return sel.set_index(sel["code_iris"].astype("object"))[col].astype("float64")


def _lignes_zone(
    poids: pd.DataFrame,
    iris_table: pd.DataFrame,
    colonnes: list[str],
    pop: pd.Series | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apportion ``colonnes`` of ``iris_table`` (indexed by code_iris) to zones.

    IRIS absent from the table (e.g. non-residential IRIS absent from type-H tables) are
    left out and reported with their population; IRIS present with NaN give NaN.
    """
    presents = poids["code_iris"].isin(iris_table.index)
    couverture = pd.DataFrame({"code_zone": poids["code_zone"].unique()}).set_index("code_zone")
    absents = poids[~presents]
    couverture["n_iris_absents"] = absents.groupby("code_zone")["code_iris"].nunique()
    couverture["n_iris_absents"] = couverture["n_iris_absents"].fillna(0).astype("int64")
    if pop is not None:
        wpop = poids["poids"] * poids["code_iris"].map(pop)
        couverture["population_couverte"] = (
            wpop[presents].groupby(poids["code_zone"][presents]).sum()
        )
        couverture["population_non_couverte"] = (
            wpop[~presents].groupby(poids["code_zone"][~presents]).sum(min_count=1)
        )
        couverture["population_non_couverte"] = couverture["population_non_couverte"].fillna(0.0)
    if not colonnes:
        return pd.DataFrame(index=couverture.index), couverture
    table = iris_table[colonnes].reset_index()
    table = table.rename(columns={table.columns[0]: "code_iris"})
    res = ventiler(poids[presents], table, colonnes)
    res = res.set_index("code_zone")
    couverture["n_iris"] = res["n_iris"]
    return res[colonnes], couverture


def _source_texte(ind: Indicateur, annee: int, origine: str, colonne: str | None = None) -> str:
    if origine == "ptod":
        return (
            f"ptod-observatoire-territorial, colonne {colonne}_{str(annee)[-2:]} "
            f"(taux calculés par un tiers d'après {ind.source}), millésime {annee}"
        )
    return f"{ind.source}, millésime {annee}"


# --------------------------------------------------------------------------- INSEE counts


def indicateurs_comptages(
    comptages: pd.DataFrame | Sequence[pd.DataFrame],
    niveaux: Mapping[str, pd.DataFrame | Iterable[str] | None],
    *,
    codebook: Codebook | None = None,
    noms: Mapping | None = None,
    population: pd.DataFrame | None = None,
    annees: Iterable[int] | None = None,
    approximer_non_additifs: bool = False,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    r"""Compute indicators from INSEE IRIS counts for each level (method of record).

    Parameters
    ----------
    comptages : DataFrame or list of DataFrame
        IRIS tables from :func:`observatoire.chargement.lire_table_iris`
        (``code_iris, annee`` and normalised variables); several tables are merged.
    niveaux : mapping
        Level name → weights table (``code_zone, code_iris, poids[, methode]``). The
        ``"iris"`` level takes ``None`` (every IRIS of the tables) or a list of codes.
    codebook : Codebook, optional
        Default: the packaged codebook.
    noms : mapping, optional
        Level → {code: name} (dict, Series, or two-column DataFrame).
    population : DataFrame, optional
        ``code_iris, annee, population`` (or ``p_pop``): used to report the population
        of IRIS missing from the count tables.
    annees : iterable of int, optional
        Vintages to keep (default: all in the tables).
    approximer_non_additifs : bool
        Only if the configuration asks for it: give zones a population-weighted mean
        of a non-additive IRIS statistic (median, poverty rate) of the same vintage,
        status ``approximation``, method ``moyenne_ponderee_population`` — explicitly
        not a median. Default: such zones stay ``manquant``.
    rapport : Rapport, optional

    Returns
    -------
    DataFrame
        Long indicator table. IRIS rows are ``officiel`` (INSEE publishes them);
        zone rows are ``estime`` (``estime_corrige`` with corrected weights), method
        ``somme_iris`` (whole IRIS) or ``ventilation_iris``.

    Notes
    -----
    .. math:: \hat{t}_z = f \, \frac{\sum_i w_{zi} N_i}{\sum_i w_{zi} D_i}

    Examples
    --------
    >>> t = pd.DataFrame({"code_iris": ["1", "2"], "annee": [2016, 2016],
    ...                   "p_chom1564": [10.0, 30.0], "p_act1564": [100.0, 100.0]})
    >>> p = pd.DataFrame({"code_zone": ["Z", "Z"], "code_iris": ["1", "2"],
    ...                   "poids": [1.0, 0.5]})
    >>> cb = charger_codebook().selection(["taux_chomage_1564"])
    >>> r = indicateurs_comptages(t, {"qpv": p}, codebook=cb)
    >>> r[["territoire_code", "numerateur", "denominateur", "valeur"]].values.tolist()
    [['Z', 25.0, 150.0, 16.666666666666668]]
    """
    codebook = codebook or charger_codebook()
    table = _fusionner(comptages)
    if table is None or table.empty:
        return table_vide()
    annees_dispo = sorted(table["annee"].unique())
    if annees is not None:
        annees_dispo = [a for a in annees_dispo if a in set(int(x) for x in annees)]
    morceaux = []
    for annee in annees_dispo:
        t = table[table["annee"] == annee].drop_duplicates("code_iris").set_index("code_iris")
        dispo = [c for c in t.columns if t[c].notna().any()]
        cols: dict[str, pd.Series] = {}
        specs = []
        pop = _population(population, annee)
        for ind in codebook:
            if ind.insee is None:
                continue
            if not ind.est_additif:
                if ind.insee.valeur and ind.insee.valeur in dispo:
                    specs.append((ind, None, None, ind.insee.valeur))
                    if approximer_non_additifs and pop is not None:
                        k = f"{ind.id}|{ind.sexe}"
                        p_i = t.index.map(pop).to_numpy(dtype="float64")
                        v_i = t[ind.insee.valeur].astype("float64").to_numpy()
                        cols[f"n|{k}"] = pd.Series(
                            np.where(p_i == 0, 0.0, v_i * p_i), index=t.index
                        )
                        cols[f"d|{k}"] = pd.Series(p_i, index=t.index)
                continue
            num, den = ind.expressions_insee(annee, dispo)
            if num is None:
                continue
            k = f"{ind.id}|{ind.sexe}"
            cols[f"n|{k}"] = num.evaluer(t)
            if den is not None:
                cols[f"d|{k}"] = den.evaluer(t)
            specs.append((ind, num, den, None))
        if not specs:
            continue
        if rapport is not None:
            rapport.info(
                "indicateurs",
                "comptages INSEE",
                f"millésime {annee}: {len(specs)} indicateur(s) calculable(s)",
                n=len(specs),
            )
        iris_vals = pd.DataFrame(cols, index=t.index)
        for niveau, poids in niveaux.items():
            noms_niv = _noms(noms, niveau)
            if niveau == "iris":
                codes = _codes_iris(t.index, poids)
                base = pd.DataFrame(index=codes)
                vals = iris_vals.loc[codes]
                statut, methode, couv = "officiel", "comptage_insee_iris", None
                base["n_iris"] = 1
                base["n_iris_absents"] = 0
                if pop is not None:
                    base["population_couverte"] = codes.map(pop)
                    base["population_non_couverte"] = 0.0
                couv = base
            else:
                p = _verifier_poids(niveau, poids)
                statut, methode = _statut_zone(p)
                vals, couv = _lignes_zone(p, iris_vals, list(iris_vals.columns), pop)
            for ind, num, den, col_valeur in specs:
                k = f"{ind.id}|{ind.sexe}"
                if col_valeur is not None:  # non-additive published statistic
                    if niveau == "iris":
                        v = t.loc[couv.index, col_valeur].astype("float64")
                        df = _lignes(
                            couv,
                            v,
                            np.nan,
                            np.nan,
                            ind,
                            niveau,
                            annee,
                            noms_niv,
                            "officiel",
                            "valeur_publiee_iris",
                            "insee",
                            col_valeur,
                            _source_texte(ind, annee, "insee"),
                        )
                    elif f"n|{k}" in vals.columns:  # approximation asked by the configuration
                        n, d = vals[f"n|{k}"], vals[f"d|{k}"]
                        with np.errstate(divide="ignore", invalid="ignore"):
                            v = n / d.where(d > 0)
                        df = _lignes(
                            couv,
                            v,
                            np.nan,
                            d,
                            ind,
                            niveau,
                            annee,
                            noms_niv,
                            "approximation",
                            "moyenne_ponderee_population",
                            "insee",
                            f"Σ w·P·{col_valeur} / Σ w·P",
                            _source_texte(ind, annee, "insee"),
                            note="approximation demandée par la configuration : moyenne des "
                            "valeurs IRIS pondérée par la population — ce n'est pas une médiane",
                        )
                    else:
                        df = _lignes(
                            couv,
                            np.nan,
                            np.nan,
                            np.nan,
                            ind,
                            niveau,
                            annee,
                            noms_niv,
                            "manquant",
                            "non_additif",
                            "insee",
                            col_valeur,
                            _source_texte(ind, annee, "insee"),
                            note="statistique non additive : jamais moyennée ; "
                            "valeur officielle du territoire à utiliser si publiée",
                        )
                    morceaux.append(df)
                    continue
                n = vals[f"n|{k}"]
                d = vals[f"d|{k}"] if den is not None else pd.Series(np.nan, index=n.index)
                if den is None:
                    v = n
                else:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        v = ind.multiplicateur * n / d.where(d > 0)
                formule = str(num) if den is None else f"{ind.multiplicateur:g} × ({num}) / ({den})"
                df = _lignes(
                    couv,
                    v,
                    n,
                    d,
                    ind,
                    niveau,
                    annee,
                    noms_niv,
                    statut,
                    methode,
                    "insee",
                    formule,
                    _source_texte(ind, annee, "insee"),
                )
                morceaux.append(df)
    if not morceaux:
        return table_vide()
    return _statuts_zones(_assembler(morceaux), niveaux)


def _lignes(
    couv,
    valeur,
    num,
    den,
    ind,
    niveau,
    annee,
    noms_niv,
    statut,
    methode,
    origine,
    formule,
    source,
    note=None,
) -> dict[str, np.ndarray]:
    """Rows of one indicator × level × vintage, as column arrays (assembled later)."""
    codes = np.asarray(couv.index.astype("object"), dtype=object)
    n = len(codes)

    def plein(v):
        if isinstance(v, pd.Series):  # one value per zone
            return v.reindex(couv.index).to_numpy(dtype=object)
        return np.full(n, v, dtype=object)

    d = {
        "territoire_code": codes,
        "territoire_nom": np.array([noms_niv.get(c) for c in codes], dtype=object),
        "niveau": plein(niveau),
        "indicateur": plein(ind.id),
        "sexe": plein(ind.sexe),
        "annee": np.full(n, int(annee), dtype="int64"),
        "valeur": _aligner(valeur, couv.index),
        "numerateur": _aligner(num, couv.index),
        "denominateur": _aligner(den, couv.index),
        "unite": plein(ind.unite),
        "methode": plein(methode),
        "statut": plein(statut),
        "source": plein(source),
        "origine": plein(origine),
        "formule": plein(formule),
        "note": plein(note),
    }
    for c in ("n_iris", "n_iris_absents", "population_couverte", "population_non_couverte"):
        d[c] = couv[c].to_numpy(dtype="float64") if c in couv.columns else np.full(n, np.nan)
    d["statut"][np.isnan(d["valeur"])] = "manquant"
    absents = np.nan_to_num(d["n_iris_absents"]) > 0
    if absents.any():

        def _fmt(v) -> str:
            return "?" if np.isnan(v) else f"{v:.0f}"

        for i in np.flatnonzero(absents):
            c, nc = d["population_couverte"][i], d["population_non_couverte"][i]
            txt = (
                f"{int(d['n_iris_absents'][i])} IRIS absent(s) de la table "
                "(non publiés pour ce type d'IRIS)"
            )
            if not np.isnan(nc):
                txt += f", population non couverte {_fmt(nc)} sur {_fmt(c + nc)}"
            d["note"][i] = txt
    return d


def _assembler(morceaux: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """One DataFrame from column-array chunks (cheaper than many small frames)."""
    if not morceaux:
        return table_vide()
    cols = {c: np.concatenate([m[c] for m in morceaux]) for c in morceaux[0]}
    return _normaliser(pd.DataFrame(cols))


def _statuts_zones(table: pd.DataFrame, niveaux) -> pd.DataFrame:
    """Downgrade zone rows whose weights table flags the zone (column ``statut``).

    A zone declared approximately (e.g. a veille territory given as whole IRIS) turns
    its ``estime``/``estime_corrige`` rows into ``approximation``.
    """
    for niveau, poids in niveaux.items():
        if not isinstance(poids, pd.DataFrame) or "statut" not in poids.columns:
            continue
        approx = set(poids.loc[poids["statut"] == "approximation", "code_zone"].astype(str))
        if not approx:
            continue
        sel = (
            (table["niveau"] == niveau)
            & table["territoire_code"].astype(str).isin(approx)
            & table["statut"].isin(["estime", "estime_corrige"])
        )
        table.loc[sel, "statut"] = "approximation"
        table.loc[sel, "note"] = (
            table.loc[sel, "note"]
            .fillna("")
            .map(
                lambda n: (
                    (n + " ; " if n else "") + "zone délimitée approximativement (configuration)"
                )
            )
        )
    return table


def _aligner(v, codes) -> np.ndarray:
    if isinstance(v, pd.Series):
        return v.reindex(codes).to_numpy(dtype="float64")
    return np.full(len(codes), np.nan if v is None else v, dtype="float64")


# --------------------------------------------------------------------------- ptod rates


def indicateurs_taux(
    taux: pd.DataFrame,
    niveaux: Mapping[str, pd.DataFrame | Iterable[str] | None],
    *,
    codebook: Codebook | None = None,
    noms: Mapping | None = None,
    annees: Iterable[int] | None = None,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """Compute indicators from IRIS rates published without counts (``ptod`` IRIS file).

    At IRIS level the published rate is given as is (``officiel``, method
    ``taux_publie``). For zones, a rate is consolidated with the codebook's
    approximate denominator ``D`` (a count of the same table, e.g. the population):
    ``Σ w·t·D / Σ w·D`` — status ``approximation``. Counts of the table (population,
    households) are apportioned (``estime``). Non-additive statistics give
    ``manquant`` zone rows.

    Parameters
    ----------
    taux : DataFrame
        From :func:`observatoire.chargement.lire_indicateurs_ptod` (``niveau="iris"``):
        ``code_iris, annee`` and indicator columns.
    niveaux, codebook, noms, annees, rapport
        As in :func:`indicateurs_comptages`.

    Examples
    --------
    >>> t = pd.DataFrame({"code_iris": ["1", "2"], "annee": [2022, 2022],
    ...                   "soc_txchom_1564": [10.0, 20.0], "p_pop": [300.0, 100.0]})
    >>> p = pd.DataFrame({"code_zone": ["Z", "Z"], "code_iris": ["1", "2"], "poids": [1.0, 1.0]})
    >>> cb = charger_codebook().selection(["taux_chomage_1564"])
    >>> r = indicateurs_taux(t, {"commune": p}, codebook=cb)
    >>> r[["valeur", "statut"]].values.tolist()
    [[12.5, 'approximation']]
    """
    codebook = codebook or charger_codebook()
    code = "code_iris"
    for c in (code, "annee"):
        if c not in taux.columns:
            raise ErreurDonnees(
                f"table de taux : colonne {c!r} manquante (colonnes : {list(taux.columns)[:12]}...)"
            )
    morceaux = []
    annees_dispo = sorted(int(a) for a in taux["annee"].unique())
    if annees is not None:
        annees_dispo = [a for a in annees_dispo if a in set(int(x) for x in annees)]
    for annee in annees_dispo:
        t = taux[taux["annee"].astype(int) == annee].drop_duplicates(code)
        t = t.set_index(t[code].astype("object"))
        specs = []
        cols = {}
        for ind in codebook:
            sp = ind.ptod
            if sp is None or sp.colonne not in t.columns or t[sp.colonne].isna().all():
                continue
            if sp.annees is not None and annee not in sp.annees:
                continue
            rate = pd.to_numeric(t[sp.colonne], errors="coerce").astype("float64")
            k = f"{ind.id}|{ind.sexe}"
            if not ind.est_additif:
                specs.append((ind, "non_additif", None))
            elif ind.type == "effectif":
                cols[f"n|{k}"] = rate
                specs.append((ind, "effectif", None))
            else:
                dcol = sp.denominateur_approche
                if dcol is None or dcol not in t.columns:
                    specs.append((ind, "iris_seulement", None))
                    continue
                d = pd.to_numeric(t[dcol], errors="coerce").astype("float64")
                # An IRIS with no inhabitants (approximate denominator 0) has no rate in
                # the source: it contributes nothing, which is not a missing value.
                cols[f"n|{k}"] = (rate / ind.multiplicateur * d).mask(d == 0, 0.0)
                cols[f"d|{k}"] = d
                specs.append((ind, "taux", dcol))
            cols[f"t|{k}"] = rate
        if not specs:
            continue
        iris_vals = pd.DataFrame(cols, index=t.index)
        for niveau, poids in niveaux.items():
            noms_niv = _noms(noms, niveau)
            if niveau == "iris":
                codes = _codes_iris(t.index, poids)
                couv = pd.DataFrame({"n_iris": 1, "n_iris_absents": 0}, index=codes)
                vals = iris_vals.loc[codes]
            else:
                p = _verifier_poids(niveau, poids)
                statut_z, methode_z = _statut_zone(p)
                zcols = [c for c in iris_vals.columns if not c.startswith("t|")]
                vals, couv = _lignes_zone(p, iris_vals, zcols, None)
            for ind, genre, dcol in specs:
                k = f"{ind.id}|{ind.sexe}"
                col = ind.ptod.colonne
                src = _source_texte(ind, annee, "ptod", col)
                if niveau == "iris":
                    df = _lignes(
                        couv,
                        vals[f"t|{k}"],
                        np.nan,
                        vals[f"d|{k}"] if genre == "taux" else np.nan,
                        ind,
                        niveau,
                        annee,
                        noms_niv,
                        "officiel",
                        "taux_publie",
                        "ptod",
                        col,
                        src,
                        note=(
                            f"dénominateur = {dcol} (approché : la source ne publie que le taux)"
                            if genre == "taux"
                            else None
                        ),
                    )
                elif genre in ("non_additif", "iris_seulement"):
                    note = (
                        "statistique non additive : jamais moyennée"
                        if genre == "non_additif"
                        else "taux publié sans dénominateur utilisable"
                    )
                    df = _lignes(
                        couv,
                        np.nan,
                        np.nan,
                        np.nan,
                        ind,
                        niveau,
                        annee,
                        noms_niv,
                        "manquant",
                        genre,
                        "ptod",
                        col,
                        src,
                        note=note,
                    )
                elif genre == "effectif":
                    n = vals[f"n|{k}"]
                    df = _lignes(
                        couv,
                        n,
                        n,
                        np.nan,
                        ind,
                        niveau,
                        annee,
                        noms_niv,
                        statut_z,
                        methode_z,
                        "ptod",
                        col,
                        src,
                    )
                else:
                    n, d = vals[f"n|{k}"], vals[f"d|{k}"]
                    with np.errstate(divide="ignore", invalid="ignore"):
                        v = ind.multiplicateur * n / d.where(d > 0)
                    df = _lignes(
                        couv,
                        v,
                        n,
                        d,
                        ind,
                        niveau,
                        annee,
                        noms_niv,
                        "approximation",
                        f"taux_iris_pondere_par_{dcol}",
                        "ptod",
                        f"Σ w·{col}·{dcol} / Σ w·{dcol}",
                        src,
                        note=f"approximation : taux IRIS pondérés par {dcol} "
                        "(pas de comptages dans la source)",
                    )
                morceaux.append(df)
    if not morceaux:
        return table_vide()
    return _statuts_zones(_assembler(morceaux), niveaux)


# --------------------------------------------------------------------------- entry point


def consolider(
    niveaux: Mapping[str, pd.DataFrame | Iterable[str] | None],
    *,
    comptages: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
    taux: pd.DataFrame | None = None,
    officiels: Sequence[pd.DataFrame] = (),
    codebook: Codebook | None = None,
    noms: Mapping | None = None,
    population: pd.DataFrame | None = None,
    annees: Iterable[int] | None = None,
    secret: bool = True,
    approximer_non_additifs: bool = False,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """Consolidate every codebook indicator for every level into one long table.

    Parameters
    ----------
    niveaux : mapping
        Level → weights table (``code_zone, code_iris, poids``); ``"iris"`` → None or
        a list of IRIS codes. Whole-IRIS levels (commune, EPCI, département) take a
        :func:`poids_appartenance` table. The weights are computed elsewhere (weights
        engine); this function never touches geometry.
    comptages : DataFrame or list, optional
        INSEE IRIS count tables (method of record), see :func:`indicateurs_comptages`.
    taux : DataFrame, optional
        IRIS rates without counts (ptod), see :func:`indicateurs_taux`.
    officiels : sequence of DataFrame
        Rows of official values already in the long format
        (:mod:`observatoire.indicateurs.officiel`), appended as they are.
    codebook, noms, population, annees, rapport
        See :func:`indicateurs_comptages`.
    approximer_non_additifs : bool
        Population-weighted approximation of non-additive statistics for zones
        (see :func:`indicateurs_comptages`); default False (zones stay missing).
    secret : bool
        Apply the publication threshold and complement suppression
        (:func:`observatoire.indicateurs.secret.appliquer_secret`).

    Returns
    -------
    DataFrame
        Long indicator table (:data:`COLONNES` + :data:`COLONNES_EXTRA`).
    """
    codebook = codebook or charger_codebook()
    morceaux = []
    if comptages is not None:
        morceaux.append(
            indicateurs_comptages(
                comptages,
                niveaux,
                codebook=codebook,
                noms=noms,
                population=population,
                annees=annees,
                approximer_non_additifs=approximer_non_additifs,
                rapport=rapport,
            )
        )
    if taux is not None:
        morceaux.append(
            indicateurs_taux(
                taux, niveaux, codebook=codebook, noms=noms, annees=annees, rapport=rapport
            )
        )
    out = _normaliser(
        pd.concat([m for m in morceaux if len(m)], ignore_index=True)
        if any(len(m) for m in morceaux)
        else table_vide()
    )
    if secret:
        from observatoire.indicateurs.secret import appliquer_secret

        out = appliquer_secret(
            out,
            niveaux,
            codebook=codebook,
            iris_presents=_iris_presents(comptages, taux),
            rapport=rapport,
        )
    offs = [o for o in officiels if o is not None and len(o)]
    if offs:
        out = pd.concat([out, *[_normaliser(o) for o in offs]], ignore_index=True)
    return out.sort_values(
        ["niveau", "territoire_code", "indicateur", "sexe", "annee", "origine"],
        kind="stable",
        ignore_index=True,
    )
