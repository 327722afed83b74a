"""Values validated on load: structure of CSV files, codes, bounds of the values used."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from aides_run import dict_chemins

from observatoire.chargement import lire_indicateurs_ptod, lire_table, lire_table_iris
from observatoire.config import config_depuis_dict
from observatoire.rapport import ErreurDonnees, Rapport
from observatoire.run.verification import preparer_run

ENTETE = "IRIS;COM;TYP_IRIS;P16_POP;P16_POP0014\n"


def _ecrire(tmp_path: Path, texte: str, nom: str = "t.csv") -> Path:
    p = tmp_path / nom
    p.write_text(texte, encoding="utf-8")
    return p


def test_csv_coupe_dans_une_ligne(tmp_path):
    p = _ecrire(tmp_path, ENTETE + "130470106;13047;H;1200;300\n130470107;13047;H;9")
    with pytest.raises(
        ErreurDonnees,
        match=r"t.csv : ligne 3 : 4 champ\(s\), l'en-tête en a 5 ; "
        r"la dernière ligne est incomplète",
    ):
        lire_table(p)


def test_csv_coupe_a_mi_fichier_reste_un_code_court(tmp_path):
    p = _ecrire(tmp_path, ENTETE + "130470106;13047;H;1200;300\n132")
    with pytest.raises(ErreurDonnees, match="ligne 3 : 1 champ"):
        lire_table_iris(p)


def test_ligne_avec_trop_de_champs(tmp_path):
    p = _ecrire(tmp_path, ENTETE + "130470106;13047;H;1200;300;7\n130470107;13047;H;9;1\n")
    with pytest.raises(ErreurDonnees, match="ligne 2 : 6 champ"):
        lire_table(p)


def test_code_court_jamais_complete(tmp_path):
    p = _ecrire(tmp_path, "IRIS;P16_POP\n130470106;12\n132;5\n")
    with pytest.raises(
        ErreurDonnees,
        match=r"colonne IRIS : 1 code\(s\) ne sont pas des codes à 9 "
        r"caractères, ligne\(s\) \[3\] : \['132'\]",
    ):
        lire_table_iris(p)


def test_codes_ecrits_en_flottants(tmp_path):
    p = _ecrire(tmp_path, "IRIS;COM;P16_POP\n130470106.0;13047.0;12\n10010000;1001;3\n")
    t = lire_table_iris(p)
    assert t["code_iris"].tolist() == ["130470106", "010010000"]
    assert t["code_commune"].tolist() == ["13047", "01001"]
    q = _ecrire(
        tmp_path, "IRIS,libelle,P22_POP,soc_txchom_1564_22\n130470106.0,a,10,5.5\n", "ptod.csv"
    )
    assert lire_indicateurs_ptod(q, "iris")["code_iris"].tolist() == ["130470106"]


def test_ptod_colonnes_du_niveau(tmp_path):
    """A rate table names its code and name columns after its level, as the geometries do."""
    from observatoire.indicateurs import valeurs_officielles_ptod

    entete = "code,libelle,P22_POP,soc_txchom_1564_22\n"
    for niveau, ligne in (("commune", "13047,Istres"), ("departement", "13,Bouches-du-Rhône")):
        t = lire_indicateurs_ptod(_ecrire(tmp_path, f"{entete}{ligne},10,5.5\n"), niveau)
        code, nom = ligne.split(",")
        assert t[[f"code_{niveau}", f"nom_{niveau}", "niveau"]].values.tolist() == [
            [code, nom, niveau]
        ]
        assert "code" not in t.columns
        r = valeurs_officielles_ptod(t)
        assert set(r["territoire_code"]) == {code} and set(r["territoire_nom"]) == {nom}
    with pytest.raises(ErreurDonnees, match="colonne 'code_commune' manquante"):
        valeurs_officielles_ptod(t.assign(niveau="commune"))


def test_infini_refuse(tmp_path):
    p = _ecrire(tmp_path, "IRIS;P16_POP\n130470106;inf\n")
    with pytest.raises(
        ErreurDonnees,
        match=r"colonne P16_POP : 1 valeur\(s\) infinie\(s\) à la ou les "
        r"ligne\(s\) \[2\]",
    ):
        lire_table_iris(p)
    q = _ecrire(
        tmp_path, "IRIS,libelle,P22_POP,soc_txchom_1564_22\n130470106,a,10,inf\n", "ptod.csv"
    )
    with pytest.raises(ErreurDonnees, match="soc_txchom_1564_22 : 1 valeur\\(s\\) infinie"):
        lire_indicateurs_ptod(q, "iris")


def _copie_modifiee(donnees: Path, rel: str, tmp_path: Path, modifier) -> Path:
    t = pd.read_csv(donnees / rel, sep=None, engine="python", dtype=str, keep_default_na=False)
    modifier(t)
    sep = ";" if ";" in (donnees / rel).open(encoding="utf-8-sig").readline() else ","
    p = tmp_path / Path(rel).name
    t.to_csv(p, sep=sep, index=False)
    return p


def _config(donnees, role, chemin):
    d = dict_chemins(donnees)
    ref = d["sources"][role]
    if isinstance(ref, dict):
        ref["source"] = str(chemin)
    else:
        d["sources"][role] = str(chemin)
    return config_depuis_dict(d)


def test_effectif_negatif_dans_le_territoire(donnees, tmp_path):
    cfg0 = dict_chemins(donnees)
    rel = Path(cfg0["sources"]["population_iris"]["source"]).relative_to(donnees).as_posix()

    def negatif(t):
        i = t.index[t["IRIS"] == "130470106"][0]
        t.loc[i, "P16_POP0014"] = "-40"

    p = _copie_modifiee(donnees, rel, tmp_path, negatif)
    with pytest.raises(
        ErreurDonnees,
        match=r"P16|p_pop0014.*hors bornes.*>= 0.*"
        r"130470106: -40",
    ):
        preparer_run(_config(donnees, "population_iris", p), rapport=Rapport())


def test_population_negative_et_taux_hors_bornes_dans_le_territoire(donnees, tmp_path):
    rel = (
        Path(dict_chemins(donnees)["sources"]["indicateurs_iris"]["source"])
        .relative_to(donnees)
        .as_posix()
    )

    def population(t):
        t.loc[t["IRIS"] == "130470106", "P22_POP"] = "-5"

    p = _copie_modifiee(donnees, rel, tmp_path, population)
    with pytest.raises(
        ErreurDonnees,
        match=r"colonne p_pop \(millésime \[2022\]\) : 1 valeur\(s\) "
        r"hors bornes.*ligne\(s\) \[\d+\]",
    ):
        preparer_run(_config(donnees, "indicateurs_iris", p), rapport=Rapport())

    def taux(t):
        t.loc[t["IRIS"] == "130470106", "soc_txchom_1564_22"] = "250"

    p = _copie_modifiee(donnees, rel, tmp_path, taux)
    with pytest.raises(ErreurDonnees, match=r"soc_txchom_1564.*attendu : \[0, 100\]"):
        preparer_run(_config(donnees, "indicateurs_iris", p), rapport=Rapport())


def test_colonne_de_population_absente_annoncee(donnees, tmp_path):
    rel = (
        Path(dict_chemins(donnees)["sources"]["indicateurs_iris"]["source"])
        .relative_to(donnees)
        .as_posix()
    )
    p = _copie_modifiee(donnees, rel, tmp_path, lambda t: t.pop("P22_POP"))
    r = Rapport()
    prep = preparer_run(_config(donnees, "indicateurs_iris", p), rapport=r)
    messages = [e.message for e in r.evenements if e.niveau == "avertissement"]
    assert any(
        "aucune valeur de population pour [2022]" in m
        and "P22_POP" in m
        and "ne sont pas des millésimes de recensement" in m
        for m in messages
    ), messages
    assert 2022 not in prep.annees_disponibles
