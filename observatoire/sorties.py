"""Atomic writers for the output tables: CSV, Parquet, GeoPackage (one layer per level), XLSX.

Every writer goes through :func:`observatoire.ecriture_atomique.fichier_atomique`, so
a crash never leaves a half-written file and readers never see one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

from observatoire.ecriture_atomique import fichier_atomique
from observatoire.rapport import ErreurDonnees

__all__ = [
    "ecrire_csv",
    "ecrire_parquet",
    "ecrire_geopackage",
    "geometries_niveaux",
    "ecrire_xlsx",
    "ecrire_tables",
    "texte_neutralise",
    "DEBUTS_FORMULE",
]


#: First characters that make a spreadsheet read a text cell as a formula.
DEBUTS_FORMULE = ("=", "+", "-", "@", "\t", "\r")


def texte_neutralise(v):
    """Text safe to open in a spreadsheet: a leading formula character gets a ``'`` (OWASP).

    Numbers, missing values and harmless texts are returned unchanged.

    Examples
    --------
    >>> texte_neutralise("=HYPERLINK(1)"), texte_neutralise("-2"), texte_neutralise(-2.5)
    ("'=HYPERLINK(1)", "'-2", -2.5)
    >>> texte_neutralise("Istres"), texte_neutralise(None)
    ('Istres', None)
    """
    if isinstance(v, str) and v.startswith(DEBUTS_FORMULE):
        return "'" + v
    return v


def _colonnes_texte(table: pd.DataFrame) -> list:
    return [
        c
        for c in table.columns
        if table[c].dtype == object or str(table[c].dtype) in ("str", "string")
    ]


def ecrire_csv(table: pd.DataFrame, chemin: str | os.PathLike) -> Path:
    """Write a UTF-8 CSV (``,``, ``.`` decimal, NaN as empty cell) atomically.

    Text cells starting with ``=``, ``+``, ``-``, ``@``, tab or CR are prefixed with a
    single quote (:func:`texte_neutralise`) so that no spreadsheet runs them as formulas;
    numeric columns are written as numbers.
    """
    textes = [c for c in _colonnes_texte(table) if table[c].map(_a_neutraliser).any()]
    if textes:
        table = table.copy()
        for c in textes:
            table[c] = table[c].astype(object).map(texte_neutralise)
    with fichier_atomique(chemin) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8")
    return Path(chemin)


def _a_neutraliser(v) -> bool:
    return isinstance(v, str) and v.startswith(DEBUTS_FORMULE)


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
    with fichier_atomique(chemin) as tmp:
        t.to_parquet(tmp, index=False)
    return Path(chemin)


def geometries_niveaux(
    iris: gpd.GeoDataFrame,
    niveaux: Mapping[str, pd.DataFrame | list[str]],
    zones: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Level → its territories' geometries (``code``, geometry) for :func:`ecrire_geopackage`.

    ``iris`` is the IRIS layer the levels are made of (``code_iris``, geometry);
    ``niveaux`` maps ``"iris"`` to IRIS codes and whole-IRIS levels (commune, EPCI,
    département) to their membership table (``code_zone, code_iris``), each dissolved
    from its IRIS; ``zones`` maps zone levels (QPV, veille) to their own layer
    (``code_zone``, geometry), taken as drawn and placed after the IRIS.

    Examples
    --------
    >>> import shapely
    >>> iris = gpd.GeoDataFrame({"code_iris": ["1", "2"]},
    ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs=2154)
    >>> com = pd.DataFrame({"code_zone": ["A", "A"], "code_iris": ["1", "2"]})
    >>> g = geometries_niveaux(iris, {"iris": ["1", "2"], "commune": com})
    >>> sorted(g), float(g["commune"].geometry.area.iloc[0])
    (['commune', 'iris'], 2.0)
    """
    geos: dict[str, gpd.GeoDataFrame] = {}
    if "iris" in niveaux:
        it = iris[iris["code_iris"].isin(list(niveaux["iris"]))]
        geos["iris"] = gpd.GeoDataFrame(
            {"code": it["code_iris"].to_numpy()}, geometry=it.geometry.to_numpy(), crs=iris.crs
        )
    for niveau, couche in (zones or {}).items():
        geos[niveau] = gpd.GeoDataFrame(
            {"code": couche["code_zone"].to_numpy()},
            geometry=couche.geometry.to_numpy(),
            crs=couche.crs,
        )
    for niveau, n in niveaux.items():
        if niveau in geos or not isinstance(n, pd.DataFrame):
            continue
        m = iris[["code_iris", iris.geometry.name]].merge(
            n[["code_iris", "code_zone"]], on="code_iris"
        )
        d = gpd.GeoDataFrame(m, geometry=iris.geometry.name, crs=iris.crs)
        d = d.dissolve(by="code_zone").reset_index()
        geos[niveau] = gpd.GeoDataFrame(
            {"code": d["code_zone"].to_numpy()}, geometry=d.geometry.to_numpy(), crs=iris.crs
        )
    return geos


