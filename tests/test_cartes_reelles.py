"""Shipped territory (SAN Ouest Provence) from ../shared/data: maps, sheets, sizes, browser.

The tables are those of the shipped configuration, computed by the territory-level
entry points of the yearly run (``cartes_aides.territoire_livre``).
"""

from __future__ import annotations

import pytest
from cartes_aides import territoire_livre

from observatoire.cartes import couches_web, generer_cartes, generer_fiches, generer_index

QPV_SAN = ["QN01365M", "QN01366I", "QN01367M", "QN01371N"]


@pytest.fixture(scope="module")
def sortie(donnees, tmp_path_factory):
    """Maps of 2016 and 2022 and sheets of 2022, drawn as the run's steps draw them."""
    d = tmp_path_factory.mktemp("san")
    t = territoire_livre(donnees)
    couches = couches_web(t.geometries)
    communs = {
        "codebook": t.codebook,
        "synthese": t.synthese,
        "avertissements": t.avertissements,
    }
    cartes = generer_cartes(
        t.indicateurs,
        t.ecarts,
        couches,
        d,
        annees=[2016, 2022],
        references=t.references,
        **communs,
    )
    fiches = generer_fiches(
        t.indicateurs, t.ecarts, couches, d, poids=t.poids, annees=[2022], notes=t.notes, **communs
    )
    generer_index(d, titre=f"Observatoire — {t.config.nom}", **communs)
    return d, t, couches, cartes, fiches


def test_territoire_livre_zones(donnees):
    t = territoire_livre(donnees)
    assert t.codes_zones("qpv") == QPV_SAN == [q.code for q in t.config.qpv.liste]
    veille = [v.code for v in t.config.veille]
    assert len(veille) == 5 and t.codes_zones("veille") == veille
    assert set(t.poids["code_zone"]) == set(QPV_SAN) | set(veille)
    assert len(t.geometries.zones()) == 9


def test_territoire_livre_pages_et_tailles(sortie):
    d, t, couches, cartes, fiches = sortie
    assert len(couches.iris) == 41  # IRIS of the six communes in the ~2014 layer
    assert t.references == ["commune", "epci", "departement"]
    assert {p.relative_to(d).as_posix() for p in cartes} == {
        f"{annee}/{nom}.html"
        for annee in (2016, 2022)
        for nom in ("carte_indicateurs", "ecarts_commune", "ecarts_epci", "ecarts_departement")
    }
    for p in cartes:
        assert p.stat().st_size < 3_000_000, p  # < 3 MB with all indicators
    assert len(fiches) == 9
    noms = {p.stem for p in fiches}
    assert noms == set(QPV_SAN) | {v.code for v in t.config.veille}
    assert all(p.parent.relative_to(d).as_posix() == "2022/fiches" for p in fiches)


@pytest.mark.browser
def test_territoire_livre_navigateur(sortie, navigateur, artefacts):
    d, _, _, _, _ = sortie
    page = navigateur.new_page(viewport={"width": 1280, "height": 860})
    erreurs = []
    page.on("console", lambda m: erreurs.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: erreurs.append(str(e)))
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
    )
    try:
        for rel, n in (
            ("2022/carte_indicateurs.html", 41),
            ("2022/ecarts_commune.html", 9),
            ("2022/fiches/QN01365M.html", 1),
        ):
            page.goto((d / rel).as_uri())
            page.wait_for_selector(".obs-carte[data-pret='1']", state="attached")
            assert page.locator("path.obs-zone").count() == n, rel
            nom = "cartes_san_" + rel.replace("/", "_").replace(".html", ".png")
            page.screenshot(path=str(artefacts / nom), full_page=True)
    finally:
        page.close()
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

    t = territoire_livre(donnees)
    ind = pd.read_parquet(tables_run / "indicateurs.parquet")
    ecarts = pd.read_parquet(tables_run / "ecarts.parquet")
    poids = pd.read_parquet(tables_run / "poids.parquet")
    zones = pd.concat(
        [gpd.read_file(tables_run / "observatoire.gpkg", layer=n) for n in ("qpv", "veille")],
        ignore_index=True,
    ).rename(columns={"territoire_code": "code_zone", "territoire_nom": "nom_zone"})
    # the shipped-territory tables of the other tests are the run's
    assert list(zones["code_zone"]) == list(t.zones["code_zone"])
    cles = ["code_zone", "code_iris"]
    pd.testing.assert_frame_equal(
        poids[[*cles, "poids", "methode"]].sort_values(cles).reset_index(drop=True),
        t.poids[[*cles, "poids", "methode"]].sort_values(cles).reset_index(drop=True),
        check_dtype=False,
    )
    cles = ["niveau", "territoire_code", "indicateur", "sexe", "annee", "methode"]

    def valeurs_zones(df):
        z = df[df["niveau"].isin(["qpv", "veille"]) & df["annee"].isin([2016, 2022])]
        return z[[*cles, "valeur", "statut"]].sort_values(cles).reset_index(drop=True)

    pd.testing.assert_frame_equal(
        valeurs_zones(ind), valeurs_zones(t.indicateurs), check_dtype=False
    )
    # the IRIS of the configuration's geography that the run's tables cover
    iris = t.geometries.iris
    codes = set(poids["code_iris"]) | set(
        ind.loc[ind["niveau"] == "iris", "territoire_code"].astype(str)
    )
    iris = iris[iris["code_iris"].isin(codes)]
    couches = couches_web(
        {
            "iris": iris,
            "zones": gpd.GeoDataFrame(zones, crs=zones.crs),
            "nom_territoire": t.config.nom,
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
