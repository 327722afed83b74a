"""Loaders of statistical tables: real values from ../shared/data and hand-made cases."""

import numpy as np
import pandas as pd
import pytest

from observatoire.chargement import (
    lire_indicateurs_ptod,
    lire_qpv_officiel,
    lire_table_iris,
)
from observatoire.rapport import ErreurDonnees, Rapport


def test_rp2016_population_istres(donnees):
    t = lire_table_iris(donnees / "stats/rp2016_iris_population_age_cs_irisH_dep13.csv")
    assert set(t.annee) == {2016}
    ages = ["p_pop0014", "p_pop1529", "p_pop3044", "p_pop4559", "p_pop6074", "p_pop75p"]
    pop = t[ages].sum(axis=1)
    par_commune = pop.groupby(t.code_iris.str[:5]).sum()
    assert par_commune["13047"] == pytest.approx(42607, abs=1)  # PROVENANCE.md check
    assert par_commune["13063"] == pytest.approx(25583, abs=1)
    assert par_commune["13078"] == pytest.approx(8519, abs=1)
    assert "c_pop15p_cs1" in t.columns  # the C prefix is kept


def test_vintage_free_names_and_p_c_distinction(tmp_path):
    f = tmp_path / "base-ic.csv"
    f.write_text(
        "IRIS;COM;TYP_IRIS;P21_POP0014;P21_ACT1564;C21_ACT1564\n"
        "010040101;01004;H;319;s;120.5\n130470107;13047;H;;200;199.5\n"
    )
    t = lire_table_iris(f)
    assert t.columns.tolist() == [
        "code_iris",
        "annee",
        "type_iris",
        "code_commune",
        "p_pop0014",
        "p_act1564",
        "c_act1564",
    ]
    assert t.annee.tolist() == [2021, 2021]
    assert t.code_iris.tolist() == ["010040101", "130470107"]
    assert np.isnan(t.loc[0, "p_act1564"])  # secret marker → NaN
    assert np.isnan(t.loc[1, "p_pop0014"])  # empty → NaN, never 0
    assert t.loc[0, "c_act1564"] == 120.5


