"""Population grids: CSV of INSPIRE cell ids (INSEE Filosofi, Eurostat) and vector layers."""

import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from observatoire.chargement import lire_communes, lire_grille
from observatoire.chargement.grille import carres, parser_ids_inspire
from observatoire.rapport import ErreurDonnees, Rapport

ENTETE_FILOSOFI = "idcar_200m,imputed,ind,men,men_pauv,men_1ind,men_coll,men_mais,lcog_geo"


def _csv(tmp_path, lignes, nom="grille.csv"):
    chemin = tmp_path / nom
    chemin.write_text("\n".join(lignes) + "\n", encoding="utf-8")
    return chemin


@pytest.fixture
def filosofi(tmp_path):
    """Three 200 m cells: two side by side, one above the first."""
    return _csv(
        tmp_path,
        [
            ENTETE_FILOSOFI,
            "CRS3035RES200mN2232000E3823000,0,120,50,10,20,30,20,1304713063",
            "CRS3035RES200mN2232000E3823200,1,7,2.5,0.5,1.2,0,2.5,13047",
            "CRS3035RES200mN2232200E3823000,0,0,0,0,0,0,0,13047",
        ],
    )


# --- squares built from the ids --------------------------------------------------------


def test_carreaux_200m_bornes_et_surface_en_3035(filosofi):
    g = lire_grille(filosofi, crs="EPSG:3035")
    assert g.crs.to_epsg() == 3035
    assert g.id_carreau.tolist() == [
        "CRS3035RES200mN2232000E3823000",
        "CRS3035RES200mN2232000E3823200",
        "CRS3035RES200mN2232200E3823000",
    ]
    # (E, N) of the id = lower-left corner, side 200 m
    assert g.bounds.to_numpy().tolist() == [
        [3823000, 2232000, 3823200, 2232200],
        [3823200, 2232000, 3823400, 2232200],
        [3823000, 2232200, 3823200, 2232400],
    ]
    assert g.area.tolist() == [40000.0, 40000.0, 40000.0]


def test_colonnes_filosofi(filosofi):
    g = lire_grille(filosofi)
    assert list(g.columns) == [
        "id_carreau",
        "population",
        "menages",
        "imputed",
        "men_pauv",
        "men_1ind",
        "men_coll",
        "men_mais",
        "geometry",
    ]  # lcog_geo is a list of commune codes, not a quantity
    assert g.population.tolist() == [120.0, 7.0, 0.0]
    assert g.menages.tolist() == [50.0, 2.5, 0.0]
    assert g.imputed.tolist() == [0.0, 1.0, 0.0]
    assert g.men_1ind.tolist() == [20.0, 1.2, 0.0]
    assert all(g[c].dtype == "float64" for c in ["population", "menages", "imputed", "men_pauv"])


def test_reprojection_lambert93_comme_geopandas(filosofi):
    """Same polygons as shapely.box in EPSG:3035 reprojected by geopandas."""
    r = Rapport()
    g = lire_grille(filosofi, rapport=r)
    assert g.crs.to_epsg() == 2154
    attendu = gpd.GeoSeries(
        shapely.box(
            [3823000, 3823200, 3823000],
            [2232000, 2232000, 2232200],
            [3823200, 3823400, 3823200],
            [2232200, 2232200, 2232400],
        ),
        crs="EPSG:3035",
    ).to_crs("EPSG:2154")
    assert shapely.equals_exact(g.geometry.values, attendu.values, tolerance=1e-6).all()
    assert g.area.to_numpy() == pytest.approx(40000, rel=2e-3)  # Lambert-93 is not equal-area
    assert any("reprojeté de EPSG:3035 en EPSG:2154" in e.message for e in r.evenements)


def test_carres_voisins_partagent_leurs_sommets():
    x, y = np.array([3823000, 3823200]), np.array([2232000, 2232000])
    g = carres(x, y, 200, crs_source="EPSG:3035", crs_cible="EPSG:2154")
    a, b = shapely.get_coordinates(g[0]), shapely.get_coordinates(g[1])
    # rings run lower right, upper right, upper left, lower left: the shared edge is exact
    assert a[0].tolist() == b[3].tolist() and a[1].tolist() == b[2].tolist()
    assert shapely.area(shapely.intersection(g[0], g[1])) == 0


