"""Loader for population grids (INSEE Filosofi carroyé, Eurostat census grid) as squares.

Two kinds of input give the same frame:

- vector layers (GeoPackage, GeoJSON, GeoParquet...) whose cells carry a geometry;
- tables without geometry (CSV as INSEE and Eurostat distribute them, XLSX, plain
  Parquet), where each cell is named by its INSPIRE id ``CRS3035RES200mN2232000E3823000``:
  lower-left corner (E, N) and side, in the CRS of the id. The squares are built from
  the ids, all at once (no loop per cell), and reprojected to the working CRS.
"""

from __future__ import annotations

import gc
import os
import re
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pyarrow import ArrowException

from observatoire.chargement.tables import MARQUEURS_MANQUANTS, lire_table
from observatoire.chargement.tables import _numerique_brut as _numerique
from observatoire.chargement.validation import (
    CRS_TRAVAIL,
    lire_vecteur,
    nom_source,
    preparer_geometries,
    trouver_colonne,
)
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["lire_grille", "parser_ids_inspire", "carres"]

#: INSPIRE cell id: CRS code, side, unit, north and east of the lower-left corner.
MOTIF_ID_INSPIRE = r"CRS(\d+)RES(\d+)(m|km)N(\d+)E(\d+)"

_IDS = ["id_carreau", "IdINSPIRE", "Idcar_200m", "idcar_1km", "idcar_nat", "GRD_ID", "id"]
_POPULATION = ["population", "Ind", "ind", "num_people", "ind_c", "T"]
_MENAGES = ["menages", "Men", "men"]
_IMPUTATION = ["imputed", "I_est_200", "i_est_cr"]
#: Code columns that look numeric but are not quantities (never returned).
_CODES = {"lcog_geo", "depcom", "codgeo", "id_car2010", "id_carr1km", "id_carr_n"}
#: Formats read as plain tables (every cell as text, header on line 1).
_TABLES_TEXTE = {".csv", ".txt", ".xlsx", ".xls"}


def lire_grille(
    chemin: str | os.PathLike,
    couche: str | None = None,
    *,
    crs: str = CRS_TRAVAIL,
    rapport: Rapport | None = None,
) -> gpd.GeoDataFrame:
    r"""Read a grid of individuals/households (INSEE Filosofi, Eurostat census grid...).

    A vector layer keeps its geometries; a table without geometry (``.csv`` as INSEE
    and Eurostat distribute grids) gets its squares from the INSPIRE cell ids.

    Parameters
    ----------
    chemin : path
        Vector file, or table (CSV, XLSX, Parquet without geometry) of INSPIRE ids.
    couche : str, optional
        Layer of a multi-layer vector file.
    crs : str
        CRS of the returned geometries (projected).
    rapport : Rapport, optional
        Receives the reprojection and what was read.

    Returns
    -------
    GeoDataFrame
        ``id_carreau``, ``population`` (individuals), ``menages`` (households, NaN when
        absent), ``imputed`` (1.0 where the producer imputed the cell, NaN when the source
        has no such flag), then every other numeric column of the source in lower case
        (``men_pauv``, ``ind_snv``, ``m``, ``f``...), geometry in ``crs``.

    Raises
    ------
    ErreurDonnees
        Missing id or population column, malformed or duplicate id, several cell sizes
        or CRS in one table, negative or non-finite count; the message names the file,
        the column and the line (header = line 1) or row.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "grille.csv"
    >>> _ = f.write_text("idcar_200m,ind,men\nCRS3035RES200mN2232000E3823000,12,5\n")
    >>> g = lire_grille(f, crs="EPSG:3035")
    >>> g.total_bounds.tolist(), g.area.tolist(), g.population.tolist()
    ([3823000.0, 2232000.0, 3823200.0, 2232200.0], [40000.0], [12.0])
    """
    src = nom_source(chemin, couche)
    brut, texte = _lire_brut(chemin, couche)
    if isinstance(brut, gpd.GeoDataFrame) and brut.geometry.name in brut.columns:
        return _grille_vecteur(brut, src=src, crs=crs, rapport=rapport)
    return _grille_table(brut, src=src, texte=texte, crs=crs, rapport=rapport)


