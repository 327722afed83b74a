"""``index.html``: the steering committee's dashboard, then links to every page and file.

The first screen is one table: the QPV and veille zones × the key indicators of
:data:`~observatoire.cartes.synthese.INDICATEURS_CLES` (values of record of the
synthesis table, latest census vintage), each cell with its gap to the commune
(buttons switch to the EPCI or the département), coloured by the codebook's
direction and marked with its fiabilité. Columns sort with a click (a few lines of
inline JavaScript, no network). A reading guide, the zones' warnings, links to every
map and sheet by vintage and to the run's tables and ``manifest.json`` follow.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.cartes.legende import formater_ecart, formater_valeur
from observatoire.cartes.pages import chemin_relatif, ecrire_page, rendre_page

__all__ = ["generer_index", "tableau_de_bord"]

_TITRE = re.compile(r"<title>(.*?)</title>", re.S)
_ORDRE = [
    "carte_indicateurs",
    "ecarts_commune",
    "ecarts_epci",
    "ecarts_departement",
    "ecarts_france",
]
_REFS = ("commune", "epci", "departement")
_NOMS_REFS = {"commune": "Commune", "epci": "EPCI", "departement": "Département"}
_FICHIERS = {
    ".xlsx": "classeur Excel",
    ".gpkg": "GeoPackage (QGIS)",
    ".csv": "CSV",
    ".parquet": "Parquet",
}


def _ordre(chemin: Path) -> tuple:
    return (_ORDRE.index(chemin.stem) if chemin.stem in _ORDRE else len(_ORDRE), chemin.name)


def _titre(chemin: Path) -> str:
    with open(chemin, encoding="utf-8") as f:
        debut = f.read(4096)
    m = _TITRE.search(debut)
    return html.unescape(m.group(1)).strip() if m else chemin.stem


def _synthese_du_dossier(dossier: Path) -> pd.DataFrame | None:
    for nom in ("synthese.parquet", "synthese.csv"):
        chemin = dossier / "tables" / nom
        if chemin.is_file():
            try:
                return (
                    pd.read_parquet(chemin)
                    if nom.endswith(".parquet")
                    else pd.read_csv(chemin, dtype={"territoire_code": str})
                )
            except Exception:  # pragma: no cover - unreadable table: no dashboard
                return None
    return None


def tableau_de_bord(
    synthese: pd.DataFrame | None,
    *,
    codebook=None,
    fiches: dict[str, str] | None = None,
    sexe: str = "ensemble",
) -> dict | None:
    """Rows and columns of the dashboard from a synthesis table (latest vintage).

    Parameters
    ----------
    synthese : DataFrame
        Synthesis table (values of record), one or several census vintages.
    fiches : dict, optional
        ``{code zone: relative URL of its sheet}``.

    Returns
    -------
    dict or None
        ``{"annee", "colonnes": [{"libelle", "pilier", "unite"}], "lignes": [...]}``;
        None without synthesis rows.
    """
    from observatoire.cartes.entrees import metadonnees_indicateurs, signe_favorable
    from observatoire.cartes.fiches import MARQUES_FIABILITE
    from observatoire.cartes.synthese import (
        INDICATEURS_CLES,
        entier,
        est_effectif,
        libelle_reference,
        selection_synthese,
        statut_court,
        texte_propre,
    )

    s = selection_synthese(synthese, None, sexe=sexe)
    if not len(s):
        return None
    annees = pd.to_numeric(s["annee_recensement"], errors="coerce")
    annee = int(annees.max())
    s = s[annees == annee]
    presents = [i for i in INDICATEURS_CLES if i in set(s["indicateur"])]
    if not presents:
        presents = list(dict.fromkeys(s["indicateur"]))[:12]
    meta = metadonnees_indicateurs(
        pd.DataFrame({"indicateur": presents}), codebook, sexe
    ).set_index("indicateur")
    libelles_syn = {}
    if "libelle" in s:
        libelles_syn = {
            str(i): texte_propre(v) for i, v in zip(s["indicateur"], s["libelle"], strict=True)
        }
    colonnes = []
    for i in presents:
        m = meta.loc[i]
        lib = m["libelle"] if m["libelle"] != i else (libelles_syn.get(i) or i)
        colonnes.append(
            {
                "id": i,
                "libelle": lib,
                "pilier": m["pilier"],
                "unite": m["unite"],
                "direction": m["direction"],
                "effectif": est_effectif(m["type"], m["unite"]),
            }
        )
    rec: dict[tuple, dict] = {}
    for r in s.to_dict("records"):
        cle = (r["territoire_code"], r["indicateur"])
        rec.setdefault(cle, {"zone": r, "refs": {}})
        rec[cle]["refs"].setdefault(texte_propre(r.get("reference_niveau")), r)
    zones = (
        s[["territoire_code", "niveau"] + (["territoire_nom"] if "territoire_nom" in s else [])]
        .drop_duplicates("territoire_code")
        .assign(_q=lambda d: (d["niveau"] != "qpv").astype(int))
        .sort_values(["_q", "territoire_code"])
    )
    lignes = []
    for z in zones.to_dict("records"):
        code = z["territoire_code"]
        nom = texte_propre(z.get("territoire_nom")) or code
        cellules = []
        for c in colonnes:
            x = rec.get((code, c["id"]))
            if x is None:
                cellules.append(
                    {
                        "valeur": "—",
                        "tri": "",
                        "ecarts": {},
                        "sens": {},
                        "fiab": "",
                        "fiab_texte": "",
                        "titre": "",
                    }
                )
                continue
            r = x["zone"]
            st = texte_propre(r.get("statut")) or "manquant"
            v = r.get("valeur")
            v = float(v) if v is not None and pd.notna(v) else np.nan
            ecarts, sens, titres = {}, {}, []
            for niv in _REFS:
                rr = x["refs"].get(niv)
                if rr is None:
                    continue
                nom_ref = libelle_reference(niv, rr.get("reference_nom"), rr.get("reference_code"))
                rv = rr.get("reference_valeur")
                rv = float(rv) if rv is not None and pd.notna(rv) else np.nan
                titres.append(
                    f"{nom_ref} : "
                    + (
                        formater_valeur(
                            rv, c["unite"], texte_propre(rr.get("reference_statut")) or None
                        )
                        if np.isfinite(rv)
                        else "non disponible"
                    )
                )
                ep = rr.get("ecart_points")
                ep = float(ep) if ep is not None and pd.notna(ep) else np.nan
                if c["effectif"] or st == "secret" or not np.isfinite(ep):
                    continue
                ecarts[niv] = formater_ecart(ep, c["unite"])
                signe = signe_favorable(c["direction"])
                sens[niv] = (
                    "egal"
                    if ep == 0
                    else "neutre"
                    if np.isnan(signe)
                    else "favorable"
                    if ep * signe > 0
                    else "defavorable"
                )
            fiab = texte_propre(r.get("fiabilite"))
            qualif = statut_court(st, entier(r.get("annee")))
            cellules.append(
                {
                    "valeur": formater_valeur(v, c["unite"], st),
                    "tri": "" if not np.isfinite(v) else repr(float(v)),
                    "ecarts": ecarts,
                    "sens": sens,
                    "fiab": MARQUES_FIABILITE.get(fiab, ""),
                    "fiab_texte": f"fiabilité {fiab}" if fiab else "",
                    "titre": " ; ".join(
                        [qualif, *([f"fiabilité {fiab}"] if fiab else []), *titres]
                    ),
                }
            )
        lignes.append(
            {
                "code": code,
                "nom": nom,
                "type": "QPV" if z["niveau"] == "qpv" else "Veille",
                "fiche": (fiches or {}).get(code),
                "cellules": cellules,
            }
        )
    piliers = []
    for c in colonnes:
        if piliers and piliers[-1]["nom"] == c["pilier"]:
            piliers[-1]["n"] += 1
        else:
            piliers.append({"nom": c["pilier"], "n": 1})
    return {"annee": annee, "colonnes": colonnes, "piliers": piliers, "lignes": lignes}


def generer_index(
    dossier: str | os.PathLike,
    *,
    titre: str = "Observatoire — cartes et fiches",
    synthese: pd.DataFrame | None = None,
    codebook=None,
    avertissements: dict[str, list[str]] | None = None,
) -> Path:
    """Write ``<dossier>/index.html``: dashboard, then links to every page and file.

    Parameters
    ----------
    dossier : path
        Territory output folder (``<année>/`` sub-folders, optional ``tables/``).
    synthese : DataFrame, optional
        Synthesis table (values of record) of the dashboard; default: the folder's
        ``tables/synthese.parquet`` when there is one. No dashboard without it.
    codebook : Codebook or DataFrame, optional
        Labels, pillars and directions (default: the packaged codebook).
    avertissements : dict, optional
        ``{code zone: [French sentences]}`` listed under the dashboard.

    Maps are the ``*.html`` files of each year folder, sheets those of its
    ``fiches/`` sub-folder; titles are read back from the pages. Returns the path.
    """
    from observatoire.cartes.synthese import avertissements_zone

    dossier = Path(dossier)
    annees = []
    for sous in sorted(
        (p for p in dossier.iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
        reverse=True,
    ):
        cartes = [
            {"href": chemin_relatif(p, dossier), "titre": _titre(p)}
            for p in sorted(sous.glob("*.html"), key=_ordre)
        ]
        fiches = [
            {"href": chemin_relatif(p, dossier), "titre": _titre(p)}
            for p in sorted((sous / "fiches").glob("*.html"))
        ]
        if cartes or fiches:
            annees.append({"annee": int(sous.name), "cartes": cartes, "fiches": fiches})
    if synthese is None:
        synthese = _synthese_du_dossier(dossier)
    bord = None
    if synthese is not None and len(synthese):
        dernier = annees[0]["annee"] if annees else None
        liens_fiches = {}
        for a in annees:
            for f in a["fiches"]:
                code = Path(f["href"]).stem
                if a["annee"] == dernier or code not in liens_fiches:
                    liens_fiches.setdefault(code, f["href"])
        bord = tableau_de_bord(synthese, codebook=codebook, fiches=liens_fiches)
    noms = {}
    if bord:
        noms = {ligne["code"]: ligne["nom"] for ligne in bord["lignes"]}
    attention = [
        {"zone": f"{noms.get(c, c)} ({c})", "textes": avertissements_zone(avertissements, c)}
        for c in sorted(avertissements or {})
        if avertissements_zone(avertissements, c)
    ]
    fichiers = []
    tables = dossier / "tables"
    if tables.is_dir():
        for p in sorted(
            tables.iterdir(),
            key=lambda p: (list(_FICHIERS).index(p.suffix) if p.suffix in _FICHIERS else 9, p.name),
        ):
            if p.is_file() and p.suffix in _FICHIERS and not p.name.startswith("."):
                fichiers.append(
                    {
                        "href": chemin_relatif(p, dossier),
                        "titre": p.name,
                        "genre": _FICHIERS[p.suffix],
                    }
                )
    if tables.is_dir() or (dossier / "manifest.json").is_file():
        fichiers.append(
            {
                "href": "manifest.json",
                "titre": "manifest.json",
                "genre": "entrées, paramètres, durées et empreintes du run",
            }
        )
    liens = [{"href": "#tableau-de-bord", "texte": "Tableau de bord"}] if bord else []
    liens += [{"href": f"#annee-{a['annee']}", "texte": str(a["annee"])} for a in annees]
    if fichiers:
        liens.append({"href": "#fichiers", "texte": "Tables"})
    page = rendre_page(
        "index.html.j2",
        avec_carte=False,
        impression=True,
        titre=titre,
        sous_titres=["Tableau de bord, cartes interactives et fiches quartier, par millésime."],
        liens=liens,
        annees=annees,
        bord=bord,
        refs=[{"id": r, "nom": _NOMS_REFS[r]} for r in _REFS],
        attention=attention,
        fichiers=fichiers,
        classe_page="obs-page-index",
    )
    return ecrire_page(dossier / "index.html", page)
