"""Atomic writers: CSV, Parquet, GeoPackage (one layer per level), XLSX."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from shapely import box

from observatoire.ecriture_atomique import fichier_atomique
from observatoire.rapport import ErreurDonnees
from observatoire.sorties import (
    ecrire_csv,
    ecrire_geopackage,
    ecrire_parquet,
    ecrire_tables,
    ecrire_xlsx,
)


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "territoire_code": ["Q1", "Q2", "13047", "130470107"],
            "territoire_nom": ["Le Prépaou", "La Maille", "Istres", "Le Prépaou"],
            "niveau": ["qpv", "qpv", "commune", "iris"],
            "indicateur": "taux_chomage_1564",
            "sexe": "ensemble",
            "annee": 2022,
            "valeur": [13.2, np.nan, 11.12, 20.0],
            "statut": ["estime", "secret", "officiel", "officiel"],
        }
    )


@pytest.fixture
def geometries():
    crs = "EPSG:2154"
    return {
        "qpv": gpd.GeoDataFrame(
            {"code": ["Q1", "Q2"]}, geometry=[box(0, 0, 1, 1), box(2, 0, 3, 1)], crs=crs
        ),
        "commune": gpd.GeoDataFrame({"code": ["13047"]}, geometry=[box(0, 0, 10, 10)], crs=crs),
    }


def test_csv_and_parquet_round_trip(tmp_path, table):
    ecrire_csv(table, tmp_path / "t.csv")
    lu = pd.read_csv(tmp_path / "t.csv", dtype={"territoire_code": str})
    assert lu["territoire_code"].tolist() == table["territoire_code"].tolist()
    assert np.isnan(lu["valeur"].iloc[1])  # secret stays empty, never 0
    ecrire_parquet(table, tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), table, check_dtype=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.parquet"]


def test_failed_write_keeps_previous_file_and_leaves_no_temp(tmp_path):
    cible = tmp_path / "t.csv"
    cible.write_text("ancien")
    with pytest.raises(RuntimeError):
        with fichier_atomique(cible) as tmp:
            tmp.write_text("moitié")
            raise RuntimeError("crash")
    assert cible.read_text() == "ancien"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_geopackage_one_layer_per_level(tmp_path, table, geometries):
    chemin = ecrire_geopackage(table, geometries, tmp_path / "ind.gpkg")
    couches = sorted(pyogrio.list_layers(chemin)[:, 0])
    assert couches == ["commune", "qpv"]  # iris has no geometry given: not written
    q = gpd.read_file(chemin, layer="qpv")
    assert q.crs.to_epsg() == 2154
    assert q["territoire_code"].tolist() == ["Q1", "Q2"]
    assert q.loc[1, "statut"] == "secret" and np.isnan(q.loc[1, "valeur"])
    assert q.geometry.area.tolist() == [1.0, 1.0]


def test_geopackage_errors(tmp_path, table, geometries):
    sans_crs = {"qpv": geometries["qpv"].set_crs(None, allow_override=True)}
    with pytest.raises(ErreurDonnees, match="n'a pas de CRS"):
        ecrire_geopackage(table, sans_crs, tmp_path / "a.gpkg")
    manque = {"qpv": geometries["qpv"].iloc[:1]}
    with pytest.raises(ErreurDonnees, match="sans géométrie : \\['Q2'\\]"):
        ecrire_geopackage(table, manque, tmp_path / "b.gpkg")
    assert not (tmp_path / "b.gpkg").exists()


def test_xlsx_sheets(tmp_path, table):
    chemin = ecrire_xlsx(
        {"indicateurs": table, "un nom de feuille beaucoup trop long": table}, tmp_path / "c.xlsx"
    )
    wb = openpyxl.load_workbook(chemin)
    assert wb.sheetnames == ["indicateurs", "un nom de feuille beaucoup trop"]
    ws = wb["indicateurs"]
    assert ws["A1"].value == "territoire_code" and ws["A2"].value == "Q1"
    assert ws["G3"].value is None  # NaN cell left empty
    assert ws.freeze_panes == "A2"


def test_ecrire_tables(tmp_path, table, geometries):
    ecrits = ecrire_tables({"indicateurs": table}, tmp_path, geometries=geometries)
    noms = sorted(p.name for p in tmp_path.iterdir())
    assert noms == [
        "indicateurs.csv",
        "indicateurs.gpkg",
        "indicateurs.parquet",
        "observatoire.xlsx",
    ]
    assert len(ecrits["indicateurs"]) == 3


def test_geopackage_rows_without_geometry_kept_when_asked(tmp_path, table, geometries):
    manque = {"qpv": geometries["qpv"].iloc[:1]}
    chemin = ecrire_geopackage(table, manque, tmp_path / "v.gpkg", sans_geometrie="vide")
    q = gpd.read_file(chemin, layer="qpv")
    assert q["territoire_code"].tolist() == ["Q1", "Q2"]
    assert q.geometry.isna().tolist() == [False, True] or q.geometry.is_empty.tolist()[1]


def test_xlsx_sans_formule_et_mise_en_forme(tmp_path):
    import openpyxl

    t = pd.DataFrame(
        {
            "territoire_nom": ["=1+1", "+33 6", "-x", "@SUM(A1)", "\tA", "Istres"],
            "valeur": [1.5, -2.0, 3.0, float("nan"), 4.0, 5.0],
            "page": ["2022/fiches/Q.html", "", "", "", "", "https://exemple.fr/a"],
        }
    )
    chemin = ecrire_xlsx({"synthese": t}, tmp_path / "c.xlsx", liens={"page": "page"})
    ws = openpyxl.load_workbook(chemin)["synthese"]
    cellules = [c for ligne in ws.iter_rows() for c in ligne]
    assert sum(c.data_type == "f" for c in cellules) == 0
    assert ws["A2"].value == "=1+1" and ws["A2"].data_type == "s" and ws["A2"].quotePrefix
    assert ws["B2"].value == 1.5 and ws["B3"].value == -2.0 and ws["B5"].value is None
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:C7"
    assert ws.column_dimensions["A"].width >= len("territoire_nom")
    assert ws["C2"].hyperlink.target == "2022/fiches/Q.html"
    assert ws["A1"].font.bold


def test_csv_neutralise_les_formules(tmp_path):
    t = pd.DataFrame({"nom": ["=1+1", "-2", "Istres", None], "valeur": [-1.0, 2.0, 3.0, 4.0]})
    chemin = ecrire_csv(t, tmp_path / "t.csv")
    lu = pd.read_csv(chemin)
    assert lu["nom"].tolist()[:3] == ["'=1+1", "'-2", "Istres"]
    assert lu["valeur"].tolist() == [-1.0, 2.0, 3.0, 4.0]
    assert t["nom"].iloc[0] == "=1+1"  # the caller's table is untouched
