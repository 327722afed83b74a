"""``scripts/demarrer.sh``: ``--force`` alone means the default store, outputs replaced.

The hint printed when outputs exist is a command that works (this script with --force).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from aides_run import run_reel

from observatoire.cli.run import commande_avec_force

RACINE = Path(__file__).resolve().parent.parent


def _env(**autres):
    return dict(
        os.environ,
        OBSERVATOIRE_SANS_INSTALLATION="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        **autres,
    )


def test_commande_avec_force():
    assert (
        commande_avec_force(["/x/bin/observatoire", "run", "--from", "a b", "--force"], {})
        == "/x/bin/observatoire run --from 'a b' --force"
    )
    env = {"OBSERVATOIRE_COMMANDE": "bash scripts/demarrer.sh --out /tmp/o"}
    assert commande_avec_force([], env) == "bash scripts/demarrer.sh --out /tmp/o --force"


def test_demarrer_force_remplace_les_sorties(donnees, tmp_path):
    if Path(donnees).resolve() != (RACINE.parent / "shared" / "data").resolve():
        import pytest

        pytest.skip("the script's default store is ../shared/data")
    out = tmp_path / "maps"
    shutil.copytree(run_reel(str(donnees)), out / "san_ouest_provence")
    avant = (out / "san_ouest_provence" / "manifest.json").read_text(encoding="utf-8")
    env = _env(OBSERVATOIRE_CACHE=str(tmp_path / "cache"))
    # without --force: exit 3, nothing changed, the hint repeats this script with --force
    p = subprocess.run(
        ["bash", "scripts/demarrer.sh", "--out", str(out), "--no-progress"],
        cwd=RACINE,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert p.returncode == 3, p.stdout[-2000:] + p.stderr[-2000:]
    assert f"bash scripts/demarrer.sh --out {out} --no-progress --force" in p.stderr
    assert (out / "san_ouest_provence" / "manifest.json").read_text(encoding="utf-8") == avant
    # --force first: the default store, outputs replaced, one summary naming index.html
    p = subprocess.run(
        ["bash", "scripts/demarrer.sh", "--force", "--out", str(out), "--no-progress"],
        cwd=RACINE,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    assert "fetching" not in p.stdout
    assert p.stdout.count("observatoire run — ") == 1
    assert f"ouvrir : {out / 'san_ouest_provence' / 'index.html'}" in p.stdout
    assert "comparé aux sorties précédentes" in p.stdout
    assert "WARNING" not in p.stderr  # warnings are in the summary, once
    assert (out / "san_ouest_provence" / "manifest.json").read_text(encoding="utf-8") != avant
