"""Sheets and gap maps reading their headline values from a hand-made synthesis table."""

from __future__ import annotations

import html as html_mod
import json
import re

import numpy as np
import pandas as pd
import pytest
from cartes_aides import codebook, ecarts, geometries, indicateurs, poids

from observatoire.cartes import (
    carte_ecarts,
    couches_web,
    fiche_quartier,
    generer_cartes,
    generer_fiches,
)

METHODES = ("ventilation_iris(surface)", "valeur_publiee_qpv", "taux_iris_pondere_par_p_pop")
MOTIF_SURFACE = "la zone coupe des IRIS (poids de surface)"
NOTE_JEUNESSE = "pas de référence de même définition dans les sources"
AVERTISSEMENTS = {
    "QN01399M": [
        "population estimée sous 1 000 habitants avec des poids de surface : "
        "poids probablement faux",
        "poids calés sur la population officielle (facteur 13,8)",
        "<b>alerte</b>",
    ]
}
REFS = {  # reference level -> (code, name)
    "commune": ("13099", "Villeneuve"),
    "epci": ("241300000", "EPCI test"),
    "departement": ("13", "Bouches-du-Rhône"),
    "france": ("FR", "France métropolitaine"),
}


def _ligne(indicateur, unite, valeur, statut, annee, methode, niveau_ref, ref_valeur, **autres):
    code, nom = REFS[niveau_ref]
    base = {
        "territoire_code": "QN01399M",
        "territoire_nom": "Les Pins-Centre",
        "niveau": "qpv",
        "indicateur": indicateur,
        "sexe": "ensemble",
        "annee_recensement": 2022,
        "annee": annee,
        "valeur": valeur,
        "unite": unite,
        "statut": statut,
        "methode": methode,
        "source": "Synthèse (fixture)",
        "fiabilite": "bonne",
        "fiabilite_motif": None,
        "reference_niveau": niveau_ref,
        "reference_code": code,
        "reference_nom": nom,
        "reference_annee": 2022,
        "reference_valeur": ref_valeur,
        "reference_statut": "officiel",
        "ecart_points": np.nan,
        "ecart_statut": "calcule",
        "ecart_annees": abs(annee - 2022),
        "lecture": None,
        "note": None,
        "valeur_officielle": np.nan,
        "annee_officielle": np.nan,
    }
    return {**base, **autres}


def synthese() -> pd.DataFrame:
    """Values of record of QN01399M (2022) and V_GARE, with method ids that must not show."""
    lignes = []
    for niv, rv in (("commune", 8510.0), ("departement", 2069811.0)):
        lignes.append(
            _ligne("population", "habitants", 1093.0, "officiel", 2020, METHODES[1], niv, rv)
        )
    for niv, rv, ep in (("commune", 15.0, 8.4), ("departement", 12.5, 10.9)):
        lignes.append(
            _ligne(
                "taux_chomage_1564",
                "%",
                23.4,
                "estime",
                2022,
                METHODES[2],
                niv,
                rv,
                ecart_points=ep,
                fiabilite="faible",
                fiabilite_motif=MOTIF_SURFACE,
                valeur_officielle=26.0,
                annee_officielle=2020,
                lecture="moins favorable que la référence",
            )
        )
    lignes.append(
        _ligne(
            "part_etrangers",
            "%",
            21.3,
            "officiel",
            2020,
            METHODES[1],
            "commune",
            7.5,
            ecart_points=13.8,
            note="millésimes distants de 2 ans",
        )
    )
    lignes.append(
        _ligne(
            "indice_jeunesse",
            "indice",
            1.45,
            "estime",
            2022,
            METHODES[0],
            "commune",
            np.nan,
            reference_statut="manquant",
            reference_annee=pd.NA,
            ecart_statut="non_calculable",
            fiabilite="moyenne",
            fiabilite_motif="poids calés sur la population officielle",
            note=NOTE_JEUNESSE,
        )
    )
    for niv in REFS:
        lignes.append(
            _ligne(
                "part_immigres",
                "%",
                26.6,
                "officiel",
                2020,
                METHODES[1],
                niv,
                np.nan,
                reference_statut=None,
                note=NOTE_JEUNESSE,
            )
        )
    veille = _ligne(
        "taux_chomage_1564",
        "%",
        np.nan,
        "secret",
        2022,
        METHODES[2],
        "commune",
        9.0,
        fiabilite=None,
        ecart_statut="secret",
    )
    lignes.append(
        {
            **veille,
            "territoire_code": "V_GARE",
            "territoire_nom": "Quartier de la gare",
            "niveau": "veille",
            "reference_code": "13098",
            "reference_nom": "Bourg",
        }
    )
    return pd.DataFrame(lignes)


