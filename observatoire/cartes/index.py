"""``index.html``: links to every map and sheet of an output folder, by year."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from observatoire.cartes.pages import chemin_relatif, ecrire_page, rendre_page

__all__ = ["generer_index"]

_TITRE = re.compile(r"<title>(.*?)</title>", re.S)


_ORDRE = [
    "carte_indicateurs",
    "ecarts_commune",
    "ecarts_epci",
    "ecarts_departement",
    "ecarts_france",
]


def _ordre(chemin: Path) -> tuple:
    return (_ORDRE.index(chemin.stem) if chemin.stem in _ORDRE else len(_ORDRE), chemin.name)


def _titre(chemin: Path) -> str:
    with open(chemin, encoding="utf-8") as f:
        debut = f.read(4096)
    m = _TITRE.search(debut)
    return html.unescape(m.group(1)).strip() if m else chemin.stem


def generer_index(
    dossier: str | os.PathLike,
    *,
    titre: str = "Observatoire — cartes et fiches",
) -> Path:
    """Write ``<dossier>/index.html`` linking the pages found in ``<dossier>/<année>/``.

    Maps are the ``*.html`` files of each year folder, sheets those of its
    ``fiches/`` sub-folder; titles are read back from the pages. Returns the path.
    """
    dossier = Path(dossier)
    annees = []
    for sous in sorted(
        (p for p in dossier.iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
        reverse=True,
    ):
        cartes = [
            {"href": chemin_relatif(p, dossier), "titre": _titre(p)}
            for p in sorted(sous.glob("*.html"), key=_ordre)
        ]
        fiches = [
            {"href": chemin_relatif(p, dossier), "titre": _titre(p)}
            for p in sorted((sous / "fiches").glob("*.html"))
        ]
        if cartes or fiches:
            annees.append({"annee": int(sous.name), "cartes": cartes, "fiches": fiches})
    liens = [{"href": f"#annee-{a['annee']}", "texte": str(a["annee"])} for a in annees]
    page = rendre_page(
        "index.html.j2",
        avec_carte=False,
        impression=True,
        titre=titre,
        sous_titres=["Cartes interactives et fiches quartier, par millésime."],
        liens=liens,
        annees=annees,
        classe_page="obs-page-index",
    )
    return ecrire_page(dossier / "index.html", page)
