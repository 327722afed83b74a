"""The run's machinery with stub steps: atomicity, --force semantics, manifest, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aides_run import config_chemins
from click.testing import CliRunner

from observatoire.run import ErreurEtape, Etape, SortiesExistantes, executer_run, remplacement
from observatoire.run.manifeste import sha256_fichier


def _etape_tables(ctx):
    p = ctx.chemin("tables", "indicateurs.csv")
    p.write_text("territoire_code,annee,valeur\nQN01365M,2016,1.5\n", encoding="utf-8")
    ctx.resume.append("1 table")


def _etape_cartes(ctx):
    for a in ctx.annees:
        ctx.chemin(str(a), "carte.html").write_text(
            f"<div id='map_{os.urandom(16).hex()}'>{a}</div>", encoding="utf-8"
        )
    ctx.rapport.avertir("cartes", "x", "un avertissement de test")


ETAPES = [Etape("tables", _etape_tables), Etape("cartes", _etape_cartes)]


def _empreintes(dossier: Path) -> dict[str, str]:
    return {
        p.relative_to(dossier).as_posix(): sha256_fichier(p)
        for p in sorted(dossier.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def cfg(donnees):
    return config_chemins(donnees)


def test_premier_run_et_manifeste(cfg, tmp_path):
    res = executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False)
    d = tmp_path / "san_ouest_provence"
    assert res.dossier == d
    fichiers = sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())
    assert fichiers == [
        "2011/carte.html",
        "2016/carte.html",
        "2022/carte.html",
        "manifest.json",
        "run.log",
        "tables/indicateurs.csv",
    ]
    # nothing left next to the target
    assert [p.name for p in tmp_path.iterdir()] == ["san_ouest_provence"]
    m = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    assert m["annees"] == [2011, 2016, 2022]
    entrees = {e["cle"]: e for e in m["entrees"]}
    iris = entrees["sources.iris"]
    assert iris["sha256"] == sha256_fichier(iris["chemin"])
    assert iris["edition"] == 2014
    assert {"qpv.perimetres[0]", "sources.qpv_officiel", "sources.indicateurs_iris"} <= set(entrees)
    assert {"python", "pandas", "geopandas", "shapely", "GEOS", "PROJ", "GDAL"} <= set(
        m["versions"]
    )
    assert set(m["durees_s"]) == {"verification", "tables", "cartes"}
    assert m["avertissements"]["par_etape"]["cartes"] == 1
    assert m["avertissements"]["total"] == sum(m["avertissements"]["par_etape"].values())
    assert m["parametres"]["code"] == "san_ouest_provence"
    assert m["sorties"]["tables/indicateurs.csv"]["sha256"] == sha256_fichier(
        d / "tables/indicateurs.csv"
    )
    assert "manifest.json" not in m["sorties"] and "run.log" not in m["sorties"]
    assert m["changements"] is None
    journal = (d / "run.log").read_text(encoding="utf-8")
    assert "step cartes: done" in journal and "un avertissement de test" in journal
    assert "1 table" in res.resume and "avertissement(s)" in res.resume


def test_sans_force_s_arrete_et_dit_ce_qui_existe(cfg, tmp_path):
    executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False)
    d = tmp_path / "san_ouest_provence"
    avant = _empreintes(d)
    with pytest.raises(SortiesExistantes) as exc:
        executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False)
    msg = str(exc.value)
    assert "des sorties existent déjà" in msg and "tables/ (1 fichier(s) : indicateurs.csv)" in msg
    assert "--force" in msg and "Rien n'a été modifié" in msg
    assert _empreintes(d) == avant


def test_force_sans_changement_puis_avec(cfg, tmp_path):
    executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False)
    res = executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False, force=True)
    # map ids are random (like folium's) but the content fingerprint ignores them
    assert res.changements is not None and res.changements.aucun
    assert "aucun changement" in res.resume

    def autre(ctx):
        ctx.chemin("tables", "indicateurs.csv").write_text(
            "territoire_code,annee,valeur\nQN01365M,2016,1.6\n"
        )
        ctx.chemin("tables", "nouveau.csv").write_text("x\n")

    res = executer_run(
        cfg, sorties=tmp_path, etapes=[Etape("tables", autre)], progression=False, force=True
    )
    c = res.changements
    assert c.modifies == ["tables/indicateurs.csv"]
    assert c.ajoutes == ["tables/nouveau.csv"]
    assert c.supprimes == ["2011/carte.html", "2016/carte.html", "2022/carte.html"]
    m = json.loads((tmp_path / "san_ouest_provence" / "manifest.json").read_text())
    assert m["changements"]["modifies"] == ["tables/indicateurs.csv"]


def test_echec_d_une_etape_laisse_les_sorties(cfg, tmp_path):
    executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False)
    d = tmp_path / "san_ouest_provence"
    avant = _empreintes(d)

    def casse(ctx):
        ctx.chemin("2016", "carte.html").write_text("moitié")
        raise RuntimeError("panne injectée")

    with pytest.raises(
        ErreurEtape, match="l'étape 'cartes' a échoué : RuntimeError: panne injectée"
    ):
        executer_run(
            cfg,
            sorties=tmp_path,
            etapes=[ETAPES[0], Etape("cartes", casse)],
            progression=False,
            force=True,
        )
    assert _empreintes(d) == avant
    assert [p.name for p in tmp_path.iterdir()] == ["san_ouest_provence"]


def test_echange_sans_renameat2(cfg, tmp_path, monkeypatch):
    executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False)
    monkeypatch.setattr(remplacement, "_echanger", lambda a, b: False)
    res = executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False, force=True)
    assert res.changements.aucun
    assert [p.name for p in tmp_path.iterdir()] == ["san_ouest_provence"]


def test_restes_d_un_run_mort_entre_deux_renommages(tmp_path):
    cible = tmp_path / "t"
    ancien = tmp_path / ".t.ancien-999999999"  # pid that cannot be alive
    ancien.mkdir()
    (ancien / "a.csv").write_text("vieux")
    orphelin = tmp_path / ".t.en-cours-999999999-abc"
    orphelin.mkdir()
    faits = remplacement.nettoyer_restes(cible)
    assert set(faits) == {ancien, orphelin}
    assert (cible / "a.csv").read_text() == "vieux"  # the previous outputs come back
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


_SCRIPT_TUE = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from aides_run import config_chemins
from observatoire.run import Etape, executer_run

def tables(ctx):
    ctx.chemin("tables", "indicateurs.csv").write_text("nouveau\n")

def cartes(ctx):
    ctx.chemin("2016", "carte.html").write_text("à moitié")
    Path({signal!r}).write_text("dans les cartes")
    time.sleep(60)

cfg = config_chemins(Path({donnees!r}))
executer_run(cfg, sorties={sorties!r}, etapes=[Etape("tables", tables), Etape("cartes", cartes)],
             progression=False, force=True)
"""


