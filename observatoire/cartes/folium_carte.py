"""Folium maps of a run's outputs for notebooks, offline by default.

:func:`carte_folium` reads ``tables/*.parquet`` and the layers of
``tables/observatoire.gpkg`` of one run and returns a :class:`folium.Map`: values of
one indicator and vintage (or their gaps to a reference level) by IRIS, QPV,
veille territory, commune or EPCI. Leaflet is inlined from the installed
``xstatic-leaflet`` package (no CDN), no basemap unless asked, tooltip texts are
HTML-escaped. folium is imported inside the function (its import is slow).
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["carte_folium"]

_COUCHES = ("iris", "qpv", "veille", "commune", "epci", "departement")


def _valeurs(
    dossier: Path, indicateur: str, annee: int, niveau: str, sexe: str, ecart_reference: str | None
) -> pd.DataFrame:
    from observatoire.cartes.entrees import filtrer_sexe, une_ligne_par_valeur

    tables = dossier / "tables"
    if ecart_reference is None:
        t = pd.read_parquet(tables / "indicateurs.parquet")
    else:
        t = pd.read_parquet(tables / "ecarts.parquet")
        t = t[t["reference_niveau"] == ecart_reference]
    t = filtrer_sexe(t, sexe)
    t = t[
        (t["niveau"] == niveau)
        & (t["indicateur"].astype(str) == indicateur)
        & (pd.to_numeric(t["annee"], errors="coerce") == int(annee))
    ]
    statut = "valeur_statut" if "valeur_statut" in t else "statut"
    t = une_ligne_par_valeur(t, ("territoire_code",), statut)
    return t.assign(territoire_code=t["territoire_code"].astype(str))


def carte_folium(
    dossier_run: str | os.PathLike,
    indicateur: str,
    annee: int,
    niveau: str = "iris",
    ecart_reference: str | None = None,
    *,
    sexe: str = "ensemble",
    contours: tuple[str, ...] = ("qpv", "veille"),
    tuiles: str | None = None,
    k: int = 5,
    hors_ligne: bool = True,
):
    """Return a folium map of ``indicateur`` in ``annee`` at ``niveau`` from a run folder.

    Parameters
    ----------
    dossier_run : path
        Territory output folder of a run (with ``tables/``).
    indicateur : str
        Indicator id of the codebook (e.g. ``"taux_chomage_1564"``).
    annee : int
        Census vintage.
    niveau : {"iris", "qpv", "veille", "commune", "epci"}
        Layer of ``tables/observatoire.gpkg`` to fill.
    ecart_reference : {"commune", "epci", "departement", "france"}, optional
        Map the gap in points to this reference level (``tables/ecarts.parquet``)
        with a diverging palette (red: less favourable) instead of the values.
    contours : tuple of str
        Layers drawn as outlines above the filled one (QPV and veille by default).
    tuiles : str, optional
        A folium basemap name (e.g. ``"OpenStreetMap"``): needs network; none by default.
    hors_ligne : bool
        Inline Leaflet from ``xstatic-leaflet`` instead of folium's CDN links.

    Returns
    -------
    folium.Map
    """
    import folium
    import geopandas as gpd

    from observatoire.cartes.actifs import leaflet_css, leaflet_js
    from observatoire.cartes.carte_ecarts import favorabilite
    from observatoire.cartes.classes import (
        affecter_classes,
        affecter_classes_ecarts,
        bornes_ecarts,
        calculer_bornes,
    )
    from observatoire.cartes.entrees import metadonnees_indicateurs, signe_favorable
    from observatoire.cartes.legende import (
        LIBELLES_STATUT,
        formater_ecart,
        formater_valeur,
        palette_divergente,
        palette_sequentielle,
    )
    from observatoire.cartes.synthese import libelle_reference, texte_propre

    dossier = Path(dossier_run)
    if niveau not in _COUCHES:
        raise ValueError(f"niveau inconnu {niveau!r} ; valides : {', '.join(_COUCHES)}")
    gpkg = dossier / "tables" / "observatoire.gpkg"
    geo = gpd.read_file(gpkg, layer=niveau, columns=["territoire_code", "territoire_nom"])
    geo = geo.to_crs("EPSG:4326")
    geo["territoire_code"] = geo["territoire_code"].astype(str)
    valeurs = _valeurs(dossier, indicateur, annee, niveau, sexe, ecart_reference)
    meta = metadonnees_indicateurs(pd.DataFrame({"indicateur": [indicateur]})).iloc[0]
    unite, direction = meta["unite"], meta["direction"]
    par_code = {r["territoire_code"]: r for r in valeurs.to_dict("records")}
    v = np.array(
        [
            float(par_code[c]["valeur"])
            if c in par_code and pd.notna(par_code[c]["valeur"])
            else np.nan
            for c in geo["territoire_code"]
        ]
    )
    statuts = [
        texte_propre(par_code.get(c, {}).get("valeur_statut" if ecart_reference else "statut"))
        or "manquant"
        for c in geo["territoire_code"]
    ]
    secret = np.array([s == "secret" for s in statuts])
    if ecart_reference is None:
        b = calculer_bornes(v[~secret], "fisher_jenks", k)
        couleurs = palette_sequentielle(len(b))
        classes = affecter_classes(v, b, secret=secret)
        fonds = [couleurs[c] if c >= 0 else ("#bdbdbd" if c == -1 else "#ffffff") for c in classes]
        titre = f"{meta['libelle']} — {annee}"
    else:
        ep = np.array(
            [
                float(par_code[c]["ecart_points"])
                if c in par_code and pd.notna(par_code[c]["ecart_points"])
                else np.nan
                for c in geo["territoire_code"]
            ]
        )
        fav = favorabilite(ep, direction)
        b = bornes_ecarts(fav)
        neutre = np.isnan(signe_favorable(direction))
        pal = palette_divergente(max(len(b), 1), "PuOr" if neutre else "RdBu")
        classes = affecter_classes_ecarts(fav, b, secret=secret)
        fonds = [pal.get(int(c), "#bdbdbd" if c == -101 else "#ffffff") for c in classes]
        titre = (
            f"{meta['libelle']} — écart à la référence "
            f"({libelle_reference(ecart_reference)}), {annee}"
        )
    lignes = []
    for j, c in enumerate(geo["territoire_code"]):
        r = par_code.get(c, {})
        ligne = {
            "Zone": html.escape(texte_propre(geo["territoire_nom"].iloc[j]) or c),
            "Code": html.escape(c),
            "Valeur": html.escape(
                formater_valeur(v[j], unite, statuts[j])
                if ecart_reference is None
                else formater_valeur(r.get("valeur", np.nan), unite, statuts[j])
            ),
            "Statut": html.escape(LIBELLES_STATUT.get(statuts[j], statuts[j])),
        }
        if ecart_reference is not None:
            ligne["Écart"] = html.escape(formater_ecart(ep[j], unite))
            ligne["Référence"] = html.escape(
                libelle_reference(ecart_reference, r.get("reference_nom"), r.get("reference_code"))
            )
        lignes.append(ligne)
    proprietes = pd.DataFrame(lignes)
    couche = gpd.GeoDataFrame(
        proprietes.assign(_fond=fonds), geometry=geo.geometry.to_numpy(), crs=geo.crs
    )

    carte = folium.Map(tiles=tuiles, control_scale=True, prefer_canvas=False)
    if hors_ligne:
        carte.default_js = []
        carte.default_css = []
        entete = carte.get_root().header
        entete.add_child(folium.Element(f"<style>{leaflet_css()}</style>"), name="leaflet_css")
        entete.add_child(folium.Element(f"<script>{leaflet_js()}</script>"), name="leaflet_js")
    champs = [c for c in proprietes.columns]
    folium.GeoJson(
        couche.to_json(),
        name=html.escape(titre),
        style_function=lambda f: {
            "fillColor": f["properties"]["_fond"],
            "fillOpacity": 0.8,
            "color": "#4d4d4d",
            "weight": 0.7,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=champs, aliases=champs, sticky=True),
    ).add_to(carte)
    styles = {"qpv": ("#c51b7d", None), "veille": ("#e66101", "2 5")}
    for nom in contours:
        if nom == niveau or nom not in _COUCHES:
            continue
        try:
            z = gpd.read_file(gpkg, layer=nom, columns=["territoire_code"]).to_crs("EPSG:4326")
        except Exception:  # layer absent from this run
            continue
        couleur, tirets = styles.get(nom, ("#000000", None))
        folium.GeoJson(
            z[["geometry"]].to_json(),
            name=html.escape(nom.upper() if nom == "qpv" else "Territoires de veille"),
            style_function=lambda f, c=couleur, t=tirets: {
                "fill": False,
                "color": c,
                "weight": 2.4,
                "dashArray": t,
            },
            interactive=False,
        ).add_to(carte)
    folium.LayerControl(collapsed=True).add_to(carte)
    minx, miny, maxx, maxy = geo.total_bounds
    carte.fit_bounds([[miny, minx], [maxy, maxx]])
    carte.get_root().html.add_child(
        folium.Element(
            f'<div style="position:absolute;top:8px;left:50px;z-index:1000;background:#fff;'
            f'padding:2px 6px;font:13px sans-serif">{html.escape(titre)}</div>'
        )
    )
    return carte
