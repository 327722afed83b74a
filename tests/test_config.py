"""Territory configuration: schema errors name the key and the expected form; data checks."""

from __future__ import annotations

import copy

import pytest
import yaml
from aides_run import config_chemins, dict_chemins

from observatoire.config import (
    ErreurConfig,
    charger_config,
    chemin_config,
    config_depuis_dict,
    configs_disponibles,
)


def _base():
    return yaml.safe_load(chemin_config("san_ouest_provence").read_text(encoding="utf-8"))


def _erreur(d) -> str:
    with pytest.raises(ErreurConfig) as exc:
        config_depuis_dict(d, origine="t.yaml")
    return str(exc.value)


def test_configs_livrees():
    assert {"san_ouest_provence", "pays_de_martigues"} <= set(configs_disponibles())


def test_san_ouest_provence_contenu():
    c = charger_config()
    assert c.code == "san_ouest_provence"
    assert c.codes_communes == ["13029", "13039", "13044", "13047", "13063", "13078"]
    assert c.codes_qpv == ["QN01365M", "QN01366I", "QN01367M", "QN01371N"]
    assert {q.generation for q in c.qpv.liste} == {2024}
    assert c.sources["iris"].source == "iris_contours_2014_dep13"
    assert c.sources["iris"].edition == 2014
    veille = {v.code: v for v in c.veille}
    assert set(veille["VEILLE_ECHOPPES"].iris) == {"130470106", "130470102"}
    assert "130470111" in " ".join(veille["VEILLE_ECHOPPES"].notes)  # Bardin: said, not placed
    assert veille["VEILLE_CENTRE_MIRAMAS"].iris == {"130630106": 1.0}
    assert set(veille["VEILLE_MOLIERES"].iris) == {"130630105", "130630103", "130630102"}
    assert veille["VEILLE_MOLIERES"].moins == ["QN01367M"]
    assert veille["VEILLE_VAUBAN"].iris == {"130780103": 1.0}
    assert veille["VEILLE_VAUBAN"].chevauchements == "signaler"
    assert veille["VEILLE_CROIZAT"].iris == {"130780102": 1.0}
    assert veille["VEILLE_CROIZAT"].statut == "approximation"
    assert c.annees == "all" and c.indicateurs == "all"
    assert c.niveaux_comparaison == ["commune", "epci", "departement", "france"]


def test_martigues_tout_qpv():
    c = charger_config("pays_de_martigues")
    assert c.qpv.liste == "all" and c.codes_qpv is None
    assert c.codes_communes == ["13056", "13077", "13098"]


