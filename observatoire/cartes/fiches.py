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

import numpy as np
import pandas as pd

from observatoire.cartes.choroplethe import NOMS_NIVEAUX, _texte
from observatoire.cartes.couches import CouchesWeb, contour
from observatoire.cartes.entrees import (
    COLONNES_INDICATEURS,
    PRIORITE_STATUT,
    filtrer_sexe,
    metadonnees_indicateurs,
    une_ligne_par_valeur,
    verifier_colonnes,
)
from observatoire.cartes.graphiques import barres_references, courbes_evolution
from observatoire.cartes.legende import (
    LIBELLES_STATUT,
    formater_ecart,
    formater_nombre,
    formater_valeur,
)
from observatoire.cartes.pages import rendre_page
from observatoire.cartes.simplification import json_html, vers_geojson
from observatoire.cartes.synthese import (
    LEGENDE_FIABILITE,
    avertissements_zone,
    entier,
    est_effectif,
    qualification,
    selection_synthese,
    texte_propre,
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


def _ligne_synthese(m, lignes: pd.DataFrame, nom: str, annee: int) -> tuple[dict, list]:
    """Key-indicator row and bars of one indicator from its synthesis rows.

    ``lignes`` holds the zone's rows of one indicator (one per reference level);
    the zone's value, status and reliability repeat on each of them.
    """
    r0 = lignes.iloc[0]
    unite = texte_propre(m["unite"]) or texte_propre(r0.get("unite"))
    statut = texte_propre(r0.get("statut")) or "manquant"
    v = _flottant(r0.get("valeur"))
    effectif = est_effectif(m["type"], unite)
    an_val = entier(r0.get("annee"))
    libelle_zone = nom if an_val is None or an_val == annee else f"{nom} ({an_val})"
    barres = [("zone", libelle_zone, v, statut)]
    par_ref = {}
    for _, r in lignes.iterrows():
        par_ref.setdefault(texte_propre(r.get("reference_niveau")), r)
    refs = []
    for niv in _REFS:
        r = par_ref.get(niv)
        if r is None:
            refs.append({"valeur": "—", "ecart": "", "details": []})
            continue
        rv = _flottant(r.get("reference_valeur"))
        rst = texte_propre(r.get("reference_statut")) or None
        note = texte_propre(r.get("note"))
        details, ecart = [], ""
        if np.isnan(rv):
            valeur_ref = "secret statistique" if rst == "secret" else "non disponible"
        else:
            valeur_ref = formater_valeur(rv, unite, rst)
            if not effectif and statut != "secret":
                ep = _flottant(r.get("ecart_points"))
                if not np.isnan(ep):
                    ecart = formater_ecart(ep, unite)
                elif not np.isnan(v) and not note:
                    details.append("écart non calculable")
            ra = entier(r.get("reference_annee"))
            if ra is not None and ra != an_val:
                details.append(f"réf. {ra}")
            nom_ref = texte_propre(r.get("reference_nom")) or texte_propre(r.get("reference_code"))
            barres.append((niv, f"{NOMS_NIVEAUX[niv]} {nom_ref}".strip(), rv, rst or "officiel"))
        if note:
            details.append(note)
        refs.append({"valeur": valeur_ref, "ecart": ecart, "details": details})
    ligne = {
        "libelle": m["libelle"],
        "valeur": formater_valeur(v, unite, statut),
        "statut": LIBELLES_STATUT.get(statut, statut),
        "autres": [q for q in [qualification(r0, unite)] if q],
        "refs": refs,
    }
    # the same missing reference in every column is said once across them
    premiere = refs[0]
    if premiere["valeur"] == "non disponible" and all(
        r["valeur"] == premiere["valeur"] and r["details"] == premiere["details"] and not r["ecart"]
        for r in refs[1:]
    ):
        ligne["refs_fusion"] = premiere
    return ligne, barres


def _evolution(ind, m, nom, propre, par_ind, autres_valeurs, ref, noms, evolutions) -> None:
    """Append the evolution chart of ``ind`` (zone series and commune/département) if any."""
    serie = par_ind.get(ind, propre.iloc[:0])
    if serie["annee"].nunique() > 1:
        # official values and IRIS-based estimates are different series: never joined
        officiel, estime = {}, {}
        for (ind_, a_), lst in autres_valeurs.items():
            if ind_ != ind:
                continue
            for v_, s_, _m in lst:
                if s_ == "secret" or pd.isna(v_):
                    continue
                cible = officiel if s_ == "officiel" else estime
                cible.setdefault(int(a_), float(v_))
        series = []
        if estime:
            series.append(("zone", f"{nom} (estimé)", estime))
        if officiel:
            series.append(("officiel", f"{nom} (officiel)", officiel))
        for niv in ("commune", "departement") if m["unite"] == "%" else ():
            d, nm = {}, NOMS_NIVEAUX[niv]
            for a in sorted(serie["annee"].unique()):
                x = ref(ind, int(a), niv)
                if x is not None and pd.notna(x[0]):
                    d[int(a)] = float(x[0])
                    nm = f"{NOMS_NIVEAUX[niv]} {noms.get(x[2], x[2])}"
            if d:
                series.append((niv, nm, d))
        svg = courbes_evolution(m["libelle"], series, m["unite"])
        if svg:
            evolutions.append({"titre": m["libelle"], "svg": svg})


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
        raise ValueError(f"zone {code!r} not in the map layers; known: {sorted(zones['code'])}")
    z = zones[zones["code"] == code].iloc[0]
    nom, niveau = str(z["nom"]), str(z["niveau"])
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
    # with a synthesis table, pages never print internal method ids
    sobre = synthese is not None
    syn = selection_synthese(synthese, annee, sexe=sexe, codes=[code])
    syn_par_ind = {k: d for k, d in syn.groupby("indicateur", sort=False)}
    if len(syn):
        cols = ["indicateur", "unite", "source"]
        base_meta = pd.concat(
            [propre[[c for c in cols if c in propre]], syn[[c for c in cols if c in syn]]],
            ignore_index=True,
        )
    else:
        base_meta = propre
    meta = metadonnees_indicateurs(base_meta, codebook, sexe).set_index("indicateur")

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
    if noms is None:
        noms = dict(
            zip(
                tout["territoire_code"],
                tout.get("territoire_nom", tout["territoire_code"]),
                strict=True,
            )
        )

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
        r0 = pop_syn.iloc[0]
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

    # key indicators by pillar
    an = propre[propre["annee"] == annee]
    piliers: dict[str, list] = {}
    barres, evolutions = [], []
    par_ind_annee = {k: d for k, d in an.groupby("indicateur")}
    par_ind = {k: d for k, d in propre.groupby("indicateur")}
    for ind, m in meta.iterrows():
        lignes = par_ind_annee.get(ind, an.iloc[:0])
        unite = m["unite"]
        if ind in syn_par_ind:
            ligne, barres_ind = _ligne_synthese(m, syn_par_ind[ind], nom, annee)
            piliers.setdefault(m["pilier"], []).append(ligne)
            if unite == "%" and len(barres_ind) > 1:
                barres.append(
                    {
                        "titre": m["libelle"],
                        "svg": barres_references(m["libelle"], barres_ind, unite),
                    }
                )
            _evolution(ind, m, nom, propre, par_ind, autres_valeurs, ref, noms, evolutions)
            continue
        if lignes.empty:
            continue
        r = lignes.iloc[0]
        refs_txt, barres_ind = (
            [],
            [
                (
                    "zone",
                    nom,
                    float(r["valeur"]) if pd.notna(r["valeur"]) else float("nan"),
                    r["statut"],
                )
            ],
        )
        for niv in _REFS:
            x = ref(ind, annee, niv)
            if x is None:
                refs_txt.append({"valeur": "—", "ecart": "", "details": []})
                continue
            v, st, rc, ep = x
            ecart = (
                ""
                if r["statut"] == "secret" or m["type"] == "effectif"
                else formater_ecart(ep, unite)
            )
            refs_txt.append(
                {
                    "valeur": formater_valeur(v, unite, st or None),
                    "ecart": ecart if ecart != "—" else "",
                    "details": [],
                }
            )
            barres_ind.append(
                (
                    niv,
                    f"{NOMS_NIVEAUX[niv]} {noms.get(rc, rc)}",
                    float(v) if pd.notna(v) else float("nan"),
                    st,
                )
            )
        piliers.setdefault(m["pilier"], []).append(
            {
                "libelle": m["libelle"],
                "valeur": formater_valeur(r["valeur"], unite, r["statut"]),
                "statut": LIBELLES_STATUT.get(r["statut"], r["statut"]),
                "autres": [
                    f"{LIBELLES_STATUT.get(s, s)} : {formater_valeur(v, unite, s)}"
                    + (f" ({mt})" if mt and not sobre else "")
                    for v, s, mt in autres_valeurs.get((ind, annee), [])
                    if not (
                        s == r["statut"]
                        and (v == r["valeur"] or (pd.isna(v) and pd.isna(r["valeur"])))
                    )
                ]
                + [
                    f"officiel {an_o} : {formater_valeur(v_o, unite, 'officiel')}"
                    + (f" ({mt_o})" if mt_o and not sobre else "")
                    for an_o, v_o, mt_o in _officiels_autres_annees(autres_valeurs, ind, annee)
                ],
                "refs": refs_txt,
            }
        )
        if unite == "%" and len(barres_ind) > 1:
            barres.append(
                {"titre": m["libelle"], "svg": barres_references(m["libelle"], barres_ind, unite)}
            )
        _evolution(ind, m, nom, propre, par_ind, autres_valeurs, ref, noms, evolutions)

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
        references=[NOMS_NIVEAUX[n] for n in _REFS],
        barres=barres,
        evolutions=evolutions,
        donnees_json=json_html(donnees),
        sources=sources,
        classe_page="obs-page-fiche",
    )
