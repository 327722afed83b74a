"""Loaders of geometry layers: real files of ../shared/data and hand-made edge cases."""

import geopandas as gpd
import pytest
from shapely import Polygon, box

from observatoire.chargement import (
    CRS_TRAVAIL,
    lire_communes,
    lire_departements,
    lire_epci,
    lire_grille,
    lire_iris,
    lire_qpv,
)
from observatoire.rapport import ErreurDonnees, Rapport

COLONNES_IRIS = [
    "code_iris",
    "nom_iris",
    "code_commune",
    "code_commune_arm",
    "nom_commune",
    "type_iris",
    "geometry",
]


@pytest.mark.parametrize(
    "fichier",
    ["iris/iris_dep13_fullres_ign_circa2014.gpkg", "iris/iris_2020_dep13_generalise.geojson"],
)
def test_iris_dep13_schema(donnees, fichier):
    iris = lire_iris(donnees / fichier)
    assert list(iris.columns) == COLONNES_IRIS
    assert len(iris) == 840
    assert iris.crs.equals(gpd.GeoSeries(crs=CRS_TRAVAIL).crs)
    assert (iris.code_iris.str.len() == 9).all()
    assert (iris.code_commune == "13047").sum() == 17  # Istres
    # Marseille: arrondissement kept, commune rolled up
    marseille = iris[iris.code_commune_arm.between("13201", "13216")]
    assert len(marseille) > 0 and (marseille.code_commune == "13055").all()


def test_iris_2020_names(donnees):
    iris = lire_iris(donnees / "iris/iris_2020_dep13_generalise.geojson").set_index("code_iris")
    assert iris.loc["130470107", "nom_iris"] == "Le Prépaou"
    assert iris.loc["130290000", "type_iris"] == "Z"  # Cornillon-Confoux, undivided commune


def test_iris_fullres_built_from_dcomiris(donnees):
    iris = lire_iris(donnees / "iris/iris_dep13_fullres_ign_circa2014.gpkg").set_index("code_iris")
    assert iris.loc["130470107", "nom_iris"] == "LE PREPAOU"
    assert iris.loc["130630104", "code_commune"] == "13063"


def test_iris_national_parquet_keeps_leading_zeros(donnees):
    iris = lire_iris(donnees / "iris/iris_2020_france_generalise_z9.parquet")
    assert len(iris) == 48592
    assert "010010000" in set(iris.code_iris)
    assert iris.code_iris.is_unique