@pytest.mark.parametrize(
    ("modif", "attendu"),
    [
        (lambda d: d.update(veile=[]), "veile : clé inconnue"),
        (
            lambda d: d["qpv"]["liste"].__setitem__(0, "QN0136"),
            "qpv.liste[0].code : 'QN0136' n'est pas un code QPV (attendu : 'QN' ou 'QP' + 6 "
            "caractères",
        ),
        (
            lambda d: d["veille"][0]["iris"].__setitem__(0, "1304701"),
            "veille[0].iris : '1304701' n'est pas un code IRIS",
        ),
        (
            lambda d: d["veille"][0]["iris"].__setitem__(0, "1304701X6"),
            "veille[0].iris : '1304701X6' n'est pas un code IRIS (attendu : 9 caractères",
        ),
        (
            lambda d: d["veille"][1].update(iris={"130630106": 1.5}),
            "part de l'IRIS 130630106 : 1.5 n'est pas dans ]0, 1]",
        ),
        (
            lambda d: d.update(annees=[2016, 1850]),
            "annees : [1850] ne sont pas des millésimes du recensement",
        ),
        (lambda d: d.update(annees="toutes"), "annees : "),
        (
            lambda d: d["veille"][0].update(commune="13056"),
            "veille[0] (VEILLE_ECHOPPES) : la commune 13056 n'est pas membre de l'EPCI",
        ),
        (
            lambda d: d["veille"][2].update(moins=["QN09999X"]),
            "moins : 'QN09999X' n'est ni un QPV de qpv.liste ni une zone de veille",
        ),
        (
            lambda d: d["veille"][0].update(perimetre="x.gpkg"),
            "donner exactement une des clés 'perimetre' (un fichier) ou 'iris'",
        ),
        (
            lambda d: d["ponderation"].update(methode="areal"),
            "ponderation.methode : reçu 'areal', attendu : une valeur parmi 'surface', "
            "'dasymetric' ou 'calibrated'",
        ),
        (lambda d: d["ponderation"].update(part_min=2), "ponderation.part_min : reçu 2"),
        (lambda d: d["sources"].update(irsi="x.gpkg"), "rôle(s) de source inconnu(s) ['irsi']"),
        (
            lambda d: d.update(code="SAN Ouest"),
            "code : 'SAN Ouest' n'est pas un code de territoire",
        ),
        (
            lambda d: d["epci"].update(code="2413"),
            "epci.code : '2413' n'est pas un code SIREN d'EPCI",
        ),
        (lambda d: d.pop("epci"), "epci : clé obligatoire absente"),
        (lambda d: d["sorties"].update(formats=["csv", "shp"]), "sorties.formats[1] : reçu 'shp'"),
        (lambda d: d["qpv"]["liste"].append("QN01365M"), "QPV cités deux fois : ['QN01365M']"),
        (
            lambda d: d["qpv"]["liste"].append("QP013040"),
            "d'une génération sans fichier de périmètres",
        ),
        (
            lambda d: d.update(niveaux_comparaison=["commune", "region"]),
            "niveaux_comparaison[1] : reçu 'region'",
        ),
    ],
)
def test_erreurs_nomment_la_cle(modif, attendu):
    d = _base()
    modif(d)
    msg = _erreur(d)
    assert msg.startswith("configuration invalide t.yaml")
    assert attendu in msg


def test_code_sans_zero_et_entiers_yaml():
    d = _base()
    d["epci"]["communes"] = {
        13047: "Istres",
        13063: "Miramas",
        13078: "PSL",
        13039: "Fos",
        13044: "Grans",
        13029: "Cornillon",
    }
    d["veille"][0]["iris"] = [130470106, 130470102]
    c = config_depuis_dict(d)
    assert "13047" in c.epci.communes and set(c.veille[0].iris) == {"130470106", "130470102"}


def test_plusieurs_erreurs_une_ligne_chacune():
    d = _base()
    d["qpv"]["liste"][0] = "X"
    d["annees"] = [1800]
    msg = _erreur(d)
    assert "qpv.liste[0].code" in msg and "annees" in msg and msg.count("\n") >= 2


def test_yaml_invalide_et_fichier_absent(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("code: [unclosed\n", encoding="utf-8")
    with pytest.raises(ErreurConfig, match="erreur de syntaxe YAML"):
        charger_config(p)
    with pytest.raises(ErreurConfig, match="fichier de configuration introuvable : nulle_part"):
        charger_config("nulle_part")
    p.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ErreurConfig, match="à la racine, attendu : un dictionnaire YAML"):
        charger_config(p)


# -- checks that need data ---------------------------------------------------------------------


def _preparer(donnees, d, **kw):
    from observatoire.run.verification import preparer_run

    return preparer_run(config_depuis_dict(d, origine="t.yaml"), **kw)


def test_preparation_san(donnees):
    from observatoire.rapport import Rapport
    from observatoire.run.verification import preparer_run

    r = Rapport()
    p = preparer_run(config_chemins(donnees), rapport=r)
    assert p.annees == [2011, 2016, 2022] == p.annees_disponibles
    assert sorted(p.qpv["code_zone"]) == ["QN01365M", "QN01366I", "QN01367M", "QN01371N"]
    # 17 Istres + 10 Miramas + 4 PSL + 8 Fos + Grans + Cornillon
    assert len(p.iris_territoire) == 41
    msgs = [e.message for e in r.evenements if e.niveau == "avertissement"]
    # IRIS edition ~2014 is not the statistics' edition: said.
    assert any(
        "édition 2014 de la géographie IRIS" in m and "2016" in m and "2020" in m for m in msgs
    )
    # EPCI population missing from the type-H count tables (P16_POP of ptod).
    assert any("6,840 des 99,092 habitants (2016)" in m for m in msgs)


