"""Neighbourhood sheets (fiches quartier): one printable HTML page per QPV and veille territory.

A sheet holds the zone's identity (communes, IRIS composition with weights,
population and how it was obtained), its key indicators by pillar with the
reference values and gaps, small bar charts against the references, evolution
charts over the years, a locator map and a methods-and-sources block. It prints
on A4 (print CSS); charts are inline SVG.

When a synthesis table (values of record, see :mod:`~observatoire.cartes.synthese`)
is given, the population line, the key indicators and the bar charts read their
headline value, reliability and gaps from it, the zone's warnings show in a
"Points d'attention" box and no internal method id is printed.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from observatoire.cartes.choroplethe import NOMS_NIVEAUX, _texte
from observatoire.cartes.couches import CouchesWeb, contour
from observatoire.cartes.entrees import (
    COLONNES_INDICATEURS,
    PRIORITE_STATUT,
    filtrer_sexe,
    metadonnees_indicateurs,
    signe_favorable,
    une_ligne_par_valeur,
    verifier_colonnes,
)
from observatoire.cartes.legende import (
    LIBELLES_STATUT,
    formater_ecart,
    formater_nombre,
    formater_valeur,
)
from observatoire.cartes.pages import rendre_page
from observatoire.cartes.simplification import json_html, vers_geojson
from observatoire.cartes.synthese import (
    INDICATEURS_CLES,
    LEGENDE_FIABILITE,
    avertissements_zone,
    entier,
    est_effectif,
    intervalle_cite,
    libelle_reference,
    qualification,
    sans_identifiants,
    selection_synthese,
    statut_court,
    texte_propre,
    valeur_officielle_citee,
)

__all__ = ["fiche_quartier", "INDICATEUR_POPULATION"]

INDICATEUR_POPULATION = "population"
_REFS = ("commune", "epci", "departement", "france")
_METHODES_POIDS = {
    "surface": "surface",
    "dasymetric": "dasymétrique (carroyage)",
    "calibrated": "calée (pop. officielle)",
    "iris_list": "liste d'IRIS",
    "iris_list-dasymetric": "liste d'IRIS moins un QPV placé par le carroyage",
    "iris_list-calibrated": "liste d'IRIS moins un QPV (poids calés)",
    "iris_list-surface": "liste d'IRIS moins un QPV (poids de surface)",
}


def _officiels_autres_annees(autres_valeurs: dict, ind: str, annee: int) -> list[tuple]:
    """Official values of ``ind`` published for other vintages than ``annee`` (newest first)."""
    out = []
    for (i, a), lst in autres_valeurs.items():
        if i == ind and a != annee:
            out.extend((a, v, m) for v, s, m in lst if s == "officiel" and pd.notna(v))
    return sorted(out, key=lambda x: -x[0])


def _pct(v) -> str:
    return "—" if v is None or pd.isna(v) else formater_nombre(100 * float(v), 1) + "\u202f%"


def _flottant(v) -> float:
    return float(v) if v is not None and pd.notna(v) else float("nan")


_REFS_ECARTS = ("commune", "epci", "departement")
#: Reliability marks (three dots: good, two: medium, one: weak).
MARQUES_FIABILITE = {"bonne": "●●●", "moyenne": "●●○", "faible": "●○○"}


def _enregistrement_synthese(lignes: list[dict]) -> dict:
    """Headline record of one indicator from its synthesis rows (one per reference level)."""
    r0 = lignes[0]
    refs = {}
    for r in lignes:
        niv = texte_propre(r.get("reference_niveau"))
        if niv in refs:
            continue
        refs[niv] = {
            "valeur": _flottant(r.get("reference_valeur")),
            "statut": texte_propre(r.get("reference_statut")) or None,
            "ecart": _flottant(r.get("ecart_points")),
            "annee": entier(r.get("reference_annee")),
            "note": texte_propre(r.get("note")),
            "nom": libelle_reference(niv, r.get("reference_nom"), r.get("reference_code")),
        }
    return {
        "valeur": _flottant(r0.get("valeur")),
        "statut": texte_propre(r0.get("statut")) or "manquant",
        "annee": entier(r0.get("annee")),
        "fiabilite": texte_propre(r0.get("fiabilite")),
        "motif": texte_propre(r0.get("fiabilite_motif")),
        "officielle": r0,
        "refs": refs,
    }


def _ecart_classe(ep: float, direction: str) -> str:
    if np.isnan(ep) or ep == 0:
        return "obs-egal"
    s = signe_favorable(direction)
    if np.isnan(s):
        return "obs-neutre"
    return "obs-favorable" if ep * s > 0 else "obs-defavorable"


def _mini_ecarts(ecarts: list[float], echelle: float) -> str:
    """Inline SVG of one row of the gap chart: one mark per reference on a shared axis."""
    larg, h, m = 120, 12, 4
    x0 = larg / 2
    parties = [
        f'<svg class="obs-mini" viewBox="0 0 {larg} {h}" aria-hidden="true">',
        f'<line x1="{x0}" y1="0" x2="{x0}" y2="{h}" stroke="#888" stroke-width="0.8"/>',
    ]
    for (genre, forme), e in zip(_FORMES, ecarts, strict=False):
        if e is None or np.isnan(e):
            continue
        x = x0 + (larg / 2 - m) * max(-1.0, min(1.0, e / echelle))
        c = _COULEURS_REF[genre]
        if forme == "cercle":
            parties.append(f'<circle cx="{x:.1f}" cy="{h / 2}" r="3.2" fill="{c}"/>')
        elif forme == "triangle":
            parties.append(f'<path d="M{x:.1f} {h / 2 - 3.6:.1f}l3.4 6.4h-6.8z" fill="{c}"/>')
        else:
            parties.append(
                f'<rect x="{x - 2.8:.1f}" y="{h / 2 - 2.8:.1f}" width="5.6" height="5.6" '
                f'fill="{c}"/>'
            )
    parties.append("</svg>")
    return "".join(parties)


def _axe_ecarts(echelle: float) -> str:
    """Axis of the gap chart (head of its column)."""
    lim = formater_nombre(echelle, 0 if echelle >= 10 else 1)
    return (
        '<svg class="obs-mini" viewBox="0 0 120 12" aria-hidden="true">'
        f'<text x="2" y="10" font-size="8">−{html.escape(lim)}</text>'
        '<text x="60" y="10" font-size="8" text-anchor="middle">0</text>'
        f'<text x="118" y="10" font-size="8" text-anchor="end">+{html.escape(lim)}</text>'
        "</svg>"
    )


def _sparkline(zone: dict, commune: dict, annees: list[int]) -> str:
    """Tiny evolution chart: the zone (solid) and its commune (dashed) over the vintages."""
    vals = [v for d in (zone, commune) for v in d.values() if v is not None and np.isfinite(v)]
    if len(annees) < 2 or not vals or sum(1 for v in zone.values() if np.isfinite(v)) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    hi = hi if hi > lo else lo + 1
    larg, h, m = 90, 16, 2

    def pt(a, v):
        x = m + (larg - 2 * m) * (a - annees[0]) / (annees[-1] - annees[0])
        return f"{x:.1f},{m + (h - 2 * m) * (1 - (v - lo) / (hi - lo)):.1f}"

    parties = [f'<svg class="obs-spark" viewBox="0 0 {larg} {h}" aria-hidden="true">']
    for d, c, tirets in (
        (commune, _COULEURS_REF["commune"], ' stroke-dasharray="3 2"'),
        (zone, _COULEURS_REF["zone"], ""),
    ):
        pts = [pt(a, d[a]) for a in annees if a in d and np.isfinite(d[a])]
        if len(pts) > 1:
            parties.append(
                f'<polyline points="{" ".join(pts)}" fill="none" stroke="{c}" '
                f'stroke-width="1.6"{tirets}/>'
            )
    parties.append("</svg>")
    return "".join(parties)


_COULEURS_REF = {
    "zone": "#c51b7d",
    "commune": "#4d4d4d",
    "epci": "#2c7fb8",
    "departement": "#d95f02",
}
_FORMES = (("commune", "cercle"), ("epci", "triangle"), ("departement", "carre"))


def _donnees_zone(code, niveau, indicateurs, ecarts, synthese, sexe) -> dict:
    """Year-independent data of one zone's sheets (tables filtered, references indexed)."""
    tout = une_ligne_par_valeur(filtrer_sexe(indicateurs, sexe))
    tout = tout.assign(
        territoire_code=tout["territoire_code"].astype(str),
        indicateur=tout["indicateur"].astype(str),
        annee=tout["annee"].astype("int64"),
    )
    propre = tout[(tout["territoire_code"] == code) & (tout["niveau"] == niveau)]
    brut = filtrer_sexe(indicateurs, sexe)
    brut = brut[(brut["territoire_code"].astype(str) == code) & (brut["niveau"] == niveau)]
    autres_valeurs: dict = {}
    for ind_, an_, v_, s_, m_ in zip(
        brut["indicateur"].astype(str),
        brut["annee"].astype("int64"),
        brut["valeur"],
        brut["statut"],
        brut["methode"] if "methode" in brut else [None] * len(brut),
        strict=True,
    ):
        autres_valeurs.setdefault((ind_, int(an_)), []).append((v_, s_, _texte(m_)))
    syn_tous = selection_synthese(synthese, None, sexe=sexe, codes=[code])
    # plain records: row-wise lookups on wide frames are slow
    par_ind_tous: dict[str, dict[int, list[dict]]] = {}
    for r in syn_tous.to_dict("records"):
        a = entier(r.get("annee_recensement"))
        if a is not None:
            par_ind_tous.setdefault(str(r["indicateur"]), {}).setdefault(a, []).append(r)
    # references: from the écarts table (the zone's own reference codes), else by level
    refs_e = pd.DataFrame()
    if ecarts is not None and len(ecarts):
        refs_e = filtrer_sexe(ecarts, sexe)
        refs_e = refs_e[
            (refs_e["territoire_code"].astype(str) == code) & (refs_e["niveau"] == niveau)
        ]
        refs_e = refs_e.assign(
            indicateur=refs_e["indicateur"].astype(str), annee=refs_e["annee"].astype("int64")
        )
        col = "valeur_statut" if "valeur_statut" in refs_e else "statut"
        rang = refs_e[col].astype(object).map({s: i for i, s in enumerate(PRIORITE_STATUT)})
        refs_e = refs_e.assign(_rang=rang.fillna(len(PRIORITE_STATUT)).astype("int64").to_numpy())
        refs_e = refs_e.sort_values("_rang", kind="stable")
    index_refs = {}
    if len(refs_e):
        statuts = (
            refs_e["reference_statut"]
            if "reference_statut" in refs_e
            else pd.Series([None] * len(refs_e), index=refs_e.index)
        )
        for ind_, an_, niv_, rv, rs, rc, ep in zip(
            refs_e["indicateur"],
            refs_e["annee"],
            refs_e["reference_niveau"],
            refs_e["reference_valeur"],
            statuts,
            refs_e["reference_code"],
            refs_e["ecart_points"],
            strict=True,
        ):
            index_refs.setdefault((ind_, int(an_), niv_), (rv, _texte(rs), str(rc), ep))

    return {
        "tout": tout,
        "propre": propre,
        "autres_valeurs": autres_valeurs,
        "syn_tous": syn_tous,
        "par_ind_tous": par_ind_tous,
        "index_refs": index_refs,
    }


