"""The committee's pages of a real run of the default territory, in headless Chromium.

Network blocked; every sheet prints on at most two A4 pages; the index opens on the
dashboard with every zone; no "None", "nan" or method id in any page (hidden parts
and tooltip data included); on the commune gap map the QPV is hovered above the
veille territory overlapping it, and a tooltip opened at the top of the map stays in it.
Screenshots of the index, a sheet (both pages, print layout) and a gap map are left in
the artefacts folder.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from aides_run import run_reel

pytestmark = pytest.mark.browser

ZONES = [
    "QN01365M",
    "QN01366I",
    "QN01367M",
    "QN01371N",
    "VEILLE_CENTRE_MIRAMAS",
    "VEILLE_CROIZAT",
    "VEILLE_ECHOPPES",
    "VEILLE_MOLIERES",
    "VEILLE_VAUBAN",
]
_INTERDITS = re.compile(r"\b(None|nan|NaN|<NA>)\b")


@pytest.fixture(scope="module")
def sortie(donnees):
    return run_reel(str(donnees))


@pytest.fixture(scope="module")
def identifiants(sortie):
    """Internal method ids of the run (indicator and weight methods)."""
    ind = pd.read_parquet(sortie / "tables" / "indicateurs.parquet", columns=["methode"])
    poids = pd.read_parquet(sortie / "tables" / "poids.parquet", columns=["methode"])
    ids = set(ind["methode"].dropna().astype(str)) | set(poids["methode"].dropna().astype(str))
    return sorted(i for i in ids if "_" in i or "(" in i or i in ("calibrated", "dasymetric"))


def _ouvrir(navigateur, chemin, carte=True):
    page = navigateur.new_page(viewport={"width": 1280, "height": 860})
    erreurs, bloquees = [], []
    page.on("console", lambda m: erreurs.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: erreurs.append(str(e)))

    def router(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            bloquees.append(route.request.url)
            route.abort()

    page.route("**/*", router)
    page.goto(chemin.as_uri())
    if carte:
        page.wait_for_selector(".obs-carte[data-pret='1']", state="attached", timeout=15000)
    page.obs_erreurs, page.obs_bloquees = erreurs, bloquees
    return page


def _textes(page) -> str:
    """Every text of the page, hidden elements included, and the strings of its map data."""
    texte = page.evaluate(
        """() => { const c = document.body.cloneNode(true);
                   c.querySelectorAll('script, style').forEach(n => n.remove());
                   return c.textContent + ' ' + Array.from(document.querySelectorAll('[title]'))
                     .map(n => n.getAttribute('title')).join(' '); }"""
    )
    donnees = page.evaluate(
        "() => { const d = document.getElementById('obs-donnees'); return d ? d.textContent : ''; }"
    )
    if donnees:
        d = json.loads(donnees)
        for ind in d.get("indicateurs", []):
            texte += " " + ind["libelle"] + " " + json.dumps(ind["commun"], ensure_ascii=False)
            texte += " " + json.dumps(ind["valeurs"], ensure_ascii=False)
        texte += " " + json.dumps(d.get("zones", {}).get("lignes", {}), ensure_ascii=False)
    return texte


def _propre(page, identifiants, nom):
    texte = _textes(page)
    m = _INTERDITS.search(texte)
    assert m is None, f"{nom}: {texte[max(0, m.start() - 80) : m.end() + 80]!r}"
    for i in identifiants:
        assert i not in texte, f"{nom}: method id {i!r}"
    assert "Département (Département)" not in texte and "France France" not in texte
    assert "Département None" not in texte


def test_index_tableau_de_bord(navigateur, sortie, identifiants, artefacts):
    page = _ouvrir(navigateur, sortie / "index.html", carte=False)
    table = page.locator(".obs-bord-table")
    assert table.count() == 1
    lignes = table.locator("tbody tr")
    assert lignes.count() == len(ZONES)
    texte = table.inner_text()
    for z in ZONES:
        assert z in texte
    pslr = table.locator("tbody tr", has_text="QN01371N").inner_text()
    assert "1\u202f093" in pslr
    # switch of the reference: EPCI gaps shown, commune ones hidden
    visibles = page.locator(".obs-ecart-commune:visible").count()
    assert visibles > 0
    page.click(".obs-bord-choix button[data-ref='epci']")
    assert page.locator(".obs-ecart-commune:visible").count() == 0
    assert page.locator(".obs-ecart-epci:visible").count() > 0
    # sort on population: descending on the second click
    page.click("button.obs-tri[data-col='1']")
    page.click("button.obs-tri[data-col='1']")
    premiere = lignes.first.inner_text()
    assert "La Maille" in premiere
    # links: maps, sheets, tables and manifest
    hrefs = page.eval_on_selector_all("a[href]", "l => l.map(a => a.getAttribute('href'))")
    assert "manifest.json" in hrefs and "tables/observatoire.xlsx" in hrefs
    assert "tables/observatoire.gpkg" in hrefs and "tables/synthese.csv" in hrefs
    assert "2022/ecarts_commune.html" in hrefs and "2022/fiches/QN01371N.html" in hrefs
    assert "Comment lire ce tableau" in page.inner_text("body")
    _propre(page, identifiants, "index.html")
    page.click(".obs-bord-choix button[data-ref='commune']")
    page.screenshot(path=str(artefacts / "pages_run_index.png"), full_page=True)
    assert page.obs_erreurs == [] and page.obs_bloquees == []
    page.close()


def test_fiches_deux_pages_a4(navigateur, sortie, identifiants, artefacts):
    fiches = sorted(sortie.glob("*/fiches/*.html"))
    assert len(fiches) == 3 * len(ZONES)
    for chemin in fiches:
        page = _ouvrir(navigateur, chemin)
        nom = chemin.relative_to(sortie).as_posix()
        _propre(page, identifiants, nom)
        # tables fit their column on screen
        debord = page.evaluate(
            """() => Array.from(document.querySelectorAll('.obs-fiche table'))
                 .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).length"""
        )
        assert debord == 0, nom
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4", print_background=True)
        n = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert 1 <= n <= 2, f"{nom}: {n} pages"
        if nom == "2022/fiches/QN01371N.html":
            (artefacts / "pages_run_fiche_QN01371N.pdf").write_bytes(pdf)
            page.screenshot(path=str(artefacts / "pages_run_fiche_QN01371N.png"), full_page=True)
        assert page.obs_erreurs == [] and page.obs_bloquees == [], nom
        page.close()


def _point(page, lat, lon):
    return page.evaluate(
        """([lat, lon]) => { const c = document.getElementById('obs-carte');
             const p = c.obsCarte.latLngToContainerPoint([lat, lon]);
             const r = c.getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }""",
        [lat, lon],
    )


def _centre(sortie, code):
    import geopandas as gpd

    for couche in ("qpv", "veille"):
        z = gpd.read_file(sortie / "tables" / "observatoire.gpkg", layer=couche)
        z = z[z["territoire_code"].astype(str) == code]
        if len(z):
            p = z.geometry.iloc[0].representative_point()
            p = gpd.GeoSeries([p], crs=z.crs).to_crs("EPSG:4326").iloc[0]
            return p.y, p.x
    raise AssertionError(code)


def test_carte_ecarts_qpv_au_dessus_et_infobulle_visible(
    navigateur, sortie, identifiants, artefacts
):
    page = _ouvrir(navigateur, sortie / "2022" / "ecarts_commune.html")
    _propre(page, identifiants, "2022/ecarts_commune.html")
    # QPV and veille outlines drawn by default
    assert page.locator("path.obs-contour-qpv2024").count() >= 1
    assert page.locator("path.obs-contour-veille").count() >= 1
    # the centre of QN01371N shows QN01371N, not the veille territory overlapping it
    x, y = _point(page, *_centre(sortie, "QN01371N"))
    page.mouse.move(x, y)
    page.wait_for_selector(".leaflet-tooltip", timeout=5000)
    texte = page.locator(".leaflet-tooltip").inner_text()
    assert "QN01371N" in texte and "Port-Saint-Louis" in texte and "Vauban" not in texte
    # a zone brought to the top edge of the map: its tooltip stays inside the map
    page.mouse.move(1, 1)
    page.wait_for_selector(".leaflet-tooltip", state="detached", timeout=5000)
    lat, lon = _centre(sortie, "QN01365M")
    page.evaluate(
        """([lat, lon]) => { const c = document.getElementById('obs-carte').obsCarte;
             const p = c.latLngToContainerPoint([lat, lon]);
             c.panBy([0, p.y - 12], {animate: false}); }""",
        [lat, lon],
    )
    x, y = _point(page, lat, lon)
    page.mouse.move(x, y)
    page.wait_for_selector(".leaflet-tooltip", timeout=5000)
    t = page.locator(".leaflet-tooltip").bounding_box()
    m = page.locator("#obs-carte").bounding_box()
    assert t["y"] >= m["y"] - 1 and t["y"] + t["height"] <= m["y"] + m["height"] + 1
    assert t["x"] >= m["x"] - 1 and t["x"] + t["width"] <= m["x"] + m["width"] + 1
    # rows of the table: one tooltip open at a time
    page.mouse.move(1, 1)
    page.wait_for_selector(".leaflet-tooltip", state="detached", timeout=5000)
    for code in ("QN01366I", "QN01367M"):
        page.click(f'section.obs-tableau:not([hidden]) tr[data-code="{code}"]')
    page.wait_for_timeout(400)  # closed tooltips fade out in 200 ms
    assert page.locator(".leaflet-tooltip").count() == 1
    assert "QN01367M" in page.locator(".leaflet-tooltip").inner_text()
    page.mouse.move(1, 1)
    page.evaluate(
        "() => document.getElementById('obs-carte').obsZones.eachLayer(c => c.closeTooltip())"
    )
    page.evaluate(
        "() => document.getElementById('obs-carte').obsCarte.setView("
        "document.getElementById('obs-carte').obsZones.getBounds().getCenter(), 11)"
    )
    page.screenshot(path=str(artefacts / "pages_run_ecarts_commune.png"), full_page=True)
    assert page.obs_erreurs == [] and page.obs_bloquees == []
    page.close()


def test_cartes_indicateurs_propres(navigateur, sortie, identifiants):
    for chemin in sorted(sortie.glob("*/carte_indicateurs.html")) + sorted(
        sortie.glob("*/ecarts_*.html")
    ):
        page = _ouvrir(navigateur, chemin)
        _propre(page, identifiants, chemin.relative_to(sortie).as_posix())
        assert page.obs_erreurs == [] and page.obs_bloquees == []
        page.close()
