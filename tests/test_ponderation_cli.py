"""``observatoire weights`` / ``observatoire quality`` and the weights cache."""

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import box

from observatoire.cli import main
from observatoire.ponderation import CachePoids, cle_poids, empreinte_fichier
from observatoire.rapport import ErreurDonnees

CRS = "EPSG:2154"


@pytest.fixture
def fichiers(tmp_path):
    iris = gpd.GeoDataFrame(
        {
            "CODE_IRIS": ["130010101", "130010102"],
            "NOM_IRIS": ["Un", "Deux"],
            "INSEE_COM": ["13001", "13001"],
            "TYP_IRIS": ["H", "H"],
        },
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=CRS,
    )
    iris.to_file(tmp_path / "iris.gpkg")
    qpv = gpd.GeoDataFrame(
        {"code_qp": ["QN01301M"], "lib_qp": ["Test"]}, geometry=[box(50, 0, 150, 50)], crs=CRS
    ).to_crs("EPSG:4326")
    qpv.to_file(tmp_path / "qpv.geojson")
    veille = gpd.GeoDataFrame(
        {"id": ["V1"], "nom": ["Veille"]}, geometry=[box(0, 50, 100, 100)], crs=CRS
    )
    veille.to_file(tmp_path / "veille.gpkg")
    pd.DataFrame({"IRIS": ["130010101", "130010102"], "P16_POP": [100, 300]}).to_csv(
        tmp_path / "pop.csv", index=False
    )
    pd.DataFrame(
        {"codeQPV": ["QN01301M"], "lib_qp": ["Test"], "COG": ["13001"], "popMuniQPV": [150]}
    ).to_csv(tmp_path / "officiel.csv", index=False)
    pd.DataFrame(
        {"code_zone": ["L", "L"], "code_iris": ["130010101", "130010102"], "part": ["", "0.5"]}
    ).to_csv(tmp_path / "liste.csv", index=False)
    return tmp_path


def _lance(args):
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    return res


def test_weights_surface(fichiers):
    d = fichiers
    res = _lance(
        [
            "weights",
            "--iris",
            d / "iris.gpkg",
            "--zones",
            d / "qpv.geojson",
            "-o",
            d / "w.csv",
            "--report",
            d / "events.csv",
        ]
    )
    assert "2 lignes (1 zones, méthode surface)" in res.output
    t = pd.read_csv(d / "w.csv", dtype={"code_iris": str})
    assert list(t.columns[:7]) == [
        "code_zone",
        "code_iris",
        "surface_m2",
        "part_zone",
        "part_iris",
        "poids",
        "methode",
    ]
    assert t["part_zone"].round(6).tolist() == [0.5, 0.5]
    assert t["poids"].round(6).tolist() == [0.25, 0.25]
    assert "reprojeté" in " ".join(pd.read_csv(d / "events.csv")["message"])


def test_weights_zone_id_et_calibrated(fichiers):
    d = fichiers
    _lance(
        [
            "weights",
            "--iris",
            d / "iris.gpkg",
            "--zones",
            d / "veille.gpkg",
            "--zone-id",
            "id",
            "-o",
            d / "v.csv",
        ]
    )
    assert pd.read_csv(d / "v.csv")["poids"].tolist() == [0.5]
    _lance(
        [
            "weights",
            "--iris",
            d / "iris.gpkg",
            "--zones",
            d / "qpv.geojson",
            "--method",
            "calibrated",
            "--official",
            d / "officiel.csv",
            "--population",
            d / "pop.csv",
            "-o",
            d / "c.csv",
        ]
    )
    c = pd.read_csv(d / "c.csv")
    # surface estimate 0.25 × 100 + 0.25 × 300 = 100 → 150: factor 1.5
    assert c["poids"].round(9).tolist() == [0.375, 0.375]
    assert c["facteur_calibration"].round(9).tolist() == [1.5, 1.5]


def test_weights_iris_list(fichiers):
    d = fichiers
    _lance(
        [
            "weights",
            "--iris",
            d / "iris.gpkg",
            "--zones",
            d / "liste.csv",
            "--method",
            "iris_list",
            "-o",
            d / "l.csv",
        ]
    )
    assert pd.read_csv(d / "l.csv")["poids"].tolist() == [1.0, 0.5]


def test_weights_erreur_lisible(fichiers):
    d = fichiers
    res = CliRunner().invoke(
        main,
        ["weights", "--iris", d / "iris.gpkg", "--zones", d / "veille.gpkg", "-o", d / "x.csv"],
    )
    assert res.exit_code != 0 and "--zone-id" in res.output
    res = CliRunner().invoke(
        main,
        [
            "weights",
            "--iris",
            d / "iris.gpkg",
            "--zones",
            d / "qpv.geojson",
            "--method",
            "dasymetric",
            "-o",
            d / "x.csv",
        ],
    )
    assert res.exit_code != 0 and "grid" in res.output


