"""What a zone's sheet and map tooltips must say in French: warnings and method notes."""

from __future__ import annotations

import pandas as pd

from observatoire.indicateurs.codebook import Codebook
from observatoire.nombres import formater_nombre
from observatoire.rapport import Rapport
from observatoire.territoire.donnees import DonneesTerritoire
from observatoire.territoire.ecarts import EcartsTerritoire
from observatoire.territoire.indicateurs import IndicateursTerritoire
from observatoire.territoire.poids import PoidsTerritoire

__all__ = ["avertissements_zones", "notes_zones", "notes_qualite"]


def avertissements_zones(
    donnees: DonneesTerritoire,
    poids: PoidsTerritoire,
    ind: IndicateursTerritoire,
    ecarts: EcartsTerritoire,
    rapport: Rapport,
) -> dict[str, list[str]]:
    """French warnings of each zone for its sheet and the map tooltips.

    Plausibility (a QPV estimated under the legal minimum population), calibration
    factor, redrawn IRIS, a zone left without inhabitants, a repaired perimeter, headline
    values compared with a reference more than two years apart.
    """
    from observatoire.indicateurs.fiabilite import motifs_zone

    out: dict[str, list[str]] = {}
    seuil = donnees.config.ponderation.population_min_qpv
    for code, n in poids.implausibles.items():
        out.setdefault(code, []).append(
            f"Population estimée à {formater_nombre(n, 0)} habitants avec les poids IRIS, "
            f"sous le minimum légal d'un QPV ({formater_nombre(seuil, 0)}) : les estimations "
            "IRIS de ce quartier sont peu fiables (fiabilité faible)."
        )
    for code, row in ind.infos_zones.iterrows():
        for m in motifs_zone(row.to_dict()):
            out.setdefault(str(code), []).append(m[0].upper() + m[1:] + ".")
    for code, texte in poids.zones_vides.items():
        out.setdefault(code, []).append(texte)
    zones = set(poids.zones["code_zone"].astype(str))
    for r in rapport.reparations:
        if str(r.get("code")) in zones:
            out.setdefault(str(r["code"]), []).append(
                f"Périmètre réparé (géométrie invalide : {r['raison']}) : surface "
                f"{formater_nombre(r['surface_avant_m2'], 0)} m² dessinée → "
                f"{formater_nombre(r['surface_apres_m2'], 0)} m² "
                f"réparée ({100 * r['variation']:+.1f} %)".replace(".", ",")
                + "."
            )
    s = ecarts.synthese
    if len(s):
        loin = s[pd.to_numeric(s["ecart_annees"], errors="coerce") > 2]
        for code, g in loin.groupby("territoire_code"):
            libs = ", ".join(sorted(set(g["libelle"].dropna().astype(str))))
            out.setdefault(str(code), []).append(
                f"Comparé à une référence distante de plus de 2 ans : {libs}."
            )
    return out


def notes_zones(
    donnees: DonneesTerritoire,
    poids: PoidsTerritoire,
    ecarts: EcartsTerritoire,
    codebook: Codebook,
) -> dict[str, list[str]]:
    """Zone code → the notes of its sheet's method section, in zone order.

    The configuration's notes, overlaps with a QPV, how the weights are computed, the
    zone's official figures against each estimate; a veille perimeter marked
    ``approximation`` is announced first.
    """
    veille = {v.code: v for v in donnees.config.veille}
    out: dict[str, list[str]] = {}
    for code in poids.zones["code_zone"]:
        v = veille.get(code)
        notes = list(v.notes) if v is not None else []
        notes += poids.chevauchements.get(code, [])
        notes += poids.notes.get(code, [])
        notes += notes_qualite(ecarts.qualite, codebook, code)
        if v is not None and v.statut == "approximation":
            notes = [
                "Périmètre approché (statut « approximation ») : voir la note ci-dessous."
            ] + notes
        out[code] = notes
    return out


_NOMS_QUALITE = {
    "surface": "poids de surface",
    "dasymetric": "poids carroyés",
    "calibrated": "poids calés",
    "grille": "carroyage Filosofi agrégé",
}


def _nom_estimation(methode: str) -> str:
    """French name of an estimation method of the quality table."""
    m = str(methode)
    if m.startswith("grille"):
        return "carroyage Filosofi"
    if m.startswith("correction"):
        return "estimation IRIS corrigée de la dilution"
    if m.startswith("taux_iris"):
        return "taux IRIS pondérés"
    return _NOMS_QUALITE.get(m, m)


def notes_qualite(qualite: pd.DataFrame, codebook: Codebook, code: str) -> list[str]:
    """Return the zone's own figures of the quality table (its sheet's method section)."""
    if qualite is None or qualite.empty:
        return []
    out = []
    for ind, g in qualite[qualite["territoire_code"] == code].groupby("indicateur", sort=True):
        o = g["valeur_officielle"].iloc[0]
        if pd.isna(o):
            continue
        meta = codebook[ind, "ensemble"] if (ind, "ensemble") in codebook else None
        taux = meta is not None and meta.unite == "%"

        def fmt(v, taux=taux):
            return f"{v:.1f} %".replace(".", ",") if taux else formater_nombre(v, 0)

        def erreur(v, e, taux=taux, o=o):
            txt = f"{v - o:+.1f} pt".replace(".", ",") if taux else f"{100 * e:+.0f} %"
            return txt.replace("-", "−")

        est = " ; ".join(
            f"{_nom_estimation(m)} {fmt(v)} ({erreur(v, e)})"
            for m, v, e in zip(g["methode"], g["valeur_estimee"], g["erreur_relative"], strict=True)
            if pd.notna(v)
        )
        libelle = meta.libelle if meta is not None else ind
        out.append(
            f"{libelle} — valeur officielle {g['annee_officielle'].iloc[0]} : "
            f"{fmt(o)} ; estimations : {est}."
        )
    return out