def test_iris_from_suffix_and_commune(tmp_path):
    g = gpd.GeoDataFrame(
        {"INSEE_COM": ["1001", "13047"], "IRIS": ["0", "0107"], "NOM_IRIS": ["a", "b"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=CRS_TRAVAIL,
    )
    g.to_file(tmp_path / "iris.gpkg")
    iris = lire_iris(tmp_path / "iris.gpkg")
    assert iris.code_iris.tolist() == ["010010000", "130470107"]


def test_qpv_generations_and_communes(donnees):
    q24 = lire_qpv(donnees / "qpv/qpv2024_dep13_anct_simplifie.geojson").set_index("code_zone")
    assert len(q24) == 71 and (q24.generation == 2024).all()
    assert q24.loc["QN01366I", "communes"] == ["13063"]
    q15 = lire_qpv(donnees / "qpv/qpv2015_marseille_icu_mediapart.geojson")
    assert len(q15) == 37 and (q15.generation == 2015).all()


def test_qpv_occitanie_repaired_not_dropped(donnees):
    r = Rapport()
    q = lire_qpv(donnees / "qpv/qpv2015_occitanie_hackaviz2021.geojson", rapport=r)
    assert len(q) == 105
    assert q.geometry.is_valid.all()
    assert set(q.geom_type) <= {"Polygon", "MultiPolygon"}
    assert any("make_valid" in e.message and e.n == 29 for e in r.evenements)


def test_admin_layers(donnees):
    com = lire_communes(donnees / "admin/communes-13-bouches-du-rhone.geojson")
    assert len(com) == 119 and "13047" in set(com.code_commune)
    epci = lire_epci(donnees / "admin/epci-2018-france-metro-generalise-anct.geojson")
    assert epci.set_index("code_epci").loc["200054807", "nom_epci"].startswith("Métropole")
    dep = lire_departements(donnees / "admin/departement-13-bouches-du-rhone.geojson")
    assert dep.code_departement.tolist() == ["13"]
    deps = lire_departements(donnees / "admin/departements-france-simplifie.geojson")
    assert len(deps) == 96 and "2A" in set(deps.code_departement)


def test_grille_marseille(donnees):
    g = lire_grille(donnees / "raster/filosofi2017_200m_marseille_icu_mediapart.gpkg")
    assert len(g) == 7282
    assert g.population.sum() == pytest.approx(1016133.0)
    assert g.area.median() == pytest.approx(40000, rel=0.01)  # 200 m squares


# --- validation edge cases -------------------------------------------------------------


def _ecrire(tmp_path, gdf, nom="couche.gpkg"):
    chemin = tmp_path / nom
    gdf.to_file(chemin)
    return chemin


def test_no_crs_is_an_error(tmp_path):
    chemin = tmp_path / "sans_crs.geojson"
    chemin.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"code_qp":"QN01366I"},"geometry":{"type":"Polygon","coordinates":'
        "[[[0,0],[1,0],[1,1],[0,0]]]}}]}"
    )
    # GeoJSON without crs member is WGS84 by specification: read as EPSG:4326, reprojected.
    r = Rapport()
    q = lire_qpv(chemin, rapport=r)
    assert any("reprojeté" in e.message for e in r.evenements)
    g = gpd.GeoDataFrame({"code_qp": ["QN1"]}, geometry=[box(0, 0, 1, 1)])
    g.to_parquet(tmp_path / "sans_crs.parquet")
    with pytest.raises(ErreurDonnees, match="aucun CRS"):
        lire_qpv(tmp_path / "sans_crs.parquet")
    assert len(q) == 1


def test_duplicate_codes_listed(tmp_path):
    g = gpd.GeoDataFrame(
        {"CODE_IRIS": ["130470107", "130470107", "130470102"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs=CRS_TRAVAIL,
    )
    with pytest.raises(ErreurDonnees, match=r"130470107"):
        lire_iris(_ecrire(tmp_path, g))


def test_empty_geometries_dropped_and_listed(tmp_path):
    g = gpd.GeoDataFrame(
        {"CODE_IRIS": ["130470107", "130470102"]},
        geometry=[box(0, 0, 1, 1), Polygon()],
        crs=CRS_TRAVAIL,
    )
    r = Rapport()
    iris = lire_iris(_ecrire(tmp_path, g), rapport=r)
    assert iris.code_iris.tolist() == ["130470107"]
    assert any("130470102" in e.message for e in r.evenements)


def test_bad_qpv_prefix_names_feature(tmp_path):
    g = gpd.GeoDataFrame(
        {"code_qp": ["QN01366I", "ZZ0001"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=CRS_TRAVAIL,
    )
    with pytest.raises(ErreurDonnees, match="ZZ0001"):
        lire_qpv(_ecrire(tmp_path, g))


def test_missing_file_and_layer(tmp_path):
    with pytest.raises(ErreurDonnees, match="fichier introuvable"):
        lire_iris(tmp_path / "absent.gpkg")
    g = gpd.GeoDataFrame({"CODE_IRIS": ["130470107"]}, geometry=[box(0, 0, 1, 1)], crs=CRS_TRAVAIL)
    chemin = _ecrire(tmp_path, g)
    with pytest.raises(ErreurDonnees, match="pas de couche 'autre'"):
        lire_iris(chemin, "autre")


def test_missing_code_column_names_candidates(tmp_path):
    g = gpd.GeoDataFrame({"foo": ["x"]}, geometry=[box(0, 0, 1, 1)], crs=CRS_TRAVAIL)
    with pytest.raises(ErreurDonnees, match="CODE_IRIS"):
        lire_iris(_ecrire(tmp_path, g))
