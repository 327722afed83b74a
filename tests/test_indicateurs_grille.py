"""Grid indicators: cell-area shares, imputed cells, the 11-household rule (hand-made grids)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from observatoire.indicateurs import charger_codebook
from observatoire.indicateurs.grille import METHODE_GRILLE, indicateurs_grille
from observatoire.ponderation.carroyage import sommes_grille

CB = charger_codebook().selection(
    ["fil_part_menages_pauvres", "fil_nombre_menages", "fil_niveau_vie_moyen"]
)


def _grille():
    # three 200 m cells side by side; the third is imputed by the producer
    return gpd.GeoDataFrame(
        {
            "population": [100.0, 50.0, 20.0],
            "menages": [40.0, 20.0, 10.0],
            "men_pauv": [10.0, 2.0, 5.0],
            "ind_snv": [1.5e6, 1.0e6, 0.3e6],
            "imputed": [0.0, 0.0, 1.0],
        },
        geometry=[box(0, 0, 200, 200), box(200, 0, 400, 200), box(400, 0, 600, 200)],
        crs="EPSG:2154",
    )


def test_parts_de_surface_a_la_main():
    # zone: all of cell 1, half of cell 2
    z = gpd.GeoDataFrame({"code": ["Z"]}, geometry=[box(0, 0, 300, 200)], crs="EPSG:2154")
    t = indicateurs_grille(_grille(), {"qpv": z}, annee=2019, codebook=CB)
    v = t.set_index("indicateur")
    assert v.loc["fil_nombre_menages", "valeur"] == pytest.approx(40 + 10)
    # ratio of sums: (10 + 1) / (40 + 10), never a mean of cell ratios
    assert v.loc["fil_part_menages_pauvres", "valeur"] == pytest.approx(100 * 11 / 50)
    assert v.loc["fil_niveau_vie_moyen", "valeur"] == pytest.approx(2.0e6 / 125)
    assert set(t["methode"]) == {METHODE_GRILLE} and set(t["statut"]) == {"estime"}
    assert (t["part_imputee"] == 0).all()


def test_carreaux_imputes():
    z = gpd.GeoDataFrame({"code": ["Z"]}, geometry=[box(200, 0, 600, 200)], crs="EPSG:2154")
    t = indicateurs_grille(_grille(), {"veille": z}, annee=2019, codebook=CB)
    # 10 of its 30 households are in the imputed cell
    assert t["part_imputee"].iloc[0] == pytest.approx(1 / 3)
    assert "33 % des ménages dans des carreaux imputés" in t["note"].iloc[0]


def test_moins_de_11_menages_secret():
    z = gpd.GeoDataFrame(
        {"code": ["P", "G"]}, geometry=[box(400, 0, 600, 200), box(0, 0, 600, 200)], crs="EPSG:2154"
    )
    t = indicateurs_grille(_grille(), {"qpv": z}, annee=2019, codebook=CB)
    p = t[t["territoire_code"] == "P"]
    assert (p["statut"] == "secret").all() and p["valeur"].isna().all()
    assert p["numerateur"].isna().all()
    g = t[t["territoire_code"] == "G"]
    assert (g["statut"] == "estime").all() and g["valeur"].notna().all()


def test_cellule_manquante_jamais_somme_partielle():
    g = _grille()
    g.loc[1, "men_pauv"] = np.nan
    z = gpd.GeoDataFrame({"code": ["Z"]}, geometry=[box(0, 0, 300, 200)], crs="EPSG:2154")
    s = sommes_grille(g, z, ["men_pauv", "menages"])
    assert np.isnan(s.loc["Z", "men_pauv"]) and s.loc["Z", "menages"] == 50


def test_grille_reelle_port_saint_louis(donnees):
    from observatoire.chargement import lire_grille, lire_qpv

    g = lire_grille(donnees / "raster/filosofi2019_200m_san_ouest_provence.csv")
    q = lire_qpv(donnees / "qpv/qpv2024_istres_miramas_psl_anct_simplifie.geojson")
    z = gpd.GeoDataFrame(
        {"code": q["code_zone"].to_numpy()}, geometry=q.geometry.to_numpy(), crs=q.crs
    )
    t = indicateurs_grille(
        g,
        {"qpv": z},
        annee=2019,
        codebook=charger_codebook().selection(
            ["fil_part_menages_1personne", "fil_part_menages_pauvres"]
        ),
    )
    v = t.set_index(["indicateur", "territoire_code"])["valeur"]
    un = (
        v.loc["fil_part_menages_1personne"]
        .loc[["QN01365M", "QN01366I", "QN01367M", "QN01371N"]]
        .round(1)
        .tolist()
    )
    assert un == [34.1, 30.1, 31.4, 39.6]
    # official one-person share of QN01371N (ANCT QPV 2024 table): 44.4 %
    assert abs(v.loc[("fil_part_menages_1personne", "QN01371N")] - 44.4) < 6
    pauvres = v.loc["fil_part_menages_pauvres"]
    assert pauvres.between(24, 37).all()
    assert isinstance(t, pd.DataFrame)
