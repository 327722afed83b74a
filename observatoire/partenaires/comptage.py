"""Counts (and rates) of a partner's table per zone, commune and EPCI, by sex, with the secret.

A territory's count is the sum of the weights of the rows placed in it
(:func:`observatoire.partenaires.localisation.localiser`). Secret statistique: no count
under the table's threshold (11 by default) is published, and complement suppression
(:func:`observatoire.indicateurs.secret.appliquer_secret`) runs on the rows' placement
signatures, so that a hidden count cannot be recovered by difference (a commune minus
its QPV, the EPCI minus its communes); when a sex is hidden in a territory, the other
sex is hidden too (the total minus one sex gives the other). Rates divide the count by
an indicator of the run (e.g. the population) for the same territory, vintage stated.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from observatoire.indicateurs.codebook import Codebook, Indicateur
from observatoire.indicateurs.consolidation import _normaliser
from observatoire.partenaires.modele import TablePartenaire

__all__ = ["indicateurs_codebook", "compter"]

ORIGINE = "partenaire"


def indicateurs_codebook(spec: TablePartenaire) -> list[Indicateur]:
    """Codebook entries of a partner table: the count (and rate) by sex.

    Examples
    --------
    >>> s = TablePartenaire(code="jeunes_ml", libelle="Jeunes suivis", partenaire="ML",
    ...     source="f.csv", annee=2025, cle="code_qpv", colonnes={"code_qpv": "QPV"})
    >>> [(i.id, i.sexe, i.type) for i in indicateurs_codebook(s)]
    [('nb_jeunes_ml', 'ensemble', 'effectif')]
    """
    sexes = ["ensemble"] + (["F", "H"] if spec.sexe is not None else [])
    source = f"{spec.partenaire}, fichier {spec.annee}"
    out = []
    for sexe in sexes:
        out.append(
            Indicateur(
                id=spec.id_effectif,
                libelle=f"{spec.libelle} ({spec.partenaire})",
                pilier=spec.pilier,
                theme="partenaires",
                type="effectif",
                sexe=sexe,
                unite="personnes",
                direction="neutre",
                seuil_denominateur=spec.seuil_secret,
                source=source,
                partenaire=spec.partenaire,
            )
        )
        if spec.denominateur is not None:
            out.append(
                Indicateur(
                    id=spec.id_taux,
                    libelle=f"{spec.libelle} pour {spec.denominateur.facteur:g} "
                    f"({spec.partenaire} / {spec.denominateur.indicateur})",
                    pilier=spec.pilier,
                    theme="partenaires",
                    type="taux",
                    sexe=sexe,
                    unite="%"
                    if spec.denominateur.facteur == 100
                    else f"pour {spec.denominateur.facteur:g}",
                    facteur=spec.denominateur.facteur,
                    direction="neutre",
                    seuil_denominateur=0,
                    source=source,
                    partenaire=spec.partenaire,
                )
            )
    return out


def _atomes(app: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Weights tables level → (territory, placement signature) for complement suppression."""
    sig = (
        app.sort_values(["i", "niveau", "code"])
        .assign(
            _k=lambda d: (
                d["niveau"] + ":" + d["code"].astype(str) + ":" + d["poids"].round(9).astype(str)
            )
        )
        .groupby("i")["_k"]
        .agg("|".join)
    )
    atome = pd.Series(pd.factorize(sig)[0], index=sig.index).astype(str)
    a = app.assign(code_iris="a" + app["i"].map(atome))
    out = {}
    for niveau, g in a.groupby("niveau"):
        out[niveau] = (
            g.groupby(["code", "code_iris"], as_index=False)["poids"]
            .max()
            .rename(columns={"code": "code_zone"})
        )
    return out


