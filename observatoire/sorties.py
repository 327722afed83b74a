"""Atomic writers for the output tables: CSV, Parquet, GeoPackage (one layer per level), XLSX.

Every writer writes to a temporary file in the destination folder, then renames
it over the target (:func:`os.replace`), so a crash never leaves a half-written
file and readers never see one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

from observatoire.rapport import ErreurDonnees

__all__ = [
    "ecriture_atomique",
    "ecrire_csv",
    "ecrire_parquet",
    "ecrire_geopackage",
    "ecrire_xlsx",
    "ecrire_tables",
]


@contextmanager
def ecriture_atomique(chemin: str | os.PathLike):
    """Yield a temporary path next to ``chemin``; rename it onto ``chemin`` on success.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with ecriture_atomique(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("ok")
    >>> (d / "a.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('ok', ['a.txt'])
    """
    chemin = Path(chemin)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{chemin.stem}.", suffix=".tmp" + chemin.suffix, dir=chemin.parent
    )
    os.close(fd)
    tmp = Path(tmp)
    tmp.unlink()  # writers (GDAL, openpyxl) want to create the file themselves
    try:
        yield tmp
        os.replace(tmp, chemin)
    finally:
        if tmp.exists():
            tmp.unlink()


def ecrire_csv(table: pd.DataFrame, chemin: str | os.PathLike) -> Path:
    """Write a UTF-8 CSV (``,``, ``.`` decimal, NaN as empty cell) atomically."""
    with ecriture_atomique(chemin) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8")
    return Path(chemin)


def ecrire_parquet(table: pd.DataFrame, chemin: str | os.PathLike) -> Path:
    """Write a Parquet file atomically (lists and objects as text)."""
    t = table.copy()
    for c in t.columns:
        if t[c].dtype == object:
            t[c] = (
                t[c].map(lambda v: v if v is None or isinstance(v, str) or pd.isna(v) else str(v))
                if t[c].map(type).nunique() > 1
                else t[c]
            )
    with ecriture_atomique(chemin) as tmp:
        t.to_parquet(tmp, index=False)
    return Path(chemin)


def ecrire_geopackage(
    table: pd.DataFrame,
    geometries: Mapping[str, gpd.GeoDataFrame],
    chemin: str | os.PathLike,
    *,
    code: str = "territoire_code",
    niveau: str = "niveau",
    code_geometrie: str = "code",
    sans_geometrie: str = "erreur",
) -> Path:
    """Write one GeoPackage layer per level: table rows joined to the level's geometry.

    Parameters
    ----------
    table : DataFrame
        Long table with ``niveau`` and ``territoire_code`` columns.
    geometries : mapping
        Level → GeoDataFrame with a ``code_geometrie`` column (and geometry, projected).
    chemin : path
    code, niveau, code_geometrie : str
        Column names.
    sans_geometrie : {"erreur", "vide"}
        What to do with rows whose code has no geometry in its level (e.g. an official
        value of a reference territory): raise, or keep them with an empty geometry.

    Returns
    -------
    Path

    Raises
    ------
    ErreurDonnees
        When a level has no geometry, a geometry layer has no CRS, or codes of the
        table have no geometry.
    """
    niveaux = [n for n in pd.unique(table[niveau]) if n in geometries]
    if not niveaux:
        raise ErreurDonnees(
            f"ecrire_geopackage: no geometry for any level of the table "
            f"(levels {sorted(map(str, pd.unique(table[niveau])))}, "
            f"geometries {sorted(geometries)})"
        )
    with ecriture_atomique(chemin) as tmp:
        for n in niveaux:
            geo = geometries[n]
            if geo.crs is None:
                raise ErreurDonnees(f"ecrire_geopackage: geometry of level {n!r} has no CRS")
            if code_geometrie not in geo.columns:
                raise ErreurDonnees(
                    f"ecrire_geopackage: geometry of level {n!r} has no "
                    f"{code_geometrie!r} column (columns: {list(geo.columns)})"
                )
            g = geo[[code_geometrie, geo.geometry.name]].copy()
            g[code_geometrie] = g[code_geometrie].astype(str)
            t = table[table[niveau] == n].copy()
            t[code] = t[code].astype(str)
            sans = sorted(set(t[code]) - set(g[code_geometrie]))
            if sans and sans_geometrie not in ("erreur", "vide"):
                raise ValueError(
                    f"sans_geometrie must be 'erreur' or 'vide', not {sans_geometrie!r}"
                )
            if sans and sans_geometrie == "vide":
                g = pd.concat(
                    [
                        g,
                        gpd.GeoDataFrame(
                            {code_geometrie: sans, geo.geometry.name: [None] * len(sans)},
                            geometry=geo.geometry.name,
                            crs=geo.crs,
                        ),
                    ],
                    ignore_index=True,
                )
            elif sans:
                raise ErreurDonnees(
                    f"ecrire_geopackage: level {n!r}: {len(sans)} territory code(s) "
                    f"without geometry: {sans[:10]}"
                )
            couche = g.merge(t, left_on=code_geometrie, right_on=code, how="inner")
            if code_geometrie != code:
                couche = couche.drop(columns=code_geometrie)
            couche = gpd.GeoDataFrame(couche, geometry=geo.geometry.name, crs=geo.crs)
            for c in couche.columns:
                if couche[c].dtype == object and c != couche.geometry.name:
                    couche[c] = couche[c].astype("string")
            couche.to_file(tmp, layer=str(n), driver="GPKG", engine="pyogrio")
    return Path(chemin)


def ecrire_xlsx(feuilles: Mapping[str, pd.DataFrame], chemin: str | os.PathLike) -> Path:
    """Write an XLSX workbook (one sheet per table, header frozen) atomically.

    Sheet names are cut to Excel's 31 characters; NaN cells stay empty.
    """
    if not feuilles:
        raise ErreurDonnees("ecrire_xlsx: no sheet to write")
    with ecriture_atomique(chemin) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            for nom, df in feuilles.items():
                feuille = str(nom)[:31]
                d = df.copy()
                for c in d.columns:
                    if d[c].dtype == object or str(d[c].dtype) in ("str", "string"):
                        d[c] = (
                            d[c]
                            .astype(object)
                            .where(d[c].notna(), None)
                            .map(
                                lambda v: (
                                    v
                                    if v is None or isinstance(v, (str, int, float, bool))
                                    else str(v)
                                )
                            )
                        )
                d.to_excel(xl, sheet_name=feuille, index=False, freeze_panes=(1, 0))
    return Path(chemin)


def ecrire_tables(
    tables: Mapping[str, pd.DataFrame],
    dossier: str | os.PathLike,
    *,
    formats: tuple[str, ...] = ("csv", "parquet", "xlsx"),
    geometries: Mapping[str, gpd.GeoDataFrame] | None = None,
    nom_classeur: str = "observatoire.xlsx",
    sans_geometrie: str = "erreur",
) -> dict[str, list[Path]]:
    """Write several named tables in several formats into ``dossier``.

    Returns
    -------
    dict
        Table name (or ``"classeur"``) → written paths. With ``geometries``, tables
        having ``niveau`` and ``territoire_code`` also get a ``<name>.gpkg``.
    """
    dossier = Path(dossier)
    ecrits: dict[str, list[Path]] = {}
    writers: dict[str, Callable] = {"csv": ecrire_csv, "parquet": ecrire_parquet}
    for nom, t in tables.items():
        ecrits[nom] = []
        for f in formats:
            if f in writers:
                ecrits[nom].append(writers[f](t, dossier / f"{nom}.{f}"))
        if geometries and {"niveau", "territoire_code"} <= set(t.columns):
            if any(n in geometries for n in pd.unique(t["niveau"])):
                ecrits[nom].append(
                    ecrire_geopackage(
                        t, geometries, dossier / f"{nom}.gpkg", sans_geometrie=sans_geometrie
                    )
                )
    if "xlsx" in formats:
        ecrits["classeur"] = [ecrire_xlsx(tables, dossier / nom_classeur)]
    return ecrits