@contextmanager
def _date_gpkg_fixe():
    """Pin the "last change" date a GeoPackage records: same inputs give the same bytes."""
    import warnings

    import pyogrio

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(extension|conformant).*")
            yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


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

    The file records a fixed date, so the same inputs give the same bytes.

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
            f"ecrire_geopackage : aucune géométrie pour les niveaux de la table "
            f"(niveaux {sorted(map(str, pd.unique(table[niveau])))}, "
            f"géométries {sorted(geometries)})"
        )
    with fichier_atomique(chemin) as tmp, _date_gpkg_fixe():
        for n in niveaux:
            geo = geometries[n]
            if geo.crs is None:
                raise ErreurDonnees(
                    f"ecrire_geopackage : la géométrie du niveau {n!r} n'a pas de CRS"
                )
            if code_geometrie not in geo.columns:
                raise ErreurDonnees(
                    f"ecrire_geopackage : la géométrie du niveau {n!r} n'a pas de colonne "
                    f"{code_geometrie!r} (colonnes : {list(geo.columns)})"
                )
            g = geo[[code_geometrie, geo.geometry.name]].copy()
            g[code_geometrie] = g[code_geometrie].astype(str)
            t = table[table[niveau] == n].copy()
            t[code] = t[code].astype(str)
            sans = sorted(set(t[code]) - set(g[code_geometrie]))
            if sans and sans_geometrie not in ("erreur", "vide"):
                raise ValueError(
                    f"sans_geometrie doit valoir 'erreur' ou 'vide', pas {sans_geometrie!r}"
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
                    f"ecrire_geopackage : niveau {n!r} : {len(sans)} code(s) de territoire "
                    f"sans géométrie : {sans[:10]}"
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


def _valeur_cellule(v):
    """Python value of a workbook cell (None for missing values, text for objects)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, bool | int | float | str):
        return v
    if hasattr(v, "item") and not isinstance(v, pd.Timestamp):  # numpy scalar
        try:
            return _valeur_cellule(v.item())
        except (TypeError, ValueError):
            return str(v)
    return str(v)


def _largeur(valeurs, entete: str) -> float:
    longueurs = [len(str(entete))]
    for v in valeurs[:500]:
        if v is not None:
            longueurs.append(len(str(v)) if not isinstance(v, float) else len(f"{v:.6g}"))
    return float(min(max(longueurs) + 2, 60))


def ecrire_xlsx(
    feuilles: Mapping[str, pd.DataFrame],
    chemin: str | os.PathLike,
    *,
    liens: Mapping[str, str] | None = None,
) -> Path:
    """Write an XLSX workbook (one sheet per table) atomically, ready for partners.

    Each sheet has its header row frozen and bold, an autofilter and column widths
    fitted to the content (at most 60 characters). Sheet names are cut to Excel's 31
    characters; missing values stay empty cells; numbers stay numbers. Every text cell
    is written as text, never as a formula, whatever its first character (``=``, ``+``,
    ``-``, ``@``...). Columns named in ``liens`` (``{colonne: texte du lien}``) hold
    URLs or relative paths written as cell hyperlinks (not ``HYPERLINK`` formulas).
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    if not feuilles:
        raise ErreurDonnees("ecrire_xlsx : aucune feuille à écrire")
    liens = dict(liens or {})
    classeur = Workbook()
    classeur.remove(classeur.active)
    gras = Font(bold=True)
    style_lien = Font(color="0563C1", underline="single")
    vus: set[str] = set()
    for nom, df in feuilles.items():
        feuille = str(nom)[:31]
        base, n = feuille, 1
        while feuille in vus:  # two names equal once cut: keep both sheets
            n += 1
            feuille = f"{base[: 31 - len(str(n)) - 1]}~{n}"
        vus.add(feuille)
        ws = classeur.create_sheet(feuille)
        colonnes = [str(c) for c in df.columns]
        ws.append(colonnes)
        for cell in ws[1]:
            cell.font = gras
            cell.data_type = TYPE_STRING
        valeurs_colonnes = [[_valeur_cellule(v) for v in df[c].tolist()] for c in df.columns]
        for i in range(len(df)):
            ws.append([col[i] for col in valeurs_colonnes])
        # text is text: a cell openpyxl guessed as a formula becomes a string cell again
        for j, (c, col) in enumerate(zip(colonnes, valeurs_colonnes, strict=True), start=1):
            lettre = get_column_letter(j)
            a_texte = any(isinstance(v, str) for v in col)
            if a_texte:
                for i, v in enumerate(col, start=2):
                    if isinstance(v, str):
                        cell = ws.cell(row=i, column=j)
                        cell.data_type = TYPE_STRING
                        if v.startswith(DEBUTS_FORMULE):
                            cell.quotePrefix = True
                        if c in liens and v:
                            cell.hyperlink = v
                            cell.font = style_lien
            ws.column_dimensions[lettre].width = _largeur(col, c)
        ws.freeze_panes = "A2"
        if len(colonnes):
            ws.auto_filter.ref = f"A1:{get_column_letter(len(colonnes))}{max(len(df) + 1, 1)}"
    with fichier_atomique(chemin) as tmp:
        classeur.save(tmp)
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
