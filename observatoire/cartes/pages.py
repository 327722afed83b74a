"""Render the observatory's HTML pages from the jinja2 templates and write them atomically.

Templates autoescape every value: data texts (names, labels, codes) are always
HTML-escaped; only our own assets and the JSON block (already escaped by
:func:`~observatoire.cartes.simplification.json_html`) are inserted as is.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import jinja2

from observatoire import __version__
from observatoire.cartes.actifs import (
    VERSION_LEAFLET,
    leaflet_css,
    leaflet_js,
    script_observatoire,
    style_impression,
    style_observatoire,
    verifier_hors_ligne,
)
from observatoire.ecriture_atomique import fichier_atomique

__all__ = ["rendre_page", "ecrire_page", "chemin_relatif"]


@cache
def _environnement() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("observatoire.cartes", "templates"),
        autoescape=True,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def rendre_page(
    gabarit: str, *, avec_carte: bool = True, impression: bool = False, **contexte
) -> str:
    """Render ``templates/<gabarit>`` with the inlined assets; check nothing is remote."""
    contexte.setdefault("sous_titres", [])
    contexte.setdefault("liens", [])
    contexte.setdefault("classe_page", "")
    html = (
        _environnement()
        .get_template(gabarit)
        .render(
            version=__version__,
            version_leaflet=VERSION_LEAFLET,
            avec_carte=avec_carte,
            css_leaflet=leaflet_css() if avec_carte else "",
            js_leaflet=leaflet_js() if avec_carte else "",
            js=script_observatoire() if avec_carte else "",
            css=style_observatoire(),
            css_impression=style_impression() if impression else "",
            **contexte,
        )
    )
    verifier_hors_ligne(html, source=gabarit)
    return html


def ecrire_page(chemin: str | os.PathLike, html: str) -> Path:
    """Write ``html`` to ``chemin`` atomically (temporary file in the same folder, then rename)."""
    with fichier_atomique(chemin) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return Path(chemin)


def chemin_relatif(cible: str | os.PathLike, depuis: str | os.PathLike) -> str:
    """Relative URL from the folder ``depuis`` to ``cible`` (POSIX separators).

    Examples
    --------
    >>> chemin_relatif("/a/b/fiches/x.html", "/a/b/2016")
    '../fiches/x.html'
    """
    return Path(os.path.relpath(cible, depuis)).as_posix()
