"""Gaps (*écarts*) between zones and their references, and their evolution across years.

For each zone, indicator, sex, vintage and value row (official value and IRIS
estimate are both kept, told apart by ``methode``/``origine``), the reference
value of record of each reference territory (commune(s), EPCI, département,
France) is taken — official first, then corrected estimate, estimate,
approximation — and the gap is given in points (``valeur − référence``) and as a
ratio, with a direction-aware reading from the codebook.

Across years, each gap is followed between two vintages of the same origin.
INSEE IRIS census figures are five-year rolling surveys: by default only vintages
at least five years apart are compared; closer pairs can be asked for and are
flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.indicateurs.codebook import Codebook, charger_codebook
from observatoire.indicateurs.valeur_retenue import valeurs_retenues
from observatoire.rapport import ErreurDonnees

__all__ = [
    "COLONNES_ECARTS",
    "COLONNES_EVOLUTION",
    "valeurs_de_reference",
    "lecture_ecart",
    "calculer_ecarts",
    "calculer_evolutions",
    "lecture_evolution",
]

COLONNES_ECARTS = [
    "territoire_code",
    "niveau",
    "indicateur",
    "sexe",
    "annee",
    "valeur",
    "reference_niveau",
    "reference_code",
    "reference_valeur",
    "reference_statut",
    "ecart_points",
    "ratio",
    "lecture",
    "statut",
]
_EXTRA_ECARTS = [
    "territoire_nom",
    "unite",
    "direction",
    "methode",
    "origine",
    "valeur_statut",
    "reference_methode",
    "reference_note",
    "reference_annee",
    "ecart_annees",
    "avertissement",
]
COLONNES_EVOLUTION = [
    "territoire_code",
    "territoire_nom",
    "niveau",
    "indicateur",
    "sexe",
    "origine",
    "methode",
    "reference_niveau",
    "reference_code",
    "annee_debut",
    "annee_fin",
    "ecart_annees",
    "valeur_debut",
    "valeur_fin",
    "evolution_valeur",
    "ecart_debut",
    "ecart_fin",
    "evolution_ecart",
    "lecture",
    "comparable",
    "avertissement",
    "statut",
    "reference_statut_debut",
    "reference_statut_fin",
]
#: Largest vintage difference between a value and the reference it is compared with.
TOLERANCE_MILLESIMES = 4
#: Above this vintage difference (years) a gap is flagged.
SEUIL_MILLESIMES = 2
#: Reading of a head count against its reference: no gap in points.
LECTURE_EFFECTIF = "effectif : pas d'écart en points (voir le ratio)"
_ORDRE_GRAVITE = ["secret", "manquant", "approximation", "estime_corrige", "estime", "officiel"]


def valeurs_de_reference(table: pd.DataFrame) -> pd.DataFrame:
    """Value of record per territory × indicator × sex × vintage.

    The order is the rule table of :mod:`observatoire.indicateurs.valeur_retenue`
    (official, grid, corrected, whole IRIS, calibrated, dasymetric, surface,
    approximation); a row with a value wins over a secret or missing one.

    Examples
    --------
    >>> t = pd.DataFrame({"territoire_code": ["13047"] * 2, "niveau": ["commune"] * 2,
    ...     "indicateur": ["x"] * 2, "sexe": ["ensemble"] * 2, "annee": [2022] * 2,
    ...     "valeur": [11.4, 11.12], "statut": ["approximation", "officiel"],
    ...     "methode": ["a", "b"], "note": [None, None]})
    >>> valeurs_de_reference(t)["valeur"].tolist()
    [11.12]
    """
    cles = ["niveau", "territoire_code", "indicateur", "sexe", "annee"]
    t = valeurs_retenues(table, cles)
    garder = [*cles, "valeur", "statut", "methode"] + (["note"] if "note" in t.columns else [])
    return t[garder].reset_index(drop=True)


def _references_proches(e: pd.DataFrame, ref_val: pd.DataFrame, tolerance: int) -> pd.DataFrame:
    """Attach to each row the reference value of the nearest vintage (ties: the later one).

    Adds ``reference_valeur, reference_statut, reference_methode, reference_note,
    reference_annee`` and ``ecart_annees``; rows with no reference within ``tolerance``
    years keep NaN.
    """
    cles = ["reference_niveau", "reference_code", "indicateur", "sexe"]
    r = ref_val.rename(columns={"annee": "reference_annee"})
    e = e.reset_index(drop=True)
    gauche = e[cles + ["annee"]].assign(_ligne=np.arange(len(e)))
    j = gauche.merge(r, on=cles, how="inner")
    j["ecart_annees"] = (j["annee"].astype("int64") - j["reference_annee"].astype("int64")).abs()
    # the reference of the same vintage, even secret; another vintage only with a value
    j = j[
        (j["ecart_annees"] == 0)
        | ((j["ecart_annees"] <= tolerance) & j["reference_valeur"].notna())
    ]
    j = j.sort_values(
        ["_ligne", "ecart_annees", "reference_annee"], ascending=[True, True, False], kind="stable"
    )
    j = j.drop_duplicates("_ligne", keep="first").set_index("_ligne")
    out = e.copy()
    for c in (
        "reference_valeur",
        "reference_statut",
        "reference_methode",
        "reference_note",
        "reference_annee",
        "ecart_annees",
    ):
        out[c] = j[c].reindex(np.arange(len(e))).to_numpy() if c in j.columns else None
    out["reference_annee"] = pd.array(out["reference_annee"], dtype="Int64")
    out["ecart_annees"] = pd.array(out["ecart_annees"], dtype="Int64")
    out["reference_valeur"] = out["reference_valeur"].astype("float64")
    return out


def lecture_ecart(ecart: pd.Series, direction: pd.Series) -> pd.Series:
    """Direction-aware reading of a gap.

    Examples
    --------
    >>> lecture_ecart(pd.Series([2.0, -1.0, 0.0, 3.0]),
    ...               pd.Series(["hausse_defavorable", "hausse_defavorable",
    ...                          "baisse_defavorable", "neutre"])).str[:12].tolist()
    ['moins favora', 'plus favorab', 'égal à la ré', 'supérieur à ']
    """
    e = ecart.to_numpy(dtype="float64")
    d = direction.astype(str).to_numpy()
    out = np.full(len(e), "non calculable", dtype=object)
    ok = ~np.isnan(e)
    egal = ok & (np.abs(e) < 1e-9)
    haut = ok & ~egal & (e > 0)
    bas = ok & ~egal & (e < 0)
    out[egal] = "égal à la référence"
    hd, bd, ne = (
        d == "hausse_defavorable",
        d == "baisse_defavorable",
        ~np.isin(d, ["hausse_defavorable", "baisse_defavorable"]),
    )
    out[haut & hd] = out[bas & bd] = "moins favorable que la référence"
    out[bas & hd] = out[haut & bd] = "plus favorable que la référence"
    out[haut & ne] = "supérieur à la référence"
    out[bas & ne] = "inférieur à la référence"
    return pd.Series(out, index=ecart.index)


def lecture_evolution(
    ecart_debut: pd.Series, ecart_fin: pd.Series, direction: pd.Series
) -> pd.Series:
    """Read a gap's evolution: size (réduit / accru / inversé) and relative position.

    Examples
    --------
    >>> lecture_evolution(pd.Series([5.0, -2.0]), pd.Series([3.0, 1.0]),
    ...                   pd.Series(["hausse_defavorable"] * 2)).tolist()
    ['écart réduit ; situation relative améliorée', 'écart inversé ; situation relative dégradée']
    """
    d0 = ecart_debut.to_numpy(dtype="float64")
    d1 = ecart_fin.to_numpy(dtype="float64")
    a0, a1 = np.abs(d0), np.abs(d1)
    ampleur = np.where(
        a1 < a0 - 1e-9, "écart réduit", np.where(a1 > a0 + 1e-9, "écart accru", "écart stable")
    )
    ampleur = np.where((np.sign(d0) * np.sign(d1)) < 0, "écart inversé", ampleur)
    delta = d1 - d0
    dirs = direction.astype(str).to_numpy()
    rel = np.full(len(d0), "", dtype=object)
    hd, bd = dirs == "hausse_defavorable", dirs == "baisse_defavorable"
    pire = (hd & (delta > 1e-9)) | (bd & (delta < -1e-9))
    mieux = (hd & (delta < -1e-9)) | (bd & (delta > 1e-9))
    rel[pire] = " ; situation relative dégradée"
    rel[mieux] = " ; situation relative améliorée"
    out = np.char.add(ampleur.astype(str), rel.astype(str)).astype(object)
    out[np.isnan(delta)] = "non calculable"
    return pd.Series(out, index=ecart_debut.index)


def _statut_combine(a: pd.Series, b: pd.Series) -> np.ndarray:
    rang = {s: i for i, s in enumerate(_ORDRE_GRAVITE)}
    ra = a.map(rang).fillna(1).to_numpy()
    rb = b.map(rang).fillna(1).to_numpy()
    return np.array(_ORDRE_GRAVITE, dtype=object)[np.minimum(ra, rb).astype(int)]


def calculer_ecarts(
    indicateurs: pd.DataFrame,
    references: pd.DataFrame,
    *,
    codebook: Codebook | None = None,
    ecart_min_annees: int = 5,
    inclure_rapprochees: bool = False,
    tolerance_annees: int = TOLERANCE_MILLESIMES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute the écarts table and the evolution table.

    Parameters
    ----------
    indicateurs : DataFrame
        Long indicator table (zones and reference territories).
    references : DataFrame
        ``territoire_code, niveau, reference_niveau, reference_code``
        (:func:`observatoire.indicateurs.references.references_territoires`).
    codebook : Codebook, optional
        Gives each indicator's direction.
    ecart_min_annees : int
        Smallest vintage difference compared by default (5: census rolling surveys).
    inclure_rapprochees : bool
        Also compare closer vintages (flagged ``comparable = False``).
    tolerance_annees : int
        A value without a reference of its own vintage is compared with the reference of
        the nearest vintage (ties go to the later one) up to this many years apart;
        ``reference_annee`` and ``ecart_annees`` state it, and more than
        :data:`SEUIL_MILLESIMES` years apart is flagged in ``avertissement``.

    Returns
    -------
    (DataFrame, DataFrame)
        Écarts (:data:`COLONNES_ECARTS` + extras) and evolution
        (:data:`COLONNES_EVOLUTION`).

    Examples
    --------
    >>> ind = pd.DataFrame({
    ...     "territoire_code": ["Q", "Q", "K", "K"], "territoire_nom": ["q", "q", "k", "k"],
    ...     "niveau": ["qpv", "qpv", "commune", "commune"],
    ...     "indicateur": ["taux_chomage_1564"] * 4, "sexe": ["ensemble"] * 4,
    ...     "annee": [2011, 2016, 2011, 2016], "valeur": [30.0, 25.0, 12.0, 11.0],
    ...     "unite": ["%"] * 4, "methode": ["m"] * 4, "statut": ["estime"] * 4,
    ...     "origine": ["insee"] * 4})
    >>> refs = pd.DataFrame({"territoire_code": ["Q"], "niveau": ["qpv"],
    ...                      "reference_niveau": ["commune"], "reference_code": ["K"]})
    >>> e, ev = calculer_ecarts(ind, refs)
    >>> e["ecart_points"].tolist(), e["lecture"].iloc[0]
    ([18.0, 14.0], 'moins favorable que la référence')
    >>> ev[["ecart_debut", "ecart_fin", "evolution_ecart", "lecture"]].values.tolist()
    [[18.0, 14.0, -4.0, 'écart réduit ; situation relative améliorée']]
    """
    codebook = codebook or charger_codebook()
    for c in ("territoire_code", "niveau", "reference_niveau", "reference_code"):
        if c not in references.columns:
            raise ErreurDonnees(f"table des références : colonne {c!r} manquante")
    direction = {(i.id, i.sexe): i.direction for i in codebook}
    types = {(i.id, i.sexe): i.type for i in codebook}
    zones = indicateurs.merge(
        references[["territoire_code", "niveau"]].drop_duplicates(),
        on=["territoire_code", "niveau"],
    )
    # A median or poverty rate left missing on purpose is not a gap to compute.
    zones = zones[
        ~(
            (zones["statut"] == "manquant")
            & zones["methode"].isin(["non_additif", "iris_seulement"])
        )
    ]
    if "territoire_nom" not in zones.columns:
        zones = zones.assign(territoire_nom=None)
    for c in ("origine", "unite"):
        if c not in zones.columns:
            zones = zones.assign(**{c: None})
    ref_val = valeurs_de_reference(indicateurs).rename(
        columns={
            "niveau": "reference_niveau",
            "territoire_code": "reference_code",
            "valeur": "reference_valeur",
            "statut": "reference_statut",
            "methode": "reference_methode",
            "note": "reference_note",
        }
    )
    if "reference_note" not in ref_val.columns:
        ref_val["reference_note"] = None
    e = zones.merge(references, on=["territoire_code", "niveau"])
    e = _references_proches(e, ref_val, tolerance_annees)
    e["reference_statut"] = e["reference_statut"].fillna("manquant")
    e["ecart_points"] = e["valeur"] - e["reference_valeur"]
    effectif = pd.Series(
        [types.get(k) == "effectif" for k in zip(e["indicateur"], e["sexe"], strict=True)],
        index=e.index,
        dtype=bool,
    )
    e.loc[effectif, "ecart_points"] = np.nan
    loin = e["ecart_annees"].gt(SEUIL_MILLESIMES).fillna(False).to_numpy(dtype=bool)
    e["avertissement"] = None
    e.loc[loin, "avertissement"] = [
        f"millésimes distants de {d:.0f} ans (valeur {a}, référence {r})"
        for d, a, r in zip(
            e.loc[loin, "ecart_annees"],
            e.loc[loin, "annee"],
            e.loc[loin, "reference_annee"],
            strict=True,
        )
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        e["ratio"] = e["valeur"] / e["reference_valeur"].where(e["reference_valeur"] != 0)
    dirs = pd.Series(
        [direction.get(k, "neutre") for k in zip(e["indicateur"], e["sexe"], strict=True)],
        index=e.index,
    )
    e["lecture"] = lecture_ecart(e["ecart_points"], dirs)
    e.loc[effectif, "lecture"] = LECTURE_EFFECTIF
    e["direction"] = dirs
    e["valeur_statut"] = e["statut"]
    e["statut"] = _statut_combine(e["statut"], e["reference_statut"])
    e = e[COLONNES_ECARTS + [c for c in _EXTRA_ECARTS if c not in COLONNES_ECARTS]]
    e = e.sort_values(
        [
            "niveau",
            "territoire_code",
            "indicateur",
            "sexe",
            "reference_niveau",
            "reference_code",
            "origine",
            "methode",
            "annee",
        ],
        kind="stable",
    )
    e = e.reset_index(drop=True)
    ev = calculer_evolutions(
        e, ecart_min_annees=ecart_min_annees, inclure_rapprochees=inclure_rapprochees
    )
    return e, ev


def calculer_evolutions(
    ecarts: pd.DataFrame, *, ecart_min_annees: int = 5, inclure_rapprochees: bool = False
) -> pd.DataFrame:
    """Evolution of each value and gap between two vintages of the same origin and method.

    Parameters
    ----------
    ecarts : DataFrame
        Output of :func:`calculer_ecarts`.
    ecart_min_annees : int
        Pairs closer than this are dropped (or kept and flagged with
        ``inclure_rapprochees``).
    inclure_rapprochees : bool

    Returns
    -------
    DataFrame
        :data:`COLONNES_EVOLUTION`.
    """
    cles = [
        "territoire_code",
        "niveau",
        "indicateur",
        "sexe",
        "origine",
        "methode",
        "reference_niveau",
        "reference_code",
    ]
    e = ecarts.copy()
    e["origine"] = e["origine"].fillna("")
    e["methode"] = e["methode"].fillna("")
    if "direction" not in e.columns:
        e["direction"] = "neutre"
    if "reference_statut" not in e.columns:
        e["reference_statut"] = None
    gauche = e[
        [
            *cles,
            "territoire_nom",
            "direction",
            "annee",
            "valeur",
            "ecart_points",
            "statut",
            "reference_statut",
        ]
    ]
    if "lecture" not in e.columns:
        e["lecture"] = None
    gauche = gauche.assign(lecture=e["lecture"])
    droite = e[[*cles, "annee", "valeur", "ecart_points", "statut", "reference_statut"]]
    j = gauche.merge(droite, on=cles, suffixes=("_d", "_f"))
    j = j[j["annee_f"] > j["annee_d"]]
    j["ecart_annees"] = j["annee_f"] - j["annee_d"]
    # partners' yearly files are compared year after year; census vintages 5 years apart
    minimum = np.where(j["origine"].eq("partenaire"), 1, ecart_min_annees)
    j["comparable"] = j["ecart_annees"] >= minimum
    if not inclure_rapprochees:
        j = j[j["comparable"]]
    out = pd.DataFrame(
        {
            **{c: j[c] for c in cles},
            "territoire_nom": j["territoire_nom"],
            "annee_debut": j["annee_d"],
            "annee_fin": j["annee_f"],
            "ecart_annees": j["ecart_annees"],
            "valeur_debut": j["valeur_d"],
            "valeur_fin": j["valeur_f"],
            "evolution_valeur": j["valeur_f"] - j["valeur_d"],
            "ecart_debut": j["ecart_points_d"],
            "ecart_fin": j["ecart_points_f"],
            "evolution_ecart": j["ecart_points_f"] - j["ecart_points_d"],
            "comparable": j["comparable"],
        }
    )
    out["lecture"] = lecture_evolution(out["ecart_debut"], out["ecart_fin"], j["direction"])
    if "lecture" in e.columns:
        effectif = (j["lecture"] == LECTURE_EFFECTIF).to_numpy()
        out.loc[effectif, "lecture"] = "effectif : évolution de la valeur seulement"
    proche = np.where(
        out["comparable"],
        "",
        f"millésimes à moins de {ecart_min_annees} ans d'écart : enquêtes annuelles de "
        "recensement en partie communes, comparaison déconseillée par l'INSEE",
    )
    out["reference_statut_debut"] = j["reference_statut_d"].to_numpy()
    out["reference_statut_fin"] = j["reference_statut_f"].to_numpy()
    rd = out["reference_statut_debut"].fillna("?").astype(str)
    rf = out["reference_statut_fin"].fillna("?").astype(str)
    ref = np.where(
        rd != rf,
        "référence de statut différent entre les deux millésimes (" + rd + " → " + rf + ")",
        "",
    )
    avert = [" ; ".join(x for x in (a, b) if x) for a, b in zip(proche, ref, strict=True)]
    out["avertissement"] = [a or None for a in avert]
    out["statut"] = _statut_combine(j["statut_d"], j["statut_f"]) if len(j) else []
    out = out[COLONNES_EVOLUTION].sort_values(
        [
            "niveau",
            "territoire_code",
            "indicateur",
            "sexe",
            "reference_niveau",
            "reference_code",
            "origine",
            "annee_debut",
            "annee_fin",
        ],
        kind="stable",
    )
    return out.reset_index(drop=True)