def _lancer_enfant(script: str, tmp_path: Path, donnees, sorties: Path) -> subprocess.Popen:
    """Start a run in a child Python; return once it wrote tmp_path/signal (or died, or 60 s)."""
    signal_fichier = tmp_path / "signal"
    code = script.format(
        tests=str(Path(__file__).parent),
        signal=str(signal_fichier),
        donnees=str(donnees),
        sorties=str(sorties),
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    for _ in range(600):
        if signal_fichier.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    return proc


def test_run_tue_pendant_les_cartes(cfg, donnees, tmp_path):
    sorties = tmp_path / "out"
    executer_run(cfg, sorties=sorties, etapes=ETAPES, progression=False)
    d = sorties / "san_ouest_provence"
    avant = _empreintes(d)
    proc = _lancer_enfant(_SCRIPT_TUE, tmp_path, donnees, sorties)
    try:
        assert (tmp_path / "signal").exists(), "the child never reached the maps step"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert _empreintes(d) == avant  # previous outputs intact
    restes = [p.name for p in sorties.iterdir() if p.name != "san_ouest_provence"]
    assert len(restes) == 1 and restes[0].startswith(".san_ouest_provence.en-cours-")
    # the next run removes the dead run's folder; without --force it still stops
    with pytest.raises(SortiesExistantes):
        executer_run(cfg, sorties=sorties, etapes=ETAPES, progression=False)
    assert [p.name for p in sorties.iterdir()] == ["san_ouest_provence"]
    res = executer_run(cfg, sorties=sorties, etapes=ETAPES, progression=False, force=True)
    assert res.changements.aucun


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_codes_de_sortie(donnees, tmp_path, monkeypatch):
    from observatoire.cli import main

    runner = CliRunner()
    # bad --years: 2, nothing written
    r = runner.invoke(main, ["run", "--years", "2O16", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "--years : '2O16' n'est pas une année" in r.output
    # year the sources do not hold: 2, nothing written
    cfg_yaml = tmp_path / "c.yaml"
    import yaml
    from aides_run import dict_chemins

    cfg_yaml.write_text(yaml.safe_dump(dict_chemins(donnees), allow_unicode=True))
    r = runner.invoke(
        main, ["run", "--config", str(cfg_yaml), "--years", "2019", "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == 2, r.output
    assert "--years : [2019] non disponible(s)" in r.output and "Rien n'a été écrit" in r.output
    assert not (tmp_path / "o").exists()
    # invalid configuration: 2, nothing written
    d = dict_chemins(donnees)
    d["qpv"]["liste"][0] = "QN01399X"
    cfg_yaml.write_text(yaml.safe_dump(d, allow_unicode=True))
    r = runner.invoke(main, ["run", "--config", str(cfg_yaml), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "qpv.liste[0].code : QN01399X n'est pas dans" in r.output
    assert not (tmp_path / "o").exists()
    # existing outputs: 3
    cfg_yaml.write_text(yaml.safe_dump(dict_chemins(donnees), allow_unicode=True))
    import observatoire.run.etapes as etapes_mod

    monkeypatch.setattr(etapes_mod, "ETAPES", ETAPES)
    r = runner.invoke(
        main, ["run", "--config", str(cfg_yaml), "--out", str(tmp_path / "o"), "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["run", "--config", str(cfg_yaml), "--out", str(tmp_path / "o")])
    assert r.exit_code == 3 and "des sorties existent déjà" in r.output
    r = runner.invoke(
        main,
        [
            "run",
            "--config",
            str(cfg_yaml),
            "--out",
            str(tmp_path / "o"),
            "--force",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0 and "aucun changement" in r.output
    # a failing step: 1
    monkeypatch.setattr(etapes_mod, "ETAPES", [Etape("cartes", lambda ctx: 1 / 0)])
    r = runner.invoke(
        main,
        [
            "run",
            "--config",
            str(cfg_yaml),
            "--out",
            str(tmp_path / "o"),
            "--force",
            "--no-progress",
        ],
    )
    assert r.exit_code == 1 and "l'étape 'cartes' a échoué" in r.output
    assert "sorties précédentes sont intactes" in r.output


def test_annees_choisies(cfg, tmp_path):
    res = executer_run(cfg, annees="2022,2016", sorties=tmp_path, etapes=ETAPES, progression=False)
    d = res.dossier
    assert sorted(p.name for p in d.iterdir() if p.is_dir()) == ["2016", "2022", "tables"]
    assert res.manifeste["annees"] == [2016, 2022]
    assert res.manifeste["options"]["annees"] == [2016, 2022]


def _qpv_inconnu(d, tmp):
    d["qpv"]["liste"][0] = "QN01399X"
    return (
        "qpv.liste[0].code : QN01399X n'est pas dans le ou les fichiers de périmètres des QPV 2024"
    )


def _iris_absent(d, tmp):
    d["veille"][0]["iris"] = ["130470199"]
    return "veille[0] (VEILLE_ECHOPPES).iris : ['130470199'] absents de la géographie IRIS"


def _fichier_manquant(d, tmp):
    d["sources"]["indicateurs_iris"] = str(tmp / "nulle_part.csv")
    return "sources.indicateurs_iris : fichier introuvable"


def _mauvaise_annee(d, tmp):
    d["annees"] = [2016, 2019]
    return (
        "annees : [2019] non disponible(s) ; les sources contiennent les millésimes "
        "[2011, 2016, 2022]"
    )


def _cle_inconnue(d, tmp):
    d["ponderation"]["methodes"] = "surface"
    return "ponderation.methodes : clé inconnue"


@pytest.mark.parametrize(
    "casse", [_qpv_inconnu, _iris_absent, _fichier_manquant, _mauvaise_annee, _cle_inconnue]
)
def test_configurations_invalides_cli(donnees, tmp_path, casse):
    """One clear message, exit code 2, nothing written."""
    import yaml
    from aides_run import dict_chemins

    from observatoire.cli import main

    d = dict_chemins(donnees)
    attendu = casse(d, tmp_path)
    cfg_yaml = tmp_path / "c.yaml"
    cfg_yaml.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(main, ["run", "--config", str(cfg_yaml), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert attendu in r.output and "Rien n'a été écrit." in r.output
    assert r.output.count("Error:") == 1
    assert not (tmp_path / "o").exists()


def test_cli_check(donnees, tmp_path):
    from observatoire.cli import main

    r = CliRunner().invoke(
        main, ["run", "--check", "--from", str(donnees), "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == 0, r.output
    assert "configuration san_ouest_provence (SAN Ouest Provence) : OK" in r.output
    assert "années [2011, 2016, 2022]" in r.output and "6,840 des 99,092" in r.output
    assert not (tmp_path / "o").exists()
    r = CliRunner().invoke(main, ["run", "--check", "--from", str(donnees), "--years", "2019"])
    assert r.exit_code == 2 and "--years : [2019] non disponible(s)" in r.output


_SCRIPT_LONG = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from aides_run import config_chemins
from observatoire.run import Etape, executer_run

def longue(ctx):
    Path({signal!r}).write_text("en cours")
    time.sleep(60)

executer_run(config_chemins(Path({donnees!r})), sorties={sorties!r},
             etapes=[Etape("cartes", longue)], progression=False)
"""


def test_un_seul_run_a_la_fois(cfg, donnees, tmp_path):
    from observatoire.run import RunEnCours

    sorties = tmp_path / "out"
    proc = _lancer_enfant(_SCRIPT_LONG, tmp_path, donnees, sorties)
    try:
        assert (tmp_path / "signal").exists()
        with pytest.raises(RunEnCours, match="une autre exécution d'observatoire run écrit dans"):
            executer_run(cfg, sorties=sorties, etapes=ETAPES, progression=False)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # the kernel released the lock of the killed run: the next run proceeds
    res = executer_run(cfg, sorties=sorties, etapes=ETAPES, progression=False)
    assert (res.dossier / "tables" / "indicateurs.csv").is_file()
    assert [p.name for p in sorties.iterdir()] == ["san_ouest_provence"]


def test_avertissements_affiches_dans_le_resume():
    """The summary lists plausibility, calibration, repair and partner warnings (French text)."""
    from observatoire.rapport import Evenement
    from observatoire.run.executer import _avertissement_important

    def ev(etape, message, source="x", zone=None):
        return Evenement("avertissement", etape, source, message, zone=zone)

    assert _avertissement_important(
        ev("verification", "1 zone(s) dont les IRIS ne peuvent contenir la population officielle")
    )
    assert _avertissement_important(ev("verification", "2 zone(s) avec un facteur de calage"))
    assert _avertissement_important(ev("verification", "…", source="plausibility"))
    assert _avertissement_important(ev("chargement", "QN01365M : géométrie", zone="QN01365M"))
    assert _avertissement_important(ev("poids", "territoire de veille Vauban chevauche le QPV"))
    assert not _avertissement_important(
        ev("verification", "édition 2014 de la géographie IRIS différente de l'édition des IRIS")
    )
    assert not _avertissement_important(ev("chargement", "colonne x ignorée : recalculé"))
