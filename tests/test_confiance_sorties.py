"""Outputs: permissions, links, full or read-only folders, hand edits, repairs, left-overs."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import geopandas as gpd
import pytest
from aides_run import config_chemins
from click.testing import CliRunner
from shapely import Polygon, box

from observatoire import ecriture_atomique
from observatoire.chargement.validation import preparer_geometries
from observatoire.rapport import Rapport
from observatoire.run import ErreurEcriture, Etape, executer_run
from observatoire.run import executer as module_run
from observatoire.run.comparaison import comparer_runs
from observatoire.run.manifeste import sha256_fichier


def _tables(ctx):
    ctx.chemin("tables", "poids.csv").write_text("code_zone,poids\nQN01365M,0.5\n")
    ctx.chemin("tables", "indicateurs.csv").write_text("territoire_code,annee,valeur\n")


def _fiches(ctx):
    for z in ("QN01365M", "QN01366I"):
        ctx.chemin("fiches", f"{z}.html").write_text(f"<p>{z}</p>")


ETAPES = [Etape("tables", _tables), Etape("fiches", _fiches)]


@pytest.fixture(scope="module")
def cfg(donnees):
    return config_chemins(donnees)


def _empreintes(d: Path) -> dict[str, str]:
    return {
        p.relative_to(d).as_posix(): sha256_fichier(p) for p in sorted(d.rglob("*")) if p.is_file()
    }


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_permissions_suivent_le_umask(cfg, tmp_path):
    ancien = os.umask(0o022)
    try:
        res = executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False)
    finally:
        os.umask(ancien)
    assert _mode(res.dossier) == 0o755
    assert _mode(res.dossier / "manifest.json") == 0o644
    assert _mode(res.dossier / "tables") == 0o755


def test_dossier_de_sortie_lien_symbolique_suivi(cfg, tmp_path):
    reel = tmp_path / "ailleurs" / "sop"
    executer_run(cfg, sorties=tmp_path / "ailleurs", etapes=ETAPES, progression=False)
    (tmp_path / "ailleurs" / "san_ouest_provence").rename(reel)
    racine = tmp_path / "racine"
    racine.mkdir()
    (racine / "san_ouest_provence").symlink_to(reel)
    res = executer_run(cfg, sorties=racine, etapes=ETAPES, progression=False, force=True)
    assert res.dossier == reel.resolve()
    assert (racine / "san_ouest_provence").is_symlink()
    assert (racine / "san_ouest_provence" / "manifest.json").is_file()
    assert _mode(reel) == 0o777 & ~_umask()
    assert sorted(p.name for p in racine.iterdir()) == ["san_ouest_provence"]


def _umask() -> int:
    return ecriture_atomique.umask()


def test_lien_symbolique_casse_refuse_avant_tout_changement(cfg, tmp_path):
    (tmp_path / "san_ouest_provence").symlink_to(tmp_path / "nulle_part")
    with pytest.raises(ErreurEcriture, match="lien symbolique"):
        executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["san_ouest_provence"]


@pytest.mark.parametrize("panne", ["lecture_seule", "disque_plein"])
def test_dossier_en_lecture_seule_ou_plein(cfg, tmp_path, monkeypatch, panne):
    from observatoire.cli import main

    executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False)
    d = tmp_path / "san_ouest_provence"
    avant = _empreintes(d)
    if panne == "lecture_seule":

        def refuse(cible):
            raise PermissionError(errno.EROFS, os.strerror(errno.EROFS), str(cible))

        monkeypatch.setattr(module_run, "dossier_temporaire", refuse)
        etapes = ETAPES
    else:

        def plein(ctx):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(ctx.dossier / "x"))

        etapes = [ETAPES[0], Etape("cartes", plein)]
    monkeypatch.setattr("observatoire.run.etapes.ETAPES", etapes)
    res = CliRunner().invoke(
        main,
        [
            "run",
            "--config",
            str(_yaml(cfg, tmp_path)),
            "--out",
            str(tmp_path),
            "--force",
            "--no-progress",
        ],
    )
    assert res.exit_code == 1, res.output
    lignes = [ligne for ligne in res.output.splitlines() if ligne.startswith("Error")]
    assert len(lignes) == 1 and "impossible d'écrire les sorties dans" in lignes[0]
    assert "les sorties précédentes sont intactes" in lignes[0]
    assert _empreintes(d) == avant
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "san_ouest_provence"]


def _yaml(cfg, tmp_path) -> Path:
    import yaml

    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(cfg.parametres(), allow_unicode=True), encoding="utf-8")
    return p


def test_force_dit_ce_qui_a_ete_retouche_et_ne_perd_rien(cfg, tmp_path):
    executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False)
    d = tmp_path / "san_ouest_provence"
    (d / "tables" / "poids.csv").write_text("code_zone,poids\nQN01365M,0.9\n")
    (d / "notes.txt").write_text("mes notes")
    (d / "fiches" / "QN01366I.html").unlink()
    res = executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False, force=True)
    c = res.changements
    assert not c.aucun
    assert c.edites_main == ["tables/poids.csv"] and c.ajoutes_main == ["notes.txt"]
    assert c.supprimes_main == ["fiches/QN01366I.html"]
    assert c.modifies == ["tables/poids.csv"] and c.supprimes == ["notes.txt"]
    assert c.ajoutes == ["fiches/QN01366I.html"]
    # the files the run did not write are moved to a dated folder, and the summary says so
    conserves = Path(c.conserves_dans)
    assert conserves.parent == tmp_path and conserves.name.startswith("san_ouest_provence.")
    assert (conserves / "notes.txt").read_text() == "mes notes"
    assert "0.9" in (conserves / "tables" / "poids.csv").read_text()
    assert "retouché à la main depuis leur exécution : tables/poids.csv" in res.resume
    assert "non écrit par leur exécution : notes.txt" in res.resume
    assert "supprimé à la main depuis leur exécution : fiches/QN01366I.html" in res.resume
    assert str(conserves) in res.resume
    m = json.loads((d / "manifest.json").read_text())
    assert m["changements"]["edites_a_la_main"] == ["tables/poids.csv"]
    assert m["changements"]["ajoutes_a_la_main"] == ["notes.txt"]
    assert m["changements"]["conserves_dans"] == str(conserves)


def test_compare_lit_le_disque(cfg, tmp_path):
    a = executer_run(cfg, sorties=tmp_path / "a", etapes=ETAPES, progression=False).dossier
    b = executer_run(cfg, sorties=tmp_path / "b", etapes=ETAPES, progression=False).dossier
    assert comparer_runs(a, b).fichiers.aucun
    (b / "tables" / "poids.csv").write_text("retouche\n")
    (b / "ajout.txt").write_text("x")
    comp = comparer_runs(a, b)
    assert comp.fichiers.modifies == ["tables/poids.csv"]
    assert comp.fichiers.ajoutes == ["ajout.txt"]
    texte = comp.resume()
    assert "retouché à la main depuis son exécution" in texte
    assert "retouché : tables/poids.csv" in texte


def test_restes_supprimes_quel_que_soit_le_pid(cfg, tmp_path):
    executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False)
    vivant = tmp_path / f".san_ouest_provence.en-cours-{os.getppid()}-abc"
    vivant.mkdir()
    (vivant / "gros.bin").write_bytes(b"0" * 1024)
    res = executer_run(cfg, sorties=tmp_path, etapes=ETAPES, progression=False, force=True)
    assert not vivant.exists()
    assert any("dossier restant" in e.message for e in res.rapport.evenements)


def test_reparation_signalee_avec_les_surfaces():
    noeud_papillon = Polygon([(0, 0), (200, 200), (200, 0), (0, 200)])
    g = gpd.GeoDataFrame(
        {"code_zone": ["QN01365M", "QN01366I"]},
        geometry=[noeud_papillon, box(0, 0, 10, 10)],
        crs="EPSG:2154",
    )
    r = Rapport()
    out = preparer_geometries(g, source="qpv.geojson", code="code_zone", rapport=r)
    assert out.geometry.is_valid.all()
    (rep,) = r.reparations
    assert rep["code"] == "QN01365M" and rep["surface_avant_m2"] == 0.0
    assert rep["surface_apres_m2"] == 20000.0
    zone = r.de_la_zone("QN01365M")
    assert len(zone) == 1 and zone[0].niveau == "avertissement"
    assert "surface 0 m² dessinée → 20,000 m² réparée" in zone[0].message
    assert r.n_avertissements == 2  # the feature, and the file's summary


def test_reparation_au_manifeste(cfg, tmp_path):
    def repare(ctx):
        preparer_geometries(
            gpd.GeoDataFrame(
                {"c": ["Z"]}, geometry=[Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])], crs="EPSG:2154"
            ),
            source="z.gpkg",
            code="c",
            rapport=ctx.rapport,
        )

    res = executer_run(
        cfg, sorties=tmp_path, etapes=[*ETAPES, Etape("z", repare)], progression=False
    )
    m = json.loads((res.dossier / "manifest.json").read_text())
    assert m["reparations"][0]["code"] == "Z"
    assert any(e["zone"] == "Z" for e in m["avertissements"]["liste"])
