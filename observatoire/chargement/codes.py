"""Normalisation of INSEE codes (IRIS, communes, QPV) and the code column of each level.

Codes are strings: leading zeros kept (``010010000``), Corsica ``2A``/``2B`` kept.
Paris, Lyon and Marseille IRIS carry municipal-arrondissement codes; the commune
level rolls them up to 75056, 69123 and 13055.
"""

from __future__ import annotations

import pandas as pd

from observatoire.rapport import ErreurDonnees

__all__ = [
    "normaliser_code",
    "codes_stricts",
    "MOTIF_IRIS",
    "MOTIF_COMMUNE",
    "commune_depuis_arrondissement",
    "generation_qpv",
    "colonnes_niveau",
]

#: A 9-character IRIS code (Corsica: ``2A``/``2B``).
MOTIF_IRIS = r"[0-9][0-9AB][0-9]{7}"
#: A 5-character commune code.
MOTIF_COMMUNE = r"[0-9][0-9AB][0-9]{3}"

_PLM = (
    (13201, 13216, "13055"),  # Marseille
    (69381, 69389, "69123"),  # Lyon
    (75101, 75120, "75056"),  # Paris
)


def normaliser_code(codes: pd.Series, longueur: int) -> pd.Series:
    """Return codes as strings; all-digit codes zero-padded to ``longueur``.

    Numbers read as floats are handled; other codes (``2A004``, ``SANOP``) are kept as given.

    Examples
    --------
    >>> normaliser_code(pd.Series([10010000, "130470107", 1001.0, None, "SANOP"]), 9).tolist()
    ['010010000', '130470107', '000001001', None, 'SANOP']
    """
    if isinstance(codes.dtype, pd.StringDtype):  # text columns: vectorised string methods
        manquant = codes.isna().to_numpy()
        texte = codes.str.strip().str.replace(r"^(\d+)\.0$", r"\1", regex=True)
    else:  # numbers or mixed objects: value by value
        s = codes.astype("object")
        manquant = s.isna().to_numpy()
        texte = s.where(manquant, s.map(_en_texte)).astype("str")
    chiffres = texte.str.fullmatch(r"\d+").fillna(False).to_numpy(dtype=bool) & ~manquant
    # digits only, so a left pad with zeros is zfill (pad is the vectorised one)
    texte = texte.where(~chiffres, texte.str.pad(longueur, side="left", fillchar="0"))
    texte = texte.astype("object")
    texte[manquant] = None
    return texte


def codes_stricts(
    codes: pd.Series,
    longueur: int,
    motif: str,
    *,
    source: str,
    colonne: str,
    premiere: int = 2,
    unite: str = "ligne",
) -> pd.Series:
    """Return codes as text, checked: a wrong code is an error naming its lines.

    Codes written as numbers (``130470106.0``) are read back as text; one leading zero
    lost by a number (an 8-digit IRIS code, a 4-digit commune code) is put back;
    nothing else is padded, so a code cut short (``132``) is refused, never completed.

    Parameters
    ----------
    premiere : int
        Number of the first row in messages (2 for a table with a header line).
    unite : str
        What a row is called in messages (``"ligne"``, ``"entité"``).

    Raises
    ------
    ErreurDonnees
        Naming the file, the column, the first bad lines and their codes.

    Examples
    --------
    >>> codes_stricts(pd.Series(["130470106.0", "10010000", "2A0040000"]), 9, MOTIF_IRIS,
    ...               source="t.csv", colonne="IRIS").tolist()
    ['130470106', '010010000', '2A0040000']
    >>> codes_stricts(pd.Series(["130470106", "132"]), 9, MOTIF_IRIS, source="t.csv",
    ...               colonne="IRIS")
    Traceback (most recent call last):
    ...
    observatoire.rapport.ErreurDonnees: t.csv : colonne IRIS : 1 code(s) ne sont pas des codes \
à 9 caractères, ligne(s) [3] : ['132'] (ligne tronquée ou mauvaise colonne ?)
    """
    s = codes.astype("object")
    manquant = s.isna().to_numpy()
    texte = s.where(manquant, s.map(_en_texte)).astype("str")
    texte = texte.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    perdu = (
        texte.str.fullmatch(r"\d+").fillna(False).to_numpy(dtype=bool)
        & (texte.str.len().to_numpy() == longueur - 1)
        & ~manquant
    )
    texte = texte.where(~perdu, "0" + texte)
    bon = texte.str.fullmatch(motif).fillna(False).to_numpy(dtype=bool) & ~manquant
    if not bon.all():
        pos = [int(i) for i in (~bon).nonzero()[0]]
        exemples = ["" if manquant[i] else str(s.iloc[i]) for i in pos[:10]]
        raise ErreurDonnees(
            f"{source} : colonne {colonne} : {len(pos)} code(s) ne sont pas des codes à "
            f"{longueur} caractères, {unite}(s) {[i + premiere for i in pos[:10]]} : {exemples} "
            "(ligne tronquée ou mauvaise colonne ?)"
        )
    return texte.astype("object")


def _en_texte(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    t = str(v).strip()
    if t.endswith(".0") and t[:-2].isdigit():
        t = t[:-2]
    return t


def commune_depuis_arrondissement(code_commune: pd.Series) -> pd.Series:
    """Roll municipal arrondissements of Paris, Lyon, Marseille up to their commune.

    Examples
    --------
    >>> commune_depuis_arrondissement(pd.Series(["13201", "13216", "13047", "2A004"])).tolist()
    ['13055', '13055', '13047', '2A004']
    """
    num = pd.to_numeric(code_commune, errors="coerce")
    out = code_commune.astype("object").copy()
    for debut, fin, commune in _PLM:
        out[(num >= debut) & (num <= fin)] = commune
    return out


#: Code and name columns of each level in the pipeline's frames; QPV and veille
#: territories are zones.
_COLONNES_NIVEAU = {
    "iris": ("code_iris", "nom_iris"),
    "commune": ("code_commune", "nom_commune"),
    "epci": ("code_epci", "nom_epci"),
    "departement": ("code_departement", "nom_departement"),
    "zone": ("code_zone", "nom_zone"),
    "qpv": ("code_zone", "nom_zone"),
    "veille": ("code_zone", "nom_zone"),
}


def colonnes_niveau(niveau: str) -> tuple[str, str]:
    """Return the code and name columns of a level (as the loaders name them).

    Examples
    --------
    >>> colonnes_niveau("commune"), colonnes_niveau("qpv")
    (('code_commune', 'nom_commune'), ('code_zone', 'nom_zone'))
    """
    try:
        return _COLONNES_NIVEAU[niveau]
    except KeyError:
        raise ValueError(
            f"niveau doit être l'un de {sorted(_COLONNES_NIVEAU)}, pas {niveau!r}"
        ) from None


def generation_qpv(code: str) -> int:
    """Return the QPV generation from its code prefix (QP → 2015, QN → 2024).

    Examples
    --------
    >>> generation_qpv("QP013009"), generation_qpv("QN01366I")
    (2015, 2024)
    """
    prefixe = str(code)[:2].upper()
    if prefixe == "QP":
        return 2015
    if prefixe == "QN":
        return 2024
    raise ValueError(f"le code QPV {code!r} ne commence ni par QP (2015) ni par QN (2024)")
