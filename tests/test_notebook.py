"""The analyst notebook runs on a fresh run's outputs (nbclient), and is committed clean."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from aides_run import run_reel

CARNET = Path(__file__).resolve().parent.parent / "notebooks" / "analyse_observatoire.ipynb"


def test_carnet_sans_sorties():
    nb = nbformat.read(CARNET, as_version=4)
    for cellule in nb.cells:
        if cellule.cell_type == "code":
            assert cellule.outputs == [] and cellule.execution_count is None


def test_carnet_execute(donnees, monkeypatch, tmp_path):
    from nbclient import NotebookClient

    sortie = run_reel(str(donnees))
    monkeypatch.setenv("OBSERVATOIRE_SORTIES", str(sortie))
    monkeypatch.setenv("OBSERVATOIRE_INDICATEUR", "taux_chomage_1564")
    nb = nbformat.read(CARNET, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    texte, html, images = [], [], 0
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        for o in c.get("outputs", []):
            assert o.output_type != "error", f"{o.get('ename')}: {o.get('evalue')}"
            if o.output_type == "stream":
                texte.append(o.text)
            data = o.get("data", {})
            texte.append(data.get("text/plain", ""))
            html.append(data.get("text/html", ""))
            images += "image/png" in data
    tout = "\n".join(texte)
    assert "SAN Ouest Provence" in tout and "indicator shown: taux_chomage_1564" in tout
    assert "taux_chomage_1564, 2022: gap in points to each reference" in tout
    assert "map column: taux_chomage_1564_2022" in tout
    assert images >= 2  # bar chart against references, evolution chart
    assert any("leaflet" in h.lower() for h in html)  # the interactive maps (folium)
    cartes = [h for h in html if "leaflet" in h.lower()]
    assert len(cartes) >= 2
    for h in cartes:  # offline: Leaflet inlined, no CDN, no basemap
        assert "cdn.jsdelivr" not in h and "tile.openstreetmap" not in h and "cdnjs" not in h
    # nothing written next to the notebook
    assert not list(tmp_path.iterdir())


@pytest.fixture(autouse=True)
def _graphiques_en_ligne(monkeypatch):
    """Inline matplotlib backend in the kernel, whatever MPLBACKEND the CI sets."""
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