def test_carreaux_1km_insee_et_eurostat(tmp_path):
    """RES1km (INSEE) and RES1000m (Eurostat) spell the same 1 km cells."""
    chemin = _csv(
        tmp_path,
        [
            "GRD_ID,T,M,F,Y_LT15",
            "CRS3035RES1000mN2270000E3830000,10,4,6,1",
            "CRS3035RES1kmN2270000E3831000,3,2,1,0",
        ],
        nom="eurostat.csv",
    )
    g = lire_grille(chemin, crs="EPSG:3035")
    assert g.bounds.to_numpy().tolist() == [
        [3830000, 2270000, 3831000, 2271000],
        [3831000, 2270000, 3832000, 2271000],
    ]
    assert g.area.tolist() == [1e6, 1e6]
    assert g.population.tolist() == [10.0, 3.0]
    assert g.menages.isna().all() and g.imputed.isna().all()
    assert g[["m", "f", "y_lt15"]].to_numpy().tolist() == [[4, 6, 1], [2, 1, 0]]


def test_csv_point_virgule_noms_insee_2017(tmp_path):
    chemin = _csv(
        tmp_path,
        [
            "Idcar_200m;I_est_200;Idcar_1km;Ind;Men;Men_pauv",
            "CRS3035RES200mN2029800E4252000;1;CRS3035RES1000mN2029000E4252000;12,5;5;1",
        ],
    )
    g = lire_grille(chemin, crs="EPSG:3035")
    assert g.population.tolist() == [12.5]
    assert g.imputed.tolist() == [1.0]
    assert list(g.columns) == [
        "id_carreau",
        "population",
        "menages",
        "imputed",
        "men_pauv",
        "geometry",
    ]
    assert g.total_bounds.tolist() == [4252000, 2029800, 4252200, 2030000]


def test_parquet_sans_geometrie(tmp_path):
    chemin = tmp_path / "grille.parquet"
    pd.DataFrame({"idcar_200m": ["CRS3035RES200mN2232000E3823000"], "ind": [4]}).to_parquet(chemin)
    g = lire_grille(chemin, crs="EPSG:3035")
    assert g.total_bounds.tolist() == [3823000, 2232000, 3823200, 2232200]
    assert g.population.tolist() == [4.0]


def test_parser_ids_inspire():
    p = parser_ids_inspire(pd.Series(["CRS3035RES200mN2232000E3823000"]))
    assert p.to_numpy().tolist() == [[3823000, 2232000]]
    assert p.attrs == {"crs": 3035, "cote": 200}


def test_grande_grille_vectorisee(tmp_path):
    """250 x 400 cells: counts and squares come out in the order of the file."""
    i, j = np.meshgrid(np.arange(250), np.arange(400), indexing="ij")
    e, n = 3500000 + 200 * i.ravel(), 2100000 + 200 * j.ravel()
    ids = [f"CRS3035RES200mN{b}E{a}" for a, b in zip(e, n, strict=True)]
    pd.DataFrame({"idcar_200m": ids, "ind": np.arange(len(ids))}).to_csv(
        tmp_path / "g.csv", index=False
    )
    g = lire_grille(tmp_path / "g.csv", crs="EPSG:3035")
    assert len(g) == 100_000
    assert g.population.sum() == 100_000 * 99_999 / 2
    assert (g.area == 40000).all()
    assert g.bounds.minx.to_numpy().tolist() == e.tolist()
    assert g.bounds.miny.to_numpy().tolist() == n.tolist()


# --- errors name the file, the column and the line ----------------------------------------


def test_id_malforme(tmp_path):
    chemin = _csv(
        tmp_path,
        [
            "idcar_200m,ind",
            "CRS3035RES200mN2232000E3823000,1",
            "CRS3035RES200mN2232000X3823200,1",
            "3823000-2232000,1",
        ],
    )
    with pytest.raises(ErreurDonnees) as exc:
        lire_grille(chemin)
    message = str(exc.value)
    assert message.startswith(f"{chemin} : colonne idcar_200m : ligne 3 : ")
    assert "'CRS3035RES200mN2232000X3823200' n'est pas un identifiant de carreau INSPIRE" in message
    assert "2 ligne(s) de ce type : [3, 4]" in message