def codebook_etendu() -> pd.DataFrame:
    extra = pd.DataFrame(
        {
            "indicateur": ["part_etrangers"],
            "sexe": ["ensemble"],
            "libelle": ["Part des étrangers"],
            "pilier": ["cohésion sociale"],
            "unite": ["%"],
            "direction": ["neutre"],
            "source": ["INSEE, QPV (fixture)"],
        }
    )
    return pd.concat([codebook(), extra], ignore_index=True)


def indicateurs_79() -> pd.DataFrame:
    """Fixture indicators where the QPV's 2022 population estimate is a weak 79."""
    ind = indicateurs()
    pop = (ind["territoire_code"] == "QN01399M") & (ind["indicateur"] == "population")
    ind.loc[pop & (ind["annee"] == 2022), "valeur"] = 79.0
    ind.loc[pop, "methode"] = METHODES[0]
    return ind


@pytest.fixture(scope="module")
def couches():
    return couches_web(geometries())


def _texte_visible(page: str) -> str:
    corps = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    corps = re.sub(r"<[^>]+>", " ", corps)
    texte = html_mod.unescape(corps).replace("\u202f", " ").replace("\xa0", " ")
    return re.sub(r"\s+", " ", texte).strip()


def _donnees(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="obs-donnees">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def _propre(page: str) -> None:
    """No method id anywhere in the page; no "None"/"nan" in its text or data."""
    for mid in (*METHODES, "ponderation_surface"):
        assert mid not in page
    visible = _texte_visible(page)
    donnees = json.dumps(_donnees(page), ensure_ascii=False)
    for texte in (visible, donnees):
        assert not re.search(r"\b(None|nan|NaN|NA|<NA>)\b", texte), texte


def _ligne_tableau(page: str, libelle: str) -> str:
    m = re.search(r"<tr><th scope=\"row\">" + re.escape(libelle) + r"</th>(.*?)</tr>", page, re.S)
    assert m, libelle
    return _texte_visible(m.group(1))


def _fiche(couches, **kw):
    return fiche_quartier(
        "QN01399M",
        indicateurs_79(),
        couches,
        2022,
        ecarts=ecarts(),
        poids=poids(),
        codebook=codebook_etendu(),
        synthese=synthese(),
        avertissements=AVERTISSEMENTS,
        **kw,
    )


def test_fiche_valeur_de_reference_et_fiabilite(couches):
    page = _fiche(couches)
    _propre(page)
    pop = _ligne_tableau(page, "Population")
    assert pop.startswith("1 093 habitants") and "valeur officielle 2020 — fiabilité bonne" in pop
    assert "79" not in pop
    cle = _ligne_tableau(page, "Population municipale")
    assert cle.startswith("1 093 habitants") and "79 habitants" not in cle
    assert "pts" not in cle  # head count: reference values, no gap
    assert "8 510 habitants" in cle and "officiel 2020" in cle
    chom = _ligne_tableau(page, "Taux de chômage des 15-64 ans")
    assert chom.startswith("23,4 %") and "estimé 2022" in chom and "●○○" in chom
    assert "valeur officielle 2020 : 26,0 %" in chom
    assert "+8,4 pts" in chom and "+10,9 pts" in chom
    etr = _ligne_tableau(page, "Part des étrangers")
    assert etr.startswith("21,3 %") and "+13,8 pts" in etr
    # reasons of a weak or medium fiabilité and reference notes are numbered once below
    renvois = _texte_visible(page.split('class="obs-note obs-renvois"')[1].split("</ol>")[0])
    assert MOTIF_SURFACE in renvois and "millésimes distants de 2 ans" in renvois
    assert renvois.count(NOTE_JEUNESSE) == 1
    # an indicator only in the synthesis still appears; its missing reference says why
    jeu = _ligne_tableau(page, "indice_jeunesse")
    assert jeu.startswith("1,45") and "●●○" in jeu
    assert "non disponible" in jeu and "pts" not in jeu
    imm = _ligne_tableau(page, "part_immigres")
    assert imm.startswith("26,6 %")
    # one gap chart: a row of marks per rate, on a shared axis
    assert page.count('class="obs-mini"') >= 3
    # page 2: every indicator, by vintage, with its gap to the commune
    evolution = page.split('class="obs-page2"')[1]
    assert "Tous les indicateurs" in evolution and "+8,4" in evolution
    texte = _texte_visible(page)
    assert "Fiabilité faible :" in texte and "Fiabilité bonne :" in texte


def test_fiche_points_d_attention(couches):
    page = _fiche(couches)
    texte = _texte_visible(page)
    assert texte.index("Points d'attention") < texte.index("Identité")
    for a in AVERTISSEMENTS["QN01399M"]:
        assert a in texte
    assert "<b>alerte</b>" not in page and "&lt;b&gt;alerte&lt;/b&gt;" in page
    autre = fiche_quartier(
        "V_GARE",
        indicateurs_79(),
        couches,
        2022,
        ecarts=ecarts(),
        codebook=codebook_etendu(),
        synthese=synthese(),
        avertissements=AVERTISSEMENTS,
    )
    _propre(autre)
    assert "Points d'attention" not in autre
    chom = _ligne_tableau(autre, "Taux de chômage des 15-64 ans")
    assert chom.startswith("secret statistique") and "écart" not in chom


def test_fiche_sans_synthese_inchangee(couches):
    page = fiche_quartier(
        "QN01399M", indicateurs_79(), couches, 2022, ecarts=ecarts(), codebook=codebook()
    )
    assert "méthode : ventilation_iris(surface)" in page and "Points d'attention" not in page


def test_carte_ecarts_depuis_la_synthese(couches):
    page = carte_ecarts(
        ecarts(),
        couches,
        2022,
        "commune",
        indicateurs=indicateurs_79(),
        codebook=codebook_etendu(),
        synthese=synthese(),
        avertissements=AVERTISSEMENTS,
    )
    _propre(page)
    d = _donnees(page)
    ids = [i["id"] for i in d["indicateurs"]]
    assert "population" not in ids and {"part_etrangers", "indice_jeunesse"} <= set(ids)
    ch = next(i for i in d["indicateurs"] if i["id"] == "taux_chomage_1564")
    q = ch["valeurs"]["QN01399M"]
    lignes = dict(q[1])
    assert lignes["Valeur"] == "23,4\u202f%" and lignes["Écart"] == "+8,4\u00a0pts"
    assert lignes["Statut"] == "estimation 2022"
    assert lignes["Fiabilité"] == f"faible : {MOTIF_SURFACE}"
    assert lignes["Valeur officielle 2020"] == "26,0\u202f%"
    assert "Méthode" not in lignes and q[0] < 0
    attention = [v for k, v in q[1] if k == "Point d'attention"]
    assert attention == AVERTISSEMENTS["QN01399M"]
    assert ch["valeurs"]["V_GARE"][0] == -101  # secret
    assert not any(k == "Point d'attention" for k, _ in ch["valeurs"]["V_GARE"][1])
    jeu = dict(
        next(i for i in d["indicateurs"] if i["id"] == "indice_jeunesse")["valeurs"]["QN01399M"][1]
    )
    assert jeu["Écart"] == "non calculable" and jeu["Note"] == NOTE_JEUNESSE
    texte = _texte_visible(page)
    assert "poids calés sur la population officielle (facteur 13,8)" in texte
    assert "&lt;b&gt;alerte&lt;/b&gt;" in page and "<b>alerte</b>" not in page


def test_generation_avec_synthese_sans_ecarts(tmp_path, couches):
    cartes = generer_cartes(
        indicateurs_79(),
        None,
        couches,
        tmp_path,
        annees=[2022],
        codebook=codebook_etendu(),
        synthese=synthese(),
        avertissements=AVERTISSEMENTS,
    )
    assert "2022/ecarts_commune.html" in {p.relative_to(tmp_path).as_posix() for p in cartes}
    fiches = generer_fiches(
        indicateurs_79(),
        ecarts(),
        couches,
        tmp_path,
        poids=poids(),
        codebook=codebook_etendu(),
        synthese=synthese(),
        avertissements=AVERTISSEMENTS,
    )
    pages = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in fiches}
    assert {"2016/fiches/QN01399M.html", "2022/fiches/QN01399M.html"} <= set(pages)
    for page in pages.values():  # sheets of years without synthesis rows are clean too
        _propre(page)
    assert "1\u202f093\u00a0habitants" in pages["2022/fiches/QN01399M.html"]
