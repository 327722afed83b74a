"""Every kind of page in headless Chromium with all networking blocked.

Each page: no console error, as many Leaflet polygons as features, a tooltip with
the expected value on hover, a screenshot in the artefacts folder; the malicious
IRIS name stays text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cartes_aides import MALVEILLANT, codebook, ecarts, geometries, indicateurs, poids

from observatoire.cartes import couches_web, generer_cartes, generer_fiches, generer_index

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sortie(tmp_path_factory):
    d = tmp_path_factory.mktemp("cartes")
    c = couches_web(geometries())
    generer_cartes(indicateurs(), ecarts(), c, d, codebook=codebook())
    generer_fiches(indicateurs(), ecarts(), c, d, poids=poids(), codebook=codebook())
    generer_index(d)
    return d


class Page:
    def __init__(self, navigateur, chemin: Path):
        self.page = navigateur.new_page(viewport={"width": 1280, "height": 860})
        self.erreurs, self.requetes_bloquees, self.dialogues = [], [], []
        self.page.on(
            "console", lambda m: self.erreurs.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.erreurs.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogues.append(d.message), d.dismiss()))

        def router(route):
            url = route.request.url
            if url.startswith(("file:", "data:")):
                route.continue_()
            else:
                self.requetes_bloquees.append(url)
                route.abort()

        self.page.route("**/*", router)
        self.page.goto(chemin.as_uri())
        self.page.wait_for_selector(".obs-carte[data-pret='1']", state="attached", timeout=10000)

    def survoler(self, code: str) -> str:
        self.page.mouse.move(1, 1)
        self.page.wait_for_selector(".leaflet-tooltip", state="detached", timeout=5000)
        self.page.locator(f'path.obs-zone[data-code="{code}"]').hover()
        self.page.wait_for_selector(".leaflet-tooltip", timeout=5000)
        return self.page.locator(".leaflet-tooltip").inner_text()

    def fin(self, artefacts: Path, nom: str):
        self.page.screenshot(path=str(artefacts / nom), full_page=True)
        assert self.erreurs == []
        assert self.requetes_bloquees == []
        assert self.dialogues == []
        self.page.close()


def test_choroplethe_plusieurs_indicateurs(navigateur, sortie, artefacts):
    p = Page(navigateur, sortie / "2022" / "carte_indicateurs.html")
    assert p.page.locator("path.obs-zone").count() == 4
    texte = p.survoler("130990002")
    assert "Le Centre" in texte and "2\u202f400\u00a0habitants" in texte
    # switch indicator with the select box: the same IRIS now shows its unemployment rate
    p.page.select_option("#obs-choix-indicateur", "1")
    p.page.mouse.move(5, 5)
    texte = p.survoler("130990002")
    assert "Taux de chômage des 15-64 ans" in texte and "18,0\u202f%" in texte
    assert "Commune (Villeneuve)" in texte and "15,0\u202f%" in texte
    # secret and missing have their own style, never black
    for code, motif in (("130990003", "secret"), ("130980001", "manquant")):
        fill = p.page.locator(f'path.obs-zone[data-code="{code}"]').get_attribute("fill")
        assert fill.startswith(f"url(#obs-motif-{motif})") and "#000" not in fill
    assert p.page.locator("#obs-motif-secret").count() == 1
    # the malicious name is shown as text (table and tooltip), never as an element
    assert p.page.locator("img").count() == 0
    assert MALVEILLANT in p.page.locator("section.obs-tableau:not([hidden])").inner_text()
    assert MALVEILLANT in p.survoler("130990003")
    assert p.page.locator(".leaflet-control-layers").count() == 1
    assert p.page.locator(".leaflet-control-scale").count() == 1
    # search by name zooms on the feature and opens its tooltip
    p.page.fill(".obs-recherche input", "centre")
    p.page.press(".obs-recherche input", "Enter")
    p.page.wait_for_timeout(300)
    assert "Le Centre" in p.page.locator(".leaflet-tooltip").inner_text()
    # fullscreen button
    p.page.click(".obs-plein-ecran-controle a")
    assert p.page.locator(".obs-carte-bloc.obs-plein-ecran").count() == 1
    p.page.keyboard.press("Escape")
    p.fin(artefacts, "cartes_choroplethe.png")


def test_carte_ecarts(navigateur, sortie, artefacts):
    p = Page(navigateur, sortie / "2016" / "ecarts_commune.html")
    assert p.page.locator("path.obs-zone").count() == 2  # one QPV + one veille zone
    texte = p.survoler("QN01399M")
    assert "+10,5\u00a0pts" in texte and "17,0\u202f%" in texte and "Villeneuve" in texte
    couleur = p.page.locator('path.obs-zone[data-code="QN01399M"]').get_attribute("fill")
    assert couleur == "#b2182b"  # most unfavourable class of RdBu
    p.fin(artefacts, "cartes_ecarts_commune.png")


def test_fiche_et_carte_de_localisation(navigateur, sortie, artefacts):
    p = Page(navigateur, sortie / "2022" / "fiches" / "QN01399M.html")
    assert p.page.locator("path.obs-zone").count() == 1
    assert "Villeneuve (13099)" in p.survoler("QN01399M")
    assert p.page.locator("text=Composition en IRIS").count() == 1
    assert p.page.locator("svg.obs-mini").count() >= 2  # gap chart: axis + a rate row
    # print: A4 PDF kept as an artefact, map controls hidden on paper
    p.page.emulate_media(media="print")
    assert p.page.locator(".leaflet-control-zoom").is_hidden()
    pdf = p.page.pdf(format="A4", print_background=True)
    (artefacts / "cartes_fiche_QN01399M.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    import re

    assert 1 <= len(re.findall(rb"/Type\s*/Page[^s]", pdf)) <= 2  # two A4 pages at most
    p.page.emulate_media(media="screen")
    p.page.emulate_media(media="print")
    p.fin(artefacts, "cartes_fiche_QN01399M.png")


def test_index(navigateur, sortie, artefacts):
    page = navigateur.new_page()
    erreurs = []
    page.on("console", lambda m: erreurs.append(m.text) if m.type == "error" else None)
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
    )
    page.goto((sortie / "index.html").as_uri())
    liens = page.locator("main a")
    assert liens.count() == 12  # 2 years x (1 choropleth + 3 gap maps + 2 sheets)
    page.locator("main a", has_text="fiche quartier 2016").first.click()
    page.wait_for_selector(".obs-carte[data-pret='1']", state="attached")
    assert "fiche quartier 2016" in page.title()
    page.go_back()
    page.screenshot(path=str(artefacts / "cartes_index.png"), full_page=True)
    assert erreurs == []
    page.close()


def test_tableau_et_legende_interactifs(navigateur, sortie, artefacts):
    p = Page(navigateur, sortie / "2016" / "carte_indicateurs.html")
    # a click on a table row opens that IRIS' tooltip
    p.page.click('section.obs-tableau:not([hidden]) tr[data-code="130980001"]')
    p.page.wait_for_selector(".leaflet-tooltip", timeout=5000)
    assert "La Gare" in p.page.locator(".leaflet-tooltip").inner_text()
    # the legend folds away and comes back
    p.page.click(".obs-legende-bouton")
    assert p.page.locator(".obs-legende-corps").is_hidden()
    p.page.click(".obs-legende-bouton")
    assert p.page.locator(".obs-legende-corps").is_visible()
    p.fin(artefacts, "cartes_choroplethe_2016.png")


def test_fond_de_carte_en_option_reste_eteint(navigateur, tmp_path, artefacts):
    from observatoire.cartes import carte_indicateurs
    from observatoire.cartes.pages import ecrire_page

    page = carte_indicateurs(
        indicateurs(), couches_web(geometries()), 2016, codebook=codebook(), tuiles="osm"
    )
    chemin = ecrire_page(tmp_path / "tuiles.html", page)
    p = Page(navigateur, chemin)
    controle = p.page.locator(".leaflet-control-layers").text_content()
    assert "Fond OpenStreetMap (en ligne)" in controle
    assert p.page.locator(".leaflet-tile").count() == 0
    p.fin(artefacts, "cartes_option_tuiles.png")  # asserts no request left the machine
