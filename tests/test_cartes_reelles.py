"""Default territory (SAN Ouest Provence) from ../shared/data: maps, sheets, sizes, browser."""

from __future__ import annotations

import pytest
from cartes_aides import VEILLE_SAN, territoire_defaut

from observatoire.cartes import couches_web, generer_cartes, generer_fiches, generer_index

QPV_SAN = ["QN01365M", "QN01366I", "QN01367M", "QN01371N"]


@pytest.fixture(scope="module")
def sortie(donnees, tmp_path_factory):
    d = tmp_path_factory.mktemp("san")
    ind, ecarts, geo, poids = territoire_defaut(donnees)
    couches = couches_web(geo)
    cartes = generer_cartes(ind, ecarts, couches, d, annees=[2016, 2022])
    fiches = generer_fiches(ind, ecarts, couches, d, poids=poids, annees=[2022])
    generer_index(d)
    return d, couches, cartes, fiches


def test_territoire_defaut_pages_et_tailles(sortie):
    d, couches, cartes, fiches = sortie
    assert len(couches.iris) == 41  # IRIS of the six communes in the ~2014 layer
    assert {p.relative_to(d).as_posix() for p in cartes} >= {
        "2016/carte_indicateurs.html",
        "2022/carte_indicateurs.html",
        "2022/ecarts_commune.html",
        "2022/ecarts_departement.html",
    }
    for p in cartes:
        assert p.stat().st_size < 3_000_000, p  # issue 5: < 3 MB with all indicators
    noms = {p.stem for p in fiches}
    assert noms == set(QPV_SAN) | set(VEILLE_SAN)


@pytest.mark.browser
def test_territoire_defaut_navigateur(sortie, artefacts):
    pw = pytest.importorskip("playwright.sync_api")
    d, couches, _, _ = sortie
    from conftest import ARGS_CHROMIUM

    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS_CHROMIUM)
        page = b.new_page(viewport={"width": 1280, "height": 860})
        erreurs = []
        page.on("console", lambda m: erreurs.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: erreurs.append(str(e)))
        page.route(
            "**/*",
            lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
        )
        for rel, n in (
            ("2022/carte_indicateurs.html", 41),
            ("2022/ecarts_commune.html", 9),
            ("2022/fiches/QN01365M.html", 1),
        ):
            page.goto((d / rel).as_uri())
            page.wait_for_selector(".obs-carte[data-pret='1']", state="attached")
            assert page.locator("path.obs-zone").count() == n, rel
            page.screenshot(
                path=str(
                    artefacts / ("cartes_san_" + rel.replace("/", "_").replace(".html", ".png"))
                ),
                full_page=True,
            )
        b.close()
    assert erreurs == []


@pytest.fixture(scope="module")
def tables_run(donnees, tmp_path_factory):
    """Tables of the real pipeline (``observatoire run --from ../shared/data``), 2 vintages."""
    from observatoire.run import executer_run

    d = tmp_path_factory.mktemp("run")
    res = executer_run(
        annees=[2016, 2022],
        depuis=donnees,
        sorties=d / "sorties",
        progression=False,
        cache=d / "cache",
    )
    return res.dossier / "tables"


def test_cartes_depuis_les_tables_du_run(tables_run, donnees, tmp_path, artefacts):
    import geopandas as gpd
    import pandas as pd

    from observatoire.chargement import lire_iris

    ind = pd.read_parquet(tables_run / "indicateurs.parquet")
    ecarts = pd.read_parquet(tables_run / "ecarts.parquet")
    poids = pd.read_parquet(tables_run / "poids.parquet")
    zones = pd.concat(
        [gpd.read_file(tables_run / "observatoire.gpkg", layer=n) for n in ("qpv", "veille")],
        ignore_index=True,
    )
    iris = lire_iris(donnees / "iris" / "iris_dep13_fullres_ign_circa2014.gpkg")
    codes = set(poids["code_iris"]) | set(
        ind.loc[ind["niveau"] == "iris", "territoire_code"].astype(str)
    )
    iris = iris[iris["code_iris"].isin(codes)]
    couches = couches_web(
        {
            "iris": iris,
            "zones": gpd.GeoDataFrame(zones, crs=zones.crs),
            "nom_territoire": "Ex-SAN Ouest Provence",
        }
    )
    assert len(couches.iris) == 41 and len(couches.zones) == 9
    cartes = generer_cartes(ind, ecarts, couches, tmp_path, annees=[2022])
    fiches = generer_fiches(ind, ecarts, couches, tmp_path, poids=poids, annees=[2022])
    assert {p.name for p in cartes} == {
        "carte_indicateurs.html",
        "ecarts_commune.html",
        "ecarts_epci.html",
        "ecarts_departement.html",
    }
    assert {p.stem for p in fiches} == set(couches.zones["code"])
    for p in cartes:
        assert p.stat().st_size < 3_000_000, p
    # the official 2024-table population of Le Prépaou (3,027) sits beside the IRIS estimate
    texte = (tmp_path / "2022" / "fiches" / "QN01365M.html").read_text()
    assert "Le Prépaou" in texte and "Composition en IRIS" in texte
    assert "3\u202f027\u00a0habitants" in texte
    assert "Population 2020 (officiel)" in texte
