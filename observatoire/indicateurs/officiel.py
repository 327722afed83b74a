"""Official values of record: communes, départements, France, QPV.

Where a value is published for a territory (commune/département tables, official
QPV tables), it is the value of record (status ``officiel``). The IRIS-based
estimate of the same indicator stays in the table as a separate row (told apart
by ``methode``/``statut``/``origine``); :func:`comparer_officiel_estime` puts the
two side by side with their difference.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from observatoire.chargement.codes import colonnes_niveau
from observatoire.indicateurs.codebook import Codebook, charger_codebook
from observatoire.indicateurs.consolidation import _normaliser, table_vide
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = [
    "valeurs_officielles_zonages",
    "valeurs_officielles_ptod",
    "valeurs_officielles_qpv",
    "comparer_officiel_estime",
    "PRIORITE_STATUT",
]

#: Rank of each status when one value of record is chosen (lower wins).
PRIORITE_STATUT = {
    "officiel": 0,
    "estime_corrige": 1,
    "estime": 2,
    "approximation": 3,
    "secret": 4,
    "manquant": 5,
}


def valeurs_officielles_ptod(
    table: pd.DataFrame,
    *,
    codebook: Codebook | None = None,
    codes: list[str] | None = None,
    code_france: str = "FR",
    noms: Mapping[str, str] | None = None,
    source: str = "ptod-observatoire-territorial",
) -> pd.DataFrame:
    """Official commune, département and France values from a ``ptod`` table.

    Parameters
    ----------
    table : DataFrame
        From :func:`observatoire.chargement.lire_indicateurs_ptod` with ``niveau``
        ``"commune"`` (``code_commune, nom_commune``) or ``"departement"``
        (``code_departement, nom_departement``); the row ``00FR`` becomes level
        ``france`` with code ``code_france``.
    codebook : Codebook, optional
    codes : list of str, optional
        Keep only these territory codes (``00FR`` or ``code_france`` for France).
    code_france : str
        Code given to France.
    noms : mapping, optional
        Code → name (default: the table's name column).
    source : str
        Label of the source.

    Returns
    -------
    DataFrame
        Long indicator rows, status ``officiel``, method ``valeur_publiee``, origin
        ``ptod_officiel`` (no numerator/denominator: rates are published alone).

    Examples
    --------
    >>> t = pd.DataFrame({"code_commune": ["13047"], "niveau": ["commune"],
    ...                   "nom_commune": ["Istres"], "annee": [2022], "soc_txchom_1564": [11.12]})
    >>> cb = charger_codebook().selection(["taux_chomage_1564"])
    >>> r = valeurs_officielles_ptod(t, codebook=cb)
    >>> r[["territoire_code", "niveau", "valeur", "statut"]].values.tolist()
    [['13047', 'commune', 11.12, 'officiel']]
    """
    codebook = codebook or charger_codebook()
    for c in ("niveau", "annee"):
        if c not in table.columns:
            raise ErreurDonnees(f"table officielle ptod : colonne {c!r} manquante")
    niveaux = sorted(set(table["niveau"].astype(str)))
    if len(niveaux) > 1:
        raise ErreurDonnees(f"table officielle ptod : un seul niveau par table, reçu {niveaux}")
    if not niveaux:
        return table_vide()
    try:
        c_code, c_nom = colonnes_niveau(niveaux[0])
    except ValueError as exc:
        raise ErreurDonnees(f"table officielle ptod : {exc}") from None
    if c_code not in table.columns:
        raise ErreurDonnees(f"table officielle ptod : colonne {c_code!r} manquante")
    t = table.copy()
    t[c_code] = t[c_code].astype("object")
    france = t[c_code].isin(["00FR", "FR", "FRA", "FRM"])
    t["_niveau"] = np.where(france, "france", t["niveau"].astype(str))
    t.loc[france, c_code] = code_france
    if codes is not None:
        garder = set(codes) | ({code_france} if {"00FR", code_france} & set(codes) else set())
        t = t[t[c_code].isin(garder)]
    morceaux = []
    for ind in codebook:
        sp = ind.ptod
        if sp is None or sp.colonne not in t.columns:
            continue
        sel = t[pd.to_numeric(t[sp.colonne], errors="coerce").notna()]
        if sp.annees is not None:
            sel = sel[sel["annee"].astype(int).isin(sp.annees)]
        if sel.empty:
            continue
        nom = sel[c_nom] if c_nom in sel.columns else pd.Series(None, index=sel.index)
        if noms:
            nom = sel[c_code].map(noms).fillna(nom)
        morceaux.append(
            pd.DataFrame(
                {
                    "territoire_code": sel[c_code].to_numpy(),
                    "territoire_nom": nom.to_numpy(),
                    "niveau": sel["_niveau"].to_numpy(),
                    "indicateur": ind.id,
                    "sexe": ind.sexe,
                    "annee": sel["annee"].astype(int).to_numpy(),
                    "valeur": pd.to_numeric(sel[sp.colonne], errors="coerce").to_numpy(
                        dtype="float64"
                    ),
                    "numerateur": np.nan,
                    "denominateur": np.nan,
                    "unite": ind.unite,
                    "methode": "valeur_publiee",
                    "statut": "officiel",
                    "source": [
                        f"{source}, colonne {sp.colonne}_{str(a)[-2:]} ({ind.source}), "
                        f"millésime {a}"
                        for a in sel["annee"].astype(int)
                    ],
                    "origine": "ptod_officiel",
                    "formule": sp.colonne,
                }
            )
        )
    if not morceaux:
        return table_vide()
    return _normaliser(pd.concat(morceaux, ignore_index=True))


def valeurs_officielles_qpv(
    table: pd.DataFrame,
    *,
    codebook: Codebook | None = None,
    annee: int | None = None,
    codes: list[str] | None = None,
    source: str = "ANCT/INSEE, données QPV",
    annees_colonnes: Mapping[str, int] | None = None,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """Official QPV values of record from an official QPV table.

    Parameters
    ----------
    table : DataFrame
        From :func:`observatoire.chargement.lire_qpv_officiel`.
    codebook : Codebook, optional
    annee : int, optional
        Vintage of the values when the table has no ``annee_source`` column (the
        QPV 2024 table does not state it; its population is the RP 2020 one).
    codes : list of str, optional
        Keep only these QPV.
    source : str
        Label of the source.
    annees_colonnes : mapping, optional
        Column of the table → vintage, for columns whose vintage differs from ``annee``.
    rapport : Rapport, optional

    Returns
    -------
    DataFrame
        Long rows, level ``qpv``, status ``officiel``, method ``valeur_publiee_qpv``,
        origin ``qpv_officiel``. Empty cells (secret or missing in the source) give
        ``manquant`` rows, never 0.

    Examples
    --------
    >>> t = pd.DataFrame({"code_zone": ["QN01365M"], "nom_zone": ["Le Prépaou"],
    ...                   "generation": [2024], "pop_mun": [3027.0]})
    >>> r = valeurs_officielles_qpv(t, codebook=charger_codebook().selection(["population"]),
    ...                             annee=2020)
    >>> r[["territoire_code", "valeur", "annee", "statut"]].values.tolist()
    [['QN01365M', 3027.0, 2020, 'officiel']]
    """
    codebook = codebook or charger_codebook()
    if "code_zone" not in table.columns:
        raise ErreurDonnees("table officielle des QPV : colonne 'code_zone' manquante")
    t = table if codes is None else table[table["code_zone"].isin(codes)]
    if "annee_source" in t.columns and t["annee_source"].notna().any():
        annees = pd.to_numeric(t["annee_source"], errors="coerce")
        if annee is not None:
            annees = annees.fillna(annee)
    elif annee is not None:
        annees = pd.Series(annee, index=t.index)
    else:
        raise ErreurDonnees(
            "la table officielle des QPV n'a pas de colonne 'annee_source' : passer annee= "
            "(millésime de ses valeurs)"
        )
    if annees.isna().any():
        raise ErreurDonnees(
            "table officielle des QPV : millésime inconnu pour certaines lignes ; passer annee="
        )
    morceaux = []
    for ind in codebook:
        sq = ind.qpv_officiel
        if sq is None or sq.colonne not in t.columns:
            continue
        v = pd.to_numeric(t[sq.colonne], errors="coerce").astype("float64")
        annees_col = annees
        if annees_colonnes and sq.colonne in annees_colonnes:
            annees_col = pd.Series(int(annees_colonnes[sq.colonne]), index=t.index)
        gen = t["generation"].astype(str) if "generation" in t.columns else "?"
        morceaux.append(
            pd.DataFrame(
                {
                    "territoire_code": t["code_zone"].to_numpy(),
                    "territoire_nom": t["nom_zone"].to_numpy() if "nom_zone" in t.columns else None,
                    "niveau": "qpv",
                    "indicateur": ind.id,
                    "sexe": ind.sexe,
                    "annee": annees_col.astype(int).to_numpy(),
                    "valeur": v.to_numpy(),
                    "numerateur": np.nan,
                    "denominateur": np.nan,
                    "unite": ind.unite,
                    "methode": "valeur_publiee_qpv",
                    "statut": np.where(v.isna(), "manquant", "officiel"),
                    "source": (
                        f"{source} (QPV "
                        + pd.Series(gen, index=t.index).astype(str)
                        + f"), colonne {sq.colonne}"
                    ).to_numpy(),
                    "origine": "qpv_officiel",
                    "formule": sq.colonne,
                    "note": np.where(
                        v.isna(), "vide dans la table officielle (secret ou non disponible)", None
                    ),
                }
            )
        )
    if not morceaux:
        return table_vide()
    out = _normaliser(pd.concat(morceaux, ignore_index=True))
    if rapport is not None:
        rapport.info(
            "indicateurs",
            source,
            f"{int((out['statut'] == 'officiel').sum())} valeurs "
            f"officielles QPV ({out['territoire_code'].nunique()} QPV)",
            n=len(out),
        )
    return out


_ZONAGES = {"EPCI": "epci", "DEP": "departement", "COM": "commune", "FRANCE": "france"}


def valeurs_officielles_zonages(
    table: pd.DataFrame,
    *,
    codebook: Codebook | None = None,
    source: str = "INSEE, RP, Population active, emploi et chômage (EMP T1/T2)",
) -> pd.DataFrame:
    """Official activity, employment and unemployment rates of INSEE zonings (EMP tables).

    Parameters
    ----------
    table : DataFrame
        One row per zoning × vintage with ``geo_type, geo_code, geo_label, rp_year,
        pop_1564, actifs_1564, actifs_occupes_1564, pct_actifs_of_pop1564,
        pct_actifs_occupes_of_pop1564, pct_chomeurs_of_pop1564`` (the file
        ``insee_rp_emploi_chomage_zonages_*.csv``). ``geo_type`` EPCI gives level
        ``epci`` (e.g. the Métropole Aix-Marseille-Provence); other zonings keep their
        type in lower case (``bv2022``, ``ze2020``…).
    codebook : Codebook, optional
    source : str

    Returns
    -------
    DataFrame
        Long rows. Activity and employment rates are ``officiel`` (published shares,
        with numerator/denominator when the counts are given). The unemployment rate is
        ``officiel`` when actifs and actifs occupés are given (chômeurs = actifs − actifs
        occupés), otherwise derived from the rounded shares (chômeurs % / actifs %) and
        labelled ``approximation``.

    Examples
    --------
    >>> t = pd.DataFrame({"geo_type": ["EPCI"], "geo_code": ["200054807"],
    ...     "geo_label": ["Métropole AMP"], "rp_year": [2022], "pop_1564": [1193993.0],
    ...     "actifs_1564": [855851.0], "actifs_occupes_1564": [752639.0],
    ...     "pct_actifs_of_pop1564": [71.7], "pct_actifs_occupes_of_pop1564": [63.0],
    ...     "pct_chomeurs_of_pop1564": [8.6]})
    >>> r = valeurs_officielles_zonages(t)
    >>> r.set_index("indicateur")["valeur"].round(2).to_dict()
    {'taux_activite_1564': 71.7, 'taux_emploi_1564': 63.0, 'taux_chomage_1564': 12.06}
    """
    codebook = codebook or charger_codebook()
    requis = [
        "geo_type",
        "geo_code",
        "rp_year",
        "pct_actifs_of_pop1564",
        "pct_actifs_occupes_of_pop1564",
        "pct_chomeurs_of_pop1564",
    ]
    manquantes = [c for c in requis if c not in table.columns]
    if manquantes:
        raise ErreurDonnees(f"table du zonage INSEE : colonne(s) {manquantes} manquante(s)")
    t = table.copy()

    def num(c):
        return (
            pd.to_numeric(t[c], errors="coerce").astype("float64")
            if c in t.columns
            else pd.Series(np.nan, index=t.index)
        )

    pop, act, occ = num("pop_1564"), num("actifs_1564"), num("actifs_occupes_1564")
    p_act, p_occ, p_cho = (
        num("pct_actifs_of_pop1564"),
        num("pct_actifs_occupes_of_pop1564"),
        num("pct_chomeurs_of_pop1564"),
    )
    exact = act.notna() & occ.notna()
    chom = pd.Series(np.where(exact, 100 * (act - occ) / act, 100 * p_cho / p_act), index=t.index)
    niveau = t["geo_type"].astype(str).map(lambda g: _ZONAGES.get(g.upper(), g.lower()))
    specs = [
        (
            "taux_activite_1564",
            p_act,
            act,
            pop,
            pd.Series("officiel", index=t.index),
            "part publiée (EMP T1)",
        ),
        (
            "taux_emploi_1564",
            p_occ,
            occ,
            pop,
            pd.Series("officiel", index=t.index),
            "part publiée (EMP T1)",
        ),
        (
            "taux_chomage_1564",
            chom,
            (act - occ).where(exact),
            act.where(exact),
            pd.Series(np.where(exact, "officiel", "approximation"), index=t.index),
            None,
        ),
    ]
    morceaux = []
    for ident, valeur, n, d, statut, formule in specs:
        if (ident, "ensemble") not in codebook:
            continue
        ind = codebook[ident]
        form = formule or pd.Series(
            np.where(
                exact,
                "100 × (actifs − actifs occupés) / actifs (EMP T2)",
                "100 × chômeurs % / actifs % (parts arrondies, EMP T1)",
            ),
            index=t.index,
        )
        morceaux.append(
            pd.DataFrame(
                {
                    "territoire_code": t["geo_code"].astype(str).to_numpy(),
                    "territoire_nom": (
                        t["geo_label"] if "geo_label" in t.columns else t["geo_code"]
                    ).to_numpy(),
                    "niveau": niveau.to_numpy(),
                    "indicateur": ind.id,
                    "sexe": ind.sexe,
                    "annee": pd.to_numeric(t["rp_year"]).astype(int).to_numpy(),
                    "valeur": valeur.to_numpy(dtype="float64"),
                    "numerateur": n.to_numpy(dtype="float64"),
                    "denominateur": d.to_numpy(dtype="float64"),
                    "unite": ind.unite,
                    "methode": "valeur_publiee_zonage",
                    "statut": statut.to_numpy(),
                    "source": (
                        source
                        + (", " + t["source_url"].astype(str) if "source_url" in t.columns else "")
                    ).to_numpy()
                    if "source_url" in t.columns
                    else source,
                    "origine": "insee_zonage",
                    "formule": form if isinstance(form, str) else form.to_numpy(),
                }
            )
        )
    if not morceaux:
        return table_vide()
    return _normaliser(pd.concat(morceaux, ignore_index=True))


def comparer_officiel_estime(table: pd.DataFrame, *, tolerance_annees: int = 2) -> pd.DataFrame:
    """Put each official value beside the IRIS-based estimate of the same indicator.

    Parameters
    ----------
    table : DataFrame
        Long indicator table with official and estimated rows.
    tolerance_annees : int
        Largest vintage difference accepted between the official value and the
        estimate (the nearest vintage is taken; ties go to the later one).

    Returns
    -------
    DataFrame
        ``territoire_code, territoire_nom, niveau, indicateur, sexe, annee_officielle,
        valeur_officielle, source_officielle, annee_estimation, valeur_estimee,
        statut_estimation, methode_estimation, difference`` (estimate − official),
        ``difference_relative`` (difference / official).

    Examples
    --------
    >>> t = pd.DataFrame({"territoire_code": ["13047"] * 2, "territoire_nom": ["Istres"] * 2,
    ...     "niveau": ["commune"] * 2, "indicateur": ["taux_chomage_1564"] * 2,
    ...     "sexe": ["ensemble"] * 2, "annee": [2022, 2022], "valeur": [11.12, 11.4],
    ...     "statut": ["officiel", "approximation"], "methode": ["valeur_publiee", "x"],
    ...     "source": ["ptod", "ptod"]})
    >>> round(float(comparer_officiel_estime(t)["difference"].iloc[0]), 2)
    0.28
    """
    cles = ["territoire_code", "niveau", "indicateur", "sexe"]
    off = table[(table["statut"] == "officiel") & (table["niveau"] != "iris")]
    est = table[table["statut"].isin(["estime", "estime_corrige", "approximation"])]
    colonnes = [
        "territoire_code",
        "territoire_nom",
        "niveau",
        "indicateur",
        "sexe",
        "annee_officielle",
        "valeur_officielle",
        "source_officielle",
        "annee_estimation",
        "valeur_estimee",
        "statut_estimation",
        "methode_estimation",
        "difference",
        "difference_relative",
    ]
    if off.empty or est.empty:
        return pd.DataFrame(columns=colonnes)
    j = off[[*cles, "territoire_nom", "annee", "valeur", "source"]].merge(
        est[[*cles, "annee", "valeur", "statut", "methode"]], on=cles, suffixes=("_o", "_e")
    )
    j["_dist"] = (j["annee_o"].astype(int) - j["annee_e"].astype(int)).abs()
    j = j[j["_dist"] <= tolerance_annees]
    j = j.sort_values(
        [*cles, "annee_o", "methode", "_dist", "annee_e"], ascending=[True] * 7 + [False]
    )
    j = j.drop_duplicates([*cles, "annee_o", "methode", "statut"], keep="first")
    out = pd.DataFrame(
        {
            "territoire_code": j["territoire_code"],
            "territoire_nom": j["territoire_nom"],
            "niveau": j["niveau"],
            "indicateur": j["indicateur"],
            "sexe": j["sexe"],
            "annee_officielle": j["annee_o"].astype(int),
            "valeur_officielle": j["valeur_o"],
            "source_officielle": j["source"],
            "annee_estimation": j["annee_e"].astype(int),
            "valeur_estimee": j["valeur_e"],
            "statut_estimation": j["statut"],
            "methode_estimation": j["methode"],
        }
    )
    out["difference"] = out["valeur_estimee"] - out["valeur_officielle"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["difference_relative"] = out["difference"] / out["valeur_officielle"].where(
            out["valeur_officielle"] != 0
        )
    return out.reset_index(drop=True)[colonnes]
