"""Web layers of a territory, simplified once and shared by every map and sheet.

Outline styles (legend entries use the same): QPV 2024 solid, QPV 2015 dashed,
veille territories dotted, communes thin grey, EPCI thick black.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from observatoire.cartes.entrees import Geometries, geometries_depuis
from observatoire.cartes.simplification import (
    TOLERANCE_IRIS_M,
    TOLERANCE_ZONES_M,
    dissoudre,
    simplifier_couverture,
    simplifier_zones,
    vers_geojson,
)
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = [
    "STYLES_CONTOURS",
    "CouchesWeb",
    "preparer_couches",
    "contour",
    "contours_standard",
    "legende_contours",
]

STYLES_CONTOURS = {
    "qpv2024": {"libelle": "QPV 2024", "style": {"color": "#c51b7d", "weight": 2.4, "opacity": 1}},
    "qpv2015": {
        "libelle": "QPV 2015",
        "style": {"color": "#7b3294", "weight": 2.2, "opacity": 1, "dashArray": "7 5"},
    },
    "veille": {
        "libelle": "Territoire de veille",
        "style": {
            "color": "#e66101",
            "weight": 2.6,
            "opacity": 1,
            "dashArray": "1 5",
            "lineCap": "round",
        },
    },
    "communes": {
        "libelle": "Limite de commune",
        "style": {"color": "#4d4d4d", "weight": 1.4, "opacity": 0.9},
    },
    "epci": {
        "libelle": "Limite de l'EPCI",
        "style": {"color": "#000000", "weight": 3, "opacity": 0.9},
    },
    "iris": {"libelle": "IRIS", "style": {"color": "#9e9e9e", "weight": 0.7, "opacity": 0.9}},
    "iris_composition": {
        "libelle": "IRIS de la composition",
        "style": {"color": "#3a3a3a", "weight": 1.6, "opacity": 0.9, "dashArray": "4 3"},
    },
}


@dataclass
class CouchesWeb:
    """Simplified layers (Lambert-93) and their GeoJSON (WGS84, rounded)."""

    iris: gpd.GeoDataFrame
    communes: gpd.GeoDataFrame
    epci: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    nom_territoire: str
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def contour_geojson(self, couche: str) -> dict:
        """Outline GeoJSON (no property) of ``"iris"``, ``"communes"`` or ``"epci"``, memoised."""
        if couche not in self._memo:
            self._memo[couche] = vers_geojson(getattr(self, couche), [])
        return self._memo[couche]

    def geojson_iris(self) -> dict:
        """IRIS features: ``code``, ``nom``, ``sous`` (commune name), memoised."""
        if "iris_proprietes" not in self._memo:
            self._memo["iris_proprietes"] = vers_geojson(self.iris, ["code", "nom", "sous"])
        return self._memo["iris_proprietes"]

    def geojson_zones(self, niveau: str | None = None, generation: int | None = None) -> dict:
        """QPV/veille features (``code``, ``nom``, ``sous``), optionally one level/generation."""
        z = self.zones
        if niveau is not None:
            z = z[z["niveau"] == niveau]
        if generation is not None:
            z = z[z["generation"].astype("Int64") == generation]
        return vers_geojson(z, ["code", "nom", "sous"])


def preparer_couches(
    geometries,
    *,
    tolerance_iris: float = TOLERANCE_IRIS_M,
    tolerance_zones: float = TOLERANCE_ZONES_M,
    rapport: Rapport | None = None,
) -> CouchesWeb:
    """Simplify the territory's layers for the web (see :mod:`~observatoire.cartes.simplification`).

    Parameters
    ----------
    geometries : Geometries or dict
        IRIS (required), QPV, veille, optional communes/EPCI outlines.
    """
    g: Geometries = geometries_depuis(geometries)
    iris = g.iris
    for col in ("code_iris", "geometry"):
        if col not in iris.columns:
            raise ErreurDonnees(f"geometries['iris'] : colonne {col!r} manquante")
    if iris.empty:
        raise ErreurDonnees("geometries['iris'] : aucun IRIS à cartographier")
    nom = iris["nom_iris"] if "nom_iris" in iris else iris["code_iris"]
    nom = nom.astype(object).where(nom.notna(), iris["code_iris"]).astype(str)
    com = iris["code_commune"].astype(str) if "code_commune" in iris else iris["code_iris"].str[:5]
    nomcom = (
        iris["nom_commune"].astype(object).where(iris["nom_commune"].notna(), com).astype(str)
        if "nom_commune" in iris
        else com
    )
    base = gpd.GeoDataFrame(
        {
            "code": iris["code_iris"].astype(str).to_numpy(),
            "nom": nom.to_numpy(),
            "code_commune": com.to_numpy(),
            "sous": nomcom.to_numpy(),
        },
        geometry=iris.geometry.to_numpy(),
        crs=iris.crs,
    )
    if base.crs is None:
        raise ErreurDonnees("geometries['iris'] : la couche n'a pas de CRS")
    base = base.to_crs("EPSG:2154")
    iris_s = simplifier_couverture(base, tolerance_iris, source="IRIS", rapport=rapport)

    if g.communes is not None and len(g.communes):
        communes = simplifier_zones(g.communes, tolerance_iris, source="communes")
        communes = communes.rename(columns={"nom_commune": "nom", "code_commune": "code"})
    else:
        communes = dissoudre(iris_s, "code_commune", ["sous"]).rename(
            columns={"code_commune": "code", "sous": "nom"}
        )
    if g.epci is not None and len(g.epci):
        epci = simplifier_zones(g.epci, tolerance_iris, source="EPCI")
    else:
        epci = dissoudre(iris_s, None)
        epci["nom"] = g.nom_territoire

    zones = g.zones()
    if len(zones):
        zones = simplifier_zones(zones, tolerance_zones, source="QPV/veille")
        gen = zones["generation"].astype("Int64")
        zones["sous"] = [
            f"QPV {int(x)}"
            if n == "qpv" and pd.notna(x)
            else ("QPV" if n == "qpv" else "Territoire de veille")
            for n, x in zip(zones["niveau"], gen, strict=True)
        ]
    else:
        zones["sous"] = []
    return CouchesWeb(
        iris=iris_s, communes=communes, epci=epci, zones=zones, nom_territoire=g.nom_territoire
    )


def contour(
    ident: str,
    geojson: dict,
    *,
    visible: bool = True,
    recherche: bool = False,
    libelle: str | None = None,
) -> dict:
    """Outline layer spec for ``carte.js``."""
    st = STYLES_CONTOURS[ident]
    return {
        "id": ident,
        "nom": libelle or st["libelle"],
        "classe": f"obs-contour-{ident}",
        "style": st["style"],
        "visible": visible,
        "recherche": recherche,
        "geojson": geojson,
    }


def legende_contours(idents) -> list[dict]:
    """Legend entries (line samples) of the outline layers drawn."""
    out = []
    for i in idents:
        st = STYLES_CONTOURS[i]["style"]
        tirets = (
            "dashed"
            if "dashArray" in st and not st["dashArray"].startswith("1 ")
            else ("dotted" if "dashArray" in st else "solid")
        )
        out.append(
            {
                "libelle": STYLES_CONTOURS[i]["libelle"],
                "couleur": st["color"],
                "epaisseur": max(1, round(st["weight"])),
                "tirets": tirets,
            }
        )
    return out


def contours_standard(couches: CouchesWeb, *, iris: bool = False) -> tuple[list[dict], list[str]]:
    """Outline layers of every map: QPV 2024/2015, veille, communes, EPCI (+ IRIS if asked)."""
    specs, idents = [], []
    if iris:
        specs.append(contour("iris", couches.contour_geojson("iris")))
        idents.append("iris")
    specs.append(contour("communes", couches.contour_geojson("communes")))
    idents.append("communes")
    specs.append(contour("epci", couches.contour_geojson("epci")))
    idents.append("epci")
    z = couches.zones
    if len(z):
        gen = z["generation"].astype("Int64")
        qpv = (z["niveau"] == "qpv").to_numpy(dtype=bool)
        q15 = qpv & (gen == 2015).fillna(False).to_numpy(dtype=bool)
        for ident, masque in (
            ("qpv2015", q15),
            ("qpv2024", qpv & ~q15),  # 2024, or generation unknown
            ("veille", (z["niveau"] == "veille").to_numpy(dtype=bool)),
        ):
            if masque.any():
                specs.append(
                    contour(ident, vers_geojson(z[masque], ["code", "nom"]), recherche=True)
                )
                idents.append(ident)
    return specs, idents
