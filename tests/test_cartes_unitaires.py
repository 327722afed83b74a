"""Maps and sheets without a browser: classes, escaping, offline assets, geometry, files."""

from __future__ import annotations

import json
import re

import pytest
import shapely
from cartes_aides import MALVEILLANT, codebook, ecarts, geometries, indicateurs, poids
from click.testing import CliRunner

from observatoire.cartes import (
    carte_ecarts,
    carte_indicateurs,
    couches_web,
    fiche_quartier,
    generer_cartes,
    generer_fiches,
    generer_index,
)
from observatoire.cartes.actifs import leaflet_css, leaflet_js, verifier_hors_ligne
from observatoire.cartes.classes import CLASSE_MANQUANT, CLASSE_SECRET, calculer_bornes
from observatoire.cartes.legende import palette_sequentielle
from observatoire.cartes.simplification import simplifier_couverture
from observatoire.rapport import ErreurDonnees


@pytest.fixture(scope="module")
def couches():
    return couches_web(geometries())


def _donnees(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="obs-donnees">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_bornes_communes_aux_millesimes(couches):
    html16 = carte_indicateurs(
        indicateurs(), couches, 2016, codebook=codebook(), k=3, schema="intervalles_egaux"
    )
    html22 = carte_indicateurs(
        indicateurs(), couches, 2022, codebook=codebook(), k=3, schema="intervalles_egaux"
    )
    d16, d22 = _donnees(html16), _donnees(html22)
    ch16 = next(i for i in d16["indicateurs"] if i["id"] == "taux_chomage_1564")
    ch22 = next(i for i in d22["indicateurs"] if i["id"] == "taux_chomage_1564")
    # pooled values 8, 12, 18, 20, 25, 30 -> equal intervals of (30 - 8) / 3
    assert ch16["couleurs"] == ch22["couleurs"]
    assert ch16["valeurs"]["130980001"][0] == 0  # 8 %
    assert ch16["valeurs"]["130990001"][0] == 2  # 30 %
    assert ch22["valeurs"]["130990001"][0] == 2  # 25 % > 22.67
    assert ch22["valeurs"]["130990002"][0] == 1  # 18 %
    assert ch22["valeurs"]["130990003"][0] == CLASSE_SECRET
    assert ch22["valeurs"]["130980001"][0] == CLASSE_MANQUANT
    # secret/missing: own pattern fill, never black, never the lowest class colour
    bas = palette_sequentielle(3)[0]
    for c in (str(CLASSE_SECRET), str(CLASSE_MANQUANT)):
        assert ch22["couleurs"][c].startswith("url(#obs-motif-")
        assert ch22["couleurs"][c] != bas and "#000" not in ch22["couleurs"][c]
    # bornes par année: 2022 alone is 18, 25
    d = _donnees(
        carte_indicateurs(
            indicateurs(), couches, 2022, codebook=codebook(), k=3, bornes_par_annee=True
        )
    )
    ch = next(i for i in d["indicateurs"] if i["id"] == "taux_chomage_1564")
    assert len([k for k in ch["couleurs"] if int(k) >= 0]) == 2


def test_bornes_manuelles_et_schemas():
    assert calculer_bornes([1, 5, 12], "quantiles", k=3).tolist()[-1] == 12.0
    assert calculer_bornes([], "fisher_jenks").size == 0
    with pytest.raises(ErreurDonnees, match="valides : fisher_jenks"):
        calculer_bornes([1.0], "jenks")


def test_infobulle_valeurs_references_et_ecarts(couches):
    d = _donnees(carte_indicateurs(indicateurs(), couches, 2016, codebook=codebook()))
    ch = next(i for i in d["indicateurs"] if i["id"] == "taux_chomage_1564")
    lignes = dict(ch["valeurs"]["130990001"][1])
    assert lignes["Valeur"] == "30,0\u202f%"
    assert lignes["Commune (Villeneuve)"] == "17,0\u202f%"
    assert lignes["Département (Bouches-du-Rhône)"] == "14,0\u202f%"
    assert lignes["Statut"] == "officiel"
    d = _donnees(
        carte_ecarts(
            ecarts(), couches, 2016, "commune", indicateurs=indicateurs(), codebook=codebook()
        )
    )
    ch = next(i for i in d["indicateurs"] if i["id"] == "taux_chomage_1564")
    q = dict(ch["valeurs"]["QN01399M"][1])
    assert q["Écart"] == "+10,5\u00a0pts"  # 27.5 - 17.0
    assert ch["valeurs"]["QN01399M"][0] < 0  # unfavourable (higher unemployment)
    assert ch["valeurs"]["V_GARE"][0] > 0  # 8.0 vs Bourg 11.0: favourable


def test_echappement_html(couches):
    pages = [
        carte_indicateurs(indicateurs(), couches, 2016, codebook=codebook()),
        fiche_quartier(
            "QN01399M",
            indicateurs(),
            couches,
            2016,
            ecarts=ecarts(),
            poids=poids(),
            codebook=codebook(),
        ),
    ]
    for html in pages:
        assert MALVEILLANT not in html
        assert "onerror=alert(1)>" not in html.replace("&gt;", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[0]


def test_pages_hors_ligne(couches):
    html = carte_indicateurs(indicateurs(), couches, 2016, codebook=codebook(), tuiles="osm")
    verifier_hors_ligne(html)
    assert "<script src" not in html and "<link" not in html
    assert leaflet_js()[:200] in html
    assert "url(images/" not in leaflet_css() and "data:image/png;base64," in leaflet_css()
    with pytest.raises(ErreurDonnees, match="ressource distante"):
        verifier_hors_ligne('<link rel="stylesheet" href="https://cdn.example/leaflet.css">')


def test_simplification_garde_les_frontieres_communes():
    import geopandas as gpd

    zig = shapely.Polygon([(0, 0), (50, 0), (50, 30), (53, 31), (50, 32), (50, 100), (0, 100)])
    droite = shapely.Polygon(
        [(50, 0), (100, 0), (100, 100), (50, 100), (50, 32), (53, 31), (50, 30)]
    )
    g = gpd.GeoDataFrame(geometry=[zig, droite], crs=2154)
    s = simplifier_couverture(g, 5)
    a, b = s.geometry
    assert a.intersection(b).area == pytest.approx(0, abs=1e-9)
    assert a.union(b).area == pytest.approx(10000)
    assert shapely.get_num_coordinates(a) < shapely.get_num_coordinates(zig)


def test_generation_fichiers_et_index(tmp_path, couches):
    cartes = generer_cartes(indicateurs(), ecarts(), couches, tmp_path, codebook=codebook())
    fiches = generer_fiches(
        indicateurs(), ecarts(), couches, tmp_path, poids=poids(), codebook=codebook()
    )
    noms = sorted(p.relative_to(tmp_path).as_posix() for p in cartes + fiches)
    assert "2016/carte_indicateurs.html" in noms and "2022/ecarts_departement.html" in noms
    assert "2022/fiches/QN01399M.html" in noms and "2022/fiches/V_GARE.html" in noms
    index = generer_index(tmp_path)
    texte = index.read_text()
    for n in noms:
        assert f'href="{n}"' in texte
    assert not list(tmp_path.rglob("*.tmp"))


def test_fiche_composition_et_population(couches):
    html = fiche_quartier(
        "QN01399M",
        indicateurs(),
        couches,
        2022,
        ecarts=ecarts(),
        poids=poids(),
        codebook=codebook(),
    )
    assert "130990001" in html and "50,0\u202f%" in html and "0,300" in html
    assert "1\u202f800\u00a0habitants" in html and "ponderation_surface" in html
    assert "@page { size: A4" in html
    with pytest.raises(ValueError, match="absente des couches de la carte"):
        fiche_quartier("XX", indicateurs(), couches, 2022)


def test_colonnes_manquantes(couches):
    with pytest.raises(ErreurDonnees, match=r"indicateurs : colonne\(s\) manquante"):
        carte_indicateurs(indicateurs().drop(columns="statut"), couches, 2016)


def test_couches_de_zones_au_schema_des_zones():
    import geopandas as gpd

    from observatoire.cartes import Geometries

    def couche(colonnes):
        return gpd.GeoDataFrame(colonnes, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:2154")

    iris = couche({"code_iris": ["130990001"]})
    with pytest.raises(
        ErreurDonnees, match=r"veille : colonne\(s\) manquante\(s\) \['code_zone'\]"
    ):
        Geometries(iris=iris, veille=couche({"code": ["V1"]})).zones()
    with pytest.raises(ErreurDonnees, match=r"zones : colonne\(s\) manquante\(s\) \['niveau'\]"):
        Geometries(iris=iris, zones_territoire=couche({"code_zone": ["V1"]})).zones()
    z = Geometries(iris=iris, veille=couche({"code_zone": ["V1"], "nom_zone": [None]})).zones()
    assert z[["code", "nom", "niveau"]].values.tolist() == [["V1", "V1", "veille"]]


def test_cli_aide():
    from observatoire.cli import main

    r = CliRunner()
    for cmd in ("maps", "fiches"):
        res = r.invoke(main, [cmd, "--help"])
        assert res.exit_code == 0 and "--indicateurs" in res.output


def test_cli_maps(tmp_path):
    from observatoire.cli import main

    g = geometries()
    g["iris"].to_file(tmp_path / "iris.gpkg")
    g["qpv"].drop(columns="communes").to_file(tmp_path / "qpv.gpkg")
    indicateurs().to_csv(tmp_path / "ind.csv", index=False)
    ecarts().to_csv(tmp_path / "ecarts.csv", index=False)
    res = CliRunner().invoke(
        main,
        [
            "maps",
            "--indicateurs",
            str(tmp_path / "ind.csv"),
            "--ecarts",
            str(tmp_path / "ecarts.csv"),
            "--iris",
            str(tmp_path / "iris.gpkg"),
            "--qpv",
            str(tmp_path / "qpv.gpkg"),
            "--out",
            str(tmp_path / "sortie"),
            "--years",
            "2016",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sortie" / "2016" / "carte_indicateurs.html").is_file()
    assert (tmp_path / "sortie" / "index.html").is_file()


def test_contours_qpv_2015_tirets_et_veille_pointilles():
    import geopandas as gpd
    import pandas as pd

    g = geometries()
    q15 = gpd.GeoDataFrame(
        {
            "code_zone": ["QP013099"],
            "nom_zone": ["Ancien quartier"],
            "generation": [2015],
            "communes": [["13099"]],
        },
        geometry=[shapely.box(860100, 6270100, 860900, 6270900)],
        crs="EPSG:2154",
    )
    g["qpv"] = pd.concat([g["qpv"], q15], ignore_index=True)
    d = _donnees(carte_indicateurs(indicateurs(), couches_web(g), 2016, codebook=codebook()))
    styles = {c["id"]: c["style"] for c in d["contours"]}
    assert "dashArray" not in styles["qpv2024"]
    assert styles["qpv2015"]["dashArray"] == "7 5"
    assert styles["veille"]["dashArray"].startswith("1 ")
    noms = {
        c["id"]: [f["properties"]["nom"] for f in c["geojson"]["features"]]
        for c in d["contours"]
        if c["recherche"]
    }
    assert noms["qpv2015"] == ["Ancien quartier"] and noms["veille"] == ["Quartier de la gare"]


def test_ecarts_iris_dans_l_infobulle_ligne_officielle_d_abord(couches):
    import pandas as pd

    base = {
        "territoire_code": "130990001",
        "niveau": "iris",
        "indicateur": "taux_chomage_1564",
        "sexe": "ensemble",
        "annee": 2016,
        "reference_niveau": "commune",
        "reference_code": "13099",
        "reference_valeur": 17.0,
        "reference_statut": "officiel",
        "ratio": 1.0,
        "lecture": "",
        "statut": "estime",
    }
    e = pd.DataFrame(
        [
            {**base, "valeur": 116.0, "ecart_points": 99.0, "valeur_statut": "estime"},
            {**base, "valeur": 30.0, "ecart_points": 13.0, "valeur_statut": "officiel"},
        ]
    )
    d = _donnees(carte_indicateurs(indicateurs(), couches, 2016, ecarts=e, codebook=codebook()))
    ch = next(i for i in d["indicateurs"] if i["id"] == "taux_chomage_1564")
    assert dict(ch["valeurs"]["130990001"][1])["Écart à la commune"] == "+13,0\u00a0pts"


def test_notes_par_zone(tmp_path, couches):
    chemins = generer_fiches(
        indicateurs(),
        ecarts(),
        couches,
        tmp_path,
        annees=[2016],
        codebook=codebook(),
        notes={"V_GARE": ["Périmètre approché : IRIS La Gare entier."]},
    )
    textes = {p.stem: p.read_text() for p in chemins}
    assert "Périmètre approché : IRIS La Gare entier." in textes["V_GARE"]
    assert "Périmètre approché" not in textes["QN01399M"]
