"""Values of record (synthesis table) for sheets and gap maps, said in plain French.

The synthesis table holds, for every zone × indicator × sex × reference level, the
best value the observatory has, its reliability (*fiabilité*) and its gap to the
reference. This module selects the rows of one page and turns statuses, vintages
and reliabilities into short French phrases for a steering committee. Internal
method ids (column ``methode``) are never turned into text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from observatoire.cartes.entrees import filtrer_sexe, verifier_colonnes
from observatoire.cartes.legende import LIBELLES_STATUT, formater_valeur

__all__ = [
    "COLONNES_SYNTHESE",
    "LEGENDE_FIABILITE",
    "UNITES_EFFECTIF",
    "texte_propre",
    "entier",
    "selection_synthese",
    "statut_millesime",
    "fiabilite_en_mots",
    "valeur_officielle_citee",
    "intervalle_cite",
    "qualification",
    "est_effectif",
    "avertissements_zone",
    "NOMS_DEPARTEMENTS",
    "INDICATEURS_CLES",
    "statut_court",
    "sans_identifiants",
    "nom_reference",
    "libelle_reference",
]

#: Columns a synthesis table must have; the others of the contract are optional.
COLONNES_SYNTHESE = [
    "territoire_code",
    "niveau",
    "indicateur",
    "annee_recensement",
    "valeur",
    "statut",
    "reference_niveau",
]
#: Reliability legend printed in the methods block of pages that show a fiabilité.
LEGENDE_FIABILITE = (
    "Fiabilité bonne : valeur officielle, ou zone formée d'IRIS entiers.",
    "Fiabilité moyenne : IRIS coupés avec des poids calés sur la population officielle ou "
    "tirés du carroyage, estimation corrigée, taux approchés.",
    "Fiabilité faible : IRIS coupés pondérés par la seule surface, facteur de calage "
    "supérieur à 2, millésimes distants de plus de 2 ans, IRIS redessinés entre deux "
    "éditions, ou alerte de plausibilité.",
)
#: Units of head counts (no gap to a reference is meaningful for them).
UNITES_EFFECTIF = frozenset(
    {"habitants", "personnes", "ménages", "menages", "allocataires", "logements", "effectif"}
)
_VIDES = {"", "nan", "none", "<na>", "nat", "null"}
_STATUTS_MILLESIME = {
    "officiel": "valeur officielle",
    "estime": "estimation",
    "estime_corrige": "estimation corrigée",
    "approximation": "approximation",
    "secret": "secret statistique",
    "manquant": "valeur manquante",
}


def texte_propre(v) -> str:
    """Text of a cell; empty for None, NaN, NA and the strings "nan"/"None".

    Examples
    --------
    >>> texte_propre(None), texte_propre(float("nan")), texte_propre("None"), texte_propre(" a ")
    ('', '', '', 'a')
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, float | np.floating) and math.isnan(v):
        return ""
    s = str(v).strip()
    return "" if s.lower() in _VIDES else s


def entier(v) -> int | None:
    """Integer of a vintage cell, None when missing.

    Examples
    --------
    >>> entier(2020.0), entier(pd.NA), entier("x")
    (2020, None, None)
    """
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else int(f)


