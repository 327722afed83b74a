"""Shared fixtures: the real public data store and an artefacts folder.

Real data is read from ``../shared/data`` (or ``$OBSERVATOIRE_DONNEES_LOCALES``), read-only;
nothing from it is committed. Outside CI a missing store skips the real-data tests; in CI
(``CI=true``) it is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from observatoire.chemins import dossier_donnees_partagees


def pytest_collection_modifyitems(config, items):
    """Mark ``reel`` every test that uses the real data store (directly or via a fixture)."""
    for item in items:
        if "donnees" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.reel)


@pytest.fixture(scope="session")
def donnees() -> Path:
    """Folder of the real public data (``../shared/data``)."""
    chemin = dossier_donnees_partagees()
    if not (chemin / "PROVENANCE.md").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"real data store missing in CI: {chemin}")
        pytest.skip(f"real data store not found: {chemin}")
    return chemin


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """Folder where tests leave artefacts (screenshots, HTML) for humans to look at."""
    chemin = Path(os.environ.get("OBSERVATOIRE_ARTEFACTS", Path(__file__).parent / "artefacts"))
    chemin.mkdir(parents=True, exist_ok=True)
    return chemin


#: Headless Chromium flags of the browser tests (networking is blocked per page).
ARGS_CHROMIUM = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def navigateur():
    """Debian's headless Chromium driven by playwright (skipped when absent)."""
    pw = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium not installed (/usr/bin/chromium)")
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS_CHROMIUM)
        yield b
        b.close()