def test_preparation_martigues_toutes_les_qpv(donnees):
    from observatoire.run.verification import preparer_run

    p = preparer_run(config_chemins(donnees, "pays_de_martigues"))
    assert sorted(p.qpv["code_zone"]) == [
        "QN01320I",
        "QN01321I",
        "QN01322M",
        "QN01323I",
        "QN01324M",
        "QN01370N",
    ]


def test_qpv_inconnu(donnees):
    d = dict_chemins(donnees)
    d["qpv"]["liste"][1] = {"code": "QN01399X", "commune": "13063"}
    with pytest.raises(
        ErreurConfig,
        match=r"qpv.liste\[1\].code : QN01399X n'est pas dans le ou les fichiers de périmètres "
        r"des QPV 2024 qpv.perimetres\[0\]",
    ):
        _preparer(donnees, d)


def test_iris_absent_de_la_geographie(donnees):
    d = dict_chemins(donnees)
    d["veille"][1]["iris"] = ["130630199"]
    with pytest.raises(
        ErreurConfig,
        match=r"veille\[1\] \(VEILLE_CENTRE_MIRAMAS\).iris : "
        r"\['130630199'\] absents de la géographie IRIS",
    ):
        _preparer(donnees, d)


def test_iris_d_une_autre_commune(donnees):
    d = dict_chemins(donnees)
    d["veille"][1]["iris"] = ["130470107"]  # Le Prépaou is in Istres, not Miramas
    with pytest.raises(
        ErreurConfig, match="sont dans la ou les commune.*13047.*pas dans veille.*13063"
    ):
        _preparer(donnees, d)


def test_fichier_manquant(donnees, tmp_path):
    d = dict_chemins(donnees)
    d["sources"]["qpv_officiel"] = str(tmp_path / "absent.csv")
    with pytest.raises(
        ErreurConfig, match="sources.qpv_officiel : fichier introuvable : .*absent.csv"
    ):
        _preparer(donnees, d)


def test_annee_indisponible(donnees):
    d = dict_chemins(donnees)
    d["annees"] = [2016, 2019]
    with pytest.raises(
        ErreurConfig,
        match=r"annees : \[2019\] non disponible\(s\) ; les sources contiennent "
        r"les millésimes \[2011, 2016, 2022\]",
    ):
        _preparer(donnees, d)
    with pytest.raises(ErreurConfig, match=r"--years : \[2020\] non disponible"):
        _preparer(donnees, dict_chemins(donnees), annees=[2020])


def test_commune_sans_iris(donnees):
    d = dict_chemins(donnees)
    d["epci"]["communes"]["69123"] = "Lyon"
    with pytest.raises(ErreurConfig, match=r"epci.communes : \['69123'\] n'ont aucun IRIS"):
        _preparer(donnees, d)


def test_generation_du_fichier(donnees):
    d = dict_chemins(donnees)
    d2 = copy.deepcopy(d)
    d2["qpv"]["perimetres"][0]["generation"] = 2015
    d2["qpv"]["liste"] = ["QP013040"]
    d2["veille"][2]["moins"] = []
    with pytest.raises(
        ErreurConfig,
        match=r"qpv.perimetres\[0\].generation : 2015 mais .* contient des "
        r"QPV de génération \[2024\]",
    ):
        _preparer(donnees, d2)


def test_chemin_relatif_au_fichier_de_config(donnees, tmp_path):
    import shutil

    d = dict_chemins(donnees)
    shutil.copy(d["qpv"]["perimetres"][0]["source"], tmp_path / "qpv.geojson")
    d["qpv"]["perimetres"][0]["source"] = "qpv.geojson"
    p = tmp_path / "terr.yaml"
    p.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    from observatoire.run.verification import preparer_run

    prep = preparer_run(charger_config(p))
    assert prep.entrees["qpv.perimetres[0]"].chemin == (tmp_path / "qpv.geojson").resolve()


