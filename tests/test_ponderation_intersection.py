"""Intersection table and surface weights on hand-made boxes with hand-computed answers.

IRIS: four 100 m squares (Lambert-93 coordinates), populations 100, 200, 300, 400::

    I3 (300) | I4 (400)        y 100..200
    I1 (100) | I2 (200)        y   0..100
    x 0..100   x 100..200
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import GeometryCollection, LineString, box

from observatoire.ponderation import intersecter, table_poids, ventiler
from observatoire.rapport import ErreurDonnees, Rapport

CRS = "EPSG:2154"


@pytest.fixture
def iris():
    return gpd.GeoDataFrame(
        {"code_iris": ["130010101", "130010102", "130010103", "130010104"]},
        geometry=[
            box(0, 0, 100, 100),
            box(100, 0, 200, 100),
            box(0, 100, 100, 200),
            box(100, 100, 200, 200),
        ],
        crs=CRS,
    )


@pytest.fixture
def population():
    return pd.DataFrame(
        {
            "code_iris": ["130010101", "130010102", "130010103", "130010104"],
            "population": [100.0, 200.0, 300.0, 400.0],
        }
    )


@pytest.fixture
def zones():
    # A: centred square, a quarter in each IRIS. B: left half of I1, touches I3 along y=100.
    return gpd.GeoDataFrame(
        {"code_zone": ["A", "B"]}, geometry=[box(50, 50, 150, 150), box(0, 0, 50, 100)], crs=CRS
    )


def _complement(iris, zones):
    reste = shapely.difference(
        shapely.union_all(iris.geometry.values), shapely.union_all(zones.geometry.values)
    )
    return pd.concat(
        [zones, gpd.GeoDataFrame({"code_zone": ["reste"]}, geometry=[reste], crs=CRS)],
        ignore_index=True,
    )


def test_parts_calculees_a_la_main(iris, zones):
    t = intersecter(iris, zones)
    attendu = pd.DataFrame(
        {
            "code_zone": ["A", "A", "A", "A", "B"],
            "code_iris": ["130010101", "130010102", "130010103", "130010104", "130010101"],
            "surface_m2": [2500.0, 2500.0, 2500.0, 2500.0, 5000.0],
            "part_zone": [0.25, 0.25, 0.25, 0.25, 1.0],
            "part_iris": [0.25, 0.25, 0.25, 0.25, 0.5],
            "surface_zone_m2": [10000.0, 10000.0, 10000.0, 10000.0, 5000.0],
            "surface_iris_m2": [10000.0] * 5,
        }
    )
    pd.testing.assert_frame_equal(t, attendu, check_dtype=False)


def test_ventilation_surface_exacte(iris, zones, population):
    t = table_poids(iris, zones)
    assert list(t.columns[:7]) == [
        "code_zone",
        "code_iris",
        "surface_m2",
        "part_zone",
        "part_iris",
        "poids",
        "methode",
    ]
    est = ventiler(t, population, ["population"]).set_index("code_zone")["population"]
    # A: a quarter of each IRIS = 1000 / 4; B: half of I1.
    assert est.to_dict() == {"A": 250.0, "B": 50.0}


def test_conservation_de_la_masse_sur_une_partition(iris, zones, population):
    partition = _complement(iris, zones)
    t = table_poids(iris, partition, part_min=0)
    assert t.groupby("code_iris")["poids"].sum().to_numpy() == pytest.approx(1.0, rel=1e-12)
    est = ventiler(t, population, ["population"])
    assert est["population"].sum() == pytest.approx(population["population"].sum(), rel=1e-9)
    assert est.set_index("code_zone").loc["reste", "population"] == pytest.approx(700.0, rel=1e-9)


def test_contact_et_eclat(iris):
    # C spills 0.3 m into I2 (15 m² = 0.33 % of C, 0.15 % of I2) and touches I3 along y = 100.
    zones = gpd.GeoDataFrame({"code_zone": ["C"]}, geometry=[box(10, 50, 100.3, 100)], crs=CRS)
    r = Rapport()
    t = intersecter(iris, zones, rapport=r)
    assert t["code_iris"].tolist() == ["130010101"]
    assert t["part_zone"].iloc[0] == pytest.approx(4500 / 4515, rel=1e-12)  # not renormalised
    messages = " ".join(r.to_frame()["message"])
    assert "C×130010102" in messages and "éclat(s) retiré(s)" in messages
    assert "contact(s) de limite de surface nulle" in messages
    t0 = intersecter(iris, zones, part_min=0)
    assert t0["code_iris"].tolist() == ["130010101", "130010102"]
    assert t0["surface_m2"].tolist() == pytest.approx([4500.0, 15.0], rel=1e-9)


def test_grande_zone_garde_les_petits_iris(iris):
    # A zone covering the four IRIS and much more: each IRIS is < 0.5 % of the zone but
    # wholly inside it — not a sliver.
    zones = gpd.GeoDataFrame(
        {"code_zone": ["Z"]}, geometry=[box(-2000, -2000, 2000, 2000)], crs=CRS
    )
    t = intersecter(iris, zones)
    assert len(t) == 4
    assert t["part_iris"].tolist() == [1.0] * 4
    assert t["part_zone"].tolist() == pytest.approx([10000 / 16e6] * 4)


def test_zone_hors_iris_est_une_erreur(iris):
    zones = gpd.GeoDataFrame(
        {"code_zone": ["A", "LOIN"]},
        geometry=[box(0, 0, 10, 10), box(5000, 5000, 5100, 5100)],
        crs=CRS,
    )
    with pytest.raises(ErreurDonnees, match="LOIN"):
        intersecter(iris, zones)


def test_zone_qui_touche_seulement_est_hors_iris(iris):
    zones = gpd.GeoDataFrame({"code_zone": ["T"]}, geometry=[box(200, 0, 300, 100)], crs=CRS)
    with pytest.raises(ErreurDonnees, match="ne recoupent aucun IRIS"):
        intersecter(iris, zones)


def test_crs_differents_reprojetes_et_rapportes(iris, zones, population):
    r = Rapport()
    t = intersecter(iris, zones.to_crs("EPSG:4326"), rapport=r)
    assert "reprojeté de EPSG:4326 en EPSG:2154" in " ".join(r.to_frame()["message"])
    assert t["part_zone"].tolist() == pytest.approx([0.25] * 4 + [1.0], rel=1e-6)


def test_sans_crs_erreur(iris, zones):
    with pytest.raises(ErreurDonnees, match="aucun CRS"):
        intersecter(iris, zones.set_crs(None, allow_override=True))


def test_geometrycollection_reduite_aux_polygones(iris):
    gc = GeometryCollection([box(0, 0, 50, 100), LineString([(0, 0), (150, 150)])])
    zones = gpd.GeoDataFrame({"code_zone": ["G"]}, geometry=[gc], crs=CRS)
    t = intersecter(iris, zones)
    assert t[["code_iris", "part_zone", "part_iris"]].values.tolist() == [["130010101", 1.0, 0.5]]


def test_codes_repetes_ou_absents(iris, zones):
    double = pd.concat([zones, zones], ignore_index=True)
    with pytest.raises(ErreurDonnees, match="codes répétés"):
        intersecter(iris, double)
    with pytest.raises(ErreurDonnees, match="pas de colonne 'code_qpv'"):
        intersecter(iris, zones, code_zone="code_qpv")


def test_colonnes_de_codes_personnalisees_et_entrees_intactes(iris, zones):
    z = zones.rename(columns={"code_zone": "code_qpv"})
    i = iris.rename(columns={"code_iris": "iris"})
    avant = z.copy(), i.copy()
    t = table_poids(i, z, code_zone="code_qpv", code_iris="iris")
    assert {"code_zone", "code_iris"} <= set(t.columns)
    pd.testing.assert_frame_equal(z, avant[0])
    pd.testing.assert_frame_equal(i, avant[1])


def test_geometries_des_morceaux(iris, zones):
    t = intersecter(iris, zones, geometries=True)
    assert isinstance(t, gpd.GeoDataFrame)
    assert np.allclose(t.area.to_numpy(), t["surface_m2"].to_numpy())
    # B shares an edge with I1 (no proper containment): its piece comes from the overlay
    assert t.geometry.iloc[-1].equals(box(0, 0, 50, 100))


def test_methode_inconnue(iris, zones):
    with pytest.raises(ValueError, match="surface"):
        table_poids(iris, zones, methode="volume")


def test_intersection_par_blocs_equals_the_single_call():
    """Threads change the wall time only: every pair is the same GEOS intersection."""
    from observatoire.ponderation.parallele import intersection_par_blocs

    rng = np.random.default_rng(7)
    n = 6_000
    centres = rng.uniform(0, 10_000, (n, 2))
    a = shapely.buffer(
        shapely.points(centres), rng.uniform(50, 300, n), quad_segs=rng.integers(2, 30)
    )
    b = shapely.box(centres[:, 0] - 80, centres[:, 1] - 20, centres[:, 0] + 400, centres[:, 1] + 90)
    seul = shapely.intersection(a, b)
    blocs = intersection_par_blocs(a, b, fils=2)
    assert len(blocs) == n
    assert shapely.equals_exact(seul, blocs, tolerance=0).all()
    assert intersection_par_blocs(a[:0], b[:0], fils=2).shape == (0,)


def test_nombre_fils_reads_the_environment(monkeypatch):
    from observatoire.ponderation.parallele import nombre_fils

    monkeypatch.setenv("OBSERVATOIRE_FILS", "1")
    assert nombre_fils() == 1
    monkeypatch.setenv("OBSERVATOIRE_FILS", "deux")
    with pytest.raises(ValueError, match="OBSERVATOIRE_FILS"):
        nombre_fils()
