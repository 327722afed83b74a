"""Synthesis table: the headline value of every zone × indicator × sex, with its gaps.

What the steering committee reads. For each zone (QPV, veille), indicator and sex,
and for a census vintage ``Y``:

- the candidates are the values whose nearest census vintage is ``Y`` (ties go to the
  later vintage) and whose own year is within :data:`FENETRE_ANNEES` years of it —
  so the official QPV values of 2020 stand for 2022;
- the headline is the value of record among them
  (:mod:`observatoire.indicateurs.valeur_retenue`: official first, then grid,
  corrected, IRIS estimates by weighting method, approximations);
- each reference level (commune, EPCI, département, France) gets one row with the
  reference value the gap table compared the headline with (nearest vintage, both
  vintages stated), the gap in points (none for head counts) and its reading;
- ``fiabilite`` grades the headline (:mod:`observatoire.indicateurs.fiabilite`),
  counting the vintage difference with the reference.

The published ``tables/synthese`` holds the latest census vintage; the sheets of
earlier vintages use the same function for theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from observatoire.indicateurs.codebook import Codebook, charger_codebook
from observatoire.indicateurs.fiabilite import fiabilite
from observatoire.indicateurs.valeur_retenue import millesime_proche, valeurs_retenues

__all__ = ["COLONNES_SYNTHESE", "FENETRE_ANNEES", "table_synthese"]

#: Largest difference between a value's year and the census vintage it stands for.
FENETRE_ANNEES = 3
#: Columns of the synthesis table.
COLONNES_SYNTHESE = [
    "territoire_code",
    "territoire_nom",
    "niveau",
    "indicateur",
    "libelle",
    "pilier",
    "sexe",
    "annee_recensement",
    "annee",
    "valeur",
    "unite",
    "statut",
    "methode",
    "source",
    "fiabilite",
    "fiabilite_motif",
    "reference_niveau",
    "reference_code",
    "reference_nom",
    "reference_annee",
    "reference_valeur",
    "reference_statut",
    "ecart_points",
    "ecart_statut",
    "ecart_annees",
    "lecture",
    "note",
    "valeur_officielle",
    "annee_officielle",
    "intervalle_bas",
    "intervalle_haut",
    "valeur_non_corrigee",
]
_ZONES = ("qpv", "veille")
_SANS_REFERENCE = "pas de référence de même définition dans les sources"


def _candidats(zones: pd.DataFrame, millesimes: Sequence[int], fenetre: int) -> pd.DataFrame:
    a = zones["annee"].astype("int64").to_numpy()
    r = millesime_proche(a, millesimes)
    t = zones.assign(annee_recensement=r, _dist=np.abs(a - r))
    t = t[t["_dist"] <= fenetre]
    # among equal ranks the nearest year wins, then the later one
    return t.sort_values(["_dist", "annee"], ascending=[True, False], kind="stable")


def table_synthese(
    indicateurs: pd.DataFrame,
    ecarts: pd.DataFrame,
    *,
    millesimes: Iterable[int],
    references: pd.DataFrame,
    niveaux_reference: Sequence[str] = ("commune", "epci", "departement", "france"),
    codebook: Codebook | None = None,
    zones: pd.DataFrame | None = None,
    noms_references: Mapping[tuple[str, str], str] | None = None,
    fenetre: int = FENETRE_ANNEES,
    tous_millesimes: bool = False,
) -> pd.DataFrame:
    """Headline value of each zone × indicator × sex × reference level.

    Parameters
    ----------
    indicateurs : DataFrame
        Long indicator table of the run (every level, every value row).
    ecarts : DataFrame
        Gap table (:func:`observatoire.ecarts.calculer_ecarts`).
    millesimes : iterable of int
        Census vintages of the run.
    references : DataFrame
        ``territoire_code, niveau, reference_niveau, reference_code``.
    niveaux_reference : sequence of str
        Reference levels, one row each (missing ones say so in ``note``).
    codebook : Codebook, optional
    zones : DataFrame, optional
        :func:`observatoire.indicateurs.fiabilite.infos_zones`.
    noms_references : mapping, optional
        ``(niveau, code)`` → name of the reference territory.
    fenetre : int
        See :data:`FENETRE_ANNEES`.
    tous_millesimes : bool
        Every census vintage (for the sheets) instead of the latest only.

    Returns
    -------
    DataFrame
        :data:`COLONNES_SYNTHESE`.
    """
    codebook = codebook or charger_codebook()
    millesimes = sorted(int(m) for m in millesimes)
    meta = {(i.id, i.sexe): i for i in codebook}
    z = indicateurs[indicateurs["niveau"].isin(_ZONES)]
    c = _candidats(z, millesimes, fenetre)
    if not tous_millesimes:
        c = c[c["annee_recensement"] == max(millesimes)]
    cles = ["niveau", "territoire_code", "indicateur", "sexe", "annee_recensement"]
    tete = valeurs_retenues(c, cles).drop(columns="_dist")

    # official values of the zone when the headline is not one (cited beside it)
    off = z[(z["statut"] == "officiel") & z["valeur"].notna()]
    off = off.sort_values("annee").drop_duplicates(
        ["niveau", "territoire_code", "indicateur", "sexe"], keep="last"
    )
    off = off.set_index(["niveau", "territoire_code", "indicateur", "sexe"])
    k = pd.MultiIndex.from_frame(tete[["niveau", "territoire_code", "indicateur", "sexe"]])
    est_off = tete["statut"].eq("officiel").to_numpy()
    tete["valeur_officielle"] = np.where(
        est_off, np.nan, off["valeur"].reindex(k).to_numpy(dtype="float64")
    )
    tete["annee_officielle"] = pd.array(
        np.where(est_off, np.nan, off["annee"].reindex(k).to_numpy(dtype="float64")), dtype="Int64"
    )

    # one row per reference territory of each zone and level asked
    refs = references[references["reference_niveau"].isin(niveaux_reference)]
    refs = refs[["territoire_code", "niveau", "reference_niveau", "reference_code"]]
    s = tete.merge(refs.drop_duplicates(), on=["territoire_code", "niveau"], how="left")
    cols_e = [
        "reference_valeur",
        "reference_statut",
        "reference_annee",
        "ecart_points",
        "statut",
        "ecart_annees",
        "lecture",
    ]
    cles_e = [
        "territoire_code",
        "niveau",
        "indicateur",
        "sexe",
        "annee",
        "methode",
        "origine",
        "reference_niveau",
        "reference_code",
    ]
    e = ecarts[[c for c in [*cles_e, *cols_e] if c in ecarts.columns]]
    e = e.rename(columns={"statut": "ecart_statut"}).drop_duplicates(cles_e)
    s = s.merge(
        e,
        on=[
            "territoire_code",
            "niveau",
            "indicateur",
            "sexe",
            "annee",
            "methode",
            "origine",
            "reference_niveau",
            "reference_code",
        ],
        how="left",
    )
    for col in ("reference_annee", "ecart_annees"):
        if col not in s.columns:
            s[col] = pd.NA
        s[col] = pd.array(pd.to_numeric(s[col], errors="coerce"), dtype="Int64")

    s["libelle"] = [
        getattr(meta.get(t), "libelle", None) for t in zip(s["indicateur"], s["sexe"], strict=True)
    ]
    s["pilier"] = [
        getattr(meta.get(t), "pilier", None) for t in zip(s["indicateur"], s["sexe"], strict=True)
    ]
    noms = noms_references or {}
    s["reference_nom"] = [
        noms.get((n, c)) if isinstance(n, str) else None
        for n, c in zip(s["reference_niveau"], s["reference_code"], strict=True)
    ]
    grade, motif = fiabilite(s, zones, ecart_annees=s["ecart_annees"])
    s["fiabilite"] = grade
    s["fiabilite_motif"] = motif
    s["note"] = _notes(s, z, meta)
    s = s.sort_values(
        [
            "niveau",
            "territoire_code",
            "indicateur",
            "sexe",
            "annee_recensement",
            "reference_niveau",
            "reference_code",
        ],
        kind="stable",
    )
    for col in COLONNES_SYNTHESE:
        if col not in s.columns:
            s[col] = None
    return s[COLONNES_SYNTHESE].reset_index(drop=True)


def _notes(s: pd.DataFrame, zones: pd.DataFrame, meta: dict) -> list:
    """French note of each synthesis row (missing reference, distant vintages)."""
    out = []
    effectif = {k for k, i in meta.items() if i.type == "effectif"}
    for row in s.itertuples(index=False):
        notes = []
        if (
            isinstance(row.reference_niveau, str)
            and pd.isna(row.reference_valeur)
            and pd.notna(row.valeur)
        ):
            if str(row.methode).startswith("grille"):
                notes.append(
                    "le carroyage ne couvre pas ce territoire de référence : pas de "
                    "référence calculée sur une couverture partielle"
                )
            else:
                notes.append(
                    _SANS_REFERENCE
                    if row.statut == "officiel"
                    else "référence non disponible pour ce millésime"
                )
        elif not isinstance(row.reference_niveau, str):
            notes.append("aucun territoire de référence configuré")
        d = row.ecart_annees
        if d is not pd.NA and pd.notna(d) and d > 2:
            notes.append(
                f"millésimes distants de {int(d)} ans (valeur {row.annee}, "
                f"référence {row.reference_annee})"
            )
        if (row.indicateur, row.sexe) in effectif and pd.notna(row.valeur):
            notes.append("effectif : pas d'écart en points")
        if pd.isna(row.valeur) and row.statut in ("secret", "manquant"):
            notes.append(
                "valeur secrète (seuil de diffusion)"
                if row.statut == "secret"
                else "valeur non disponible"
            )
        out.append(" ; ".join(notes) or None)
    return out
