"""Inputs of maps and sheets: geometry layers, indicator metadata, one row per value.

Maps read three long tables produced upstream (schemas in ``docs/cartes.md``):
the indicator table (``territoire_code, territoire_nom, niveau, indicateur, sexe,
annee, valeur, ..., unite, methode, statut, source``), the écarts table and the
weights table. This module validates what maps need from them and picks one row
per territory × indicator × year when several methods coexist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.ecarts import COLONNES_ECARTS as _CONTRAT_ECARTS
from observatoire.rapport import ErreurDonnees

__all__ = [
    "Geometries",
    "COLONNES_INDICATEURS",
    "COLONNES_ECARTS",
    "PRIORITE_STATUT",
    "verifier_colonnes",
    "geometries_depuis",
    "metadonnees_indicateurs",
    "une_ligne_par_valeur",
    "filtrer_sexe",
    "signe_favorable",
    "colonnes_utiles",
    "COLONNES_UTILES_INDICATEURS",
    "COLONNES_UTILES_ECARTS",
]

COLONNES_INDICATEURS = ["territoire_code", "niveau", "indicateur", "annee", "valeur", "statut"]
COLONNES_ECARTS = [
    "territoire_code",
    "niveau",
    "indicateur",
    "annee",
    "valeur",
    "reference_niveau",
    "reference_code",
    "reference_valeur",
    "ecart_points",
]
#: When a territory has several rows for one indicator and year (official value and
#: IRIS-based estimate), the map shows the first status of this list.
PRIORITE_STATUT = ["officiel", "estime_corrige", "estime", "approximation", "secret", "manquant"]
_SEXES_ENSEMBLE = {"ensemble", "t", "total", "tous", ""}


@dataclass
class Geometries:
    """Geometry layers of a territory (any CRS; each is reprojected and simplified for the web).

    Attributes
    ----------
    iris : GeoDataFrame
        :func:`observatoire.chargement.lire_iris` schema (``code_iris, nom_iris, code_commune,
        nom_commune, ...``). Required: the choropleth layer and the source of commune/EPCI outlines.
    qpv : GeoDataFrame, optional
        :func:`observatoire.chargement.lire_qpv` schema (``code_zone, nom_zone, generation``).
    veille : GeoDataFrame, optional
        Veille territories: ``code_zone``, ``nom_zone``, geometry.
    communes, epci : GeoDataFrame, optional
        Outlines; by default dissolved from the IRIS (so they fall exactly on IRIS borders).
    nom_territoire : str
        Name of the territory (titles, EPCI outline label).
    """

    iris: gpd.GeoDataFrame
    qpv: gpd.GeoDataFrame | None = None
    veille: gpd.GeoDataFrame | None = None
    communes: gpd.GeoDataFrame | None = None
    epci: gpd.GeoDataFrame | None = None
    nom_territoire: str = "Territoire"
    zones_territoire: gpd.GeoDataFrame | None = None
    extras: dict = field(default_factory=dict)

    def zones(self) -> gpd.GeoDataFrame:
        """QPV and veille zones as one map layer: ``code, nom, niveau, generation, geometry``.

        ``zones_territoire`` (the run's zone layer: ``code_zone, nom_zone, niveau,
        generation``), when given, replaces ``qpv`` and ``veille``. ``nom_zone`` is
        optional (a zone without a name is shown under its code).

        Raises
        ------
        ErreurDonnees
            A layer lacks ``code_zone`` (or ``niveau`` for ``zones_territoire``).
        """
        if self.zones_territoire is not None:
            return _couche_zones(self.zones_territoire, "zones")
        parties = []
        if self.qpv is not None and len(self.qpv):
            parties.append(_couche_zones(self.qpv, "qpv", niveau="qpv", generation=2024))
        if self.veille is not None and len(self.veille):
            parties.append(_couche_zones(self.veille, "veille", niveau="veille"))
        if not parties:
            return gpd.GeoDataFrame(
                {"code": [], "nom": [], "niveau": [], "generation": []},
                geometry=[],
                crs="EPSG:2154",
            )
        return pd.concat(parties, ignore_index=True)


def _couche_zones(
    z: gpd.GeoDataFrame, source: str, *, niveau: str | None = None, generation=pd.NA
) -> gpd.GeoDataFrame:
    """Return a zone layer (``code_zone, nom_zone, niveau, generation``) in the map schema.

    ``niveau`` and ``generation`` apply when the layer has no such column.
    """
    verifier_colonnes(z, ["code_zone"] if niveau is not None else ["code_zone", "niveau"], source)
    code = z["code_zone"]
    noms = z["nom_zone"] if "nom_zone" in z.columns else code
    return gpd.GeoDataFrame(
        {
            "code": code.astype(str).to_numpy(),
            "nom": noms.astype(object).where(noms.notna(), code).astype(str).to_numpy(),
            "niveau": z["niveau"].astype(str).to_numpy() if "niveau" in z.columns else niveau,
            "generation": z["generation"].to_numpy() if "generation" in z.columns else generation,
        },
        geometry=z.geometry.to_numpy(),
        crs=z.crs,
    ).to_crs("EPSG:2154")


def geometries_depuis(objet) -> Geometries:
    """Accept a :class:`Geometries` or a mapping with the same keys."""
    if isinstance(objet, Geometries):
        return objet
    if isinstance(objet, Mapping):
        connues = {"iris", "qpv", "veille", "zones", "communes", "epci", "nom_territoire"}
        inconnues = set(objet) - connues
        if inconnues:
            raise ErreurDonnees(
                f"geometries : couche(s) inconnue(s) {sorted(inconnues)} ; "
                f"valides : {sorted(connues)}"
            )
        if "iris" not in objet:
            raise ErreurDonnees("geometries : la couche 'iris' est obligatoire")
        d = dict(objet)
        if "zones" in d:
            d["zones_territoire"] = d.pop("zones")
        return Geometries(**d)
    raise ErreurDonnees(
        f"geometries : attendu : Geometries ou un dict, reçu {type(objet).__name__}"
    )


def verifier_colonnes(df: pd.DataFrame, colonnes, source: str) -> None:
    """Raise :class:`ErreurDonnees` naming the table and the missing columns."""
    manquantes = [c for c in colonnes if c not in df.columns]
    if manquantes:
        raise ErreurDonnees(
            f"{source} : colonne(s) manquante(s) {manquantes} ; "
            f"colonnes présentes : {list(df.columns)}"
        )


def filtrer_sexe(df: pd.DataFrame, sexe: str = "ensemble") -> pd.DataFrame:
    """Rows of one sex (``"ensemble"`` also matches an absent or empty ``sexe``).

    Examples
    --------
    >>> d = pd.DataFrame({"sexe": ["ensemble", "F", None]})
    >>> filtrer_sexe(d).index.tolist(), filtrer_sexe(d, "F").index.tolist()
    ([0, 2], [1])
    """
    if "sexe" not in df.columns:
        return df
    s = df["sexe"].astype(object).where(df["sexe"].notna(), "").astype(str).str.strip().str.lower()
    if sexe.lower() in _SEXES_ENSEMBLE:
        return df[s.isin(_SEXES_ENSEMBLE)]
    return df[s == sexe.lower()]


def une_ligne_par_valeur(
    df: pd.DataFrame,
    cles=("niveau", "territoire_code", "indicateur", "annee"),
    statut: str = "statut",
) -> pd.DataFrame:
    """Keep one row per key: the best status of :data:`PRIORITE_STATUT` (official first).

    ``statut`` names the status column ranked (``valeur_statut`` for the écarts table).

    Examples
    --------
    >>> d = pd.DataFrame({"niveau": ["qpv"] * 2, "territoire_code": ["Q"] * 2,
    ...                   "indicateur": ["pop"] * 2, "annee": [2016] * 2,
    ...                   "valeur": [1620.0, 3027.0], "statut": ["estime", "officiel"]})
    >>> une_ligne_par_valeur(d)["valeur"].tolist()
    [3027.0]
    """
    cles = [c for c in cles if c in df.columns]
    rang = (
        df[statut]
        .astype(object)
        .map({s: i for i, s in enumerate(PRIORITE_STATUT)})
        .fillna(len(PRIORITE_STATUT))
        .astype("int64")
    )
    out = df.assign(_rang=rang.to_numpy()).sort_values([*cles, "_rang"], kind="stable")
    return out.drop_duplicates(cles, keep="first").drop(columns="_rang")


@cache
def _codebook_defaut() -> pd.DataFrame | None:
    try:
        from observatoire.indicateurs.codebook import charger_codebook
    except ImportError:  # pragma: no cover - indicators module absent
        return None
    return charger_codebook().to_frame()


def _codebook_frame(codebook) -> pd.DataFrame | None:
    if codebook is None:
        codebook = _codebook_defaut()
        if codebook is None:  # pragma: no cover
            return None
    if hasattr(codebook, "to_frame"):
        codebook = codebook.to_frame()
    if not isinstance(codebook, pd.DataFrame):
        raise ErreurDonnees("codebook : attendu : un Codebook ou un DataFrame")
    cb = codebook.copy()
    if "indicateur" not in cb.columns and "id" in cb.columns:
        cb = cb.rename(columns={"id": "indicateur"})
    return cb


_MEMO_CODEBOOK: dict = {}


def _codebook_dict(codebook, sexe: str) -> dict[str, dict]:
    """Codebook rows by indicator id (one sex), memoised per codebook object."""
    cle = (id(codebook), sexe)
    memo = _MEMO_CODEBOOK.get(cle)
    if memo is not None and memo[0] is codebook:
        return memo[1]
    cb = _codebook_frame(codebook)
    if cb is not None and len(cb):
        cbs = filtrer_sexe(cb, sexe) if "sexe" in cb.columns else cb
        cbs = cbs.drop_duplicates("indicateur")
        d = {
            str(r["indicateur"]): {k: (None if _vide(v) else v) for k, v in r.items()}
            for r in cbs.to_dict("records")
        }
    else:
        d = {}
    if len(_MEMO_CODEBOOK) > 16:
        _MEMO_CODEBOOK.clear()
    _MEMO_CODEBOOK[cle] = (codebook, d)
    return d


def _vide(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def metadonnees_indicateurs(
    indicateurs: pd.DataFrame,
    codebook=None,
    sexe: str = "ensemble",
) -> pd.DataFrame:
    """One row per indicator present in ``indicateurs``: label, pillar, unit, direction, source.

    Values come from the codebook (default: the packaged one) and fall back on the
    indicator table (``unite``, ``source``) and the id itself for the label. The
    order is the codebook's, then the table's.

    Returns
    -------
    DataFrame
        ``indicateur, libelle, pilier, unite, direction, source, type``; ``direction`` is
        ``hausse_defavorable``, ``baisse_defavorable`` or ``neutre``; ``type`` is the
        codebook's (``effectif``, ``part``, ``taux``, ``indice``, ``mediane``...).
    """
    ids = list(dict.fromkeys(indicateurs["indicateur"].astype(str)))
    cbs = _codebook_dict(codebook, sexe)
    lignes = []
    ordre = [i for i in cbs if i in ids] + [i for i in ids if i not in cbs]
    premiers = {}
    for col in ("unite", "source"):
        if col in indicateurs.columns:
            s = indicateurs[["indicateur", col]].dropna().drop_duplicates("indicateur")
            premiers[col] = dict(zip(s["indicateur"].astype(str), s[col].astype(str), strict=True))
        else:
            premiers[col] = {}
    for ind in ordre:
        d = cbs.get(ind, {})
        lignes.append(
            {
                "indicateur": ind,
                "libelle": d.get("libelle") or ind,
                "pilier": d.get("pilier") or "autres indicateurs",
                "unite": d.get("unite") or premiers["unite"].get(ind) or "",
                "direction": d.get("direction") or "neutre",
                "type": d.get("type")
                or _type_depuis_unite(d.get("unite") or premiers["unite"].get(ind)),
                "source": d.get("source") or premiers["source"].get(ind) or "",
            }
        )
    return pd.DataFrame(
        lignes, columns=["indicateur", "libelle", "pilier", "unite", "direction", "source", "type"]
    )


def _type_depuis_unite(unite) -> str:
    """Guess the statistic type when the codebook does not know the indicator."""
    u = str(unite or "").strip().lower()
    if u in (
        "habitants",
        "ménages",
        "menages",
        "logements",
        "personnes",
        "effectif",
        "emplois",
        "allocataires",
    ):
        return "effectif"
    return "taux" if u == "%" else "autre"


COLONNES_UTILES_INDICATEURS = [
    "territoire_code",
    "territoire_nom",
    "niveau",
    "indicateur",
    "sexe",
    "annee",
    "valeur",
    "unite",
    "methode",
    "statut",
    "source",
]
COLONNES_UTILES_ECARTS = [*_CONTRAT_ECARTS, "valeur_statut", "methode"]


def colonnes_utiles(df: pd.DataFrame | None, colonnes) -> pd.DataFrame | None:
    """Keep only the columns maps use (filters on narrow frames are much faster).

    Examples
    --------
    >>> colonnes_utiles(pd.DataFrame({"a": [1], "b": [2]}), ["a", "z"]).columns.tolist()
    ['a']
    """
    if df is None:
        return None
    return df[[c for c in colonnes if c in df.columns]]


def signe_favorable(direction: str) -> float:
    """+1 if a higher value is favourable, -1 if unfavourable, NaN when neutral.

    Examples
    --------
    >>> signe_favorable("hausse_defavorable"), signe_favorable("baisse_defavorable")
    (-1.0, 1.0)
    """
    return {"hausse_defavorable": -1.0, "baisse_defavorable": 1.0}.get(direction, np.nan)