def _lire_brut(chemin, couche) -> tuple[pd.DataFrame, bool]:
    """Read the source; ``True`` with it when it is a text table (header on line 1)."""
    suffixe = Path(chemin).suffix.lower()
    if suffixe in _TABLES_TEXTE:
        return lire_table(chemin), True
    if suffixe in {".parquet", ".geoparquet"} and Path(chemin).is_file():
        import pyarrow.parquet as pq

        try:
            meta = pq.read_schema(chemin).metadata or {}
            if b"geo" not in meta:
                return pd.read_parquet(chemin), False
        except Exception as exc:
            raise ErreurDonnees(f"{chemin} : lecture impossible : {exc}") from exc
    return lire_vecteur(chemin, couche), False


def _ligne(texte: bool):
    """Position → words: CSV line (header = line 1) or 1-based row of other formats."""
    if texte:
        return lambda i: f"ligne {int(i) + 2}"
    return lambda i: f"entité {int(i) + 1}"


def _unite(texte: bool) -> str:
    return "ligne(s)" if texte else "entité(s)"


def _numeros(positions: np.ndarray, texte: bool, n: int = 10) -> str:
    decalage = 2 if texte else 1
    liste = [int(p) + decalage for p in positions[:n]]
    return f"{liste}" + (f" ... ({len(positions)} au total)" if len(positions) > n else "")


def _grille_vecteur(brut, *, src, crs, rapport):
    c_id = trouver_colonne(brut, _IDS, source=src, role="identifiant de carreau")
    c_pop = trouver_colonne(brut, _POPULATION, source=src, role="population (individus)")
    c_men = trouver_colonne(brut, _MENAGES, source=src, role="", requis=False)
    c_imp = trouver_colonne(brut, _IMPUTATION, source=src, role="", requis=False)

    def nombres(col):  # vector layers: non-numeric cells were always read as missing
        return pd.to_numeric(brut[col], errors="coerce").astype("float64").reset_index(drop=True)

    pop = nombres(c_pop)
    _verifier_comptes(pop, src=src, colonne=c_pop, texte=False, manquants=True)
    men = nombres(c_men) if c_men else None
    if men is not None:
        _verifier_comptes(men, src=src, colonne=c_men, texte=False, manquants=True)
    pris = {c_id, c_pop, c_men, c_imp, brut.geometry.name}
    autres = {
        c: brut[c].reset_index(drop=True)
        for c in brut.columns
        if c not in pris
        and pd.api.types.is_numeric_dtype(brut[c])
        and not pd.api.types.is_bool_dtype(brut[c])
    }
    out = gpd.GeoDataFrame(
        _colonnes(
            brut[c_id].astype("str").array,
            pop,
            men,
            nombres(c_imp) if c_imp else None,
            autres,
        ),
        geometry=brut.geometry.to_numpy(),
        crs=brut.crs,
    )
    return preparer_geometries(out, source=src, code="id_carreau", crs=crs, rapport=rapport)


def _colonnes(ids, pop, men, imp, autres: dict) -> dict:
    """Output columns in order; other columns in lower case, first of a name wins."""
    n = len(ids)
    sortie = {
        "id_carreau": ids,
        "population": pop.to_numpy(),
        "menages": men.to_numpy() if men is not None else np.full(n, np.nan),
        "imputed": imp.to_numpy() if imp is not None else np.full(n, np.nan),
    }
    for col, valeurs in autres.items():
        nom = str(col).lower()
        if nom not in sortie and nom != "geometry":
            sortie[nom] = valeurs.to_numpy()
    return sortie


def _convertir(serie: pd.Series, *, src, colonne, texte) -> pd.Series:
    """Text → float (secret/missing markers → NaN); bad text names its lines."""
    serie = serie.reset_index(drop=True)
    try:
        return _numerique(serie, source=src, colonne=colonne)
    except ErreurDonnees:
        s = serie.astype("str").str.strip()
        valeurs = pd.to_numeric(s.str.replace(",", ".", regex=False), errors="coerce")
        mauvais = np.flatnonzero((valeurs.isna() & ~s.isin(MARQUEURS_MANQUANTS)).to_numpy())
        raise ErreurDonnees(
            f"{src} : colonne {colonne} : {_ligne(texte)(mauvais[0])} : valeur non numérique "
            f"{s.iloc[mauvais[0]]!r} ({_unite(texte)} {_numeros(mauvais, texte)})"
        ) from None


