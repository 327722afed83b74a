"""Public entry points: write every map, sheet and the index of a territory into a folder.

Layout written under ``dossier`` (the yearly run passes its vintage folders' parent)::

    index.html
    <année>/carte_indicateurs.html        IRIS choropleth, every indicator
    <année>/ecarts_<référence>.html       gap maps (commune, epci, departement)
    <année>/fiches/<code zone>.html       one sheet per QPV and veille territory
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from observatoire.cartes.carte_ecarts import carte_ecarts
from observatoire.cartes.choroplethe import carte_indicateurs
from observatoire.cartes.couches import CouchesWeb, preparer_couches
from observatoire.cartes.entrees import (
    COLONNES_UTILES_ECARTS,
    COLONNES_UTILES_INDICATEURS,
    colonnes_utiles,
    filtrer_sexe,
    verifier_colonnes,
)
from observatoire.cartes.fiches import fiche_quartier
from observatoire.cartes.index import generer_index
from observatoire.cartes.pages import ecrire_page
from observatoire.cartes.synthese import COLONNES_SYNTHESE, selection_synthese
from observatoire.rapport import Rapport

__all__ = [
    "generer_cartes",
    "generer_fiches",
    "generer_index",
    "couches_web",
    "REFERENCES_CARTES",
    "nom_fichier_fiche",
]

REFERENCES_CARTES = ("commune", "epci", "departement")
_NOMS_CARTES = {
    "carte_indicateurs": "Indicateurs par IRIS",
    "ecarts_commune": "Écarts à la commune",
    "ecarts_epci": "Écarts à l'EPCI",
    "ecarts_departement": "Écarts au département",
    "ecarts_france": "Écarts à la France",
}


def _codebook_une_fois(codebook):
    """Codebook as a frame, read or converted once for every page of the call."""
    if codebook is None:
        from observatoire.cartes.entrees import _codebook_defaut

        return _codebook_defaut()
    return codebook.to_frame() if hasattr(codebook, "to_frame") else codebook


def couches_web(geometries, *, rapport: Rapport | None = None) -> CouchesWeb:
    """Return the prepared web layers (simplified once, reused by every page)."""
    if isinstance(geometries, CouchesWeb):
        return geometries
    return preparer_couches(geometries, rapport=rapport)


def nom_fichier_fiche(code: str) -> str:
    """File name of a zone's sheet (codes are kept, unsafe characters replaced).

    Examples
    --------
    >>> nom_fichier_fiche("QN01365M"), nom_fichier_fiche("../x y")
    ('QN01365M.html', '___x_y.html')
    """
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(code)) + ".html"


def _annees(df: pd.DataFrame, niveaux: Iterable[str], annees) -> list[int]:
    if annees is not None:
        return sorted({int(a) for a in annees})
    if df is None or df.empty:
        return []
    return sorted({int(a) for a in df.loc[df["niveau"].isin(list(niveaux)), "annee"].dropna()})


def _annees_synthese(synthese: pd.DataFrame | None) -> set[int]:
    """Census vintages of the zone rows of a synthesis table."""
    if synthese is None or len(synthese) == 0 or "annee_recensement" not in synthese:
        return set()
    an = pd.to_numeric(synthese["annee_recensement"], errors="coerce").dropna()
    return {int(a) for a in an}


def _par_zone(synthese: pd.DataFrame | None) -> dict:
    """Synthesis rows split by zone code (an empty frame for zones without rows)."""
    if synthese is None or len(synthese) == 0:
        return {}
    verifier_colonnes(synthese, COLONNES_SYNTHESE, "synthese")
    return {str(c): d for c, d in synthese.groupby(synthese["territoire_code"].astype(str))}


def _liens(dossier: Path, annee: int, nom: str, annees: list[int], noms: list[str]) -> list[dict]:
    liens = [{"href": "../index.html", "texte": "Sommaire"}]
    liens += [
        {"href": f"{n}.html", "texte": _NOMS_CARTES.get(n, n), "actuel": n == nom} for n in noms
    ]
    liens += [{"href": f"../{a}/{nom}.html", "texte": str(a), "actuel": a == annee} for a in annees]
    return liens


def generer_cartes(
    indicateurs: pd.DataFrame,
    ecarts: pd.DataFrame | None,
    geometries,
    dossier: str | os.PathLike,
    *,
    annees: Iterable[int] | None = None,
    references: Iterable[str] = REFERENCES_CARTES,
    codebook=None,
    sexe: str = "ensemble",
    schema: str = "fisher_jenks",
    k: int = 5,
    bornes: dict | None = None,
    bornes_par_annee: bool = False,
    tuiles: str | None = None,
    rapport: Rapport | None = None,
    synthese: pd.DataFrame | None = None,
    avertissements: dict[str, list[str]] | None = None,
) -> list[Path]:
    """Write the IRIS choropleth and the gap maps of every year; return the written paths.

    Parameters
    ----------
    indicateurs, ecarts : DataFrame
        Long tables (schemas in ``docs/cartes.md``); ``ecarts`` may be None.
    geometries : Geometries, dict or CouchesWeb
        IRIS (required), QPV, veille, optional communes/EPCI.
    dossier : path
        Output root; pages go to ``<dossier>/<année>/``.
    annees : iterable of int, optional
        Default: every year with IRIS values.
    references : iterable of str
        Reference levels of the gap maps.
    schema, k, bornes, bornes_par_annee
        Classification; breaks pooled over all years by default.
    tuiles : {"osm", "ign"}, optional
        Online basemap offered in the layer control (off by default; maps never need it).
    synthese : DataFrame, optional
        Synthesis table (values of record): the zones' values and gaps of each gap map
        come from its rows with ``annee_recensement`` = the map's year and
        ``reference_niveau`` = the map's reference (see :func:`carte_ecarts`).
    avertissements : dict, optional
        ``{code zone: [French sentences]}`` shown in the gap maps' zone tooltips.
    """
    dossier = Path(dossier)
    couches = couches_web(geometries, rapport=rapport)
    indicateurs = colonnes_utiles(indicateurs, COLONNES_UTILES_INDICATEURS)
    if ecarts is not None:
        ecarts = colonnes_utiles(ecarts, COLONNES_UTILES_ECARTS)
        ecarts = ecarts[ecarts["niveau"].isin(["iris", "qpv", "veille"])]
    ecrits: list[Path] = []
    ans = _annees(indicateurs, ["iris"], annees)
    if synthese is not None and len(synthese):
        verifier_colonnes(synthese, COLONNES_SYNTHESE, "synthese")
    else:
        synthese = None
    refs = [
        r
        for r in references
        if (ecarts is not None and len(ecarts) and (ecarts["reference_niveau"] == r).any())
        or (synthese is not None and (synthese["reference_niveau"] == r).any())
    ]
    noms = ["carte_indicateurs"] + [f"ecarts_{r}" for r in refs]
    from observatoire.cartes.choroplethe import bornes_indicateurs
    from observatoire.cartes.entrees import une_ligne_par_valeur

    iris = une_ligne_par_valeur(filtrer_sexe(indicateurs, sexe))
    iris = iris[
        (iris["niveau"] == "iris")
        & iris["territoire_code"].astype(str).isin(set(couches.iris["code"]))
    ]
    iris = iris.assign(
        indicateur=iris["indicateur"].astype(str), annee=iris["annee"].astype("int64")
    )
    codebook = _codebook_une_fois(codebook)
    from observatoire.cartes.choroplethe import _effectifs, valeurs_a_cartographier
    from observatoire.cartes.entrees import metadonnees_indicateurs

    effectifs = _effectifs(metadonnees_indicateurs(iris, codebook, sexe)) if len(iris) else set()
    precalcul = bornes_indicateurs(
        valeurs_a_cartographier(iris, couches, effectifs=effectifs),
        schema=schema,
        k=k,
        bornes=bornes,
        par_annee=bornes_par_annee,
    )
    for annee in ans:
        html = carte_indicateurs(
            indicateurs,
            couches,
            annee,
            ecarts=ecarts,
            codebook=codebook,
            sexe=sexe,
            schema=schema,
            k=k,
            bornes=bornes,
            bornes_par_annee=bornes_par_annee,
            tuiles=tuiles,
            liens=_liens(dossier, annee, "carte_indicateurs", ans, noms),
            bornes_calculees=precalcul,
        )
        ecrits.append(ecrire_page(dossier / str(annee) / "carte_indicateurs.html", html))
        for ref in refs:
            e = filtrer_sexe(ecarts, sexe) if ecarts is not None else None
            a_des_ecarts = (
                e is not None
                and ((e["reference_niveau"] == ref) & (e["annee"].astype("int64") == annee)).any()
            )
            a_une_synthese = len(selection_synthese(synthese, annee, sexe=sexe, reference=ref)) > 0
            if not (a_des_ecarts or a_une_synthese):
                if rapport is not None:
                    rapport.info(
                        "cartes", f"ecarts_{ref}", f"aucun écart pour {annee} : carte non écrite"
                    )
                continue
            html = carte_ecarts(
                ecarts,
                couches,
                annee,
                ref,
                indicateurs=indicateurs,
                codebook=codebook,
                sexe=sexe,
                tuiles=tuiles,
                liens=_liens(dossier, annee, f"ecarts_{ref}", ans, noms),
                synthese=synthese,
                avertissements=avertissements,
            )
            ecrits.append(ecrire_page(dossier / str(annee) / f"ecarts_{ref}.html", html))
    if rapport is not None:
        rapport.info(
            "cartes", str(dossier), f"{len(ecrits)} page(s) de carte écrite(s)", n=len(ecrits)
        )
    return ecrits


def generer_fiches(
    indicateurs: pd.DataFrame,
    ecarts: pd.DataFrame | None,
    geometries,
    dossier: str | os.PathLike,
    *,
    poids: pd.DataFrame | None = None,
    annees: Iterable[int] | None = None,
    codes: Iterable[str] | None = None,
    codebook=None,
    sexe: str = "ensemble",
    notes: list[str] | dict[str, list[str]] | None = None,
    rapport: Rapport | None = None,
    synthese: pd.DataFrame | None = None,
    avertissements: dict[str, list[str]] | None = None,
) -> list[Path]:
    """Write one sheet per QPV/veille zone and year into ``<dossier>/<année>/fiches/``.

    ``codes`` restricts the zones (default: every zone of the geometries). Years
    default to those with zone values (in ``indicateurs`` or, when given, the
    synthesis table's ``annee_recensement``). ``notes`` (method notes printed in the
    sheet's sources block) is one list for every sheet, or a dict ``{code zone: [notes]}``.
    ``synthese`` (values of record) and ``avertissements`` (``{code zone: [sentences]}``)
    are passed to :func:`~observatoire.cartes.fiches.fiche_quartier`: headline values,
    fiabilité and gaps come from the synthesis, warnings show in a "Points d'attention"
    box. Returns the written paths.
    """
    dossier = Path(dossier)
    couches = couches_web(geometries, rapport=rapport)
    indicateurs = colonnes_utiles(indicateurs, COLONNES_UTILES_INDICATEURS)
    noms = dict(
        zip(
            indicateurs["territoire_code"].astype(str),
            indicateurs["territoire_nom"]
            if "territoire_nom" in indicateurs
            else indicateurs["territoire_code"].astype(str),
            strict=True,
        )
    )
    z_ind = indicateurs[indicateurs["niveau"].isin(["qpv", "veille"])]
    par_zone_i = {str(c): d for c, d in z_ind.groupby(z_ind["territoire_code"].astype(str))}
    par_zone_e = {}
    if ecarts is not None and len(ecarts):
        ecarts = colonnes_utiles(ecarts, COLONNES_UTILES_ECARTS)
        z_e = ecarts[ecarts["niveau"].isin(["qpv", "veille"])]
        par_zone_e = {str(c): d for c, d in z_e.groupby(z_e["territoire_code"].astype(str))}
    zones = list(couches.zones["code"]) if codes is None else [str(c) for c in codes]
    codebook = _codebook_une_fois(codebook)
    par_zone_s = _par_zone(synthese)
    ans = _annees(indicateurs, ["qpv", "veille"], annees)
    if annees is None and par_zone_s:
        ans = sorted(set(ans) | _annees_synthese(synthese))
    ecrits = []
    for annee in ans:
        for code in zones:
            liens = [
                {"href": "../../index.html", "texte": "Sommaire"},
                {"href": "../carte_indicateurs.html", "texte": "Carte des indicateurs"},
            ]
            liens += [
                {
                    "href": f"../../{a}/fiches/{nom_fichier_fiche(code)}",
                    "texte": str(a),
                    "actuel": a == annee,
                }
                for a in ans
            ]
            html = fiche_quartier(
                code,
                par_zone_i.get(code, indicateurs.iloc[:0]),
                couches,
                annee,
                ecarts=par_zone_e.get(code),
                poids=poids,
                noms=noms,
                codebook=codebook,
                sexe=sexe,
                liens=liens,
                notes=notes.get(code) if isinstance(notes, dict) else notes,
                synthese=par_zone_s.get(code, synthese.iloc[:0]) if synthese is not None else None,
                avertissements=avertissements,
            )
            ecrits.append(
                ecrire_page(dossier / str(annee) / "fiches" / nom_fichier_fiche(code), html)
            )
    if rapport is not None:
        rapport.info("cartes", str(dossier), f"{len(ecrits)} fiche(s) écrite(s)", n=len(ecrits))
    return ecrits