def selection_synthese(
    synthese: pd.DataFrame | None,
    annee: int | None,
    *,
    sexe: str = "ensemble",
    codes=None,
    reference: str | None = None,
) -> pd.DataFrame:
    """Zone rows of ``synthese`` standing for census vintage ``annee`` (one sex).

    Parameters
    ----------
    synthese : DataFrame or None
        Synthesis table (:data:`COLONNES_SYNTHESE` at least).
    annee : int or None
        Compared with ``annee_recensement``; None keeps every vintage.
    codes : iterable of str, optional
        Keep these zones only.
    reference : str, optional
        Keep this ``reference_niveau`` only.

    Returns
    -------
    DataFrame
        QPV and veille rows, ``territoire_code`` and ``indicateur`` as str; empty
        when ``synthese`` is None.

    Examples
    --------
    >>> s = pd.DataFrame({"territoire_code": ["Q", "Q"], "niveau": ["qpv"] * 2,
    ...     "indicateur": ["pop"] * 2, "annee_recensement": [2022, 2016],
    ...     "valeur": [1.0, 2.0], "statut": ["officiel"] * 2,
    ...     "reference_niveau": ["commune"] * 2})
    >>> selection_synthese(s, 2022)["valeur"].tolist()
    [1.0]
    """
    if synthese is None or len(synthese) == 0:
        return pd.DataFrame(columns=COLONNES_SYNTHESE)
    verifier_colonnes(synthese, COLONNES_SYNTHESE, "synthese")
    s = filtrer_sexe(synthese, sexe)
    garde = s["niveau"].isin(["qpv", "veille"])
    if annee is not None:
        garde &= pd.to_numeric(s["annee_recensement"], errors="coerce") == int(annee)
    if reference is not None:
        garde &= s["reference_niveau"] == reference
    s = s[garde]
    s = s.assign(
        territoire_code=s["territoire_code"].astype(str), indicateur=s["indicateur"].astype(str)
    )
    if codes is not None:
        s = s[s["territoire_code"].isin({str(c) for c in codes})]
    return s


def statut_millesime(statut, annee=None) -> str:
    """Status and vintage of a value in words.

    Examples
    --------
    >>> statut_millesime("officiel", 2020), statut_millesime("estime", 2022.0)
    ('valeur officielle 2020', 'estimation 2022')
    >>> statut_millesime("secret", 2022), statut_millesime(None)
    ('secret statistique (2022)', 'valeur manquante')
    """
    st = texte_propre(statut) or "manquant"
    a = entier(annee)
    mots = _STATUTS_MILLESIME.get(st) or LIBELLES_STATUT.get(st) or "valeur"
    if a is None or st == "manquant":
        return mots
    return f"{mots} ({a})" if st == "secret" else f"{mots} {a}"


def fiabilite_en_mots(fiabilite, motif=None) -> str:
    """Reliability and its reasons in words; empty when the value has none.

    Examples
    --------
    >>> fiabilite_en_mots("faible", "la zone coupe des IRIS (poids de surface)")
    'fiabilité faible : la zone coupe des IRIS (poids de surface)'
    >>> fiabilite_en_mots("bonne", None), fiabilite_en_mots(float("nan"), "x")
    ('fiabilité bonne', '')
    """
    f = texte_propre(fiabilite)
    if not f:
        return ""
    m = texte_propre(motif)
    return f"fiabilité {f} : {m}" if m else f"fiabilité {f}"


def valeur_officielle_citee(ligne: Mapping, unite=None) -> str:
    """Official value to cite beside a headline that is not it; empty otherwise.

    Examples
    --------
    >>> valeur_officielle_citee({"statut": "estime", "valeur": 79.0,
    ...     "valeur_officielle": 1093.0, "annee_officielle": 2020}, "habitants")
    'valeur officielle 2020 : 1\u202f093\u00a0habitants'
    >>> valeur_officielle_citee({"statut": "officiel", "valeur": 5.0, "valeur_officielle": 5.0})
    ''
    """
    vo = ligne.get("valeur_officielle")
    if vo is None or pd.isna(vo):
        return ""
    if texte_propre(ligne.get("statut")) == "officiel" and ligne.get("valeur") == vo:
        return ""
    a = entier(ligne.get("annee_officielle"))
    quand = f"valeur officielle {a}" if a is not None else "valeur officielle"
    return f"{quand} : {formater_valeur(float(vo), unite, 'officiel')}"


