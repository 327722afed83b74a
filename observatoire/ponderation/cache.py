"""Persisted weights tables, keyed by the checksums of their inputs and parameters.

A weights table is computed once per pair of geographies (and method, grid,
official table, threshold) and reused for every variable and year. The key is a
SHA-256 over the SHA-256 of each input file and the JSON of the parameters, so a
changed file or parameter never reuses a stale table.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from observatoire.ecriture_atomique import ecrire_fichier_atomique, fichier_atomique
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["empreinte_fichier", "cle_poids", "CachePoids"]


def empreinte_fichier(chemin: str | os.PathLike, *, taille_bloc: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex).

    Raises
    ------
    ErreurDonnees
        The file does not exist.
    """
    chemin = Path(chemin)
    if not chemin.is_file():
        raise ErreurDonnees(
            f"{chemin} : fichier introuvable (impossible de calculer sa somme de contrôle)"
        )
    h = hashlib.sha256()
    with open(chemin, "rb") as f:
        for bloc in iter(lambda: f.read(taille_bloc), b""):
            h.update(bloc)
    return h.hexdigest()


def cle_poids(fichiers: Mapping[str, str | os.PathLike | None], parametres: Mapping) -> str:
    """Cache key of a weights table.

    Parameters
    ----------
    fichiers : mapping role → path (or None)
        Input files (``iris``, ``zones``, ``grille``, ``officiel``...). Contents count,
        not names or dates.
    parametres : mapping
        JSON-serialisable parameters (method, layers, columns, ``part_min``...).

    Examples
    --------
    >>> cle_poids({}, {"methode": "surface"}) == cle_poids({}, {"methode": "surface"})
    True
    >>> cle_poids({}, {"methode": "surface"}) == cle_poids({}, {"methode": "dasymetric"})
    False
    """
    empreintes = {
        role: (empreinte_fichier(c) if c is not None else None)
        for role, c in sorted(fichiers.items())
    }
    texte = json.dumps(
        {"fichiers": empreintes, "parametres": dict(parametres)}, sort_keys=True, default=str
    )
    return hashlib.sha256(texte.encode()).hexdigest()


class CachePoids:
    """Folder of weights tables (Parquet) with a JSON sidecar describing their inputs.

    Parameters
    ----------
    dossier : path
        Cache folder (created if needed).

    Examples
    --------
    >>> import tempfile
    >>> cache = CachePoids(tempfile.mkdtemp())
    >>> t = pd.DataFrame({"code_zone": ["A"], "code_iris": ["1"], "poids": [0.5]})
    >>> cache.obtenir("k", lambda: t).equals(t), cache.lire("k").equals(t)
    (True, True)
    """

    def __init__(self, dossier: str | os.PathLike):
        self.dossier = Path(dossier).expanduser()

    def chemin(self, cle: str) -> Path:
        """Parquet file of the table with key ``cle``."""
        return self.dossier / f"poids_{cle}.parquet"

    def lire(self, cle: str) -> pd.DataFrame | None:
        """Return the cached table, or ``None`` if absent."""
        chemin = self.chemin(cle)
        if not chemin.is_file():
            return None
        return pd.read_parquet(chemin)

    def ecrire(self, cle: str, table: pd.DataFrame, description: Mapping | None = None) -> Path:
        """Write the table (atomically: temporary file then rename) and its description."""
        self.dossier.mkdir(parents=True, exist_ok=True)
        cible = self.chemin(cle)
        with fichier_atomique(cible) as tmp:
            table.to_parquet(tmp, index=False)
        if description is not None:
            texte = json.dumps(dict(description), indent=2, sort_keys=True, default=str)
            ecrire_fichier_atomique(cible.with_suffix(".json"), texte)
        return cible

    def obtenir(
        self,
        cle: str,
        calculer: Callable[[], pd.DataFrame],
        *,
        description: Mapping | None = None,
        rapport: Rapport | None = None,
    ) -> pd.DataFrame:
        """Return the cached table for ``cle``, computing and storing it if absent."""
        table = self.lire(cle)
        if table is not None:
            if rapport is not None:
                rapport.info(
                    "ponderation",
                    str(self.chemin(cle)),
                    "table des poids lue dans le cache",
                    n=len(table),
                )
            return table
        table = calculer()
        self.ecrire(cle, table, description)
        if rapport is not None:
            rapport.info(
                "ponderation",
                str(self.chemin(cle)),
                "table des poids calculée et mise en cache",
                n=len(table),
            )
        return table
