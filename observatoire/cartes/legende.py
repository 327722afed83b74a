"""Palettes, number formatting and legend entries for maps and sheets.

Secret and missing values have their own look (hatched grey, grey dots), their
own legend entry, and are never drawn black nor in the lowest class colour.
"""

from __future__ import annotations

import math
from functools import lru_cache

from branca.utilities import color_brewer as _color_brewer

from observatoire.cartes.classes import CLASSE_MANQUANT, CLASSE_SECRET
from observatoire.nombres import formater_nombre

__all__ = [
    "STATUTS",
    "LIBELLES_STATUT",
    "STYLE_SECRET",
    "STYLE_MANQUANT",
    "palette_sequentielle",
    "palette_divergente",
    "formater_nombre",
    "formater_valeur",
    "formater_ecart",
    "legende_classes",
    "legende_ecarts",
    "couleur_classe",
]

STATUTS = ("officiel", "estime", "estime_corrige", "approximation", "secret", "manquant")
LIBELLES_STATUT = {
    "officiel": "officiel",
    "estime": "estimé",
    "estime_corrige": "estimé (corrigé)",
    "approximation": "approximation",
    "secret": "secret statistique",
    "manquant": "manquant",
}
#: Fill of secret values: SVG pattern with a grey fallback (never black).
STYLE_SECRET = {
    "fill": "url(#obs-motif-secret) #bdbdbd",
    "libelle": "Secret statistique",
    "css": "obs-secret",
}
#: Fill of missing values: SVG pattern with a light grey fallback.
STYLE_MANQUANT = {
    "fill": "url(#obs-motif-manquant) #e0e0e0",
    "libelle": "Donnée manquante",
    "css": "obs-manquant",
}


@lru_cache(maxsize=256)
def _brewer(nom: str, n: int) -> tuple[str, ...]:
    return tuple(_color_brewer(nom, n))


def color_brewer(nom: str, n: int) -> list[str]:
    """ColorBrewer colours from branca (memoised)."""
    return list(_brewer(nom, n))


def palette_sequentielle(k: int, nom: str = "YlGnBu") -> list[str]:
    """Return ``k`` ColorBrewer colours, light to dark (branca).

    Examples
    --------
    >>> palette_sequentielle(3)
    ['#edf8b1', '#7fcdbb', '#2c7fb8']
    """
    if k <= 0:
        return []
    if k < 3:
        return (
            color_brewer(nom, 3)[-k:]
            if k == 1
            else [color_brewer(nom, 3)[0], color_brewer(nom, 3)[2]]
        )
    return color_brewer(nom, k)


def palette_divergente(k: int, nom: str = "RdBu") -> dict[int, str]:
    """Return colours for signed classes ``-k..k``: red unfavourable, blue favourable.

    Examples
    --------
    >>> palette_divergente(3)[-3], palette_divergente(3)[0], palette_divergente(3)[3]
    ('#b2182b', '#f7f7f7', '#2166ac')
    """
    couleurs = color_brewer(nom, 2 * k + 1)
    return {i - k: c for i, c in enumerate(couleurs)}


def _type_unite(unite: str | None) -> tuple[str, int]:
    u = (unite or "").strip()
    bas = u.lower()
    if bas in ("%", "pourcent", "part", "taux", "pct"):
        return "\u202f%", 1
    if "€" in u or "euro" in bas:
        return "\u202f€", 0
    if bas in (
        "habitants",
        "personnes",
        "ménages",
        "menages",
        "logements",
        "effectif",
        "nombre",
        "individus",
        "emplois",
        "allocataires",
    ):
        return f"\u00a0{u}", 0
    if bas in ("", "indice", "ratio", "rapport"):
        return "", 2
    return f"\u00a0{u}", 1


def formater_valeur(v: float, unite: str | None = None, statut: str | None = None) -> str:
    """Format a value with its unit; secret/missing are said in words, never as 0.

    Examples
    --------
    >>> formater_valeur(12.345, "%")
    '12,3\u202f%'
    >>> formater_valeur(3027, "habitants")
    '3\u202f027\u00a0habitants'
    >>> formater_valeur(float("nan"), "%", "secret")
    'secret statistique'
    >>> formater_valeur(float("nan"), "%")
    'manquant'
    """
    if statut == "secret":
        return "secret statistique"
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "manquant"
    suffixe, dec = _type_unite(unite)
    return formater_nombre(float(v), dec) + suffixe