def compter(
    table: pd.DataFrame,
    appartenances: pd.DataFrame,
    spec: TablePartenaire,
    territoires: pd.DataFrame,
    *,
    bilan: Mapping | None = None,
    denominateurs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Long indicator rows of a partner table for every territory listed.

    Parameters
    ----------
    table : DataFrame
        The partner rows (``sexe``, ``poids``).
    appartenances : DataFrame
        ``i, niveau, code, poids, mode``
        (:func:`~observatoire.partenaires.localisation.localiser`).
    spec : TablePartenaire
    territoires : DataFrame
        ``niveau, territoire_code, territoire_nom``: every territory to publish (a
        territory without a placed row counts 0, which is under the threshold).
    bilan : mapping, optional
        Placement report: the share of rows not placed goes into the note.
    denominateurs : DataFrame, optional
        ``niveau, territoire_code, valeur, annee`` of the denominator indicator.

    Returns
    -------
    DataFrame
        Long rows, origin ``partenaire``: counts ``officiel`` (``estime`` where rows
        coded by IRIS were apportioned), secret under the threshold and by complement.
    """
    from observatoire.indicateurs.secret import appliquer_secret

    w = table["poids"].to_numpy(dtype="float64")
    sexe = table["sexe"].to_numpy(dtype=object)
    a = appartenances.assign(
        _w=appartenances["poids"].to_numpy() * w[appartenances["i"]], _s=sexe[appartenances["i"]]
    )
    ventile = a[a["mode"] == "ventile"].groupby(["niveau", "code"]).size()
    place = (bilan or {}).get("placees")
    total = (bilan or {}).get("lignes")
    note = None
    if place is not None and total:
        note = (
            f"{total - place} ligne(s) sur {total} non localisée(s) "
            f"({100 * (total - place) / total:.1f} %) : voir le bilan de localisation"
        )
    cb = Codebook(indicateurs_codebook(spec), source=f"partenaires ({spec.code})")
    lignes = []
    t = territoires.drop_duplicates(["niveau", "territoire_code"])
    for ind in cb:
        if ind.type != "effectif":
            continue
        sel = a if ind.sexe == "ensemble" else a[a["_s"] == ind.sexe]
        n = sel.groupby(["niveau", "code"])["_w"].sum()
        k = pd.MultiIndex.from_frame(t[["niveau", "territoire_code"]])
        v = n.reindex(k).fillna(0.0).to_numpy()
        est = ventile.reindex(k).fillna(0).to_numpy() > 0
        lignes.append(
            pd.DataFrame(
                {
                    "territoire_code": t["territoire_code"].to_numpy(),
                    "territoire_nom": t["territoire_nom"].to_numpy(),
                    "niveau": t["niveau"].to_numpy(),
                    "indicateur": ind.id,
                    "sexe": ind.sexe,
                    "annee": spec.annee,
                    "valeur": v,
                    "numerateur": v,
                    "denominateur": np.nan,
                    "unite": ind.unite,
                    "methode": np.where(est, "comptage_partenaire(ventile)", "comptage_partenaire"),
                    "statut": np.where(est, "estime", "officiel"),
                    "source": ind.source,
                    "origine": ORIGINE,
                    "formule": f"Σ lignes localisées ({', '.join(spec.cle)})",
                    "note": note,
                }
            )
        )
    out = _normaliser(pd.concat(lignes, ignore_index=True))
    out = appliquer_secret(out, _atomes(appartenances), codebook=cb, origines=(ORIGINE,))
    out = _secret_sexes(out)
    if spec.denominateur is not None and denominateurs is not None:
        out = pd.concat([out, _taux(out, spec, cb, denominateurs)], ignore_index=True)
    return out


def _secret_sexes(out: pd.DataFrame) -> pd.DataFrame:
    """Hide the other sex of a territory where one sex is hidden."""
    sx = out[out["sexe"].isin(["F", "H"])]
    caches = set(
        map(
            tuple,
            sx.loc[
                sx["statut"] == "secret", ["niveau", "territoire_code", "indicateur"]
            ].to_numpy(),
        )
    )
    if not caches:
        return out
    cle = list(zip(out["niveau"], out["territoire_code"], out["indicateur"], strict=True))
    m = (
        np.array([k in caches for k in cle])
        & out["sexe"].isin(["F", "H"]).to_numpy()
        & (out["statut"] != "secret").to_numpy()
    )
    out.loc[m, ["valeur", "numerateur", "denominateur"]] = np.nan
    out.loc[m, "statut"] = "secret"
    out.loc[m, "note"] = "secret par complément (l'autre sexe est sous le seuil)"
    return out


def _taux(
    comptes: pd.DataFrame, spec: TablePartenaire, cb: Codebook, denominateurs: pd.DataFrame
) -> pd.DataFrame:
    d = denominateurs.drop_duplicates(["niveau", "territoire_code"]).set_index(
        ["niveau", "territoire_code"]
    )
    c = comptes.copy()
    k = pd.MultiIndex.from_frame(c[["niveau", "territoire_code"]])
    den = d["valeur"].reindex(k).to_numpy(dtype="float64")
    an = d["annee"].reindex(k).to_numpy()
    f = spec.denominateur.facteur
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(den > 0, f * c["valeur"].to_numpy(dtype="float64") / den, np.nan)
    c["indicateur"] = spec.id_taux
    c["valeur"] = v
    c["denominateur"] = den
    c["unite"] = cb[spec.id_taux, "ensemble"].unite
    c["statut"] = np.where(
        c["statut"] == "secret", "secret", np.where(np.isnan(v), "manquant", c["statut"])
    )
    c["formule"] = f"{f:g} × {spec.id_effectif} / {spec.denominateur.indicateur}"
    c["note"] = [
        None
        if np.isnan(x)
        else f"dénominateur : {spec.denominateur.indicateur} {int(a)} ; comptage {spec.annee}"
        for x, a in zip(den, np.where(pd.isna(an), 0, an), strict=True)
    ]
    return c
