"""Configuration checked before anything runs: zone codes, département, moins, lists, YAML."""

from __future__ import annotations

import copy
import json

import geopandas as gpd
import pytest
import yaml
from aides_run import dict_chemins
from click.testing import CliRunner
from shapely import Polygon, box

from observatoire.cli import main
from observatoire.config import ErreurConfig, charger_config, config_depuis_dict
from observatoire.rapport import Rapport
from observatoire.run.verification import preparer_run


def _cfg(d):
    return config_depuis_dict(copy.deepcopy(d), origine="t.yaml")


@pytest.fixture
def d(donnees):
    return dict_chemins(donnees)


def test_code_de_veille_egal_a_un_code_qpv(d):
    d["veille"][0]["code"] = "QN01365M"
    with pytest.raises(ErreurConfig, match="code de zone 'QN01365M' utilisé deux fois"):
        _cfg(d)
    d["veille"][0]["code"] = "qn01365m"  # same file name on a case-insensitive disk
    with pytest.raises(ErreurConfig, match="utilisé deux fois"):
        _cfg(d)


def test_departement_incoherent(d):
    d["departement"] = "2A"
    with pytest.raises(
        ErreurConfig,
        match=r"departement : '2A' mais les communes membres "
        r"\(epci.communes\) sont dans le\(s\) département\(s\) \['13'\]",
    ):
        _cfg(d)


@pytest.mark.parametrize(
    "cle, valeur, attendu",
    [
        ("annees", [], "annees : liste vide"),
        ("indicateurs", [], "indicateurs : liste vide"),
    ],
)
def test_listes_vides(d, cle, valeur, attendu):
    d[cle] = valeur
    with pytest.raises(ErreurConfig, match=attendu):
        _cfg(d)


def test_veille_sans_iris(d):
    d["veille"][1]["iris"] = []
    with pytest.raises(ErreurConfig, match=r"veille\[1\].iris : ensemble d'IRIS vide"):
        _cfg(d)


def test_cle_yaml_en_double(tmp_path):
    p = tmp_path / "c.yaml"
    texte = (charger_config.__globals__["chemin_config"](None)).read_text(encoding="utf-8")
    p.write_text(texte + "\nannees: [2016]\n", encoding="utf-8")  # 'annees' given twice
    with pytest.raises(ErreurConfig, match="clé 'annees' donnée deux fois"):
        charger_config(p)


def test_moins_dans_n_importe_quel_ordre_et_cycle(d):
    d["veille"].append(
        {
            "code": "VEILLE_B",
            "nom": "B",
            "commune": "13063",
            "iris": ["130630105"],
            "moins": ["VEILLE_C"],
        }
    )
    d["veille"].append({"code": "VEILLE_C", "nom": "C", "commune": "13063", "iris": ["130630105"]})
    cfg = _cfg(d)
    codes = [v.code for v in cfg.veille]
    assert codes.index("VEILLE_C") < codes.index("VEILLE_B")
    d["veille"][-1]["moins"] = ["VEILLE_B"]
    with pytest.raises(ErreurConfig, match="forment un cycle : VEILLE_B → VEILLE_C → VEILLE_B"):
        _cfg(d)


def _perimetres_qpv(tmp_path, donnees, codes):
    g = gpd.read_file(donnees / "qpv/qpv2024_istres_miramas_psl_anct_simplifie.geojson")
    col = next(c for c in g.columns if c.lower() in ("code_qp", "code_qpv", "codeqpv"))
    g[col] = codes[: len(g)]
    p = tmp_path / "qpv.geojson"
    g.to_file(p)
    return p


def test_codes_qpv_d_un_fichier_avec_liste_all(d, donnees, tmp_path):
    p = _perimetres_qpv(tmp_path, donnees, ["QN01365M/x", "QN01365M_x", "QN01367M", "QN01371N"])
    d["qpv"]["perimetres"][0]["source"] = str(p)
    d["qpv"]["liste"] = "all"
    for v in d["veille"]:
        v.pop("moins", None)
    with pytest.raises(
        ErreurConfig,
        match=r"dont les codes ne sont pas des codes QPV : \['QN01365M/x', "
        r"'QN01365M_x'\]",
    ):
        preparer_run(_cfg(d), rapport=Rapport())


def _veille_perimetre(d, tmp_path, geom, crs="EPSG:2154"):
    p = tmp_path / "veille.geojson"
    gpd.GeoDataFrame({"nom": ["v"]}, geometry=[geom], crs=crs).to_file(p)
    d["veille"].append({"code": "VEILLE_P", "nom": "P", "commune": "13047", "perimetre": str(p)})
    return p


def test_perimetre_de_veille_invalide_repare_et_signale(d, tmp_path):
    prep = preparer_run(_cfg(d), rapport=Rapport())
    iris = prep.iris_territoire
    c = iris.loc[iris["code_iris"] == "130470106", "geometry"].iloc[0].representative_point()
    x, y = c.x - 200, c.y - 200
    noeud_papillon = Polygon([(x, y), (x + 400, y + 400), (x + 400, y), (x, y + 400)])
    _veille_perimetre(d, tmp_path, noeud_papillon)
    r = Rapport()
    prep = preparer_run(_cfg(d), rapport=r)
    assert prep.perimetres_veille["VEILLE_P"].is_valid
    # the bow tie as drawn has a zero signed area; repaired: two triangles of 40,000 m²
    rep = [x for x in r.reparations if x["code"] == "VEILLE_P"]
    assert len(rep) == 1 and rep[0]["surface_apres_m2"] == pytest.approx(80_000)
    assert "Self-intersection" in rep[0]["raison"]
    assert any(
        e.zone == "VEILLE_P" and "réparée par make_valid" in e.message
        for e in r.evenements
        if e.niveau == "avertissement"
    )
    cfg_yaml = tmp_path / "c.yaml"
    cfg_yaml.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(main, ["run", "--config", str(cfg_yaml), "--check"])
    assert res.exit_code == 0, res.output
    assert "réparée par make_valid" in res.output and "Traceback" not in res.output


def test_perimetre_de_veille_hors_de_sa_commune(d, tmp_path):
    _veille_perimetre(d, tmp_path, box(700000, 6200000, 700500, 6200500))
    with pytest.raises(ErreurConfig, match=r"seulement 0% de .* est dans sa commune 13047"):
        preparer_run(_cfg(d), rapport=Rapport())


def test_perimetre_de_veille_dans_sa_commune_accepte(d, tmp_path, donnees):
    prep = preparer_run(_cfg(d), rapport=Rapport())
    istres = prep.iris_territoire[prep.iris_territoire["code_iris"] == "130470106"]
    _veille_perimetre(d, tmp_path, istres.geometry.iloc[0].buffer(-5))
    r = Rapport()
    prep = preparer_run(_cfg(d), rapport=r)
    assert any("dans la commune 13047" in e.message for e in r.evenements)
    assert prep.perimetres_veille["VEILLE_P"].is_valid


def test_manifeste_et_parametres_sans_changement(d):
    assert json.loads(json.dumps(_cfg(d).parametres()))["code"] == "san_ouest_provence"