def test_quality(fichiers):
    d = fichiers
    res = _lance(
        [
            "quality",
            "--iris",
            d / "iris.gpkg",
            "--zones",
            d / "qpv.geojson",
            "--official",
            d / "officiel.csv",
            "--population",
            d / "pop.csv",
            "-o",
            d / "q.csv",
            "--summary",
            d / "s.csv",
            "--calibration",
            d / "k.csv",
        ]
    )
    k = pd.read_csv(d / "k.csv")
    assert k[["estimation_base", "estimation_calibree", "facteur_calibration"]].values.tolist() == [
        [100.0, 150.0, 1.5]
    ]
    assert "1 zone(s) calibrée(s) sur 1 ; facteur médian 1.50" in res.output
    q = pd.read_csv(d / "q.csv")
    s = q[q["methode"] == "surface"].iloc[0]
    assert (s["estimation"], s["officiel"]) == (100.0, 150.0)
    assert s["erreur_pct"] == pytest.approx(-100 / 3)
    assert "exact by construction" in res.output
    assert pd.read_csv(d / "s.csv")["methode"].tolist() == ["surface", "calibrated"]


def test_cache_reutilise_et_invalide(fichiers):
    d = fichiers
    args = [
        "weights",
        "--iris",
        d / "iris.gpkg",
        "--zones",
        d / "qpv.geojson",
        "--cache",
        d / "cache",
        "-o",
        d / "w.csv",
        "--report",
        d / "ev.csv",
    ]
    _lance(args)
    assert "calculée et mise en cache" in " ".join(pd.read_csv(d / "ev.csv")["message"])
    _lance(args)
    assert "lue dans le cache" in " ".join(pd.read_csv(d / "ev.csv")["message"])
    assert len(list((d / "cache").glob("poids_*.parquet"))) == 1
    _lance(args + ["--min-part", "0"])  # another parameter: another table
    assert len(list((d / "cache").glob("poids_*.parquet"))) == 2


def test_cle_depend_du_contenu(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("x")
    k1 = cle_poids({"iris": a}, {"methode": "surface"})
    a.write_text("y")
    assert cle_poids({"iris": a}, {"methode": "surface"}) != k1
    assert empreinte_fichier(a) == (
        "a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa"
    )  # sha256("y")
    with pytest.raises(ErreurDonnees, match="fichier introuvable"):
        empreinte_fichier(tmp_path / "absent")


def test_cache_ecriture_atomique(tmp_path):
    cache = CachePoids(tmp_path / "c")
    t = pd.DataFrame({"code_zone": ["A"], "code_iris": ["1"], "poids": [0.5]})
    cache.ecrire("k", t, {"x": 1})
    assert [p.name for p in sorted((tmp_path / "c").iterdir())] == [
        "poids_k.json",
        "poids_k.parquet",
    ]
    pd.testing.assert_frame_equal(cache.lire("k"), t)
    assert cache.lire("autre") is None


def test_quality_compare_with_another_iris_table_and_a_sum(fichiers):
    """--iris-table brings the housing table; households = houses + flats (a sum)."""
    d = fichiers
    pd.DataFrame(
        {"IRIS": ["130010101", "130010102"], "P16_RPMAISON": [10, 30], "P16_RPAPPART": [10, 50]}
    ).to_csv(d / "logement.csv", index=False)
    pd.DataFrame(
        {
            "codeQPV": ["QN01301M"],
            "lib_qp": ["Test"],
            "COG": ["13001"],
            "popMuniQPV": [150],
            "nombre_menages": [60],
        }
    ).to_csv(d / "officiel.csv", index=False)
    _lance(
        [
            "quality",
            "--iris",
            d / "iris.gpkg",
            "--zones",
            d / "qpv.geojson",
            "--official",
            d / "officiel.csv",
            "--population",
            d / "pop.csv",
            "--iris-table",
            d / "logement.csv",
            "--compare",
            "p_rpmaison+p_rpappart=nombre_menages",
            "-o",
            d / "q.csv",
        ]
    )
    q = pd.read_csv(d / "q.csv").set_index(["methode", "variable"])
    men = "p_rpmaison+p_rpappart"
    # surface: 0.25 × 20 + 0.25 × 80 = 25; calibrated on population (factor 1.5): 37.5
    assert q.loc[("surface", men), "estimation"] == pytest.approx(25.0)
    assert q.loc[("calibrated", men), "estimation"] == pytest.approx(37.5)
    assert q.loc[("surface", men), "erreur_pct"] == pytest.approx(100 * (25 - 60) / 60)
    assert not q.loc[("calibrated", men), "exact_par_construction"]
    res = CliRunner().invoke(
        main,
        [
            "quality",
            "--iris",
            d / "iris.gpkg",
            "--zones",
            d / "qpv.geojson",
            "--official",
            d / "officiel.csv",
            "--population",
            d / "pop.csv",
            "--iris-table",
            d / "logement.csv",
            "--compare",
            "p_rpmaison+p_rplogt=nombre_menages",
            "-o",
            d / "q.csv",
        ],
    )
    assert res.exit_code != 0 and "'p_rplogt' dans aucune table IRIS" in res.output
