"""CLI ``observatoire indicateurs ...`` and ``observatoire ecarts`` on hand-made files."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely import box

from observatoire.cli import main


@pytest.fixture
def fichiers(tmp_path):
    iris = gpd.GeoDataFrame(
        {
            "CODE_IRIS": ["130470101", "130470102", "130470103"],
            "INSEE_COM": "13047",
            "NOM_COM": "Istres",
            "NOM_IRIS": ["A", "B", "C"],
            "TYP_IRIS": "H",
        },
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)],
        crs="EPSG:2154",
    )
    iris.to_file(tmp_path / "iris.gpkg", driver="GPKG")
    pd.DataFrame(
        {
            "IRIS": ["130470101", "130470102", "130470103"],
            "P16_CHOM1564": [20, 6, 30],
            "P16_ACT1564": [100, 40, 200],
        }
    ).to_csv(tmp_path / "comptages.csv", index=False)
    pd.DataFrame(
        {
            "code_zone": ["Z1", "Z1", "Z2", "Z2"],
            "code_iris": ["130470101", "130470102", "130470102", "130470103"],
            "poids": [1.0, 0.5, 0.5, 1.0],
        }
    ).to_csv(tmp_path / "poids.csv", index=False)
    pd.DataFrame(
        {
            "geo_type": ["EPCI"],
            "geo_code": ["200054807"],
            "geo_label": ["AMP"],
            "rp_year": [2016],
            "pop_1564": [1177576],
            "actifs_1564": [None],
            "actifs_occupes_1564": [None],
            "pct_actifs_of_pop1564": [70.2],
            "pct_actifs_occupes_of_pop1564": [59.4],
            "pct_chomeurs_of_pop1564": [10.8],
        }
    ).to_csv(tmp_path / "emp.csv", index=False)
    return tmp_path


def test_codebook_command_lists_and_validates(tmp_path):
    res = CliRunner().invoke(
        main, ["indicateurs", "codebook", "-o", str(tmp_path / "codebook.csv")]
    )
    assert res.exit_code == 0, res.output
    assert "taux_chomage_1564" in res.output and "F " in res.output
    assert len(pd.read_csv(tmp_path / "codebook.csv")) >= 40
    mauvais = tmp_path / "cb.yaml"
    mauvais.write_text("indicateurs:\n  - id: x\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["indicateurs", "codebook", "--codebook", str(mauvais)])
    assert res.exit_code != 0 and "cb.yaml" in res.output and "'x'" in res.output


def test_calculer_then_ecarts(fichiers):
    d = fichiers
    res = CliRunner().invoke(
        main,
        [
            "indicateurs",
            "calculer",
            "--iris",
            str(d / "iris.gpkg"),
            "--poids",
            f"qpv={d / 'poids.csv'}",
            "--epci",
            "E:13047",
            "--comptages",
            str(d / "comptages.csv"),
            "--out",
            str(d / "out"),
            "--formats",
            "csv,parquet,xlsx,gpkg",
            "--officiel-zonages",
            str(d / "emp.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    t = pd.read_parquet(d / "out/indicateurs.parquet")
    z1 = t[(t["territoire_code"] == "Z1") & (t["indicateur"] == "taux_chomage_1564")].iloc[0]
    assert z1["valeur"] == pytest.approx(100 * 23 / 120)
    amp = t[(t["territoire_code"] == "200054807") & (t["indicateur"] == "taux_chomage_1564")]
    assert amp["valeur"].iloc[0] == pytest.approx(100 * 10.8 / 70.2)
    assert amp["statut"].iloc[0] == "approximation"
    b = t[(t["territoire_code"] == "130470102") & (t["indicateur"] == "taux_chomage_1564")]
    assert b["statut"].tolist() == ["secret"]
    assert (d / "out/indicateurs.csv").exists() and (d / "out/indicateurs.xlsx").exists()
    # GeoPackage: one layer per level with geometry (the zones of --poids have no layer here).
    couches = sorted(pyogrio.list_layers(d / "out/indicateurs.gpkg")[:, 0])
    assert couches == ["commune", "epci", "iris"]
    com = gpd.read_file(d / "out/indicateurs.gpkg", layer="commune")
    assert com.geometry.area.unique().tolist() == [30000.0]
    res = CliRunner().invoke(
        main,
        [
            "ecarts",
            "--indicateurs",
            str(d / "out/indicateurs.parquet"),
            "--iris",
            str(d / "iris.gpkg"),
            "--poids",
            f"qpv={d / 'poids.csv'}",
            "--epci",
            "E:13047",
            "--out",
            str(d / "out"),
            "--formats",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    e = pd.read_csv(d / "out/ecarts.csv", dtype={"reference_code": str})
    r = e[
        (e["territoire_code"] == "Z2")
        & (e["reference_niveau"] == "commune")
        & (e["indicateur"] == "taux_chomage_1564")
    ].iloc[0]
    assert r["ecart_points"] == pytest.approx(15.0 - 100 * 56 / 340)
    assert r["lecture"] == "plus favorable que la référence"
    assert (d / "out/evolution.csv").exists()


def test_bad_weights_option_is_a_usage_error(fichiers):
    res = CliRunner().invoke(
        main,
        [
            "indicateurs",
            "calculer",
            "--iris",
            str(fichiers / "iris.gpkg"),
            "--poids",
            "sans_egal",
            "--out",
            str(fichiers / "o"),
        ],
    )
    assert res.exit_code == 2 and "NIVEAU=FICHIER" in res.output


def test_ecarts_needs_references():
    res = CliRunner().invoke(main, ["ecarts", "--help"])
    assert res.exit_code == 0 and "--ecart-min" in res.output


def test_codebook_former_sortie_spelling(tmp_path):
    """``--sortie`` (former spelling) writes the same table as ``-o``; help shows ``-o``."""
    r = CliRunner()
    nouveau = r.invoke(main, ["indicateurs", "codebook", "-o", str(tmp_path / "a.csv")])
    ancien = r.invoke(main, ["indicateurs", "codebook", "--sortie", str(tmp_path / "b.csv")])
    assert nouveau.exit_code == ancien.exit_code == 0, ancien.output
    assert nouveau.output == ancien.output
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    aide = r.invoke(main, ["indicateurs", "codebook", "--help"]).output
    assert "-o, --output FILE" in aide and "--sortie" not in aide


def test_calculer_ecarts_former_sortie_spelling(fichiers):
    """``--sortie`` (former spelling) and ``--out`` write the same tables."""
    d = fichiers
    r = CliRunner()
    calculer = [
        "indicateurs",
        "calculer",
        "--iris",
        str(d / "iris.gpkg"),
        "--poids",
        f"qpv={d / 'poids.csv'}",
        "--comptages",
        str(d / "comptages.csv"),
        "--formats",
        "csv",
    ]
    ecarts = ["ecarts", "--iris", str(d / "iris.gpkg"), "--poids", f"qpv={d / 'poids.csv'}"]
    ecarts += ["--formats", "csv"]
    for option, dossier in (("--out", d / "nouveau"), ("--sortie", d / "ancien")):
        res = r.invoke(main, [*calculer, option, str(dossier)])
        assert res.exit_code == 0, res.output
        indicateurs = str(dossier / "indicateurs.csv")
        res = r.invoke(main, [*ecarts, "--indicateurs", indicateurs, option, str(dossier)])
        assert res.exit_code == 0, res.output
    for nom in ("indicateurs.csv", "officiel_vs_estime.csv", "ecarts.csv", "evolution.csv"):
        assert (d / "nouveau" / nom).read_bytes() == (d / "ancien" / nom).read_bytes(), nom
    for commande in (["indicateurs", "calculer"], ["ecarts"]):
        aide = r.invoke(main, [*commande, "--help"]).output
        assert "--out DIR" in aide and "--sortie" not in aide
