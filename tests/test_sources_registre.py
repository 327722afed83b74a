"""Registry, local catalogue and territory lists: validity and resolution to real files."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from observatoire.config import charger_config, chemin_config, configs_disponibles
from observatoire.rapport import ErreurDonnees
from observatoire.sources import (
    TERRITOIRE_DEFAUT,
    charger_catalogue,
    charger_registre,
    charger_territoires,
    chemin_source,
    territoire,
)
from observatoire.sources.registre import sources_officielles_socle, sources_resume

# The source ids of the local store's PROVENANCE.md: every one must be in the shipped catalogue.
IDS_MAGASIN = """
iris_contours_2014_dep13 iris_contours_2020_dep13 iris_contours_2020_france qpv_2024_dep13
qpv_2024_ouest_provence qpv_2015_occitanie qpv_2015_marseille qpv_2024_liste_communes
communes_dep13 departement_13 departements_france epci_2018_france perimetre_san_ouest_provence
arrondissements_dep13 contrats_de_ville_2015 rp2016_iris_population_dep13
rp2016_iris_population_france rp2016_iris_menages_dep13 rp2016_iris_menages_france
rp2016_iris_logement_dep13 rp2016_iris_logement_france rfl_iris_2001_2011_dep13
rfl_iris_2001_2011_france ptod_iris_dep13 ptod_communes_dep13 ptod_departements
ptod_dictionnaire qpv2024_indicateurs_dep13 qpv2024_indicateurs_france
qpv2015_indicateurs_occitanie qpv2015_indicateurs_occitanie_meta insee_emploi_zonages
grille_filosofi2017_marseille grille_filosofi2019_san_ouest_provence grille_eurostat2021_1km_dep13
""".split()


def test_registre_valide_et_couvre_les_familles():
    reg = charger_registre()
    assert len(reg) >= 40
    producteurs = " ".join(s.producteur for s in reg.sources.values())
    for p in ("IGN", "INSEE", "ANCT", "Etalab"):
        assert p in producteurs
    # CONTOURS-IRIS from 2014 to the latest edition, and the WFS for a few communes
    annees = sorted(
        s.millesime for s in reg.sources.values() if s.jeu == "CONTOURS...IRIS" and s.millesime
    )
    assert annees[0] == 2014 and annees[-1] >= 2025
    assert reg["ign_contours_iris_wfs"].acces.type == "wfs"
    assert "{communes_cql}" in reg["ign_contours_iris_wfs"].acces.parametres["CQL_FILTER"]
    for sid in (
        "anct_qpv_2015_perimetres",
        "anct_qpv_2024_perimetres",
        "insee_filosofi2017_carreaux_200m",
        "insee_rp2022_iris_activite",
    ):
        assert reg[sid].acces.url.startswith("https://")
    for s in reg.sources.values():
        assert s.licence and s.format
        if s.acces.type == "fichier":
            assert s.acces.url.startswith("https://"), s.id


def test_registre_id_inconnu_liste_les_ids():
    with pytest.raises(ErreurDonnees, match="id de source inconnu 'nope'.*ign_contours_iris_2020"):
        charger_registre()["nope"]


@pytest.mark.parametrize(
    "entree, message",
    [
        ({"acces": {"type": "fichier"}}, "acces.type 'fichier' demande acces.url"),
        ({"sha256": "ABC"}, "sha256 : .*64 chiffres hexadécimaux minuscules"),
        ({"acces": {"type": "fichier", "url": "ftp://x/y.7z"}}, "pas une URL http"),
        ({"rubrique": "divers"}, "rubrique"),
        ({"champ_inconnu": 1}, "champ_inconnu"),
    ],
)
def test_registre_invalide_message_nomme_fichier_entree_champ(tmp_path, entree, message):
    base = {
        "id": "x_1",
        "producteur": "p",
        "jeu": "j",
        "rubrique": "iris",
        "acces": {"type": "fichier", "url": "https://example.org/a.7z"},
        "format": "7z",
        "licence": "LO",
    }
    chemin = tmp_path / "r.yaml"
    chemin.write_text(yaml.safe_dump({"sources": [{**base, **entree}]}))
    with pytest.raises(ErreurDonnees, match=f"r.yaml : source 'x_1' : .*{message}"):
        charger_registre(chemin)


def test_registre_id_duplique(tmp_path):
    e = {
        "id": "a",
        "producteur": "p",
        "jeu": "j",
        "rubrique": "iris",
        "acces": {"type": "manuel"},
        "page": "https://x.org",
        "format": "csv",
        "licence": "LO",
    }
    chemin = tmp_path / "r.yaml"
    chemin.write_text(yaml.safe_dump({"sources": [e, e]}))
    with pytest.raises(ErreurDonnees, match="id de source en double 'a'"):
        charger_registre(chemin)


def test_catalogue_chemin_absolu_ou_remontant_refuse(tmp_path):
    for mauvais in ("/etc/passwd", "../x.csv", "a/../../x.csv"):
        chemin = tmp_path / "c.yaml"
        chemin.write_text(
            yaml.safe_dump(
                {"sources": {"x": {"chemin": mauvais, "rubrique": "stats", "provenance": "p"}}}
            )
        )
        with pytest.raises(ErreurDonnees, match="source 'x'.*relatif au magasin local"):
            charger_catalogue(chemin)


def test_catalogue_couvre_les_ids_du_magasin_et_renvoie_au_registre():
    cat = charger_catalogue()
    assert sorted(cat.sources) == sorted(IDS_MAGASIN)
    reg = charger_registre()
    for e in cat.sources.values():
        assert e.source_officielle is None or e.source_officielle in reg, e.id
        assert e.sha256 is not None


def test_catalogue_resout_chaque_id_vers_un_fichier_reel(donnees):
    cat = charger_catalogue()
    for sid, e in cat.sources.items():
        p = chemin_source(sid, depuis=donnees)
        assert p == donnees / e.chemin and p.is_file(), sid
        assert hashlib.sha256(p.read_bytes()).hexdigest() == e.sha256, sid


def test_catalogue_couches_gpkg_existent(donnees):
    import pyogrio

    cat = charger_catalogue()
    for e in cat.sources.values():
        if e.couche:
            couches = pyogrio.list_layers(donnees / e.chemin)[:, 0]
            assert e.couche in couches, e.id


def test_catalogue_crs_conforme_aux_fichiers(donnees):
    import pyogrio

    cat = charger_catalogue()
    for e in cat.sources.values():
        if e.crs and e.chemin.endswith((".geojson", ".gpkg")):
            crs = pyogrio.read_info(donnees / e.chemin, layer=e.couche)["crs"]
            assert crs == e.crs or (e.crs == "EPSG:4326" and crs == "OGC:CRS84"), (e.id, crs)


def test_chemin_source_depuis_id_inconnu_ou_fichier_absent(tmp_path, donnees):
    with pytest.raises(ErreurDonnees, match="'nope' n'est pas dans le catalogue 'shared_data'"):
        chemin_source("nope", depuis=donnees)
    with pytest.raises(ErreurDonnees, match="introuvable dans le magasin local"):
        chemin_source("communes_dep13", depuis=tmp_path)


def test_catalogue_local_du_magasin_prioritaire(tmp_path):
    (tmp_path / "mes_iris.geojson").write_text("{}")
    (tmp_path / "catalogue.yaml").write_text(
        yaml.safe_dump(
            {
                "nom": "cellule_sig",
                "sources": {
                    "iris_contours_2020_dep13": {
                        "chemin": "mes_iris.geojson",
                        "rubrique": "iris",
                        "provenance": "SIG de la collectivité",
                    }
                },
            }
        )
    )
    assert (
        chemin_source("iris_contours_2020_dep13", depuis=tmp_path) == tmp_path / "mes_iris.geojson"
    )


def test_territoires_ids_connus():
    reg, cat = charger_registre(), charger_catalogue()
    terrs = charger_territoires()
    assert sorted(terrs) == configs_disponibles()  # the territories are the shipped configs
    for nom, t in terrs.items():
        assert set(t.sources_officielles) <= set(reg.sources), nom
        assert set(t.sources_locales) <= set(cat.sources) | set(reg.sources), nom
        assert set(sources_resume().values()) <= set(t.sources_locales), nom
        assert set(sources_officielles_socle()) <= set(t.sources_officielles), nom
    for nom in ("san_ouest_provence", "pays_de_martigues"):
        assert set(terrs[nom].sources_locales) <= set(cat.sources), nom
    t = territoire()
    assert t == terrs[TERRITOIRE_DEFAUT]
    assert t.communes == ["13047", "13063", "13078", "13039", "13044", "13029"]
    assert t.departement == "13" and t.id == "san_ouest_provence"
    # the ids of the configuration, the grid included, are fetched with --from
    assert set(charger_config().ids_sources) <= set(t.sources_locales)
    assert "grille_filosofi2019_san_ouest_provence" in t.sources_locales


def test_territoire_officiel_telecharge_les_ids_de_sa_config():
    t = territoire("san_ouest_provence_officiel")
    ids = charger_config("san_ouest_provence_officiel").ids_sources
    assert ids and set(ids) <= set(t.sources_officielles)
    assert t.sources_officielles[: len(ids)] == ids


def test_territoire_depuis_config_du_paquet():
    t = territoire(config="pays_de_martigues")
    assert t == territoire("pays_de_martigues")
    assert t.communes == ["13056", "13077", "13098"]
    assert "iris_contours_2014_dep13" in t.sources_locales
    assert set(t.sources_locales) <= set(charger_catalogue().sources)
    with pytest.raises(ErreurDonnees, match="fichier de configuration introuvable : inexistant"):
        territoire(config="inexistant")
    with pytest.raises(ErreurDonnees, match="territoire inconnu 'inexistant'.*pays_de_martigues"):
        territoire("inexistant")
    with pytest.raises(ErreurDonnees, match="donnés tous les deux"):
        territoire("pays_de_martigues", config="pays_de_martigues")


def test_territoire_lu_par_les_modeles_de_la_config(tmp_path):
    """A territory file is read like a run configuration: same keys, same path/id rule."""
    d = yaml.safe_load(chemin_config("pays_de_martigues").read_text(encoding="utf-8"))
    d["sources"]["revenus_iris"] = "tables/rfl.csv"  # a path: not fetched
    d["sources"]["dictionnaire"] = {"source": "dictionnaire.xlsx"}  # a path: not fetched
    d["qpv"]["perimetres"].append({"source": "qpv_2015_marseille", "generation": 2015})
    p = tmp_path / "terr.yaml"
    p.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    t = territoire(config=p)
    assert t.communes == ["13056", "13077", "13098"] and t.id == "pays_de_martigues"
    assert "qpv_2015_marseille" in t.sources_locales
    assert "rfl_iris_2001_2011_dep13" not in t.sources_locales
    assert not {"tables/rfl.csv", "dictionnaire.xlsx"} & set(t.sources_locales)
    # errors name the file and the key
    d["ponderation"]["methode"] = "lineaire"
    p.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ErreurDonnees, match=r"terr.yaml : ponderation.methode : reçu 'lineaire'"):
        territoire(config=p)


def test_catalogue_communes_couvertes(tmp_path):
    e = charger_catalogue()["grille_filosofi2019_san_ouest_provence"]
    assert e.communes_couvertes == territoire().communes
    chemin = tmp_path / "c.yaml"
    entree = {"chemin": "g.csv", "rubrique": "grille", "provenance": "p"}
    chemin.write_text(
        yaml.safe_dump({"sources": {"g": {**entree, "communes_couvertes": ["13047", "1347"]}}})
    )
    with pytest.raises(ErreurDonnees, match="source 'g' : communes_couvertes.*'1347'"):
        charger_catalogue(chemin)