def _verifier_comptes(valeurs: pd.Series, *, src, colonne, texte, manquants=False) -> None:
    """Raise unless counts are finite (NaN allowed when ``manquants``) and not negative."""
    v = valeurs.to_numpy(dtype="float64")
    unite = _unite(texte)
    negatifs = np.flatnonzero(v < 0)
    if len(negatifs):
        raise ErreurDonnees(
            f"{src} : colonne {colonne} : effectif négatif {v[negatifs[0]]:g} sur {unite} "
            f"{_numeros(negatifs, texte)}"
        )
    infinis = np.isinf(v) if manquants else ~np.isfinite(v)
    if infinis.any():
        quoi = "infini" if manquants else "manquant ou infini"
        raise ErreurDonnees(
            f"{src} : colonne {colonne} : effectif {quoi} sur {unite} "
            f"{_numeros(np.flatnonzero(infinis), texte)}"
        )


def _grille_table(brut: pd.DataFrame, *, src, texte, crs, rapport):
    rapport = rapport if rapport is not None else Rapport()
    brut = brut.reset_index(drop=True)
    c_id = trouver_colonne(brut, _IDS, source=src, role="identifiant de carreau")
    c_pop = trouver_colonne(brut, _POPULATION, source=src, role="population (individus)")
    c_men = trouver_colonne(brut, _MENAGES, source=src, role="", requis=False)
    cellules = parser_ids_inspire(brut[c_id], source=src, colonne=c_id, texte=texte)
    crs_id, cote = cellules.attrs["crs"], cellules.attrs["cote"]
    imputations = _IMPUTATION + (["i_est_1km"] if cote == 1000 else [])
    c_imp = trouver_colonne(brut, imputations, source=src, role="", requis=False)

    pop = _convertir(brut[c_pop], src=src, colonne=c_pop, texte=texte)
    _verifier_comptes(pop, src=src, colonne=c_pop, texte=texte)
    men = None
    if c_men:
        men = _convertir(brut[c_men], src=src, colonne=c_men, texte=texte)
        _verifier_comptes(men, src=src, colonne=c_men, texte=texte)
    imp = _convertir(brut[c_imp], src=src, colonne=c_imp, texte=texte) if c_imp else None
    autres, textes = {}, []
    for col in brut.columns:
        if col in {c_id, c_pop, c_men, c_imp} or _est_code(col):
            continue
        try:
            autres[col] = _numerique(brut[col], source=src, colonne=col)
        except ErreurDonnees:
            textes.append(str(col))
    if textes:
        rapport.info("chargement", src, f"colonnes texte non reprises : {textes}")

    cible = pyproj.CRS.from_user_input(crs)
    if not cible.is_projected:
        raise ErreurDonnees(
            f"le CRS de travail {crs} est géographique : les surfaces demandent un CRS projeté"
        )
    try:
        source_crs = pyproj.CRS.from_epsg(crs_id)
    except pyproj.exceptions.CRSError:
        raise ErreurDonnees(
            f"{src} : colonne {c_id} : les identifiants nomment le CRS {crs_id}, "
            "qui n'est pas un code EPSG connu"
        ) from None
    if not source_crs.equals(cible):
        rapport.info(
            "chargement",
            src,
            f"reprojeté de {source_crs.to_string()} en {crs}",
            n=len(brut),
        )
    geometrie = carres(
        cellules["x"].to_numpy(),
        cellules["y"].to_numpy(),
        cote,
        crs_source=source_crs,
        crs_cible=cible,
    )
    rapport.info(
        "chargement",
        src,
        f"{len(brut)} carreaux de {cote:g} m construits à partir des identifiants INSPIRE ({c_id})",
        n=len(brut),
    )
    return gpd.GeoDataFrame(
        _colonnes(brut[c_id].astype("str").array, pop, men, imp, autres),
        geometry=geometrie,
        crs=cible,
    )


def _est_code(colonne) -> bool:
    nom = str(colonne).lower()
    return nom in _CODES or nom.startswith(("idcar", "idinspire", "grd_id"))