def test_config_officielle_ids_du_registre():
    """The connected-machine configuration names only ids of the official registry."""
    from observatoire.sources import charger_registre

    c = charger_config("san_ouest_provence_officiel")
    reg = charger_registre()
    ids = [r.source for r in c.sources.values()] + [p.source for p in c.qpv.perimetres]
    assert all(i in reg for i in ids), [i for i in ids if i not in reg]
    assert c.codes_qpv == charger_config().codes_qpv
    assert [v.code for v in c.veille] == [v.code for v in charger_config().veille]


# -- inputs: one "path or source id" rule; shipped configurations name ids only ---------------


def test_entrees_et_regle_chemin_ou_id():
    d = _base()
    d["sources"]["revenus_iris"] = "donnees/rfl.csv"  # a '/': a path
    d["sources"]["dictionnaire"] = "dico.xlsx"  # a file suffix: a path
    d["sources"]["menages_iris"] = {"source": "C:\\donnees\\menages.csv"}
    d["veille"][0] = {"code": "V1", "nom": "V", "commune": "13047", "perimetre": "v.geojson"}
    d["veille"][1]["perimetre"] = "perimetre_san_ouest_provence"
    del d["veille"][1]["iris"]
    d["partenaires"] = [
        {
            "code": "jeunes",
            "libelle": "Jeunes",
            "partenaire": "ML",
            "source": "contrats_de_ville_2015",
            "annee": 2025,
            "cle": "code_iris",
            "colonnes": {"code_iris": "IRIS"},
        }
    ]
    c = config_depuis_dict(d)
    e = c.entrees()
    assert list(e)[:2] == ["sources.iris", "sources.iris_statistiques"]
    assert e["veille[0].perimetre"].est_chemin
    assert not e["veille[1].perimetre"].est_chemin
    assert e["partenaires[0].source"].source == "contrats_de_ville_2015"
    assert e["qpv.perimetres[0]"].source == "qpv_2024_ouest_provence"
    chemins = {k for k, r in e.items() if r.est_chemin}
    assert chemins == {
        "sources.revenus_iris",
        "sources.dictionnaire",
        "sources.menages_iris",
        "veille[0].perimetre",
    }
    ids = c.ids_sources
    assert len(ids) == len(set(ids))
    assert "perimetre_san_ouest_provence" in ids and "contrats_de_ville_2015" in ids
    assert not {"donnees/rfl.csv", "dico.xlsx", "v.geojson"} & set(ids)


@pytest.mark.parametrize("nom", ["san_ouest_provence", "pays_de_martigues"])
def test_copie_d_une_config_livree_se_resout_pareil(nom, donnees, tmp_path):
    """A shipped configuration copied anywhere loads and resolves to the same files."""
    from observatoire.sources import chemin_source

    copie = tmp_path / "ailleurs" / f"{nom}.yaml"
    copie.parent.mkdir()
    copie.write_bytes(chemin_config(nom).read_bytes())
    livree, ici = charger_config(nom), charger_config(copie)
    assert ici.dossier_config == copie.parent.resolve() != livree.dossier_config
    assert ici.parametres() == livree.parametres()
    assert ici.entrees() == livree.entrees()
    for cle, ref in ici.entrees().items():
        assert not ref.est_chemin, f"{nom}: {cle} names a path: {ref.source}"
        fichier = chemin_source(ref.source, depuis=donnees)
        assert fichier.is_file() and fichier.is_relative_to(donnees), cle


def test_configs_livrees_nomment_des_ids_connus():
    """Every input of every shipped configuration is a catalogue or registry id."""
    from observatoire.sources import charger_catalogue, charger_registre

    connus = set(charger_catalogue().sources) | set(charger_registre().sources)
    for nom in configs_disponibles():
        c = charger_config(nom)
        chemins = [f"{k}: {r.source}" for k, r in c.entrees().items() if r.est_chemin]
        assert not chemins, f"{nom} names paths: {chemins}"
        assert set(c.ids_sources) <= connus, (nom, sorted(set(c.ids_sources) - connus))
