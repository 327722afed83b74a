"""Dasymetric, calibrated and IRIS-list weights on boxes with hand-computed answers.

IRIS I1 = [0,100]×[0,100], I2 = [100,200]×[0,100], I3 = [0,100]×[100,200] (no grid cell).
Grid cells 100 m wide, shifted by 50 m: c1 = [-50,50] (40 inh.), c2 = [50,150] (80),
c3 = [150,250] (20), all y in [0,100]. Grid population of I1 = 20 + 40 = 60, of I2 = 40 + 10 = 50.
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from shapely import box

from observatoire.ponderation import (
    calibrer,
    chevauchements,
    facteurs_calibration,
    grille_depuis_raster,
    poids_iris_moins_zones,
    poids_liste_iris,
    remplir,
    table_poids,
    ventiler,
    zone_depuis_iris,
)
from observatoire.rapport import ErreurDonnees, Rapport

CRS = "EPSG:2154"


@pytest.fixture
def iris():
    return gpd.GeoDataFrame(
        {"code_iris": ["130010101", "130010102", "130010103"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(0, 100, 100, 200)],
        crs=CRS,
    )


@pytest.fixture
def grille():
    return gpd.GeoDataFrame(
        {"id_carreau": ["c1", "c2", "c3"], "population": [40.0, 80.0, 20.0]},
        geometry=[box(-50, 0, 50, 100), box(50, 0, 150, 100), box(150, 0, 250, 100)],
        crs=CRS,
    )


@pytest.fixture
def zones():
    # B: left half of I1 (c1's half inside I1: 20 of 60). E: bottom half of [50,150] (20 in I1,
    # 20 in I2). D: in I3, where the grid has no cell.
    return gpd.GeoDataFrame(
        {"code_zone": ["B", "D", "E"]},
        geometry=[box(0, 0, 50, 100), box(0, 100, 50, 150), box(50, 0, 150, 50)],
        crs=CRS,
    )


def test_dasymetrique_a_la_main(iris, zones, grille):
    r = Rapport()
    t = table_poids(iris, zones, methode="dasymetric", grille=grille, rapport=r)
    t = t.set_index(["code_zone", "code_iris"])
    assert t.loc[("B", "130010101"), "poids"] == pytest.approx(20 / 60, rel=1e-12)
    assert t.loc[("E", "130010101"), "poids"] == pytest.approx(20 / 60, rel=1e-12)
    assert t.loc[("E", "130010102"), "poids"] == pytest.approx(20 / 50, rel=1e-12)
    assert t.loc[("B", "130010101"), "pop_grille_iris"] == pytest.approx(60.0)
    # D lies in I3, without grid population: surface weight, flagged.
    assert t.loc[("D", "130010103"), "poids"] == 0.25
    assert t["repli_surface"].to_dict() == {
        ("B", "130010101"): False,
        ("D", "130010103"): True,
        ("E", "130010101"): False,
        ("E", "130010102"): False,
    }
    assert (t["methode"] == "dasymetric").all()
    assert "130010103" in " ".join(r.to_frame()["message"])


def test_dasymetrique_conserve_la_masse(iris, zones, grille):
    reste = shapely.difference(
        shapely.union_all(iris.geometry.values), shapely.union_all(zones.geometry.values)
    )
    partition = pd.concat(
        [zones, gpd.GeoDataFrame({"code_zone": ["reste"]}, geometry=[reste], crs=CRS)],
        ignore_index=True,
    )
    t = table_poids(iris, partition, methode="dasymetric", grille=grille, part_min=0)
    assert t.groupby("code_iris")["poids"].sum().to_numpy() == pytest.approx(1.0, rel=1e-12)
    pop = pd.DataFrame({"code_iris": iris["code_iris"], "population": [123.0, 456.0, 789.0]})
    assert ventiler(t, pop, ["population"])["population"].sum() == pytest.approx(1368.0, rel=1e-9)


def test_raster_geotiff(tmp_path, iris, zones):
    chemin = tmp_path / "pop.tif"
    valeurs = np.array([[40.0, 80.0, 20.0, -1.0]], dtype="float32")  # -1 = nodata
    with rasterio.open(
        chemin,
        "w",
        driver="GTiff",
        width=4,
        height=1,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=Affine(100, 0, -50, 0, -100, 100),
        nodata=-1,
    ) as dst:
        dst.write(valeurs, 1)
    g = grille_depuis_raster(chemin)
    assert g["population"].tolist() == [40.0, 80.0, 20.0]
    assert shapely.equals(g.geometry.iloc[1], box(50, 0, 150, 100))
    t = table_poids(iris, zones, methode="dasymetric", grille=g)
    t = t.set_index(["code_zone", "code_iris"])
    assert t.loc[("E", "130010102"), "poids"] == pytest.approx(0.4, rel=1e-12)


def test_raster_reprojete(tmp_path):
    chemin = tmp_path / "pop3035.tif"
    with rasterio.open(
        chemin,
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:3035",
        transform=Affine(200, 0, 3962600, 0, -200, 2239200),
    ) as dst:
        dst.write(np.array([[1, 2], [0, 4]], dtype="float32"), 1)
    r = Rapport()
    g = grille_depuis_raster(chemin, rapport=r)
    assert g.crs.to_epsg() == 2154 and len(g) == 3
    assert g.area.to_numpy() == pytest.approx(40000, rel=2e-3)  # equal-area → conformal
    assert "reprojeté" in " ".join(r.to_frame()["message"])


def test_dasymetrique_sans_grille(iris, zones):
    with pytest.raises(ErreurDonnees, match="grid"):
        table_poids(iris, zones, methode="dasymetric")


# -- calibration ---------------------------------------------------------------------------


@pytest.fixture
def pop3():
    return pd.DataFrame(
        {"code_iris": ["130010101", "130010102", "130010103"], "population": [100.0, 100.0, 50.0]}
    )


def test_calibration_simple_et_plafond(iris, pop3):
    # F: half of I1 and a fifth of I2 → surface 0.5 / 0.2, estimate 70.
    # G: only I2 at 0.2 → estimate 20.
    zones = gpd.GeoDataFrame(
        {"code_zone": ["F", "G"]},
        geometry=[shapely.union(box(0, 0, 100, 50), box(100, 50, 200, 70)), box(100, 0, 200, 20)],
        crs=CRS,
    )
    officiel = pd.DataFrame({"code_zone": ["F", "G"], "pop_mun": [160.0, 150.0]})
    r = Rapport()
    t = table_poids(
        iris, zones, methode="calibrated", population_iris=pop3, officiel=officiel, rapport=r
    ).set_index(["code_zone", "code_iris"])
    # F: 0.5 × 100 + 0.2 × 100 = 70 → 160 needs f = 3: I1 capped at 1, I2 takes 0.6.
    assert t.loc[("F", "130010101"), "poids"] == 1.0
    assert t.loc[("F", "130010102"), "poids"] == pytest.approx(0.6, rel=1e-12)
    assert t.loc[("F", "130010101"), "facteur_calibration"] == pytest.approx(3.0, rel=1e-12)
    assert bool(t.loc[("F", "130010101"), "plafonne"]) is True
    assert t.loc[("F", "130010101"), "poids_base"] == 0.5
    # G: I2 holds 100 < 150: capped at 1, residual 50 reported.
    assert t.loc[("G", "130010102"), "poids"] == 1.0
    assert t.loc[("G", "130010102"), "residu"] == 50.0
    assert "G (50)" in " ".join(r.to_frame()["message"])
    est = ventiler(t.reset_index(), pop3, ["population"]).set_index("code_zone")["population"]
    assert est["F"] == pytest.approx(160.0, rel=1e-12)
    assert est["G"] == 100.0
    assert (t["methode"] == "calibrated").all() and (t["methode_base"] == "surface").all()


def test_calibration_sur_base_dasymetrique(iris, zones, grille, pop3):
    officiel = pd.DataFrame({"code_zone": ["B", "E"], "pop_mun": [50.0, 40.0]})
    t = table_poids(
        iris, zones, methode="calibrated", grille=grille, population_iris=pop3, officiel=officiel
    )
    t = t.set_index(["code_zone", "code_iris"])
    assert (t["methode_base"] == "dasymetric").all()
    # E: dasymetric 1/3 × 100 + 0.4 × 100 = 73.33 → 40: f = 40 / 73.33, ratio kept.
    f = 40 / (100 / 3 + 40)
    assert t.loc[("E", "130010101"), "poids"] == pytest.approx(f / 3, rel=1e-12)
    assert t.loc[("E", "130010102"), "poids"] == pytest.approx(0.4 * f, rel=1e-12)
    # D has no official population: spatial weight kept, not calibrated.
    assert not t.loc[("D", "130010103"), "calibre"]
    assert np.isnan(t.loc[("D", "130010103"), "facteur_calibration"])


def test_calibration_iris_sans_population(iris, zones):
    pop = pd.DataFrame({"code_iris": ["130010101"], "population": [100.0]})
    officiel = pd.DataFrame({"code_zone": ["E"], "pop_mun": [40.0]})
    r = Rapport()
    t = calibrer(table_poids(iris, zones), pop, officiel, rapport=r)
    assert not t["calibre"].any()
    assert "population inconnue" in " ".join(r.to_frame()["message"])


def test_calibration_entrees_manquantes(iris, zones):
    with pytest.raises(ErreurDonnees, match="official"):
        table_poids(iris, zones, methode="calibrated")


# -- IRIS lists ------------------------------------------------------------------------------


def test_liste_iris_avec_parts():
    liste = pd.DataFrame(
        {
            "code_zone": ["V", "V", "W"],
            "code_iris": ["130630102", 130630103, "130630103"],
            "part": [np.nan, 0.7, 0.5],
        }
    )
    r = Rapport()
    t = table_poids(None, liste, methode="iris_list", rapport=r)
    assert t[["code_zone", "code_iris", "poids"]].values.tolist() == [
        ["V", "130630102", 1.0],
        ["V", "130630103", 0.7],
        ["W", "130630103", 0.5],
    ]
    assert (t["methode"] == "iris_list").all() and t["surface_m2"].isna().all()
    assert "130630103" in " ".join(r.to_frame()["message"])  # 0.7 + 0.5 > 1


def test_liste_iris_codes_inconnus(iris):
    liste = pd.DataFrame({"code_zone": ["V"], "code_iris": ["999999999"]})
    with pytest.raises(ErreurDonnees, match="999999999"):
        table_poids(iris, liste, methode="iris_list")
    with pytest.raises(ErreurDonnees, match=r"parts comprises dans \[0, 1\]"):
        poids_liste_iris(
            pd.DataFrame({"code_zone": ["V"], "code_iris": ["130010101"], "part": [1.5]})
        )


def test_zone_depuis_iris_moins_qpv(iris):
    qpv = gpd.GeoDataFrame(
        {"code_zone": ["Q", "AILLEURS"]},
        geometry=[box(50, 50, 150, 150), box(500, 500, 600, 600)],
        crs=CRS,
    )
    r = Rapport()
    z = zone_depuis_iris(iris, ["130010101", "130010102"], code="VEILLE", moins=qpv, rapport=r)
    assert z["surface_m2"].iloc[0] == pytest.approx(20000 - 5000)
    assert z["surface_retiree_m2"].iloc[0] == pytest.approx(5000)
    ch = z.attrs["chevauchements"]
    assert ch["code_zone"].tolist() == ["Q"] and ch["part_zone_retiree"].tolist() == [0.5]
    # the zone then goes through any spatial method; veille + QPV partition I1 ∪ I2
    t = table_poids(iris, z)
    assert t["poids"].tolist() == pytest.approx([0.75, 0.75])


def test_zone_depuis_iris_code_inconnu(iris):
    with pytest.raises(ErreurDonnees, match="130019999"):
        zone_depuis_iris(iris, ["130019999"], code="V")


def test_iris_moins_zones_partitionne_les_iris(iris, pop3):
    qpv = gpd.GeoDataFrame({"code_zone": ["Q"]}, geometry=[box(50, 50, 150, 100)], crs=CRS)
    pq = table_poids(iris, qpv)  # 0.25 of I1, 0.25 of I2
    r = Rapport()
    v = poids_iris_moins_zones(
        ["130010101", "130010102", "130010103"], pq, code="V", moins=["Q"], rapport=r
    )
    assert v["poids"].tolist() == [0.75, 0.75, 1.0]
    assert v["poids_retire"].tolist() == [0.25, 0.25, 0.0]
    tout = pd.concat([pq, v], ignore_index=True)
    est = ventiler(tout, pop3, ["population"])
    assert est["population"].sum() == pytest.approx(250.0, rel=1e-12)  # the three IRIS, once
    assert "25.0% de sa population, dans Q," in " ".join(r.to_frame()["message"])
    ch = chevauchements(
        poids_liste_iris(pd.DataFrame({"code_zone": ["W"], "code_iris": ["130010102"]})), pq
    )
    assert ch[["code_zone", "code_iris", "code_zone_autre", "poids_autre"]].values.tolist() == [
        ["W", "130010102", "Q", 0.25]
    ]
    with pytest.raises(ErreurDonnees, match="ABSENT"):
        poids_iris_moins_zones(["130010101"], pq, code="V", moins=["ABSENT"])


def test_remplissage_vectorise_egal_au_scalaire():
    # same result whatever the code path: the vectorised solver against the per-zone one
    rng = np.random.default_rng(3)
    zones, w, x, o = [], [], [], []
    for k in range(300):
        n = int(rng.integers(1, 6))
        zones += [f"Z{k}"] * n
        w += list(rng.uniform(0.01, 1.0, n))
        xk = rng.uniform(0, 500, n)
        x += list(xk)
        o += [float(rng.uniform(0, 1.3) * xk.sum())] * n
    zones, w, x, o = map(np.asarray, (zones, w, x, o))
    nw, nf, nr = remplir(zones, w, x, o)
    for z in np.unique(zones):
        m = zones == z
        f, ww, r = facteurs_calibration(w[m], x[m], o[m][0])
        np.testing.assert_allclose(nw[m], ww, rtol=1e-12)
        assert nf[m][0] == pytest.approx(f, rel=1e-12) and nr[m][0] == pytest.approx(r, abs=1e-9)
    atteint = np.isinf(nf) | np.isclose(
        pd.Series(nw * x).groupby(zones).transform("sum").to_numpy(), o, rtol=1e-9
    )
    assert atteint.all() and (nw <= 1.0).all()


def test_variables_comparees_errors_name_the_term_and_the_vintage():
    from observatoire.ponderation import variables_comparees

    pop = pd.DataFrame({"code_iris": ["1"], "population": [10.0]})
    log = pd.DataFrame({"code_iris": ["1", "1"], "annee": [2016, 2021], "p_rp": [4.0, 5.0]})
    assert variables_comparees(pop, [log], {"p_rp": "m"}, annee=2021)["p_rp"].tolist() == [5.0]
    with pytest.raises(ErreurDonnees, match="'p_rp' n'a aucune valeur pour 2011"):
        variables_comparees(pop, [log], {"p_rp": "m"}, annee=2011)
    with pytest.raises(ErreurDonnees, match="plusieurs millésimes"):
        variables_comparees(pop, [log], {"p_rp": "m"})
    with pytest.raises(ErreurDonnees, match="'p_rp' dans 2 tables IRIS"):
        variables_comparees(pop, [log, log], {"p_rp": "m"}, annee=2016)