def parser_ids_inspire(
    ids: pd.Series, *, source: str = "ids", colonne: str = "id", texte: bool = True
) -> pd.DataFrame:
    """Parse INSPIRE cell ids of one grid (one CRS, one cell size), vectorised.

    Parameters
    ----------
    ids : Series of str
        Ids such as ``CRS3035RES200mN2232000E3823000``.
    source, colonne : str
        File and column, for messages.
    texte : bool
        Messages give CSV lines (position + 2, header = line 1) rather than rows.

    Returns
    -------
    DataFrame
        ``x``, ``y``: lower-left corner (int64, metres, in the CRS of the ids); the EPSG
        code and the side in metres are in ``.attrs["crs"]`` and ``.attrs["cote"]``.

    Raises
    ------
    ErreurDonnees
        Malformed id, several CRS or cell sizes, duplicate cell.

    Examples
    --------
    >>> p = parser_ids_inspire(pd.Series(["CRS3035RES1kmN2270000E3830000"]))
    >>> p.iloc[0].tolist(), p.attrs
    ([3830000, 2270000], {'crs': 3035, 'cote': 1000})
    """
    ids = pd.Series(ids).reset_index(drop=True)
    if not pd.api.types.is_string_dtype(ids) or ids.isna().any():
        ids = ids.astype("str")
    ligne, unite = _ligne(texte), _unite(texte)
    if len(ids) == 0:
        raise ErreurDonnees(f"{source} : colonne {colonne} : aucun carreau")
    valides = ids.str.fullmatch(MOTIF_ID_INSPIRE).fillna(False).to_numpy(dtype=bool)
    if not valides.all():
        mauvais = np.flatnonzero(~valides)
        raise ErreurDonnees(
            f"{source} : colonne {colonne} : {ligne(mauvais[0])} : {ids.iloc[mauvais[0]]!r} "
            "n'est pas un identifiant de carreau INSPIRE comme CRS3035RES200mN2232000E3823000 "
            f"({len(mauvais)} {unite} de ce type : {_numeros(mauvais, texte)})"
        )

    premier = re.fullmatch(MOTIF_ID_INSPIRE, ids.iloc[0])
    crs, cote = int(premier[1]), int(premier[2]) * (1000 if premier[3] == "km" else 1)
    if cote == 0:
        raise ErreurDonnees(f"{source} : colonne {colonne} : {ligne(0)} : carreaux de taille 0")
    out = None
    if ids.str.startswith(ids.iloc[0][: premier.start(4)]).all():
        # one CRS and cell size spelt one way: slice at the first id's positions; an id
        # whose N and E have other digit counts leaves an "E" in a slice, and the cast fails
        try:
            out = pd.DataFrame(
                {
                    "x": _entiers(ids.str.slice(premier.start(5))),
                    "y": _entiers(ids.str.slice(premier.start(4), premier.end(4))),
                }
            )
        except (ValueError, TypeError, ArrowException):
            out = None
    if out is None:  # other spellings (RES1km, RES1000m) or digit counts: regular expression
        parties = ids.str.extract(MOTIF_ID_INSPIRE)
        cotes = parties[1].astype("int64") * np.where(parties[2] == "km", 1000, 1)
        autre = np.flatnonzero(
            (parties[0].astype("int64") != crs).to_numpy() | (cotes != cote).to_numpy()
        )
        if len(autre):
            i = autre[0]
            raise ErreurDonnees(
                f"{source} : colonne {colonne} : {ligne(i)} : {ids.iloc[i]!r} est un carreau "
                f"de {int(cotes.iloc[i])} m en EPSG:{parties[0].iloc[i]}, {ligne(0)} un carreau "
                f"de {cote} m en EPSG:{crs} : une seule taille de carreau et un seul CRS par "
                f"carroyage ({len(autre)} {unite} de ce type : {_numeros(autre, texte)})"
            )
        try:
            out = pd.DataFrame({"x": _entiers(parties[4]), "y": _entiers(parties[3])})
        except (ValueError, TypeError, ArrowException) as exc:
            raise ErreurDonnees(
                f"{source} : colonne {colonne} : coordonnées hors limites : {exc}"
            ) from None

    cle = pd.Series(
        (out["x"].to_numpy() - out["x"].min()) * (int(out["y"].max() - out["y"].min()) + 1)
        + (out["y"].to_numpy() - out["y"].min())
    )
    tri = np.sort(cle.to_numpy())
    if (tri[1:] == tri[:-1]).any():  # a sort is faster than hashing; details only then
        doublons = np.flatnonzero(cle.duplicated(keep=False).to_numpy())
        groupes = pd.Series(doublons).groupby(cle.iloc[doublons].to_numpy(), sort=False).agg(list)
        exemples = "; ".join(
            f"{ids.iloc[g[0]]!r} sur {unite} {_numeros(np.asarray(g), texte)}"
            for g in groupes.iloc[:5]
        )
        raise ErreurDonnees(
            f"{source} : colonne {colonne} : {len(groupes)} carreau(x) en double : "
            f"{exemples}" + (" ..." if len(groupes) > 5 else "")
        )
    out.attrs = {"crs": crs, "cote": cote}
    return out


