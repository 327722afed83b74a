"""JS/CSS assets inlined into every generated page, so maps work offline for years.

Leaflet comes from the installed ``xstatic-leaflet`` package (its ``leaflet.js`` and
``leaflet.css``, with the CSS images turned into ``data:`` URIs); the observatory's
own small script and style sheet (indicator switch, tooltips built with
``textContent``, search by name, fullscreen, legend) ship as package data in
``observatoire/cartes/templates``. Nothing is fetched when a page is viewed; no
third-party file is committed to the repository.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources
from pathlib import Path

from observatoire.rapport import ErreurDonnees

__all__ = [
    "VERSION_LEAFLET",
    "leaflet_js",
    "leaflet_css",
    "script_observatoire",
    "style_observatoire",
    "style_impression",
    "verifier_hors_ligne",
]


def _dossier_leaflet() -> Path:
    try:
        import xstatic.pkg.leaflet as xs
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise ImportError(
            "les cartes hors ligne demandent Leaflet, du paquet 'xstatic-leaflet' : "
            "pip install xstatic-leaflet"
        ) from exc
    return Path(xs.BASE_DIR)


def _version_leaflet() -> str:
    try:
        import xstatic.pkg.leaflet as xs

        return str(xs.VERSION)
    except ImportError:  # pragma: no cover
        return "absent"


VERSION_LEAFLET = _version_leaflet()


@cache
def leaflet_js() -> str:
    """Return the minified ``leaflet.js`` of the installed xstatic-leaflet package."""
    texte = (_dossier_leaflet() / "leaflet.js").read_text(encoding="utf-8")
    # the source-map comment would make devtools ask for a file that is not there
    return re.sub(r"//# sourceMappingURL=\S+\s*$", "", texte)


@cache
def leaflet_css() -> str:
    """Return ``leaflet.css`` with its images inlined as ``data:`` URIs."""
    dossier = _dossier_leaflet()
    texte = (dossier / "leaflet.css").read_text(encoding="utf-8")

    def _inline(m: re.Match) -> str:
        chemin = dossier / m.group(1)
        if not chemin.is_file():
            return "none"
        b64 = base64.b64encode(chemin.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{b64})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", _inline, texte)


def _gabarit(nom: str) -> str:
    return (
        resources.files("observatoire.cartes")
        .joinpath("templates")
        .joinpath(nom)
        .read_text("utf-8")
    )


@cache
def script_observatoire() -> str:
    """Return the observatory's own map script (``templates/carte.js``)."""
    return _gabarit("carte.js")


@cache
def style_observatoire() -> str:
    """Return the observatory's own style sheet (``templates/commun.css``)."""
    return _gabarit("commun.css")


@cache
def style_impression() -> str:
    """Return the print style sheet (A4) of the neighbourhood sheets."""
    return _gabarit("impression.css")


_EXTERNE = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def verifier_hors_ligne(html: str, *, source: str = "page") -> None:
    """Raise :class:`~observatoire.rapport.ErreurDonnees` if a page loads anything remote.

    Links (``<a href>``) are allowed: they are not loaded when the page opens.

    Examples
    --------
    >>> verifier_hors_ligne('<script>var a = 1;</script><a href="https://x.fr">x</a>')
    >>> verifier_hors_ligne('<script src="https://cdn.x/leaflet.js"></script>')
    Traceback (most recent call last):
    ...
    observatoire.rapport.ErreurDonnees: page : charge une ressource distante : <script src="https://
    """
    m = _EXTERNE.search(html)
    if m:
        raise ErreurDonnees(f"{source} : charge une ressource distante : {m.group(0)}")
