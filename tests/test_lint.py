"""The package and tests pass ruff with the pinned version (rules of pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RACINE = Path(__file__).resolve().parent.parent
DOSSIERS = ["observatoire", "tests", "benchmarks"]


def _ruff() -> str:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed (test extras)")
    return ruff


def test_ruff_check():
    res = subprocess.run([_ruff(), "check", *DOSSIERS], cwd=RACINE, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:]


def test_ruff_format():
    res = subprocess.run(
        [_ruff(), "format", "--check", *DOSSIERS], cwd=RACINE, capture_output=True, text=True
    )
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