def test_bad_value_names_column(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("IRIS,P16_POP0014\n130470107,douze\n")
    with pytest.raises(ErreurDonnees, match="P16_POP0014"):
        lire_table_iris(f)


def test_rfl_medians_long_by_year(donnees):
    t = lire_table_iris(donnees / "stats/rfl_revenus_fiscaux_localises_iris_2001_2011_dep13.csv")
    v = t.set_index(["code_iris", "annee"]).loc[("130470107", 2011), "rfucq2"]
    assert v == 11860  # PROVENANCE.md: Istres Le Prépaou median 2011
    assert 2003 not in set(t.annee)


def test_ptod_commune_and_departement(donnees):
    com = lire_indicateurs_ptod(donnees / "stats/ptod_communes5k_dep13_indicateurs.csv", "commune")
    v = com[(com.code_commune == "13047") & (com.annee == 2022)].iloc[0]
    assert v.soc_txchom_1564 == pytest.approx(11.12)
    r = Rapport()
    dep = lire_indicateurs_ptod(
        donnees / "stats/ptod_departements_indicateurs.csv", "departement", rapport=r
    )
    d = dep[dep.annee == 2022].set_index("code_departement")
    assert d.loc["13", "soc_txchom_1564"] == pytest.approx(12.03)
    assert d.loc["00FR", "soc_txchom_1564"] == pytest.approx(11.31)
    assert np.isnan(d.loc["00FR", "p_pop"])
    assert r.n_avertissements == 1


def test_ptod_iris_years(donnees):
    t = lire_indicateurs_ptod(donnees / "stats/ptod_iris_dep13_indicateurs_rp2011_2016_2022.csv")
    assert {2011, 2016, 2022} <= set(t.annee)
    pop22 = t[t.annee == 2022].groupby(t.code_iris.str[:5]).p_pop.sum()
    assert pop22["13047"] == pytest.approx(44044, abs=1)
    assert t[t.annee == 2022].p_pop.sum() == pytest.approx(2069812, abs=2)


def test_qpv2024_official_collapsed(donnees):
    r = Rapport()
    q = lire_qpv_officiel(donnees / "stats/qpv2024_indicateurs_sigville_dep13.csv", rapport=r)
    assert len(q) == 71 and q.code_zone.is_unique
    v = q.set_index("code_zone")
    assert v.loc["QN01365M", "pop_mun"] == 3027
    assert v.loc["QN01366I", "pop_mun"] == 1709
    assert v.loc["QN01367M", "pop_mun"] == 6885
    assert v.loc["QN01371N", "pop_mun"] == 1093
    assert v.loc["QN01341I", "communes"] == ["13055", "13070"]
    assert "taux_logements_sociaux" not in q.columns


def test_qpv_conflicting_repeats_rejected(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text("COG,codeQPV,lib_qp,popMuniQPV\n13055,QN01341I,A,1199\n13070,QN01341I,A,1200\n")
    with pytest.raises(ErreurDonnees, match="QN01341I.*pop_mun"):
        lire_qpv_officiel(f)


def test_qpv2015_occitanie(donnees):
    q = lire_qpv_officiel(donnees / "stats/qpv2015_occitanie_indicateurs_hackaviz2021.csv")
    assert len(q) == 105 and (q.generation == 2015).all()
    assert q.set_index("code_zone").loc["QP009001", "pop_mun"] == 1177
    assert {"taux_pauvrete_60", "taux_emploi", "revenu_declare_median_uc"} <= set(q.columns)
    assert isinstance(q.pop_mun.dtype, type(pd.Series([1.0]).dtype))


@pytest.mark.parametrize("longueur", [4, 5, 9])
def test_normaliser_code_text_and_mixed_paths_agree(longueur):
    """The vectorised path (text columns) gives what the value-by-value path gives."""
    from observatoire.chargement.codes import normaliser_code

    valeurs = ["10010000", " 130470107 ", "1001.0", None, "SANOP", "2A004", "0107", "12.5", ""]
    texte = normaliser_code(pd.Series(valeurs, dtype="str"), longueur).tolist()
    objets = normaliser_code(pd.Series(valeurs, dtype="object"), longueur).tolist()
    assert texte == objets
    assert texte[3] is None
    assert texte[2] == "1001".zfill(longueur) and texte[4] == "SANOP" and texte[7] == "12.5"


def test_lire_table_arrow_parser_reads_the_cells_the_c_parser_reads(tmp_path):
    """BOM, quoted separators, empty cells, NA markers and leading zeros survive as text."""
    from observatoire.chargement import lire_table

    f = tmp_path / "t.csv"
    f.write_bytes(
        '\ufeffIRIS;COM;P21_POP;NOM\n010040101;01004;;"a;b"\n'
        "130470107;13047;NA;s\n000000001;00001;1,5;\n".encode()
    )
    t = lire_table(f)
    c = pd.read_csv(f, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert t.columns.tolist() == ["IRIS", "COM", "P21_POP", "NOM"]
    assert t.to_numpy().tolist() == c.to_numpy().tolist()
    assert t["NOM"].tolist() == ["a;b", "s", ""]


def test_numerique_fast_and_cell_by_cell_paths_agree():
    from observatoire.chargement.tables import _numerique

    propres = pd.Series(["1.5", "-2", "1e3", "0"], dtype="str")
    sales = pd.Series(["1.5", "-2", "1e3", "0", " 7 ", "s", "2,5"], dtype="str")
    assert _numerique(propres, source="t", colonne="c").tolist() == [1.5, -2.0, 1000.0, 0.0]
    r = _numerique(sales, source="t", colonne="c")
    assert r.dtype == "float64"
    assert r.iloc[:5].tolist() == [1.5, -2.0, 1000.0, 0.0, 7.0]
    assert np.isnan(r.iloc[5]) and r.iloc[6] == 2.5
