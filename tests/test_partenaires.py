"""Partner tables: placement by codes, coordinates and geocoded addresses, counts by sex with
the secret, privacy (hand-made territory and a local mock of the batch geocoder)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from serveur_ban import ServeurBan
from shapely import box

from observatoire.partenaires import TablePartenaire, TerritoirePartenaires, traiter_table
from observatoire.partenaires.geocodage import CacheGeocodage, normaliser_adresse, purger_cache

X0, Y0 = 850_000, 6_270_000  # Lambert-93 origin of the hand-made territory


def _b(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


@pytest.fixture
def territoire() -> TerritoirePartenaires:
    # commune 13001 = IRIS A1 | A2, commune 13002 = IRIS B1 | B2, squares of 1 km
    iris = gpd.GeoDataFrame(
        {
            "code_iris": ["130010101", "130010102", "130020101", "130020102"],
            "code_commune": ["13001", "13001", "13002", "13002"],
        },
        geometry=[
            _b(0, 0, 1000, 1000),
            _b(1000, 0, 2000, 1000),
            _b(2000, 0, 3000, 1000),
            _b(3000, 0, 4000, 1000),
        ],
        crs="EPSG:2154",
    )
    # QPV Q across A1/A2; veille V across A2/B1, overlapping Q on [1200, 1500] × [0, 500]
    zones = gpd.GeoDataFrame(
        {
            "code_zone": ["QN01399Z", "VEILLE_V"],
            "nom_zone": ["Quartier Q", "Veille V"],
            "niveau": ["qpv", "veille"],
        },
        geometry=[_b(500, 0, 1500, 500), _b(1200, 0, 2500, 1000)],
        crs="EPSG:2154",
    )
    return TerritoirePartenaires(
        iris=iris,
        zones=zones,
        epci="200000001",
        noms_communes={"13001": "Ville A", "13002": "Ville B"},
        nom_epci="EPCI",
        communes_qpv={"QN01399Z": "13001"},
    )


def _points(n_f, n_h, x1, x2, y1, y2, sexe_inconnu=False):
    n = n_f + n_h
    xs = np.linspace(X0 + x1, X0 + x2, n + 2)[1:-1]
    ys = np.linspace(Y0 + y1, Y0 + y2, n + 2)[1:-1]
    sexes = [""] * n if sexe_inconnu else ["F"] * n_f + ["H"] * n_h
    return [
        {"X": f"{x:.1f}", "Y": f"{y:.1f}", "SEXE": s} for x, y, s in zip(xs, ys, sexes, strict=True)
    ]


ADRESSE_Q = "1 rue des lilas"  # inside Q only (geocoded, score 0.9)
ADRESSE_FAIBLE = "2 chemin perdu"  # score 0.3: never placed
ADRESSE_INCONNUE = "3 impasse x"  # unknown to the geocoder


def _table(tmp_path):
    lignes = []
    lignes += _points(20, 15, 600, 1150, 50, 450)  # R1: Q only (A1/A2)
    lignes += _points(8, 6, 1250, 1450, 50, 450)  # R2: Q ∩ V (A2)
    lignes += _points(12, 3, 1600, 1950, 600, 950)  # R3: V only, A2
    lignes += _points(9, 9, 2100, 2400, 100, 900)  # R4: V, B1
    lignes += _points(25, 25, 100, 400, 600, 950)  # R5: A1 outside zones
    lignes += _points(0, 40, 3100, 3900, 100, 900, True)  # R6: B2, sex unknown
    lignes += _points(5, 5, 9000, 9500, 100, 900)  # outside the territory
    lignes += [{"QPV": "QN01399Z", "SEXE": "F"}] * 5
    lignes += [{"QPV": "QN09999X", "SEXE": "F"}] * 2  # a QPV elsewhere
    lignes += [{"IRIS": "130020102", "SEXE": "H"}] * 30
    lignes += [{"COMMUNE": "13001", "SEXE": "F"}] * 7
    lignes += [{"COMMUNE": "ABC", "SEXE": "H"}] * 1  # not a commune code
    lignes += [{"SEXE": "F"}] * 4  # nothing to place it by
    lignes += [{"ADRESSE": ADRESSE_Q, "VILLE": "Ville A", "CP": "13001", "SEXE": "F"}] * 3
    lignes += [{"ADRESSE": ADRESSE_FAIBLE, "VILLE": "Ville A", "SEXE": "H"}] * 2
    lignes += [{"ADRESSE": ADRESSE_INCONNUE, "VILLE": "Ville B", "SEXE": "H"}] * 1
    t = pd.DataFrame(lignes)
    t.insert(0, "NOM", [f"Personne {i}" for i in range(len(t))])
    chemin = tmp_path / "partenaire.csv"
    t.to_csv(chemin, sep=";", index=False)
    return chemin, len(t)


def _spec(**kw):
    d = dict(
        code="suivis",
        libelle="Personnes suivies",
        partenaire="Partenaire test",
        source="partenaire.csv",
        annee=2025,
        cle=["code_qpv", "code_iris", "code_commune", "coordonnees", "adresse"],
        colonnes={
            "code_qpv": "QPV",
            "code_iris": "IRIS",
            "code_commune": "COMMUNE",
            "x": "X",
            "y": "Y",
            "adresse": "ADRESSE",
            "code_postal": "CP",
            "commune": "VILLE",
        },
        crs="EPSG:2154",
        sexe={"colonne": "SEXE"},
    )
    d.update(kw)
    return TablePartenaire(**d)


def _wgs84(x, y):
    return Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True).transform(X0 + x, Y0 + y)


def _adresses():
    lon, lat = _wgs84(700, 250)
    return {f"{ADRESSE_Q} ville a": (lon, lat, 0.9), f"{ADRESSE_FAIBLE} ville a": (lon, lat, 0.3)}


def _valeurs(ind):
    c = ind[ind["indicateur"] == "nb_suivis"]
    return {(r.territoire_code, r.sexe): (r.valeur, r.statut) for r in c.itertuples()}


def test_comptes_a_la_main(territoire, tmp_path):
    chemin, n = _table(tmp_path)
    with ServeurBan(_adresses()) as ban:
        r = traiter_table(chemin, _spec(), territoire, cache=tmp_path / "cache", url=ban.url)
    v = _valeurs(r.indicateurs)
    # Q = R1 35 + R2 14 + 5 coded + 3 geocoded; V = R2 14 + R3 15 + R4 18
    assert v[("QN01399Z", "ensemble")] == (57, "officiel")
    assert v[("QN01399Z", "F")][0] == 36 and v[("QN01399Z", "H")][0] == 21
    assert v[("VEILLE_V", "ensemble")][0] == 47
    assert v[("VEILLE_V", "F")][0] == 29 and v[("VEILLE_V", "H")][0] == 18
    # commune A: R1 + R2 + R3 + R5 + 5 QPV-coded + 7 commune-coded + 3 geocoded
    assert v[("13001", "ensemble")][0] == 129
    # commune B: R4 18 + R6 40 + 30 IRIS-coded
    assert v[("13002", "ensemble")][0] == 88
    assert v[("200000001", "ensemble")][0] == 217
    b = r.bilan
    assert b["lignes"] == n == 237 and b["placees"] == 217
    assert (
        b["hors_territoire"],
        b["code_inconnu"],
        b["sans_localisation"],
        b["score_faible"],
        b["non_geocodee"],
    ) == (12, 1, 4, 2, 1)
    assert b["chevauchements"] == 14  # R2 counts in the QPV and in the veille zone
    assert b["par_cle"] == {
        "code_qpv": 5,
        "code_iris": 30,
        "code_commune": 7,
        "coordonnees": 172,
        "adresse": 3,
    }


def test_secret_et_complement(territoire, tmp_path):
    chemin, _ = _table(tmp_path)
    with ServeurBan(_adresses()) as ban:
        r = traiter_table(chemin, _spec(), territoire, cache=tmp_path / "c", url=ban.url)
    v = _valeurs(r.indicateurs)
    # women of commune B: 9 < 11 → secret; men of B hidden too (total − women)
    assert v[("13002", "F")] == (np.nan, "secret") or (
        np.isnan(v[("13002", "F")][0]) and v[("13002", "F")][1] == "secret"
    )
    assert v[("13002", "H")][1] == "secret"
    # EPCI women − commune A women would give commune B women: one of them is hidden
    assert "secret" in (v[("200000001", "F")][1], v[("13001", "F")][1])
    ind = r.indicateurs
    assert ind.loc[ind["statut"] == "secret", "valeur"].isna().all()
    publies = ind[ind["statut"] != "secret"]
    assert (publies["valeur"] >= 11).all()


def test_seuil_configurable(territoire, tmp_path):
    chemin, _ = _table(tmp_path)
    with ServeurBan(_adresses()) as ban:
        r = traiter_table(
            chemin, _spec(seuil_secret=5), territoire, cache=tmp_path / "c", url=ban.url
        )
    assert _valeurs(r.indicateurs)[("13002", "F")] == (9, "officiel")


def test_geocodage_cache_et_hors_ligne(territoire, tmp_path):
    chemin, _ = _table(tmp_path)
    spec = _spec(
        cle=["adresse"], colonnes={"adresse": "ADRESSE", "code_postal": "CP", "commune": "VILLE"}
    )
    cache = tmp_path / "cache"
    with ServeurBan(_adresses()) as ban:
        r1 = traiter_table(chemin, spec, territoire, cache=cache, url=ban.url)
        assert ban.journal == [3]  # three distinct addresses sent, once each
        r2 = traiter_table(chemin, spec, territoire, cache=cache, url=ban.url)
        assert ban.journal == [3, 1]  # second run: only the unanswered one again
    assert r1.bilan["geocodage"]["service"] == 2 and r2.bilan["geocodage"]["cache"] == 2
    # offline: the cache places what it knows, the rest is listed, nothing guessed
    r3 = traiter_table(
        chemin, spec, territoire, cache=cache, url="http://127.0.0.1:9/", en_ligne=False
    )
    assert r3.bilan["placees"] == 3 and r3.bilan["non_geocodee"] == 1
    assert r3.bilan["score_faible"] == 2
    # the cache holds normalised addresses → coordinates and score, nothing else
    t = pd.read_csv(CacheGeocodage(cache).chemin)
    assert list(t.columns) == ["cle", "longitude", "latitude", "score"]
    assert normaliser_adresse(ADRESSE_Q, "13001", "Ville A") in set(t["cle"])
    assert purger_cache(cache) == 2 and not CacheGeocodage(cache).chemin.exists()


def test_code_iris_ventile_seulement_si_demande(territoire, tmp_path):
    poids = pd.DataFrame(
        {
            "code_zone": ["VEILLE_V"],
            "code_iris": ["130020101"],
            "poids": [0.3],
            "niveau": ["veille"],
        }
    )
    territoire.poids = poids
    t = pd.DataFrame({"IRIS": ["130020101"] * 40})
    t.to_csv(tmp_path / "p.csv", index=False)
    s = dict(cle="code_iris", colonnes={"code_iris": "IRIS"}, sexe=None)
    r = traiter_table(tmp_path / "p.csv", _spec(**s), territoire, cache=tmp_path)
    v = _valeurs(r.indicateurs)
    assert v[("13002", "ensemble")] == (40, "officiel")
    assert v[("VEILLE_V", "ensemble")][1] == "secret"
    r = traiter_table(tmp_path / "p.csv", _spec(**s, ventiler=True), territoire, cache=tmp_path)
    v = _valeurs(r.indicateurs)
    assert v[("VEILLE_V", "ensemble")] == (12, "estime")


def test_erreurs_nomment_fichier_colonne_ligne(territoire, tmp_path):
    from observatoire.rapport import ErreurDonnees

    pd.DataFrame({"X": ["850100", "abc"], "Y": ["6270100", "6270100"]}).to_csv(
        tmp_path / "p.csv", index=False
    )
    s = _spec(cle="coordonnees", colonnes={"x": "X", "y": "Y"}, sexe=None)
    with pytest.raises(
        ErreurDonnees, match=r"p\.csv : colonne X : pas un nombre \(ligne\(s\) \[3\]"
    ):
        traiter_table(tmp_path / "p.csv", s, territoire, cache=tmp_path)
    with pytest.raises(ErreurDonnees, match=r"colonne\(s\) \['SEXE'\] déclarée"):
        traiter_table(
            tmp_path / "p.csv",
            _spec(cle="coordonnees", colonnes={"x": "X", "y": "Y"}),
            territoire,
            cache=tmp_path,
        )
    with pytest.raises(ValueError, match="cle coordonnees : donner le crs"):
        _spec(cle="coordonnees", colonnes={"x": "X", "y": "Y"}, crs=None)
