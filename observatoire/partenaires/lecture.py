"""Read a partner's table (CSV or XLSX) into one schema, validated, kept in memory only.

The result has one row per person or record: ``ligne`` (line of the file, header =
1), the columns of the keys (``adresse``/``code_postal``/``commune``, ``x``/``y``,
``code_iris``, ``code_qpv``, ``code_commune``), ``sexe`` (``F``, ``H`` or missing)
and ``poids`` (1 unless a weight column is declared). Personal fields never leave the
run's memory: nothing of this frame is written or logged.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.partenaires.modele import TablePartenaire
from observatoire.rapport import ErreurDonnees

__all__ = ["lire_table_partenaire"]


def _lire_brut(chemin: Path) -> pd.DataFrame:
    if chemin.suffix.lower() in (".xlsx", ".xlsm"):
        return pd.read_excel(chemin, dtype=str)
    for enc in ("utf-8-sig", "cp1252"):
        try:
            with open(chemin, encoding=enc) as f:
                entete = f.readline()
            # the separator of the header line: ';' (French spreadsheets), tab, else ','
            sep = next((c for c in (";", "\t", "|") if c in entete), ",")
            return pd.read_csv(
                chemin, sep=sep, dtype=str, encoding=enc, keep_default_na=False, na_values=[""]
            )
        except UnicodeDecodeError:
            continue
        except pd.errors.ParserError as exc:
            raise ErreurDonnees(f"{chemin} : table CSV illisible ({exc})") from None
    raise ErreurDonnees(f"{chemin} : encodage ni UTF-8 ni Windows-1252")


def _lignes(masque: np.ndarray) -> str:
    n = np.flatnonzero(masque) + 2
    return f"ligne(s) {n[:10].tolist()}" + (f" et {len(n) - 10} autre(s)" if len(n) > 10 else "")


def lire_table_partenaire(chemin: str | os.PathLike, spec: TablePartenaire) -> pd.DataFrame:
    r"""Read and validate a partner's table as ``spec`` declares it.

    Raises
    ------
    ErreurDonnees
        Naming the file, the column and the lines: a declared column absent, a weight or
        coordinate that is not a finite number (or a negative weight), a sex value that
        is neither of the declared ones.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> lignes = ["IRIS;SEXE", "130470106;F", "130470106;2", "130630105;H"]
    >>> _ = (d / "t.csv").write_text("\n".join(lignes))
    >>> s = TablePartenaire(code="x", libelle="x", partenaire="p", source="t.csv", annee=2025,
    ...                     cle="code_iris", colonnes={"code_iris": "IRIS"},
    ...                     sexe={"colonne": "SEXE"})
    >>> lire_table_partenaire(d / "t.csv", s)[["ligne", "code_iris", "sexe"]].values.tolist()
    [[2, '130470106', 'F'], [3, '130470106', 'F'], [4, '130630105', 'H']]
    """
    chemin = Path(chemin)
    brut = _lire_brut(chemin)
    brut.columns = [str(c).strip() for c in brut.columns]
    declarees = dict(spec.colonnes)
    if spec.sexe is not None:
        declarees["sexe"] = spec.sexe.colonne
    if spec.poids is not None:
        declarees["poids"] = spec.poids
    absentes = {r: c for r, c in declarees.items() if c not in brut.columns}
    if absentes:
        raise ErreurDonnees(
            f"{chemin} : colonne(s) {sorted(absentes.values())} déclarée(s) dans partenaires "
            f"({spec.code}) absente(s) du fichier (colonnes : {list(brut.columns)[:20]})"
        )
    out = pd.DataFrame({"ligne": np.arange(2, len(brut) + 2)})
    for role, col in spec.colonnes.items():
        out[role] = brut[col].astype("string").str.strip().to_numpy()
    for role in ("x", "y"):
        if role in out.columns:
            txt = out[role].str.replace(",", ".", regex=False)
            v = pd.to_numeric(txt, errors="coerce").to_numpy(dtype="float64")
            mauvais = txt.notna().to_numpy() & ~np.isfinite(v)
            if mauvais.any():
                raise ErreurDonnees(
                    f"{chemin} : colonne {spec.colonnes[role]} : pas un nombre ({_lignes(mauvais)})"
                )
            out[role] = v
    if spec.sexe is not None:
        s = brut[spec.sexe.colonne].astype("string").str.strip()
        f = s.isin(spec.sexe.femmes).to_numpy(dtype=bool)
        h = s.isin(spec.sexe.hommes).to_numpy(dtype=bool)
        autre = s.notna().to_numpy(dtype=bool) & ~f & ~h
        if autre.any():
            raise ErreurDonnees(
                f"{chemin} : colonne {spec.sexe.colonne} : valeur(s) ni femmes "
                f"{spec.sexe.femmes} ni hommes {spec.sexe.hommes} ({_lignes(autre)})"
            )
        out["sexe"] = np.where(f, "F", np.where(h, "H", None))
    else:
        out["sexe"] = None
    if spec.poids is not None:
        p = pd.to_numeric(
            brut[spec.poids].str.replace(",", ".", regex=False), errors="coerce"
        ).to_numpy(dtype="float64")
        mauvais = ~np.isfinite(p) | (p < 0)
        if mauvais.any():
            raise ErreurDonnees(
                f"{chemin} : colonne {spec.poids} : poids manquant, négatif ou "
                f"non numérique ({_lignes(mauvais)})"
            )
        out["poids"] = p
    else:
        out["poids"] = 1.0
    return out
