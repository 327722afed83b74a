"""Indicator choropleth: IRIS values of one year, every indicator switchable in one page.

One self-contained HTML page per year: the IRIS layer is drawn once and restyled
when the user picks another indicator (layer control or the select box beside the
map), so the file carries the geometry once whatever the number of indicators.
Class breaks are shared across years by default (pooled values), so colours are
comparable from one year's page to the next.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.cartes.classes import (
    CLASSE_MANQUANT,
    CLASSE_SECRET,
    affecter_classes,
    calculer_bornes,
)
from observatoire.cartes.couches import CouchesWeb, contours_standard, legende_contours
from observatoire.cartes.entrees import (
    COLONNES_INDICATEURS,
    filtrer_sexe,
    metadonnees_indicateurs,
    une_ligne_par_valeur,
    verifier_colonnes,
)
from observatoire.cartes.legende import (
    LIBELLES_STATUT,
    couleur_classe,
    formater_ecart,
    formater_valeur,
    legende_classes,
    palette_sequentielle,
)
from observatoire.cartes.pages import rendre_page
from observatoire.cartes.simplification import json_html
from observatoire.cartes.synthese import est_effectif, libelle_reference

__all__ = [
    "TUILES",
    "carte_indicateurs",
    "bornes_indicateurs",
    "references_par_niveau",
    "surfaces_km2",
    "valeurs_a_cartographier",
]

#: Optional basemaps (only useful online; the map never depends on them).
TUILES = {
    "osm": {
        "nom": "Fond OpenStreetMap (en ligne)",
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": "© contributeurs OpenStreetMap",
    },
    "ign": {
        "nom": "Fond IGN Plan (en ligne)",
        "url": "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&FORMAT=image/png"
        "&TILEMATRIXSET=PM&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}",
        "attribution": "© IGN Plan IGN",
    },
}
A_LA_REFERENCE = {
    "commune": "à la commune",
    "epci": "à l'EPCI",
    "departement": "au département",
    "france": "à la France",
}
NOMS_NIVEAUX = {
    "iris": "IRIS",
    "qpv": "QPV",
    "veille": "Territoire de veille",
    "commune": "Commune",
    "epci": "EPCI",
    "departement": "Département",
    "france": "France",
}


def _texte(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return ""
    return str(v)


def bornes_indicateurs(
    valeurs_iris: pd.DataFrame,
    *,
    schema: str = "fisher_jenks",
    k: int = 5,
    bornes: dict | None = None,
    par_annee: bool = False,
) -> dict:
    """Class breaks per indicator (and per year when ``par_annee``), pooled over years by default.

    ``valeurs_iris``: one row per IRIS × indicator × year with ``valeur`` and ``statut``.
    Secret values are left out. ``bornes`` maps an indicator id to user-defined breaks.
    Returns ``{indicateur: array}`` or ``{(indicateur, annee): array}``.
    """
    ok = valeurs_iris[valeurs_iris["statut"].astype(str) != "secret"]
    out = {}
    cles = ["indicateur", "annee"] if par_annee else ["indicateur"]
    for cle, sous in ok.groupby(cles, sort=False):
        ind = cle[0] if isinstance(cle, tuple) else cle
        manuel = (bornes or {}).get(ind)
        b = calculer_bornes(
            sous["valeur"].to_numpy(dtype="float64"), "manuel" if manuel else schema, k, manuel
        )
        out[cle if par_annee else ind] = b
    return out


def references_par_niveau(valeurs: pd.DataFrame, annee: int) -> dict:
    """``{(niveau, code, indicateur): (valeur, statut, nom)}`` for one year, all levels."""
    v = valeurs[valeurs["annee"] == annee]
    noms = v["territoire_nom"] if "territoire_nom" in v else v["territoire_code"]
    return {
        (n, str(c), str(i)): (val, s, nm)
        for n, c, i, val, s, nm in zip(
            v["niveau"],
            v["territoire_code"],
            v["indicateur"],
            v["valeur"],
            v["statut"],
            noms,
            strict=True,
        )
    }


def surfaces_km2(couches: CouchesWeb) -> np.ndarray:
    """Area of each IRIS of ``couches.iris`` in km² (NaN when empty), memoised."""
    if "surfaces_km2" not in couches._memo:
        a = couches.iris.to_crs("EPSG:2154").geometry.area.to_numpy(dtype="float64") / 1e6
        couches._memo["surfaces_km2"] = np.where(a > 0, a, np.nan)
    return couches._memo["surfaces_km2"]


def _effectifs(meta: pd.DataFrame) -> set[str]:
    return {
        i
        for i, t, u in zip(meta["indicateur"], meta["type"], meta["unite"], strict=True)
        if est_effectif(t, u)
    }


def valeurs_a_cartographier(
    valeurs_iris: pd.DataFrame, couches: CouchesWeb, *, effectifs: set[str]
) -> pd.DataFrame:
    """IRIS values as mapped: head counts (``effectifs``) divided by the IRIS area (km²)."""
    if not effectifs or not len(valeurs_iris):
        return valeurs_iris
    surf = pd.Series(surfaces_km2(couches), index=couches.iris["code"].to_numpy())
    masque = valeurs_iris["indicateur"].isin(effectifs).to_numpy()
    s = surf.reindex(valeurs_iris["territoire_code"].astype(str)).to_numpy()
    v = valeurs_iris["valeur"].to_numpy(dtype="float64").copy()
    v[masque] = v[masque] / s[masque]
    return valeurs_iris.assign(valeur=v)


def _code_unique(valeurs: pd.DataFrame, niveau: str) -> str | None:
    codes = valeurs.loc[valeurs["niveau"] == niveau, "territoire_code"].astype(str).unique()
    return codes[0] if len(codes) == 1 else None


def carte_indicateurs(
    indicateurs: pd.DataFrame,
    couches: CouchesWeb,
    annee: int,
    *,
    ecarts: pd.DataFrame | None = None,
    codebook=None,
    sexe: str = "ensemble",
    schema: str = "fisher_jenks",
    k: int = 5,
    bornes: dict | None = None,
    bornes_par_annee: bool = False,
    tuiles: str | None = None,
    liens: list | None = None,
    titre: str | None = None,
    bornes_calculees: dict | None = None,
) -> str:
    """Return the HTML page of every IRIS indicator of ``annee`` (one switchable layer).

    Parameters
    ----------
    indicateurs : DataFrame
        Indicator long table (all levels; ``niveau == "iris"`` rows are mapped, the
        commune / EPCI / département / France rows give the reference values).
    couches : CouchesWeb
        From :func:`~observatoire.cartes.couches.preparer_couches`.
    annee : int
    ecarts : DataFrame, optional
        Écarts table; IRIS-level gaps, when present, show in the tooltips.
    schema, k, bornes, bornes_par_annee
        Classification (see :mod:`~observatoire.cartes.classes`). Breaks are pooled
        over every year of the table unless ``bornes_par_annee``.
    tuiles : {"osm", "ign"}, optional
        Adds an online basemap to the layer control (off by default).
    bornes_calculees : dict, optional
        Breaks from :func:`bornes_indicateurs` computed once for every year's page.
    """
    verifier_colonnes(indicateurs, COLONNES_INDICATEURS, "indicateurs")
    tout = une_ligne_par_valeur(filtrer_sexe(indicateurs, sexe))
    tout = tout.assign(
        territoire_code=tout["territoire_code"].astype(str),
        indicateur=tout["indicateur"].astype(str),
        annee=tout["annee"].astype("int64"),
    )
    codes_iris = set(couches.iris["code"])
    iris = tout[(tout["niveau"] == "iris") & tout["territoire_code"].isin(codes_iris)]
    meta = (
        metadonnees_indicateurs(iris, codebook, sexe)
        if len(iris)
        else metadonnees_indicateurs(tout.iloc[:0], codebook, sexe)
    )
    iris_annee = iris[iris["annee"] == annee]
    presents = set(iris_annee["indicateur"])
    meta = meta[meta["indicateur"].isin(presents)].reset_index(drop=True)
    if bornes_calculees is None:
        bornes_calculees = bornes_indicateurs(
            valeurs_a_cartographier(iris, couches, effectifs=_effectifs(meta)),
            schema=schema,
            k=k,
            bornes=bornes,
            par_annee=bornes_par_annee,
        )
    toutes_bornes = bornes_calculees
    if not len(meta):
        minimums = {}
    else:
        base = valeurs_a_cartographier(
            iris[iris["statut"] != "secret"], couches, effectifs=_effectifs(meta)
        )
        minimums = base.groupby("indicateur")["valeur"].min().to_dict()
    refs = references_par_niveau(tout, annee)
    code_epci = _code_unique(tout, "epci")
    code_france = _code_unique(tout, "france")
    gaps = {}
    if ecarts is not None and len(ecarts):
        e = filtrer_sexe(ecarts, sexe)
        e = e[(e["niveau"] == "iris") & (e["annee"].astype("int64") == annee)]
        e = une_ligne_par_valeur(  # official row first, as for the values
            e,
            ("territoire_code", "indicateur", "reference_niveau"),
            "valeur_statut" if "valeur_statut" in e else "statut",
        )
        for c, i, rn, ep in zip(
            e["territoire_code"].astype(str),
            e["indicateur"].astype(str),
            e["reference_niveau"],
            e["ecart_points"],
            strict=True,
        ):
            gaps[(c, i, rn)] = ep

    feats = couches.iris[["code", "nom", "sous", "code_commune"]]
    surfaces = surfaces_km2(couches)
    specs, tables, legendes = [], [], []
    for _, m in meta.iterrows():
        ind, unite = m["indicateur"], m["unite"]
        b = toutes_bornes.get((ind, annee) if bornes_par_annee else ind, np.array([]))
        couleurs = palette_sequentielle(len(b))
        sous = iris_annee[iris_annee["indicateur"] == ind].set_index("territoire_code")
        val = sous["valeur"].reindex(feats["code"]).to_numpy(dtype="float64")
        statut = sous["statut"].reindex(feats["code"]).astype(object).to_numpy()
        secret = np.array([s == "secret" for s in statut])
        # head counts are mapped as densities (per km²): a bigger IRIS is not "more"
        densite = surfaces if est_effectif(m["type"], unite) else None
        val_carte = val / densite if densite is not None else val
        unite_carte = f"{unite or 'unités'}/km²" if densite is not None else unite
        classes = affecter_classes(val_carte, b, secret=secret)
        valeurs, lignes_table = {}, []
        for j, (code, nom, nomcom, com) in enumerate(feats.itertuples(index=False)):
            st = statut[j] if isinstance(statut[j], str) else "manquant"
            if st != "secret" and not np.isfinite(val[j]):
                st = "manquant"
            texte = formater_valeur(val[j], unite, st)
            lignes = [["Valeur", texte], ["Statut", LIBELLES_STATUT.get(st, st)]]
            if densite is not None and np.isfinite(val_carte[j]) and st != "secret":
                lignes.append(["Densité", formater_valeur(val_carte[j], unite_carte)])
            for niv, cref in (
                ("commune", com),
                ("epci", code_epci),
                ("departement", com[:2] if com else None),
                ("france", code_france),
            ):
                r = refs.get((niv, str(cref), ind)) if cref else None
                if r is None:
                    continue
                lignes.append(
                    [libelle_reference(niv, r[2], cref), formater_valeur(r[0], unite, r[1])]
                )
                ep = gaps.get((code, ind, niv))
                if ep is not None and np.isfinite(ep) and m["type"] != "effectif":
                    lignes.append([f"Écart {A_LA_REFERENCE[niv]}", formater_ecart(ep, unite)])
            valeurs[code] = [int(classes[j]), lignes]
            lignes_table.append([code, code, nom, nomcom, texte, LIBELLES_STATUT.get(st, st)])
        couleurs_classes = {str(i): c for i, c in enumerate(couleurs)}
        couleurs_classes[str(CLASSE_SECRET)] = couleur_classe(CLASSE_SECRET, couleurs)
        couleurs_classes[str(CLASSE_MANQUANT)] = couleur_classe(CLASSE_MANQUANT, couleurs)
        source = _texte(m["source"])
        commun = [["Source", f"{source} — millésime {annee}" if source else f"millésime {annee}"]]
        specs.append(
            {
                "id": ind,
                "libelle": m["libelle"],
                "couleurs": couleurs_classes,
                "commun": commun,
                "valeurs": valeurs,
            }
        )
        minimum = minimums.get(ind) if len(b) else None
        legendes.append(
            {
                "titre": f"{m['libelle']}"
                + (" — densité (par km²)" if densite is not None else "")
                + f" ({annee})",
                "entrees": legende_classes(b, couleurs, unite_carte, minimum=minimum),
                "contours": [],
            }
        )
        tables.append(
            {
                "titre": f"{m['libelle']} — {annee}",
                "colonnes": [
                    {"texte": "Code IRIS"},
                    {"texte": "IRIS"},
                    {"texte": "Commune"},
                    {"texte": "Valeur", "nombre": True},
                    {"texte": "Statut"},
                ],
                "lignes": lignes_table,
                "note": (
                    "Classes communes à tous les millésimes (" + schema.replace("_", " ") + ")."
                    if not bornes_par_annee
                    else "Classes propres à ce millésime."
                ),
            }
        )
    contours, idents = contours_standard(couches)
    for leg in legendes:
        leg["contours"] = legende_contours(idents)
    donnees = {
        "zones": {"geojson": couches.geojson_iris(), "classe": "obs-zone obs-zone-iris"},
        "contours": contours,
        "indicateurs": specs,
        "actif": 0,
        "tuiles": TUILES.get(tuiles) if tuiles else None,
    }
    sources = sorted({_texte(s) for s in meta["source"] if _texte(s)})
    sources += [
        "Géométries : IRIS simplifiés en couverture (frontières communes conservées), contours "
        "de communes et de l'EPCI dissous depuis ces IRIS ; périmètres QPV (ANCT).",
        "Statuts : officiel, estimé, estimé (corrigé), approximation, secret statistique, "
        "manquant ; "
        "une valeur secrète ou manquante n'est jamais remplacée par 0.",
    ]
    titre = titre or f"{couches.nom_territoire} — indicateurs par IRIS, {annee}"
    return rendre_page(
        "carte.html.j2",
        titre=titre,
        sous_titres=[
            f"{len(specs)} indicateur(s) ; {len(feats)} IRIS ; "
            "survolez un IRIS pour ses valeurs et références."
        ],
        liens=liens or [],
        legendes=legendes,
        tableaux=tables,
        actif=0,
        donnees_json=json_html(donnees),
        sources=sources,
        classe_page="obs-page-carte",
    )