def intervalle_cite(ligne: Mapping, unite=None) -> str:
    """Prediction interval and uncorrected value of a corrected estimate; empty otherwise.

    Examples
    --------
    >>> print(intervalle_cite({"valeur": 45.1, "intervalle_bas": 38.7, "intervalle_haut": 51.5,
    ...     "valeur_non_corrigee": 52.3}, "%").replace("\u202f", " ").replace("\u00a0", " "))
    intervalle à 80 % : 38,7 % à 51,5 % ; non corrigé : 52,3 %
    >>> intervalle_cite({"valeur": 1.0})
    ''
    """
    bas, haut = ligne.get("intervalle_bas"), ligne.get("intervalle_haut")
    if bas is None or haut is None or pd.isna(bas) or pd.isna(haut):
        return ""
    texte = (
        f"intervalle à 80 % : {formater_valeur(float(bas), unite, 'estime')} à "
        f"{formater_valeur(float(haut), unite, 'estime')}"
    )
    nc = ligne.get("valeur_non_corrigee")
    if nc is not None and not pd.isna(nc):
        texte += f" ; non corrigé : {formater_valeur(float(nc), unite, 'estime')}"
    return texte


def qualification(ligne: Mapping, unite=None) -> str:
    """Status, vintage, reliability and official value of a headline, in one French line.

    Examples
    --------
    >>> qualification({"statut": "officiel", "annee": 2020, "fiabilite": "bonne",
    ...                "fiabilite_motif": "valeur officielle"})
    'valeur officielle 2020 — fiabilité bonne'
    >>> print(qualification({"statut": "estime", "annee": 2022, "valeur": 79.0,
    ...     "fiabilite": "faible", "fiabilite_motif": "IRIS coupés",
    ...     "valeur_officielle": 1093.0, "annee_officielle": 2020}, "habitants")
    ...     .replace("\u202f", " ").replace("\u00a0", " "))
    estimation 2022 — fiabilité faible : IRIS coupés ; valeur officielle 2020 : 1 093 habitants
    >>> qualification({"statut": "manquant", "fiabilite": None})
    ''
    """
    statut = texte_propre(ligne.get("statut")) or "manquant"
    off = valeur_officielle_citee(ligne, unite)
    if statut == "manquant":  # the value cell already says "manquant"
        return off
    texte = statut_millesime(statut, ligne.get("annee"))
    motif = texte_propre(ligne.get("fiabilite_motif"))
    fiab = fiabilite_en_mots(ligne.get("fiabilite"), "" if motif in texte else motif)
    if fiab:
        texte += f" — {fiab}"
    for extra in (intervalle_cite(ligne, unite), off):
        if extra:
            texte += f" ; {extra}"
    return texte


def est_effectif(type_indicateur=None, unite=None) -> bool:
    """Say whether an indicator is a head count (type ``effectif`` or a unit of persons).

    Examples
    --------
    >>> est_effectif("effectif"), est_effectif(None, "allocataires"), est_effectif("taux", "%")
    (True, True, False)
    """
    return (
        texte_propre(type_indicateur) == "effectif"
        or texte_propre(unite).lower() in UNITES_EFFECTIF
    )


def avertissements_zone(avertissements: Mapping | None, code: str) -> list[str]:
    """Return the warnings of one zone (empty texts and duplicates dropped, order kept).

    Examples
    --------
    >>> avertissements_zone({"Q": ["a", None, "a", "b"]}, "Q"), avertissements_zone(None, "Q")
    (['a', 'b'], [])
    """
    if not avertissements:
        return []
    brut = avertissements.get(str(code)) or []
    if isinstance(brut, str):
        brut = [brut]
    return list(dict.fromkeys(t for t in (sans_identifiants(x) for x in brut) if t))