def _donnees_zone_memo(couches, code, niveau, indicateurs, ecarts, synthese, sexe) -> dict:
    """:func:`_donnees_zone`, computed once for the sheets of every vintage of a zone."""
    cle = ("fiche", code, id(indicateurs), id(ecarts), id(synthese), sexe)
    memo = couches._memo.get(cle)
    if memo is not None and all(
        x is y for x, y in zip(memo[0], (indicateurs, ecarts, synthese), strict=True)
    ):
        return memo[1]
    for k in [k for k in couches._memo if isinstance(k, tuple) and k[:2] == ("fiche", code)]:
        del couches._memo[k]
    res = _donnees_zone(code, niveau, indicateurs, ecarts, synthese, sexe)
    couches._memo[cle] = ((indicateurs, ecarts, synthese), res)
    return res


def fiche_quartier(
    code: str,
    indicateurs: pd.DataFrame,
    couches: CouchesWeb,
    annee: int,
    *,
    ecarts: pd.DataFrame | None = None,
    poids: pd.DataFrame | None = None,
    codebook=None,
    sexe: str = "ensemble",
    liens: list | None = None,
    notes: list[str] | None = None,
    noms: dict | None = None,
    synthese: pd.DataFrame | None = None,
    avertissements: dict[str, list[str]] | None = None,
) -> str:
    """Return the HTML sheet of zone ``code`` (QPV or veille) for ``annee``.

    Parameters
    ----------
    code : str
        ``code`` of a zone of ``couches.zones``.
    indicateurs, ecarts : DataFrame
        Long tables (all years: the evolution charts use them all).
    poids : DataFrame, optional
        Weights table (``code_zone, code_iris, part_zone, part_iris, poids, methode``).
    notes : list of str, optional
        Extra method notes (IRIS edition used, approximations declared by the configuration...).
    noms : dict, optional
        Territory names by code (references); default: read from ``indicateurs``.
    synthese : DataFrame, optional
        Synthesis table (values of record). Its rows of the zone with
        ``annee_recensement == annee`` give the headline population, the key
        indicators (value, status, vintage, fiabilité, official value), the
        reference values and gaps, and the bars; indicators it lacks keep the
        values of ``indicateurs``. When given, no method id is printed.
    avertissements : dict, optional
        ``{code zone: [French sentences]}``; the zone's are printed in a
        "Points d'attention" box at the top of the sheet.
    """
    verifier_colonnes(indicateurs, COLONNES_INDICATEURS, "indicateurs")
    zones = couches.zones
    if code not in set(zones["code"]):
        raise ValueError(
            f"zone {code!r} absente des couches de la carte ; connues : {sorted(zones['code'])}"
        )
    z = zones[zones["code"] == code].iloc[0]
    nom, niveau = str(z["nom"]), str(z["niveau"])
    dz = _donnees_zone_memo(couches, code, niveau, indicateurs, ecarts, synthese, sexe)
    tout, propre, autres_valeurs = dz["tout"], dz["propre"], dz["autres_valeurs"]
    syn_tous, par_ind_tous, index_refs = dz["syn_tous"], dz["par_ind_tous"], dz["index_refs"]
    # with a synthesis table, pages never print internal method ids
    sobre = synthese is not None
    syn_par_ind = {i: d[annee] for i, d in par_ind_tous.items() if annee in d}
    syn = syn_tous[pd.to_numeric(syn_tous["annee_recensement"], errors="coerce") == annee]
    if len(syn):
        cols = ["indicateur", "unite", "source"]
        base_meta = pd.concat(
            [propre[[c for c in cols if c in propre]], syn[[c for c in cols if c in syn]]],
            ignore_index=True,
        )
    else:
        base_meta = propre
    meta = metadonnees_indicateurs(base_meta, codebook, sexe).set_index("indicateur")

    if noms is None:
        noms = dict(
            zip(
                tout["territoire_code"],
                tout.get("territoire_nom", tout["territoire_code"]),
                strict=True,
            )
        )

    def ref(ind, an, niv):
        return index_refs.get((ind, int(an), niv))

    # identity
    communes_codes = sorted(
        set(couches.iris.loc[couches.iris.intersects(z.geometry), "code_commune"])
    )
    comp_rows = []
    methodes_poids = set()
    if poids is not None and len(poids):
        p = poids[poids["code_zone"].astype(str) == code]
        iris_noms = couches.iris.set_index("code")
        for _, r in p.sort_values("code_iris").iterrows():
            ci = str(r["code_iris"])
            mp = _texte(r.get("methode"))
            if sobre and mp not in _METHODES_POIDS:
                mp = "autre" if texte_propre(mp) else ""
            methodes_poids.add(mp)
            comp_rows.append(
                [
                    ci,
                    _texte(iris_noms["nom"].get(ci)) if ci in iris_noms.index else "",
                    _texte(iris_noms["sous"].get(ci)) if ci in iris_noms.index else "",
                    _pct(r.get("part_zone")),
                    _pct(r.get("part_iris")),
                    formater_nombre(float(r["poids"]), 3) if pd.notna(r.get("poids")) else "—",
                    _METHODES_POIDS.get(mp, mp),
                ]
            )
        communes_codes = sorted(set(communes_codes) | {c[:5] for c in p["code_iris"].astype(str)})
    noms_com = dict(zip(couches.communes["code"].astype(str), couches.communes["nom"], strict=True))
    identite = [
        ["Code", code],
        ["Type", str(z["sous"])],
        ["Commune(s)", ", ".join(f"{noms_com.get(c, c)} ({c})" for c in communes_codes)],
    ]
    pop = tout[
        (tout["territoire_code"] == code)
        & (tout["indicateur"] == INDICATEUR_POPULATION)
        & (tout["annee"] == annee)
    ]
    pop_all = filtrer_sexe(indicateurs, sexe)
    pop_all = pop_all[
        (pop_all["territoire_code"].astype(str) == code)
        & (pop_all["indicateur"].astype(str) == INDICATEUR_POPULATION)
        & (pop_all["annee"].astype("int64") == annee)
    ]
    pop_syn = syn_par_ind.get(INDICATEUR_POPULATION)
    if pop_syn is not None:
        r0 = pop_syn[0]
        u_pop = texte_propre(r0.get("unite")) or "habitants"
        st_pop = texte_propre(r0.get("statut")) or "manquant"
        identite.append(
            [
                "Population",
                formater_valeur(_flottant(r0.get("valeur")), u_pop, st_pop),
                qualification(r0, u_pop),
            ]
        )
    elif len(pop_all):
        for _, r in pop_all.iterrows():
            methode = "" if sobre else f" — méthode : {_texte(r.get('methode')) or 'non précisée'}"
            identite.append(
                [
                    f"Population {annee} ({LIBELLES_STATUT.get(r['statut'], r['statut'])})",
                    f"{formater_valeur(r['valeur'], 'habitants', r['statut'])}{methode}",
                ]
            )
    elif len(pop) == 0:
        identite.append([f"Population {annee}", "manquante"])
    # official population published for another vintage (QPV tables: 2020 for the 2024 QPV)
    for an_o, v_o, mt_o in (
        _officiels_autres_annees(autres_valeurs, INDICATEUR_POPULATION, annee)
        if pop_syn is None
        else []
    ):
        methode = "" if sobre else f" — méthode : {mt_o or 'non précisée'}"
        identite.append(
            [
                f"Population {an_o} (officiel)",
                f"{formater_valeur(v_o, 'habitants', 'officiel')}{methode}",
            ]
        )
    if methodes_poids:
        identite.append(
            [
                "Pondération IRIS → zone",
                ", ".join(_METHODES_POIDS.get(m, m) for m in sorted(methodes_poids) if m),
            ]
        )

    # headline figures by pillar: one record per indicator (synthesis first, else tables)
    an = propre[propre["annee"] == annee]
    par_ind_annee = {k: d for k, d in an.groupby("indicateur")}
    enregistrements = []
    for m in meta.reset_index().to_dict("records"):
        ind = m["indicateur"]
        if ind in syn_par_ind:
            e = _enregistrement_synthese(syn_par_ind[ind])
        else:
            lignes = par_ind_annee.get(ind)
            if lignes is None or lignes.empty:
                continue
            r = lignes.iloc[0]
            refs = {}
            for niv in _REFS:
                x = ref(ind, annee, niv)
                if x is None:
                    continue
                rv, st, rc, ep = x
                refs[niv] = {
                    "valeur": _flottant(rv),
                    "statut": st or None,
                    "ecart": _flottant(ep),
                    "annee": annee,
                    "note": "",
                    "nom": libelle_reference(niv, noms.get(rc), rc),
                }
            autres = [
                f"{LIBELLES_STATUT.get(s_, s_)} : {formater_valeur(v_, m['unite'], s_)}"
                + (f" ({mt})" if mt and not sobre else "")
                for v_, s_, mt in autres_valeurs.get((ind, annee), [])
                if not (
                    s_ == r["statut"]
                    and (v_ == r["valeur"] or (pd.isna(v_) and pd.isna(r["valeur"])))
                )
            ] + [
                f"officiel {an_o} : {formater_valeur(v_o, m['unite'], 'officiel')}"
                + (f" ({mt_o})" if mt_o and not sobre else "")
                for an_o, v_o, mt_o in _officiels_autres_annees(autres_valeurs, ind, annee)
            ]
            e = {
                "valeur": _flottant(r["valeur"]),
                "statut": texte_propre(r["statut"]) or "manquant",
                "annee": annee,
                "fiabilite": "",
                "motif": "",
                "officielle": None,
                "autres": autres,
                "refs": refs,
            }
        enregistrements.append((ind, m, e))

    notes_bas: dict[str, int] = {}

    def renvoi(texte: str) -> str:
        if not texte:
            return ""
        notes_bas.setdefault(texte, len(notes_bas) + 1)
        return str(notes_bas[texte])

    ecarts_taux = [
        abs(x["ecart"])
        for i_, m, e in enregistrements
        if i_ in INDICATEURS_CLES or len(enregistrements) <= 16
        if not est_effectif(m["type"], m["unite"]) and e["statut"] != "secret"
        for niv, x in e["refs"].items()
        if niv in _REFS_ECARTS and np.isfinite(x["ecart"])
    ]
    echelle = max(ecarts_taux) if ecarts_taux else 1.0
    cles = [x for x in enregistrements if x[0] in INDICATEURS_CLES]
    if len(cles) < 4:  # tables without the usual indicators: the first ones
        cles = enregistrements[:16]
    cles.sort(key=lambda x: INDICATEURS_CLES.index(x[0]) if x[0] in INDICATEURS_CLES else 99)
    ecart_commune: dict[str, dict] = {}
    piliers: dict[str, list] = {}
    for ind, m, e in enregistrements:
        unite = m["unite"]
        effectif = est_effectif(m["type"], unite)
        v, statut = e["valeur"], e["statut"]
        details = list(e.get("autres", []))
        if e["officielle"] is not None:
            for texte in (
                intervalle_cite(e["officielle"], unite),
                valeur_officielle_citee(e["officielle"], unite),
            ):
                if texte:
                    details.append(texte)
        cellules, marques = [], []
        notes_ligne = []
        for niv in _REFS_ECARTS:
            x = e["refs"].get(niv)
            if x is None:
                cellules.append({"texte": "—", "classe": "obs-egal", "titre": ""})
                marques.append(None)
                continue
            valeur_ref = (
                formater_valeur(x["valeur"], unite, x["statut"])
                if np.isfinite(x["valeur"])
                else ("secret statistique" if x["statut"] == "secret" else "non disponible")
            )
            titre = f"{x['nom']} : {valeur_ref}"
            if x["annee"] is not None and e["annee"] is not None and x["annee"] != e["annee"]:
                titre += f" (réf. {x['annee']})"
            if x["note"]:
                notes_ligne.append(x["note"])
            if effectif or statut == "secret" or not np.isfinite(x["ecart"]):
                texte = (
                    valeur_ref
                    if effectif
                    else (
                        "—"
                        if statut == "secret" or not np.isfinite(v)
                        else "non calculable"
                        if np.isfinite(x["valeur"]) and not x["note"]
                        else valeur_ref
                    )
                )
                cellules.append({"texte": texte, "classe": "obs-ref", "titre": titre})
                marques.append(None)
                continue
            cellules.append(
                {
                    "texte": formater_ecart(x["ecart"], unite),
                    "classe": _ecart_classe(x["ecart"], m["direction"]),
                    "titre": titre,
                }
            )
            marques.append(x["ecart"])
        ecart_commune[ind] = cellules[0]
        if not any(ind == c[0] for c in cles):
            continue
        fiab = e["fiabilite"]
        motif = e["motif"]
        ligne = {
            "libelle": m["libelle"],
            "valeur": formater_valeur(v, unite, statut),
            "details": details,
            "statut": statut_court(statut, e["annee"]),
            "fiabilite": MARQUES_FIABILITE.get(fiab, ""),
            "fiabilite_texte": f"fiabilité {fiab}" if fiab else "",
            "renvois": [
                n
                for n in (
                    renvoi(motif if fiab in ("faible", "moyenne") else ""),
                    *(renvoi(t) for t in dict.fromkeys(notes_ligne)),
                )
                if n
            ],
            "ecarts": cellules,
            "graphique": _mini_ecarts(marques, echelle)
            if any(x is not None for x in marques)
            else "",
        }
        piliers.setdefault(m["pilier"], []).append(ligne)

    # evolution: value of record of every vintage (synthesis), else the tables' values
    evolution_annees: list[int] = []
    evolution: dict[str, list] = {}
    if par_ind_tous:
        evolution_annees = sorted({a for d in par_ind_tous.values() for a in d})
    else:
        evolution_annees = sorted({int(a) for a in propre["annee"]})
    if evolution_annees:
        for ind, m, _e in enregistrements:
            unite = m["unite"]
            zone, commune, textes = {}, {}, []
            if ind in par_ind_tous:
                d = par_ind_tous[ind]
                for a in evolution_annees:
                    da = d.get(a)
                    if not da:
                        textes.append("")
                        continue
                    r0 = da[0]
                    v = _flottant(r0.get("valeur"))
                    st = texte_propre(r0.get("statut")) or "manquant"
                    av = entier(r0.get("annee"))
                    t = formater_valeur(v, unite, st)
                    if av is not None and av != a and np.isfinite(v):
                        t += f" ({av})"
                    textes.append(t)
                    if np.isfinite(v) and st != "secret":
                        zone[a] = v
                    rc = [r for r in da if r.get("reference_niveau") == "commune"]
                    if rc and np.isfinite(_flottant(rc[0].get("reference_valeur"))):
                        commune[a] = _flottant(rc[0].get("reference_valeur"))
            else:
                serie = propre[propre["indicateur"] == ind]
                for a in evolution_annees:
                    da = serie[serie["annee"] == a]
                    if not len(da):
                        textes.append("")
                        continue
                    v, st = _flottant(da.iloc[0]["valeur"]), texte_propre(da.iloc[0]["statut"])
                    textes.append(formater_valeur(v, unite, st or None))
                    if np.isfinite(v) and st != "secret":
                        zone[a] = v
                    x = ref(ind, a, "commune")
                    if x is not None and np.isfinite(_flottant(x[0])):
                        commune[a] = _flottant(x[0])
            if not any(textes):
                continue
            evolution.setdefault(m["pilier"], []).append(
                {
                    "libelle": m["libelle"],
                    "valeurs": textes,
                    "ecart": ecart_commune.get(ind),
                    "graphique": _sparkline(zone, commune, evolution_annees)
                    if unite == "%" or not est_effectif(m["type"], unite)
                    else _sparkline(zone, {}, evolution_annees),
                }
            )

    # locator map: the zone filled, its IRIS and the communes as outlines
    codes_comp = {c[0] for c in comp_rows}
    iris_comp = (
        couches.iris[couches.iris["code"].isin(codes_comp)]
        if codes_comp
        else couches.iris[couches.iris.intersects(z.geometry)]
    )
    contours = [
        contour(
            "iris_composition",
            vers_geojson(iris_comp, ["code", "nom"]),
            recherche=False,
        ),
        contour("communes", couches.contour_geojson("communes")),
        contour("epci", couches.contour_geojson("epci")),
    ]
    zone_gdf = zones[zones["code"] == code]
    donnees = {
        "zones": {
            "geojson": vers_geojson(zone_gdf, ["code", "nom", "sous"]),
            "classe": "obs-zone obs-zone-fiche",
            "couleur": "#c51b7d",
            "opacite": 0.45,
            "trait": "#c51b7d",
            "epaisseur": 2.5,
            "lignes": {code: [[ligne[0], ligne[1]] for ligne in identite[1:4]]},
        },
        "contours": contours,
        "indicateurs": [],
        "recherche": False,
        "dezoom": 1,  # show the zone in its surroundings
        "replie": True,
    }
    sources = sorted({_texte(s) for s in meta["source"] if _texte(s)})
    sources.append(
        "Valeurs de zone obtenues par pondération des IRIS (voir composition) sauf "
        "valeur officielle ; statuts : officiel, estimé, estimé (corrigé), approximation, "
        "secret statistique, manquant."
    )
    if sobre:
        sources.extend(LEGENDE_FIABILITE)
    sources.extend(notes or [])
    if sobre:
        sources = [sans_identifiants(x) for x in sources]
    return rendre_page(
        "fiche.html.j2",
        impression=True,
        titre=f"{nom} — fiche quartier {annee}",
        sous_titres=[f"{z['sous']} — {code}"],
        liens=liens or [],
        nom=nom,
        annee=annee,
        identite=identite,
        attention=avertissements_zone(avertissements, code),
        composition=comp_rows,
        piliers=[{"nom": k, "lignes": v} for k, v in piliers.items()],
        references=[NOMS_NIVEAUX[n] for n in _REFS_ECARTS],
        axe_ecarts=_axe_ecarts(echelle),
        notes_bas=list(notes_bas),
        evolution=[{"nom": k, "lignes": v} for k, v in evolution.items()],
        evolution_annees=evolution_annees,
        donnees_json=json_html(donnees),
        sources=sources,
        classe_page="obs-page-fiche",
    )
