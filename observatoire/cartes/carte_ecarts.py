"""Gap maps: QPV and veille zones filled by their gap to one reference level.

For one reference level (commune, EPCI, département, France) and one year, each
zone is filled with a diverging palette centred on 0. For indicators with a
direction in the codebook (``hausse_defavorable`` / ``baisse_defavorable``) the
colour says whether the zone is in a more favourable (blue) or less favourable
(red) position than its reference; for neutral indicators (age structure...) a
purple/orange palette only says above / below. Bounds of |gap| are shared across
years. Head counts (codebook type ``effectif``: population, households) are not
mapped: a neighbourhood's count minus a commune's is no comparison.

With a synthesis table (values of record), the zones' values and gaps come from
it; tooltips then say the status, vintage and fiabilité in words and the zone's
warnings, and no internal method id is shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.cartes.choroplethe import A_LA_REFERENCE, NOMS_NIVEAUX, TUILES, _texte
from observatoire.cartes.classes import affecter_classes_ecarts, bornes_ecarts
from observatoire.cartes.couches import CouchesWeb, contour, contours_standard, legende_contours
from observatoire.cartes.entrees import (
    COLONNES_ECARTS,
    filtrer_sexe,
    metadonnees_indicateurs,
    signe_favorable,
    une_ligne_par_valeur,
    verifier_colonnes,
)
from observatoire.cartes.legende import (
    LIBELLES_STATUT,
    STYLE_MANQUANT,
    STYLE_SECRET,
    formater_ecart,
    formater_nombre,
    formater_valeur,
    legende_ecarts,
    palette_divergente,
)
from observatoire.cartes.pages import rendre_page
from observatoire.cartes.simplification import json_html, vers_geojson
from observatoire.cartes.synthese import (
    LEGENDE_FIABILITE,
    avertissements_zone,
    entier,
    est_effectif,
    fiabilite_en_mots,
    intervalle_cite,
    libelle_reference,
    selection_synthese,
    statut_millesime,
    texte_propre,
)

__all__ = ["REFERENCES", "carte_ecarts", "favorabilite"]

REFERENCES = ("commune", "epci", "departement", "france")
_NOMS_REF = A_LA_REFERENCE


def _texte_ecart(ecart: float, unite, secret: bool) -> str:
    """Text of a gap in a tooltip or the side table."""
    if secret:
        return "secret statistique"
    if np.isnan(ecart):
        return "non calculable"
    return formater_ecart(ecart, unite)


def favorabilite(ecart_points, direction: str) -> np.ndarray:
    """Gap signed so that positive = more favourable than the reference (neutral: the gap itself).

    Examples
    --------
    >>> favorabilite([5.0, -2.0], "hausse_defavorable").tolist()
    [-5.0, 2.0]
    >>> favorabilite([5.0], "neutre").tolist()
    [5.0]
    """
    s = signe_favorable(direction)
    e = np.asarray(ecart_points, dtype="float64")
    return e * (1.0 if np.isnan(s) else s)


def _flottant(v) -> float:
    return float(v) if v is not None and pd.notna(v) else np.nan


def _zone_synthese(
    r: dict, unite: str, reference: str, direction: str, b
) -> tuple[int, list, list]:
    """Class, tooltip lines and table cells of one zone from its synthesis row."""
    st_val = texte_propre(r.get("statut")) or "manquant"
    v = _flottant(r.get("valeur"))
    ep = _flottant(r.get("ecart_points"))
    secret = st_val == "secret" or texte_propre(r.get("ecart_statut")) == "secret"
    cl = int(affecter_classes_ecarts(favorabilite([ep], direction), b, secret=[secret])[0])
    an_val = entier(r.get("annee"))
    val = formater_valeur(v, unite, st_val)
    rv = _flottant(r.get("reference_valeur"))
    rst = texte_propre(r.get("reference_statut")) or None
    if np.isnan(rv):
        refv = "secret statistique" if rst == "secret" else "non disponible"
    else:
        refv = formater_valeur(rv, unite, rst)
        ra = entier(r.get("reference_annee"))
        if ra is not None and ra != an_val:
            refv += f" ({ra})"
    ecart_txt = _texte_ecart(ep, unite, secret)
    statut = statut_millesime(st_val, an_val)
    motif = texte_propre(r.get("fiabilite_motif"))
    fiab = fiabilite_en_mots(r.get("fiabilite"), "" if motif in statut else motif)
    lignes = [["Valeur", val], ["Statut", statut]]
    if fiab:
        lignes.append(["Fiabilité", fiab.removeprefix("fiabilité ")])
    ic = intervalle_cite(r, unite)
    if ic:
        lignes.append(
            [
                "Intervalle",
                ic.removeprefix("intervalle à 80 % : ").replace(
                    " ; non corrigé :", " (80 %) ; non corrigé :"
                ),
            ]
        )
    vo = _flottant(r.get("valeur_officielle"))
    if not np.isnan(vo) and not (st_val == "officiel" and vo == v):
        a_o = entier(r.get("annee_officielle"))
        lignes.append(
            [
                f"Valeur officielle {a_o}" if a_o is not None else "Valeur officielle",
                formater_valeur(vo, unite, "officiel"),
            ]
        )
    libelle_ref = "Référence : " + libelle_reference(
        reference, r.get("reference_nom"), r.get("reference_code")
    )
    lignes.append([libelle_ref, refv])
    lignes.append(["Écart", ecart_txt])
    lecture = texte_propre(r.get("lecture"))
    if lecture and lecture != ecart_txt and not secret:
        lignes.append(["Lecture", lecture])
    if texte_propre(r.get("note")):
        lignes.append(["Note", texte_propre(r.get("note"))])
    f = texte_propre(r.get("fiabilite"))
    return cl, lignes, [val, refv, ecart_txt, statut, f or "—"]


def carte_ecarts(
    ecarts: pd.DataFrame,
    couches: CouchesWeb,
    annee: int,
    reference: str,
    *,
    indicateurs: pd.DataFrame | None = None,
    codebook=None,
    sexe: str = "ensemble",
    k: int = 3,
    tuiles: str | None = None,
    liens: list | None = None,
    titre: str | None = None,
    synthese: pd.DataFrame | None = None,
    avertissements: dict[str, list[str]] | None = None,
) -> str:
    """Return the HTML gap map of the QPV/veille zones against ``reference`` for ``annee``.

    Parameters
    ----------
    ecarts : DataFrame
        Écarts table (``territoire_code, niveau, indicateur, annee, valeur, reference_niveau,
        reference_code, reference_valeur, ecart_points`` + ``ratio, lecture, statut,
        reference_statut`` when present).
    indicateurs : DataFrame, optional
        Indicator table: method/source of the zone values and reference names.
    synthese : DataFrame, optional
        Synthesis table (values of record); ``ecarts`` may then be None. A zone's value
        and gap come from its row with ``annee_recensement == annee`` and
        ``reference_niveau == reference`` (the écarts table for zones it lacks); class
        bounds are pooled over its gaps of every vintage. Tooltips show the status,
        vintage, fiabilité and note in words, and no method id is shown.
    avertissements : dict, optional
        ``{code zone: [French sentences]}`` added to the zone's tooltip and listed
        under the map.
    """
    if reference not in REFERENCES:
        raise ValueError(
            f"niveau de référence inconnu {reference!r} ; valides : {', '.join(REFERENCES)}"
        )
    if ecarts is None:
        ecarts = pd.DataFrame(columns=[*COLONNES_ECARTS, "statut"])
    verifier_colonnes(ecarts, COLONNES_ECARTS, "ecarts")
    e = filtrer_sexe(ecarts, sexe)
    e = e[e["niveau"].isin(["qpv", "veille"]) & (e["reference_niveau"] == reference)]
    e = e.assign(
        territoire_code=e["territoire_code"].astype(str),
        indicateur=e["indicateur"].astype(str),
        annee=e["annee"].astype("int64"),
    )
    codes_zones = set(couches.zones["code"])
    e = e[e["territoire_code"].isin(codes_zones)]
    ea = e[e["annee"] == annee]
    ea = une_ligne_par_valeur(  # official row first, one row per zone and indicator
        ea,
        ("territoire_code", "indicateur"),
        "valeur_statut" if "valeur_statut" in ea else "statut",
    )
    par_indicateur: dict[str, dict] = {}
    for r in ea.to_dict("records"):  # plain records: per-group conversions are slow
        par_indicateur.setdefault(r["indicateur"], {})[str(r["territoire_code"])] = r
    e_par_indicateur = {k: d for k, d in e.groupby("indicateur")}
    # values of record: one row per zone and indicator for this year and reference
    sobre = synthese is not None
    syn_tous = selection_synthese(synthese, None, sexe=sexe, codes=codes_zones, reference=reference)
    syn = syn_tous[pd.to_numeric(syn_tous["annee_recensement"], errors="coerce") == annee]
    syn = syn.drop_duplicates(["territoire_code", "indicateur"])
    syn_par_indicateur: dict[str, dict] = {}
    for r in syn.to_dict("records"):
        syn_par_indicateur.setdefault(r["indicateur"], {})[str(r["territoire_code"])] = r
    syn_tous_par_indicateur = (
        {
            k: pd.to_numeric(d, errors="coerce").to_numpy(dtype="float64")
            for k, d in syn_tous.groupby("indicateur")["ecart_points"]
        }
        if "ecart_points" in syn_tous
        else {}
    )
    base_meta = indicateurs if indicateurs is not None and len(indicateurs) else e
    inds = set(ea["indicateur"]) | set(syn["indicateur"])
    base_meta = base_meta[base_meta["indicateur"].astype(str).isin(inds)]
    if len(syn):
        cols = ["indicateur", "unite", "source"]
        base_meta = pd.concat(
            [base_meta[[c for c in cols if c in base_meta]], syn[[c for c in cols if c in syn]]],
            ignore_index=True,
        )
    meta = metadonnees_indicateurs(base_meta, codebook, sexe)
    noms_ref, methodes = {}, {}
    if indicateurs is not None and len(indicateurs):
        ia = filtrer_sexe(indicateurs, sexe)
        if "territoire_nom" in ia:
            noms_ref = dict(
                zip(ia["territoire_code"].astype(str), ia["territoire_nom"], strict=True)
            )
        if "methode" in ia:
            z = ia[ia["niveau"].isin(["qpv", "veille"]) & (ia["annee"].astype("int64") == annee)]
            methodes = {
                (str(c), str(i)): m
                for c, i, m in zip(z["territoire_code"], z["indicateur"], z["methode"], strict=True)
            }
    zones = couches.zones
    specs, legendes, tables = [], [], []
    _, idents = contours_standard(couches)
    # a gap between a neighbourhood's head count and a commune's is not a comparison
    effectif = [est_effectif(t, u) for t, u in zip(meta["type"], meta["unite"], strict=True)]
    meta = meta[~np.array(effectif, dtype=bool)].reset_index(drop=True)
    attention = {c: avertissements_zone(avertissements, c) for c in zones["code"]}
    liste_zones = list(zones[["code", "nom", "niveau"]].itertuples(index=False))
    for m in meta.to_dict("records"):
        ind, unite, direction = m["indicateur"], m["unite"], m["direction"]
        neutre = np.isnan(signe_favorable(direction))
        tous = syn_tous_par_indicateur.get(ind)
        if tous is None or not np.isfinite(tous).any():
            tous = pd.to_numeric(
                e_par_indicateur.get(ind, e.iloc[:0])["ecart_points"], errors="coerce"
            ).to_numpy(dtype="float64")
        b = bornes_ecarts(favorabilite(tous, direction), k=k)
        sous = par_indicateur.get(ind, {})
        sous_syn = syn_par_indicateur.get(ind, {})
        valeurs, lignes_table = {}, []
        for code, nom, niveau in liste_zones:
            points = [["Point d'attention", a] for a in attention[code]]
            if code in sous_syn:
                cl, lignes, cellules = _zone_synthese(
                    sous_syn[code], unite, reference, direction, b
                )
                valeurs[code] = [cl, lignes + points]
                lignes_table.append([code, nom, NOMS_NIVEAUX[niveau], *cellules])
                continue
            if code not in sous:
                valeurs[code] = [-100, [["Écart", "manquant"], *points]]
                lignes_table.append(
                    [code, nom, NOMS_NIVEAUX[niveau], "manquant", "", "", "manquant"]
                    + (["—"] if sobre else [])
                )
                continue
            r = sous[code]
            st_val = _texte(r.get("valeur_statut")) or _texte(r.get("statut")) or "estime"
            st_ecart = _texte(r.get("statut")) or st_val
            ep = float(r["ecart_points"]) if pd.notna(r["ecart_points"]) else np.nan
            secret = "secret" in (st_val, st_ecart)
            if not secret and np.isnan(ep):
                st_ecart = "manquant"
            cl = int(affecter_classes_ecarts(favorabilite([ep], direction), b, secret=[secret])[0])
            rcode = _texte(r["reference_code"])
            rnom = libelle_reference(reference, noms_ref.get(rcode), rcode)
            val = formater_valeur(r["valeur"], unite, st_val)
            refv = formater_valeur(r["reference_valeur"], unite, _texte(r.get("reference_statut")))
            ecart_txt = _texte_ecart(ep, unite, secret)
            lignes = [["Valeur", val], ["Statut", LIBELLES_STATUT.get(st_val, st_val)]]
            methode = _texte(r.get("methode")) or _texte(methodes.get((code, ind)))
            if methode and not sobre:
                lignes.append(["Méthode", methode])
            lignes.append([f"Référence : {rnom}", refv])
            lignes.append(["Écart", ecart_txt])
            if "ratio" in r and pd.notna(r["ratio"]) and not secret:
                lignes.append(["Ratio", formater_nombre(float(r["ratio"]), 2)])
            if _texte(r.get("lecture")) and not secret:
                lignes.append(["Lecture", _texte(r["lecture"])])
            valeurs[code] = [cl, lignes + points]
            lignes_table.append(
                [
                    code,
                    nom,
                    NOMS_NIVEAUX[niveau],
                    val,
                    refv,
                    ecart_txt,
                    LIBELLES_STATUT.get(st_val, st_val),
                ]
                + (["—"] if sobre else [])
            )
        couleurs = {
            str(c): v
            for c, v in palette_divergente(max(len(b), 1), "PuOr" if neutre else "RdBu").items()
        }
        couleurs["-100"] = STYLE_MANQUANT["fill"]
        couleurs["-101"] = STYLE_SECRET["fill"]
        source = _texte(m["source"])
        specs.append(
            {
                "id": ind,
                "libelle": m["libelle"],
                "couleurs": couleurs,
                "commun": [
                    ["Source", f"{source} — millésime {annee}" if source else f"millésime {annee}"]
                ],
                "valeurs": {c: [v[0], v[1]] for c, v in valeurs.items()},
            }
        )
        sens = (
            "indicateur sans sens favorable défini : au-dessus / en dessous"
            if neutre
            else "hausse défavorable"
            if direction == "hausse_defavorable"
            else "baisse défavorable"
        )
        legendes.append(
            {
                "titre": f"{m['libelle']} — écart {_NOMS_REF[reference]} ({annee})",
                "entrees": legende_ecarts(b, unite, neutre=neutre),
                "contours": legende_contours([i for i in idents if i != "iris"]),
                "sens": sens,
            }
        )
        tables.append(
            {
                "titre": f"{m['libelle']} — écart {_NOMS_REF[reference]}, {annee}",
                "colonnes": [
                    {"texte": "Zone"},
                    {"texte": "Type"},
                    {"texte": "Valeur", "nombre": True},
                    {"texte": "Référence", "nombre": True},
                    {"texte": "Écart", "nombre": True},
                    {"texte": "Statut"},
                    *([{"texte": "Fiabilité"}] if sobre else []),
                ],
                "lignes": lignes_table,
                "note": f"Sens de lecture : {sens}. "
                "Bornes des classes communes à tous les millésimes.",
            }
        )
    contours, _ = contours_standard(couches)
    # QPV and veille outlines on; veille drawn first, QPV above it
    rang = {"communes": 0, "epci": 1, "veille": 2, "qpv2015": 3, "qpv2024": 4}
    contours = [
        contour("iris", couches.contour_geojson("iris"), libelle="IRIS (fond)"),
        *sorted(contours, key=lambda c: rang.get(c["id"], 9)),
    ]
    # a QPV overlapping a veille territory is drawn (and hovered) above it
    ordre = zones.assign(_qpv=(zones["niveau"] == "qpv").to_numpy()).sort_values(
        "_qpv", kind="stable"
    )
    donnees = {
        "zones": {
            "geojson": vers_geojson(ordre, ["code", "nom", "sous"]),
            "classe": "obs-zone obs-zone-ecart",
            "opacite": 0.85,
            "epaisseur": 1.5,
        },
        "contours": contours,
        "indicateurs": specs,
        "actif": 0,
        "tuiles": TUILES.get(tuiles) if tuiles else None,
    }
    sources = sorted({_texte(s) for s in meta["source"] if _texte(s)})
    sources.append(
        "Écart = valeur de la zone − valeur de référence (en points pour les taux et "
        "parts) ; le sens favorable vient du codebook des indicateurs."
    )
    if sobre:
        sources.extend(LEGENDE_FIABILITE)
    noms_zones = dict(zip(zones["code"], zones["nom"], strict=True))
    for c, textes in attention.items():
        if textes:
            sources.append(f"Points d'attention — {noms_zones[c]} ({c}) : " + " ; ".join(textes))
    titre = titre or (f"{couches.nom_territoire} — écarts {_NOMS_REF[reference]}, {annee}")
    return rendre_page(
        "carte.html.j2",
        titre=titre,
        sous_titres=[
            f"{len(specs)} indicateur(s) ; {len(zones)} zone(s) (QPV et territoires de "
            "veille). Bleu : plus favorable que la référence, rouge : moins favorable ; "
            "indicateurs sans sens favorable : orange en dessous, violet au-dessus."
        ],
        liens=liens or [],
        legendes=legendes,
        tableaux=tables,
        actif=0,
        donnees_json=json_html(donnees),
        sources=sources,
        classe_page="obs-page-ecarts",
    )