_DEPARTEMENTS = """01 Ain|02 Aisne|03 Allier|04 Alpes-de-Haute-Provence|05 Hautes-Alpes|
06 Alpes-Maritimes|07 Ardèche|08 Ardennes|09 Ariège|10 Aube|11 Aude|12 Aveyron|
13 Bouches-du-Rhône|14 Calvados|15 Cantal|16 Charente|17 Charente-Maritime|18 Cher|
19 Corrèze|2A Corse-du-Sud|2B Haute-Corse|21 Côte-d'Or|22 Côtes-d'Armor|23 Creuse|
24 Dordogne|25 Doubs|26 Drôme|27 Eure|28 Eure-et-Loir|29 Finistère|30 Gard|
31 Haute-Garonne|32 Gers|33 Gironde|34 Hérault|35 Ille-et-Vilaine|36 Indre|
37 Indre-et-Loire|38 Isère|39 Jura|40 Landes|41 Loir-et-Cher|42 Loire|43 Haute-Loire|
44 Loire-Atlantique|45 Loiret|46 Lot|47 Lot-et-Garonne|48 Lozère|49 Maine-et-Loire|
50 Manche|51 Marne|52 Haute-Marne|53 Mayenne|54 Meurthe-et-Moselle|55 Meuse|
56 Morbihan|57 Moselle|58 Nièvre|59 Nord|60 Oise|61 Orne|62 Pas-de-Calais|
63 Puy-de-Dôme|64 Pyrénées-Atlantiques|65 Hautes-Pyrénées|66 Pyrénées-Orientales|
67 Bas-Rhin|68 Haut-Rhin|69 Rhône|70 Haute-Saône|71 Saône-et-Loire|72 Sarthe|
73 Savoie|74 Haute-Savoie|75 Paris|76 Seine-Maritime|77 Seine-et-Marne|78 Yvelines|
79 Deux-Sèvres|80 Somme|81 Tarn|82 Tarn-et-Garonne|83 Var|84 Vaucluse|85 Vendée|
86 Vienne|87 Haute-Vienne|88 Vosges|89 Yonne|90 Territoire de Belfort|91 Essonne|
92 Hauts-de-Seine|93 Seine-Saint-Denis|94 Val-de-Marne|95 Val-d'Oise|971 Guadeloupe|
972 Martinique|973 Guyane|974 La Réunion|976 Mayotte"""
#: Names of the French départements by code.
NOMS_DEPARTEMENTS = dict(
    e.strip().split(" ", 1) for e in _DEPARTEMENTS.replace("\n", "").split("|")
)
_NIVEAUX_MOTS = {
    "commune": "commune",
    "epci": "EPCI",
    "departement": "département",
    "france": "France",
}


def nom_reference(niveau: str, nom=None, code=None) -> str:
    """Name of a reference territory; never the level's own name, never "None".

    Examples
    --------
    >>> nom_reference("departement", "Département", "13"), nom_reference("departement", None, "99")
    ('Bouches-du-Rhône', 'département 99')
    >>> nom_reference("commune", "Istres", "13047"), nom_reference("france", None, "FR")
    ('Istres', 'France')
    """
    niveau = texte_propre(niveau)
    if niveau == "france":
        return "France"
    n, c = texte_propre(nom), texte_propre(code)
    mot = _NIVEAUX_MOTS.get(niveau, niveau)
    if n and n.lower() not in {mot.lower(), niveau.lower(), "departement", "département"}:
        return n
    if niveau == "departement" and c in NOMS_DEPARTEMENTS:
        return NOMS_DEPARTEMENTS[c]
    return f"{mot} {c}".strip() if c else mot


def libelle_reference(niveau: str, nom=None, code=None) -> str:
    """Level and name of a reference, e.g. "Commune (Istres)"; "France" alone.

    Examples
    --------
    >>> libelle_reference("departement", None, "13"), libelle_reference("france", "France")
    ('Département (Bouches-du-Rhône)', 'France')
    >>> libelle_reference("epci", None, None)
    'EPCI'
    """
    niveau = texte_propre(niveau)
    if niveau == "france":
        return "France"
    mot = _NIVEAUX_MOTS.get(niveau, niveau)
    titre = mot[:1].upper() + mot[1:]
    n = nom_reference(niveau, nom, code)
    return titre if n == mot else f"{titre} ({n})"