def _entiers(chiffres: pd.Series) -> np.ndarray:
    """Digits → int64 through Arrow's cast (several times faster than numpy's)."""
    return chiffres.astype("int64[pyarrow]").to_numpy("int64")


@contextmanager
def _sans_ramasse_miettes():
    """Pause the cyclic garbage collector while millions of geometries are created.

    Each new geometry counts as an allocation, so the collector would run thousands of
    times over a heap where it has nothing to free (twice as slow for 2 million squares).
    """
    actif = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if actif:
            gc.enable()


def carres(
    x: np.ndarray,
    y: np.ndarray,
    cote: float,
    *,
    crs_source: str | pyproj.CRS,
    crs_cible: str | pyproj.CRS,
) -> np.ndarray:
    """Squares ``shapely.box(x, y, x + cote, y + cote)`` of ``crs_source``, in ``crs_cible``.

    The same polygons as building the boxes and reprojecting them with geopandas (each
    corner reprojected, edges kept straight), several times faster: a corner shared by
    neighbouring cells is reprojected once, and the polygons are built in one call.

    Parameters
    ----------
    x, y : array of int
        Lower-left corners, in metres of ``crs_source``.
    cote : float
        Side of the squares.
    crs_source, crs_cible : str or pyproj.CRS
        CRS of the corners and of the result.

    Returns
    -------
    numpy.ndarray of shapely Polygon

    Examples
    --------
    >>> c = carres(np.array([0, 200]), np.array([0, 0]), 200,
    ...            crs_source="EPSG:3035", crs_cible="EPSG:3035")
    >>> shapely.bounds(c).tolist(), shapely.area(c).tolist()
    ([[0.0, 0.0, 200.0, 200.0], [200.0, 0.0, 400.0, 200.0]], [40000.0, 40000.0])
    """
    x = np.asarray(x, dtype="int64")
    y = np.asarray(y, dtype="int64")
    n = len(x)
    c = int(round(cote))
    if c != cote:
        raise ValueError(f"cote doit être un nombre entier de mètres, reçu {cote}")
    # corners of each square in shapely.box order (counter-clockwise from lower right)
    dx, dy = np.array([c, c, 0, 0]), np.array([0, c, c, 0])
    source = pyproj.CRS.from_user_input(crs_source)
    cible = pyproj.CRS.from_user_input(crs_cible)
    if source.equals(cible) or n == 0:
        px = (x[:, None] + dx).astype("float64")
        py = (y[:, None] + dy).astype("float64")
    else:  # each distinct corner reprojected once (neighbours share theirs)
        x0, y0 = x.min(), y.min()
        largeur = int(y.max() - y0) + c + 1
        cles = ((x - x0) * largeur + (y - y0))[:, None] + (dx * largeur + dy)
        codes, uniques = pd.factorize(cles.ravel())
        transfo = pyproj.Transformer.from_crs(source, cible, always_xy=True)
        ux, uy = transfo.transform(
            (uniques // largeur + x0).astype("float64"), (uniques % largeur + y0).astype("float64")
        )
        px, py = np.asarray(ux)[codes], np.asarray(uy)[codes]
    coords = np.empty((n, 5, 2))
    coords[:, :4, 0] = px.reshape(n, 4)
    coords[:, :4, 1] = py.reshape(n, 4)
    coords[:, 4] = coords[:, 0]
    with _sans_ramasse_miettes():
        return shapely.from_ragged_array(
            shapely.GeometryType.POLYGON,
            coords.reshape(-1, 2),
            (np.arange(0, 5 * n + 1, 5), np.arange(n + 1)),
        )