def test_id_vide(tmp_path):
    chemin = _csv(tmp_path, ["idcar_200m,ind", "CRS3035RES200mN2232000E3823000,1", ",2"])
    with pytest.raises(
        ErreurDonnees,
        match="colonne idcar_200m : ligne 3 : '' n'est pas un identifiant de carreau INSPIRE",
    ):
        lire_grille(chemin)


def test_id_en_double(tmp_path):
    chemin = _csv(
        tmp_path,
        [
            "idcar_200m,ind",
            "CRS3035RES200mN2232000E3823000,1",
            "CRS3035RES200mN2232000E3823200,1",
            "CRS3035RES200mN2232000E3823000,5",
        ],
    )
    with pytest.raises(ErreurDonnees) as exc:
        lire_grille(chemin)
    assert str(exc.value) == (
        f"{chemin} : colonne idcar_200m : 1 carreau(x) en double : "
        "'CRS3035RES200mN2232000E3823000' sur ligne(s) [2, 4]"
    )


@pytest.mark.parametrize(
    "autre, attendu",
    [
        (
            "CRS3035RES1000mN2232000E3824000",
            "est un carreau de 1000 m en EPSG:3035, ligne 2 un carreau de 200 m",
        ),
        (
            "CRS2154RES200mN6232000E880000",
            "est un carreau de 200 m en EPSG:2154, ligne 2 un carreau de 200 m en EPSG:3035",
        ),
    ],
)
def test_resolutions_ou_crs_melanges(tmp_path, autre, attendu):
    chemin = _csv(
        tmp_path,
        ["idcar_200m,ind", "CRS3035RES200mN2232000E3823000,1", f"{autre},1"],
    )
    with pytest.raises(ErreurDonnees) as exc:
        lire_grille(chemin)
    assert str(exc.value).startswith(f"{chemin} : colonne idcar_200m : ligne 3 : '{autre}'")
    assert attendu in str(exc.value)


@pytest.mark.parametrize(
    "colonne, valeur, attendu",
    [
        ("ind", "-3", "colonne ind : effectif négatif -3 sur ligne(s) [3]"),
        ("men", "-0.5", "colonne men : effectif négatif -0.5 sur ligne(s) [3]"),
        ("ind", "inf", "colonne ind : effectif manquant ou infini sur ligne(s) [3]"),
        ("ind", "", "colonne ind : effectif manquant ou infini sur ligne(s) [3]"),
        ("men", "douze", "colonne men : ligne 3 : valeur non numérique 'douze' (ligne(s) [3])"),
    ],
)
def test_comptes_invalides(tmp_path, colonne, valeur, attendu):
    valeurs = {"ind": "4", "men": "2"} | {colonne: valeur}
    chemin = _csv(
        tmp_path,
        [
            "idcar_200m,ind,men",
            "CRS3035RES200mN2232000E3823000,1,1",
            f"CRS3035RES200mN2232000E3823200,{valeurs['ind']},{valeurs['men']}",
        ],
    )
    with pytest.raises(ErreurDonnees, match=re.escape(f"{chemin} : {attendu}")):
        lire_grille(chemin)


def test_colonne_id_absente_liste_les_colonnes(tmp_path):
    chemin = _csv(tmp_path, ["code,ind", "a,1"])
    with pytest.raises(ErreurDonnees) as exc:
        lire_grille(chemin)
    assert str(exc.value).startswith(
        f"{chemin} : pas de colonne identifiant de carreau ; attendu : une de ["
    )
    assert str(exc.value).endswith("trouvé : ['code', 'ind']")


def test_colonne_population_absente(tmp_path):
    chemin = _csv(tmp_path, ["idcar_200m,men", "CRS3035RES200mN2232000E3823000,1"])
    with pytest.raises(ErreurDonnees, match="pas de colonne population \\(individus\\)"):
        lire_grille(chemin)


# --- vector layers ----------------------------------------------------------------------


