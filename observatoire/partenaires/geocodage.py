"""Addresses → coordinates through the national address base's batch CSV geocoder.

The Base Adresse Nationale geocoder takes a CSV in one request (``POST`` multipart:
``data`` = the file, ``columns`` = the columns making the query, ``postcode`` = the
postcode column) and returns it with ``latitude, longitude, result_score`` and the
matched label. Only distinct *normalised* addresses are sent; results are kept in a
local cache (normalised address → longitude, latitude, score, nothing else), in the
cache folder, so that a second run or an offline machine reuses them;
:func:`purger_cache` deletes it. A row under the score threshold is never placed.
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.rapport import ErreurDonnees

__all__ = ["URL_BAN", "normaliser_adresse", "CacheGeocodage", "geocoder", "purger_cache"]

#: Batch CSV geocoder of the Base Adresse Nationale.
URL_BAN = "https://api-adresse.data.gouv.fr/search/csv/"
#: Largest batch sent in one request (the service accepts files of a few MB).
TAILLE_LOT = 5000
_COLONNES_CACHE = ["cle", "longitude", "latitude", "score"]


def normaliser_adresse(adresse, code_postal=None, commune=None) -> str:
    """Key of an address in the cache: lower case, no accents, one space, with postcode.

    Examples
    --------
    >>> normaliser_adresse(" 12, Allée des Écoles ", "13800", "ISTRES")
    '12 allee des ecoles|13800|istres'
    """

    def n(v) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return ""
        t = unicodedata.normalize("NFKD", str(v)).encode("ascii", "ignore").decode()
        t = "".join(c if c.isalnum() else " " for c in t.lower())
        return " ".join(t.split())

    return f"{n(adresse)}|{n(code_postal)}|{n(commune)}"


class CacheGeocodage:
    """Normalised address → (longitude, latitude, score), stored as a CSV in ``dossier``."""

    def __init__(self, dossier: str | os.PathLike):
        self.chemin = Path(dossier) / "geocodage" / "ban.csv"
        self.table: dict[str, tuple[float, float, float]] = {}
        if self.chemin.is_file():
            t = pd.read_csv(self.chemin, dtype={"cle": str})
            self.table = {c: (x, y, s) for c, x, y, s in t[_COLONNES_CACHE].itertuples(index=False)}

    def ecrire(self) -> None:
        """Write the cache atomically."""
        from observatoire.ecriture_atomique import ecrire_fichier_atomique

        self.chemin.parent.mkdir(parents=True, exist_ok=True)
        t = pd.DataFrame([(c, *v) for c, v in sorted(self.table.items())], columns=_COLONNES_CACHE)
        ecrire_fichier_atomique(self.chemin, t.to_csv(index=False))


def _requete(lot: pd.DataFrame, url: str, session, delai: float) -> pd.DataFrame:
    tampon = io.StringIO()
    lot.to_csv(tampon, index=False, quoting=csv.QUOTE_MINIMAL)
    r = session.post(
        url,
        files={"data": ("adresses.csv", tampon.getvalue().encode("utf-8"), "text/csv")},
        data={"columns": ["adresse", "commune"], "postcode": "code_postal"},
        timeout=delai,
    )
    r.raise_for_status()
    rep = pd.read_csv(io.StringIO(r.content.decode("utf-8-sig")), dtype={"id": str})
    manque = [c for c in ("id", "latitude", "longitude", "result_score") if c not in rep.columns]
    if manque:
        raise ErreurDonnees(f"géocodeur {url} : réponse sans colonne(s) {manque}")
    return rep


def geocoder(
    adresses: pd.DataFrame,
    *,
    cache: CacheGeocodage,
    url: str = URL_BAN,
    en_ligne: bool = True,
    delai: float = 60.0,
    session=None,
) -> tuple[pd.DataFrame, dict]:
    """Coordinates (WGS84) of each address, from the cache or the batch geocoder.

    Parameters
    ----------
    adresses : DataFrame
        ``adresse`` (and optionally ``code_postal``, ``commune``), any index.
    cache : CacheGeocodage
    url : str
        Batch CSV endpoint (a local mock in the tests).
    en_ligne : bool
        False: the cache only (addresses not in it stay ungeocoded).

    Returns
    -------
    (DataFrame, dict)
        ``longitude, latitude, score`` aligned on ``adresses`` (NaN when not geocoded)
        and counts ``{"cache": n, "service": n, "non_geocodees": n, "erreur": text}``.
    """
    cles = pd.Series(
        [
            normaliser_adresse(a, p, c)
            for a, p, c in zip(
                adresses["adresse"],
                adresses.get("code_postal", pd.Series(None, index=adresses.index)),
                adresses.get("commune", pd.Series(None, index=adresses.index)),
                strict=True,
            )
        ],
        index=adresses.index,
    )
    uniques = pd.unique(cles[cles.str.len() > 2])
    connues = [c for c in uniques if c in cache.table]
    a_chercher = [c for c in uniques if c not in cache.table]
    bilan = {"cache": len(connues), "service": 0, "non_geocodees": 0, "erreur": None}
    if a_chercher and en_ligne:
        import requests

        session = session or requests.Session()
        premiere = cles.reset_index(drop=True).drop_duplicates()
        lignes = adresses.reset_index(drop=True).loc[premiere.index]
        lignes = lignes.assign(cle=premiere.to_numpy()).set_index("cle").loc[a_chercher]
        envoi = pd.DataFrame(
            {
                "id": np.arange(len(lignes)).astype(str),
                "adresse": lignes["adresse"].to_numpy(),
                "code_postal": lignes["code_postal"].to_numpy() if "code_postal" in lignes else "",
                "commune": lignes["commune"].to_numpy() if "commune" in lignes else "",
            }
        )
        try:
            for debut in range(0, len(envoi), TAILLE_LOT):
                lot = envoi.iloc[debut : debut + TAILLE_LOT]
                rep = _requete(lot, url, session, delai).set_index("id")
                for i in lot["id"]:
                    if i not in rep.index:
                        continue
                    r = rep.loc[i]
                    s = pd.to_numeric(r["result_score"], errors="coerce")
                    if pd.notna(s) and pd.notna(r["latitude"]):
                        cache.table[a_chercher[int(i)]] = (
                            float(r["longitude"]),
                            float(r["latitude"]),
                            float(s),
                        )
                        bilan["service"] += 1
        except (requests.RequestException, ErreurDonnees, ValueError) as exc:
            # offline or service failure: cached addresses are used, the others listed
            bilan["erreur"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        cache.ecrire()
    res = pd.DataFrame(
        [cache.table.get(c, (np.nan, np.nan, np.nan)) for c in cles],
        columns=["longitude", "latitude", "score"],
        index=adresses.index,
    )
    bilan["non_geocodees"] = int(res["score"].isna().sum())
    return res, bilan


def purger_cache(dossier: str | os.PathLike) -> int:
    """Delete the geocoding cache; return the number of addresses it held."""
    c = CacheGeocodage(dossier)
    n = len(c.table)
    if c.chemin.is_file():
        c.chemin.unlink()
    return n
