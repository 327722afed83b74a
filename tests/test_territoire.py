"""The territory-level entry points: one load, one weights table for the run and the CLI."""

from __future__ import annotations

import pandas as pd
import pytest
from aides_run import run_reel
from click.testing import CliRunner

from observatoire.cli import main as cli
from observatoire.config import charger_config
from observatoire.rapport import Rapport
from observatoire.territoire import charger_territoire, poids_territoire
from observatoire.territoire.poids import COLONNES_ZONES


@pytest.fixture(scope="module")
def territoire(donnees):
    return charger_territoire(charger_config(None), depuis=donnees, rapport=Rapport())


def test_charger_territoire_lit_chaque_entree_une_fois(territoire):
    d = territoire
    assert len(d.iris_territoire) == 41
    assert sorted(d.qpv["code_zone"]) == ["QN01365M", "QN01366I", "QN01367M", "QN01371N"]
    assert d.annees == d.annees_disponibles == [2011, 2016, 2022]
    # every statistics role of the configuration is read, plus the official QPV table,
    # the grid and the IRIS layer of the statistics' edition
    roles = {k.removeprefix("sources.") for k in d.entrees if k.startswith("sources.")}
    lues = set(d.tables) | {"qpv_officiel", "grille", "iris_statistiques"}
    assert {"indicateurs_iris", "indicateurs_communes", "revenus_iris"} <= set(d.tables)
    assert roles - lues == {
        "communes",
        "departement",
        "epci",
        "dictionnaire",
        "iris",
        "qpv_entrainement",
    }
    assert d.qpv_officiel is not None and d.grille is not None
    assert d.iris_statistiques is not None


def test_poids_territoire_schema_des_zones(territoire):
    p = poids_territoire(territoire, Rapport())
    assert list(p.zones.columns) == COLONNES_ZONES
    assert p.zones["niveau"].tolist() == ["qpv"] * 4 + ["veille"] * 5
    assert set(p.poids["code_zone"]) == set(p.zones["code_zone"])
    # IRIS shares: no IRIS gives more than its whole population to the QPV together
    qpv = p.niveau("qpv").groupby("code_iris")["poids"].sum()
    assert (qpv <= 1 + 1e-9).all()
    # the veille territory drawn as IRIS minus a QPV carries its note
    assert any(n.startswith("Calcul : population des IRIS") for ns in p.notes.values() for n in ns)


def test_weights_config_donne_les_poids_du_run(donnees, tmp_path):
    sortie = tmp_path / "poids.csv"
    r = CliRunner().invoke(
        cli,
        ["weights", "--config", "san_ouest_provence", "--from", str(donnees), "-o", str(sortie)],
    )
    assert r.exit_code == 0, r.output
    run = run_reel(str(donnees)) / "tables" / "poids.csv"
    assert sortie.read_bytes() == run.read_bytes()
    t = pd.read_csv(sortie, dtype={"code_iris": str})
    assert t["code_zone"].nunique() == 9 and len(t) > 0


def test_weights_config_refuse_les_fichiers_en_plus(donnees, tmp_path):
    r = CliRunner().invoke(
        cli,
        [
            "weights",
            "--config",
            "san_ouest_provence",
            "--from",
            str(donnees),
            "--method",
            "surface",
            "-o",
            str(tmp_path / "p.csv"),
        ],
    )
    assert r.exit_code != 0
    assert "--config" in r.output and "--method" in r.output