def test_couche_vecteur_colonnes_supplementaires(tmp_path):
    chemin = tmp_path / "grille.gpkg"
    gpd.GeoDataFrame(
        {
            "id": ["CRS3035RES200mN2232000E3823000"],
            "imputed": [1],
            "num_people": [9.0],
            "mean_std_living": [21000.5],
            "nom": ["texte"],
        },
        geometry=[shapely.box(3823000, 2232000, 3823200, 2232200)],
        crs="EPSG:3035",
    ).to_file(chemin)
    g = lire_grille(chemin, crs="EPSG:3035")
    assert list(g.columns) == [
        "id_carreau",
        "population",
        "menages",
        "imputed",
        "mean_std_living",
        "geometry",
    ]
    assert g.iloc[0][["population", "imputed", "mean_std_living"]].tolist() == [9.0, 1.0, 21000.5]
    assert math.isnan(g.menages.iloc[0])


def test_couche_vecteur_population_negative_nomme_la_ligne(tmp_path):
    chemin = tmp_path / "grille.gpkg"
    gpd.GeoDataFrame(
        {"id": ["a", "b"], "ind": [1.0, -2.0]},
        geometry=[shapely.box(0, 0, 200, 200), shapely.box(200, 0, 400, 200)],
        crs="EPSG:2154",
    ).to_file(chemin)
    with pytest.raises(
        ErreurDonnees, match="colonne ind : effectif négatif -2 sur entité\\(s\\) \\[2\\]"
    ):
        lire_grille(chemin)


# --- real data (../shared/data) ---------------------------------------------------------


def _par_commune(grille, communes, colonnes):
    """Sum columns of the cells whose centre lies in each commune."""
    centres = grille.set_geometry(grille.geometry.centroid)
    j = gpd.sjoin(centres, communes[["code_commune", "geometry"]], predicate="within")
    return j.groupby("code_commune")[colonnes].sum()


def test_filosofi2019_san_ouest_provence(donnees):
    g = lire_grille(donnees / "raster/filosofi2019_200m_san_ouest_provence.csv")
    assert len(g) == 2155
    assert g.crs.to_epsg() == 2154
    assert g.population.sum() == pytest.approx(132119.0)
    assert {
        "men_pauv",
        "men_1ind",
        "men_5ind",
        "men_prop",
        "men_fmp",
        "ind_snv",
        "men_surf",
        "men_coll",
        "men_mais",
    } <= set(g.columns)
    assert set(g.imputed.unique()) == {0.0, 1.0}
    assert (g.imputed == 0).sum() == 828
    # men = men_coll + men_mais in every non-imputed cell (PROVENANCE.md, raster/)
    brut = g[g.imputed == 0]
    assert (brut.menages - (brut.men_coll + brut.men_mais)).abs().max() < 1e-9
    communes = lire_communes(donnees / "admin/communes-13-bouches-du-rhone.geojson")
    somme = _par_commune(g, communes, ["population"]).population
    # Istres 42,334 individuals by cell centre: PROVENANCE.md (raster/), measured here the same
    assert somme["13047"] == pytest.approx(42334.0)
    assert somme["13078"] == pytest.approx(8164.0)  # Port-Saint-Louis-du-Rhône


def test_eurostat2021_1km_bouches_du_rhone(donnees):
    g = lire_grille(donnees / "raster/census2021_1km_eurostat_bouches_du_rhone.csv")
    assert len(g) == 6764
    assert (g.m + g.f == g.population).all()
    assert g.population.sum() == pytest.approx(2947166.0)
    assert g.menages.isna().all() and g.imputed.isna().all()
    en_3035 = lire_grille(
        donnees / "raster/census2021_1km_eurostat_bouches_du_rhone.csv", crs="EPSG:3035"
    )
    # the corner columns of the file agree with the ids
    assert (en_3035.bounds.minx == en_3035.x_laea_ll).all()
    assert (en_3035.bounds.miny == en_3035.y_laea_ll).all()
    assert (en_3035.area == 1e6).all()
    communes = lire_communes(donnees / "admin/communes-13-bouches-du-rhone.geojson")
    istres = _par_commune(g, communes, ["population", "f"]).loc["13047"]
    # Istres 44,679 inhabitants, 23,051 women (PROVENANCE.md, raster/), measured here the same
    assert istres.tolist() == [44679.0, 23051.0]