#: Key indicators of the steering committee's pages (dashboard, first page of the
#: sheets), in display order; those a run lacks are skipped.
INDICATEURS_CLES = (
    "population",
    "nombre_menages",
    "part_moins_15",
    "part_60_plus",
    "part_etrangers",
    "part_familles_monoparentales",
    "taux_emploi_1564",
    "taux_chomage_1564",
    "taux_chomage_1524",
    "part_infra_bac",
    "taux_pauvrete_60",
    "fil_part_menages_pauvres",
    "fil_niveau_vie_moyen",
    "part_rp_hlm",
)
_STATUTS_COURTS = {
    "officiel": "officiel",
    "estime": "estimé",
    "estime_corrige": "estimé corrigé",
    "approximation": "approché",
    "secret": "secret",
    "manquant": "manquant",
}


def statut_court(statut, annee=None) -> str:
    """Status and vintage in two or three words (table cells).

    Examples
    --------
    >>> statut_court("approximation", 2022), statut_court("secret", 2022), statut_court(None)
    ('approché 2022', 'secret', 'manquant')
    """
    st = texte_propre(statut) or "manquant"
    mot = _STATUTS_COURTS.get(st) or LIBELLES_STATUT.get(st) or "valeur"
    a = entier(annee)
    return mot if a is None or st in ("secret", "manquant") else f"{mot} {a}"


_METHODES_EN_MOTS = {
    "taux_iris_pondere_par_p_pop": "taux des IRIS pondérés par leur population",
    "taux_iris_pondere_par_men_tot_stock": "taux des IRIS pondérés par leurs ménages",
    "taux_iris_pondere": "taux des IRIS pondérés",
    "grille": "carroyage",
    "correction_dilution": "correction de dilution",
    "dilution_constante": "dilution constante",
    "somme_iris": "somme des IRIS",
    "ventilation_iris": "ventilation des IRIS",
    "valeur_publiee_qpv": "valeur publiée pour le QPV",
    "valeur_publiee_iris": "valeur publiée par IRIS",
    "valeur_publiee": "valeur publiée",
    "comptage_insee_iris": "comptage INSEE par IRIS",
    "taux_publie": "taux publié",
    "non_additif": "non additif",
    "iris_list": "liste d'IRIS",
    "iris_list-dasymetric": "liste d'IRIS moins un QPV placé par le carroyage",
    "iris_list-calibrated": "liste d'IRIS moins un QPV (poids calés)",
    "iris_list-surface": "liste d'IRIS moins un QPV (poids de surface)",
    "calibrated": "poids calés",
    "dasymetric": "poids carroyés",
}
_IDENTIFIANT = re.compile(r"\b([a-z0-9]+(?:_[a-z0-9]+)+(?:-[a-z]+)?)(?:\(([^()]*)\))?")


def sans_identifiants(texte) -> str:
    """Text with the internal method ids (``somme_iris``...) said in French words.

    Examples
    --------
    >>> sans_identifiants("estimations : taux_iris_pondere_par_p_pop 7 (−52 %)")
    'estimations : taux des IRIS pondérés par leur population 7 (−52 %)'
    >>> sans_identifiants("grille(part de surface des carreaux) 34 ; ventilation_iris(calibrated)")
    'carroyage (part de surface des carreaux) 34 ; ventilation des IRIS (poids calés)'
    """
    t = texte_propre(texte)

    def mots(m: re.Match) -> str:
        base = _METHODES_EN_MOTS.get(m.group(1)) or m.group(1).replace("_", " ")
        if m.group(2) is None:
            return base
        arg = m.group(2)
        arg = _METHODES_EN_MOTS.get(arg) or sans_identifiants(arg).replace("_", " ")
        return f"{base} ({arg})"

    t = _IDENTIFIANT.sub(mots, t)
    return re.sub(r"\bgrille\(", "carroyage (", t)