def formater_ecart(e: float, unite: str | None = None) -> str:
    """Format a gap with its sign: points for percentages, the unit otherwise.

    Examples
    --------
    >>> formater_ecart(2.04, "%")
    '+2,0\u00a0pts'
    >>> formater_ecart(-1500, "€")
    '−1\u202f500\u202f€'
    """
    if e is None or (isinstance(e, float) and math.isnan(e)):
        return "—"
    suffixe, dec = _type_unite(unite)
    if suffixe == "\u202f%":
        suffixe = "\u00a0pts"
    signe = "+" if e > 0 else ""
    return signe + formater_nombre(float(e), dec) + suffixe


def couleur_classe(classe: int, couleurs: list[str]) -> str:
    """Return the fill of a class index (secret/missing → their pattern)."""
    if classe == CLASSE_SECRET:
        return STYLE_SECRET["fill"]
    if classe == CLASSE_MANQUANT or not couleurs:
        return STYLE_MANQUANT["fill"]
    return couleurs[int(classe)]


def legende_classes(bornes, couleurs, unite=None, minimum=None) -> list[dict]:
    """Legend entries ``{"libelle", "couleur" | "css"}`` for sequential classes + secret/missing.

    Examples
    --------
    >>> for e in legende_classes([2.0, 4.0], ["#a", "#b"], "%", minimum=1):
    ...     print(e["libelle"].replace("\u202f", " "))
    1,0 % à 2,0 %
    plus de 2,0 % à 4,0 %
    Secret statistique
    Donnée manquante
    """
    entrees = []
    bas = minimum
    for i, (b, c) in enumerate(zip(bornes, couleurs, strict=False)):
        haut = formater_valeur(b, unite)
        if i == 0:
            b0 = formater_valeur(bas, unite) if bas is not None else None
            lib = haut if b0 == haut else (f"{b0} à {haut}" if b0 else f"jusqu'à {haut}")
        else:
            lib = f"plus de {formater_valeur(bornes[i - 1], unite)} à {haut}"
        entrees.append({"libelle": lib, "couleur": c})
    entrees.append({"libelle": STYLE_SECRET["libelle"], "css": STYLE_SECRET["css"]})
    entrees.append({"libelle": STYLE_MANQUANT["libelle"], "css": STYLE_MANQUANT["css"]})
    return entrees


def legende_ecarts(bornes, unite=None, *, neutre: bool = False) -> list[dict]:
    """Legend entries of a gap map, most unfavourable first, then secret/missing.

    Examples
    --------
    >>> for e in legende_ecarts([1.0, 2.0], "%")[:3]:
    ...     print(e["libelle"].replace("\u00a0", " "), e["couleur"])
    défavorable, plus de 1,0 pts à 2,0 pts #ca0020
    défavorable, jusqu'à 1,0 pts #f4a582
    égal à la référence #f7f7f7
    """
    k = len(bornes)
    couleurs = palette_divergente(max(k, 1), "PuOr" if neutre else "RdBu")
    entrees = []

    def _abs(v):
        return formater_ecart(v, unite).lstrip("+")

    for i in range(k, 0, -1):
        lib = (
            f"plus de {_abs(bornes[i - 2])} à {_abs(bornes[i - 1])}"
            if i > 1
            else f"jusqu'à {_abs(bornes[0])}"
        )
        sens = "en dessous" if neutre else "défavorable"
        entrees.append({"libelle": f"{sens}, {lib}", "couleur": couleurs[-i]})
    entrees.append({"libelle": "égal à la référence", "couleur": couleurs[0]})
    for i in range(1, k + 1):
        lib = (
            f"plus de {_abs(bornes[i - 2])} à {_abs(bornes[i - 1])}"
            if i > 1
            else f"jusqu'à {_abs(bornes[0])}"
        )
        sens = "au-dessus" if neutre else "favorable"
        entrees.append({"libelle": f"{sens}, {lib}", "couleur": couleurs[i]})
    entrees.append({"libelle": STYLE_SECRET["libelle"], "css": STYLE_SECRET["css"]})
    entrees.append({"libelle": STYLE_MANQUANT["libelle"], "css": STYLE_MANQUANT["css"]})
    return entrees
