"""Small inline SVG charts for the neighbourhood sheets (no JavaScript, print-friendly).

Every label is HTML-escaped; charts carry a ``<title>`` and the same numbers are
printed beside the bars, so nothing depends on colour alone.
"""

from __future__ import annotations

import html
import math

from observatoire.cartes.legende import formater_nombre, formater_valeur

__all__ = ["barres_references", "courbes_evolution"]

_COULEURS = {
    "zone": "#c51b7d",
    "commune": "#4d4d4d",
    "epci": "#2c7fb8",
    "departement": "#7fcdbb",
    "france": "#bdbdbd",
}


def _fini(v) -> bool:
    return v is not None and isinstance(v, int | float) and math.isfinite(v)


def barres_references(titre: str, barres: list[tuple[str, str, float, str]], unite: str) -> str:
    """Horizontal bars: ``barres`` = [(kind, label, value, status)]; kind picks the colour.

    Examples
    --------
    >>> s = barres_references("Chômage", [("zone", "<b>Q</b>", 20.0, "estime"),
    ...                                   ("commune", "Ville", 10.0, "officiel")], "%")
    >>> "&lt;b&gt;Q&lt;/b&gt;" in s and "<b>" not in s, s.count("<rect")
    (True, 2)
    """
    vals = [b[2] for b in barres if _fini(b[2])]
    vmax = max([abs(v) for v in vals] + [1e-9])
    largeur, h_barre, marge_g = 360, 16, 160
    hauteur = len(barres) * (h_barre + 6) + 6
    parties = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {largeur + 80} {hauteur}" '
        f'role="img" aria-label="{html.escape(titre)}"><title>{html.escape(titre)}</title>'
    ]
    for i, (genre, lib, v, statut) in enumerate(barres):
        y = 6 + i * (h_barre + 6)
        lib_c = lib if len(lib) <= 28 else lib[:27] + "…"
        parties.append(
            f'<text x="{marge_g - 4}" y="{y + 12}" font-size="10" text-anchor="end">'
            f"{html.escape(lib_c)}</text>"
        )
        if _fini(v):
            w = max(1.0, (largeur - marge_g) * abs(v) / vmax)
            parties.append(
                f'<rect x="{marge_g}" y="{y}" width="{w:.1f}" height="{h_barre}" '
                f'fill="{_COULEURS.get(genre, "#888")}"/>'
            )
            texte = formater_valeur(v, unite, statut)
            parties.append(
                f'<text x="{marge_g + w + 4:.1f}" y="{y + 12}" font-size="10">'
                f"{html.escape(texte)}</text>"
            )
        else:
            texte = formater_valeur(float("nan"), unite, statut)
            parties.append(
                f'<text x="{marge_g + 4}" y="{y + 12}" font-size="10" fill="#666">'
                f"{html.escape(texte)}</text>"
            )
    parties.append("</svg>")
    return "".join(parties)


def _axe(v: float) -> str:
    return formater_nombre(v, 0 if abs(v) >= 100 else 1)


def courbes_evolution(titre: str, series: list[tuple[str, str, dict]], unite: str) -> str:
    """Lines over years: ``series`` = [(kind, label, {year: value})]; NaN years are gaps.

    Examples
    --------
    >>> s = courbes_evolution("Chômage", [("zone", "Q", {2011: 20.0, 2016: 25.0})], "%")
    >>> s.count("<circle"), "2016" in s
    (2, True)
    """
    annees = sorted({a for _, _, d in series for a, v in d.items() if _fini(v)})
    vals = [v for _, _, d in series for v in d.values() if _fini(v)]
    if not annees or not vals:
        return ""
    lo, hi = min(vals + [0.0]), max(vals)
    hi = hi if hi > lo else lo + 1
    W, H, g, d, h, b = 400, 170, 44, 130, 10, 22

    def x(a):
        return g + (W - g - d) * (
            0.5 if len(annees) == 1 else (a - annees[0]) / (annees[-1] - annees[0])
        )

    def y(v):
        return h + (H - h - b) * (1 - (v - lo) / (hi - lo))

    p = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{html.escape(titre)}"><title>{html.escape(titre)}</title>',
        f'<line x1="{g}" y1="{H - b}" x2="{W - d}" y2="{H - b}" stroke="#999"/>',
    ]
    for a in annees:
        p.append(f'<text x="{x(a):.1f}" y="{H - 6}" font-size="10" text-anchor="middle">{a}</text>')
    p.append(
        f'<text x="{g - 4}" y="{y(hi) + 4:.1f}" font-size="9" text-anchor="end">'
        f"{html.escape(_axe(hi))}</text>"
    )
    p.append(
        f'<text x="{g - 4}" y="{y(lo) + 4:.1f}" font-size="9" text-anchor="end">'
        f"{html.escape(_axe(lo))}</text>"
    )
    for i, (genre, lib, dico) in enumerate(series):
        pts = [(a, dico[a]) for a in annees if a in dico and _fini(dico[a])]
        if not pts:
            continue
        c = _COULEURS.get(genre, "#888")
        if len(pts) > 1:
            chemin = " ".join(f"{x(a):.1f},{y(v):.1f}" for a, v in pts)
            p.append(f'<polyline points="{chemin}" fill="none" stroke="{c}" stroke-width="2"/>')
        for a, v in pts:
            p.append(
                f'<circle cx="{x(a):.1f}" cy="{y(v):.1f}" r="3" fill="{c}">'
                f"<title>{html.escape(lib)} {a} : {html.escape(formater_valeur(v, unite))}"
                f"</title></circle>"
            )
        lib_c = lib if len(lib) <= 24 else lib[:23] + "…"
        p.append(
            f'<text x="{W - d + 8}" y="{h + 12 + i * 13}" font-size="9" fill="{c}">'
            f"■ {html.escape(lib_c)}</text>"
        )
    p.append("</svg>")
    return "".join(p)
