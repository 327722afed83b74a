"""The package and tests pass ruff (style rules of pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RACINE = Path(__file__).resolve().parent.parent


def test_ruff_check():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed (test extras)")
    res = subprocess.run([ruff, "check", "observatoire", "tests", "benchmarks"], cwd=RACINE,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:]
