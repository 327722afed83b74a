"""Territories of the map tests (not a test module).

A hand-made territory: four 1 km IRIS, two communes, one QPV, one veille zone
(:func:`geometries`, :func:`indicateurs`, :func:`ecarts`, :func:`poids`, :func:`codebook`).
Values are chosen so that classes, tooltips and gaps can be checked by hand. IRIS
130990003 is named with an HTML injection attempt; its 2022 unemployment is secret
and IRIS 130980001 has no 2022 unemployment value (missing).

The shipped territory (:func:`territoire_livre`): the ``san_ouest_provence``
configuration computed from the real data store by the territory-level entry points
the yearly run calls.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

if TYPE_CHECKING:
    from observatoire.cartes import Geometries
    from observatoire.config import ConfigTerritoire
    from observatoire.indicateurs.codebook import Codebook

MALVEILLANT = "<img src=x onerror=alert(1)>"
X0, Y0 = 860000.0, 6270000.0


def boite(i, j, n=1.0):
    return shapely.box(X0 + i * 1000, Y0 + j * 1000, X0 + (i + n) * 1000, Y0 + (j + 1) * 1000)


def geometries():
    iris = gpd.GeoDataFrame(
        {
            "code_iris": ["130990001", "130990002", "130990003", "130980001"],
            "nom_iris": ["Les Pins", "Le Centre", MALVEILLANT, "La Gare"],
            "code_commune": ["13099", "13099", "13099", "13098"],
            "code_commune_arm": ["13099", "13099", "13099", "13098"],
            "nom_commune": ["Villeneuve", "Villeneuve", "Villeneuve", "Bourg"],
            "type_iris": ["H", "H", "H", "H"],
        },
        geometry=[boite(0, 0), boite(1, 0), boite(0, 1, 2), boite(2, 0, 1)],
        crs="EPSG:2154",
    )
    qpv = gpd.GeoDataFrame(
        {
            "code_zone": ["QN01399M"],
            "nom_zone": ["Les Pins-Centre"],
            "generation": [2024],
            "communes": [["13099"]],
        },
        geometry=[shapely.box(X0 + 500, Y0 + 200, X0 + 1500, Y0 + 800)],
        crs="EPSG:2154",
    )
    veille = gpd.GeoDataFrame(
        {"code_zone": ["V_GARE"], "nom_zone": ["Quartier de la gare"]},
        geometry=[boite(2, 0, 1)],
        crs="EPSG:2154",
    )
    return {"iris": iris, "qpv": qpv, "veille": veille, "nom_territoire": "Territoire test"}


CHOMAGE = {  # (code, annee) -> value
    ("130990001", 2016): 30.0,
    ("130990002", 2016): 20.0,
    ("130990003", 2016): 12.0,
    ("130980001", 2016): 8.0,
    ("130990001", 2022): 25.0,
    ("130990002", 2022): 18.0,
    ("130990003", 2022): np.nan,
    ("130980001", 2022): np.nan,
}
POPULATION = {"130990001": 1200.0, "130990002": 2400.0, "130990003": 800.0, "130980001": 3100.0}


def indicateurs():
    lignes = []

    def ajouter(code, nom, niveau, ind, annee, valeur, statut, unite, methode="agregation_iris"):
        lignes.append(
            {
                "territoire_code": code,
                "territoire_nom": nom,
                "niveau": niveau,
                "indicateur": ind,
                "sexe": "ensemble",
                "annee": annee,
                "valeur": valeur,
                "numerateur": np.nan,
                "denominateur": np.nan,
                "unite": unite,
                "methode": methode,
                "statut": statut,
                "source": "INSEE RP (fixture)",
            }
        )

    noms = dict(
        zip(geometries()["iris"]["code_iris"], geometries()["iris"]["nom_iris"], strict=True)
    )
    for (code, annee), v in CHOMAGE.items():
        statut = "officiel"
        if code == "130990003" and annee == 2022:
            statut = "secret"
        elif np.isnan(v):
            statut = "manquant"
        ajouter(code, noms[code], "iris", "taux_chomage_1564", annee, v, statut, "%", "source")
    for code, v in POPULATION.items():
        for annee in (2016, 2022):
            ajouter(
                code, noms[code], "iris", "population", annee, v, "officiel", "habitants", "source"
            )
    for annee, (vc, ve, vd, vf) in {
        2016: (17.0, 15.0, 14.0, 13.0),
        2022: (15.0, 13.0, 12.5, 11.5),
    }.items():
        ajouter("13099", "Villeneuve", "commune", "taux_chomage_1564", annee, vc, "officiel", "%")
        ajouter("13098", "Bourg", "commune", "taux_chomage_1564", annee, vc - 6, "officiel", "%")
        ajouter("241300000", "EPCI test", "epci", "taux_chomage_1564", annee, ve, "estime", "%")
        ajouter(
            "13", "Bouches-du-Rhône", "departement", "taux_chomage_1564", annee, vd, "officiel", "%"
        )
        ajouter(
            "FR", "France métropolitaine", "france", "taux_chomage_1564", annee, vf, "officiel", "%"
        )
        ajouter(
            "QN01399M",
            "Les Pins-Centre",
            "qpv",
            "taux_chomage_1564",
            annee,
            27.5 if annee == 2016 else 22.0,
            "estime",
            "%",
            "ponderation_surface",
        )
        ajouter(
            "V_GARE",
            "Quartier de la gare",
            "veille",
            "taux_chomage_1564",
            annee,
            8.0 if annee == 2016 else np.nan,
            "estime" if annee == 2016 else "secret",
            "%",
            "liste_iris",
        )
        ajouter(
            "QN01399M",
            "Les Pins-Centre",
            "qpv",
            "population",
            annee,
            1800.0,
            "estime",
            "habitants",
            "ponderation_surface",
        )
        ajouter(
            "V_GARE",
            "Quartier de la gare",
            "veille",
            "population",
            annee,
            3100.0,
            "estime",
            "habitants",
            "liste_iris",
        )
    return pd.DataFrame(lignes)


def ecarts():
    ind = indicateurs()
    refs = ind[ind["niveau"].isin(["commune", "epci", "departement", "france"])]
    lignes = []
    for _, z in ind[ind["niveau"].isin(["qpv", "veille"])].iterrows():
        for niv in ("commune", "epci", "departement", "france"):
            r = refs[
                (refs["niveau"] == niv)
                & (refs["indicateur"] == z["indicateur"])
                & (refs["annee"] == z["annee"])
            ]
            if niv == "commune":
                r = r[r["territoire_code"] == ("13099" if z["niveau"] == "qpv" else "13098")]
            if r.empty:
                continue
            r = r.iloc[0]
            ep = z["valeur"] - r["valeur"]
            lignes.append(
                {
                    "territoire_code": z["territoire_code"],
                    "niveau": z["niveau"],
                    "indicateur": z["indicateur"],
                    "sexe": "ensemble",
                    "annee": z["annee"],
                    "valeur": z["valeur"],
                    "reference_niveau": niv,
                    "reference_code": r["territoire_code"],
                    "reference_valeur": r["valeur"],
                    "reference_statut": r["statut"],
                    "ecart_points": ep,
                    "ratio": z["valeur"] / r["valeur"],
                    "lecture": ("moins favorable" if ep > 0 else "plus favorable")
                    if ep == ep
                    else "",
                    "statut": z["statut"],
                }
            )
    return pd.DataFrame(lignes)


def poids():
    return pd.DataFrame(
        {
            "code_zone": ["QN01399M", "QN01399M", "V_GARE"],
            "code_iris": ["130990001", "130990002", "130980001"],
            "surface_m2": [300000.0, 300000.0, 1000000.0],
            "part_zone": [0.5, 0.5, 1.0],
            "part_iris": [0.3, 0.3, 1.0],
            "poids": [0.3, 0.3, 1.0],
            "methode": ["surface", "surface", "iris_list"],
        }
    )


def codebook():
    return pd.DataFrame(
        {
            "indicateur": ["population", "taux_chomage_1564"],
            "sexe": ["ensemble", "ensemble"],
            "libelle": ["Population municipale", "Taux de chômage des 15-64 ans"],
            "pilier": ["cohésion sociale", "développement économique et emploi"],
            "unite": ["habitants", "%"],
            "direction": ["neutre", "hausse_defavorable"],
            "source": ["INSEE RP (fixture)", "INSEE RP (fixture)"],
        }
    )


# ------------------------------------------------- shipped territory (real data, real pipeline)
@dataclass(frozen=True)
class TerritoireLivre:
    """The shipped configuration's tables, computed by the territory-level entry points.

    The same calls as the yearly run's ``sources``, ``poids``, ``indicateurs`` and
    ``ecarts`` steps (:mod:`observatoire.run.etapes`), so the tables are those the run
    writes and maps. Shared by every caller (memoised): treat the tables as read-only.

    Attributes
    ----------
    config : ConfigTerritoire
        The shipped ``san_ouest_provence`` configuration.
    annees : list of int
        Census vintages computed (every vintage the sources hold).
    indicateurs, ecarts, synthese : DataFrame
        Indicators of every level, gaps of the zones and IRIS to their references, values
        of record of every vintage (``synthese_millesimes``).
    poids : DataFrame
        IRIS × zone weights (``code_zone, code_iris, poids, methode, niveau...``).
    zones : GeoDataFrame
        QPV then veille territories (``code_zone, nom_zone, niveau, generation, geometry``).
    geometries : Geometries
        What the run gives the maps: the member communes' IRIS and ``zones``.
    codebook : Codebook
    references : list of str
        Reference levels of the gap maps (the configuration's, in map order).
    avertissements, notes : dict
        Zone code → warnings (sheets, tooltips) and notes of its sheet.
    """

    config: ConfigTerritoire
    annees: list[int]
    indicateurs: pd.DataFrame
    ecarts: pd.DataFrame
    synthese: pd.DataFrame
    poids: pd.DataFrame
    zones: gpd.GeoDataFrame
    geometries: Geometries
    codebook: Codebook
    references: list[str]
    avertissements: dict[str, list[str]]
    notes: dict[str, list[str]]

    def codes_zones(self, niveau: str) -> list[str]:
        """Codes of the zones of one level (``qpv`` or ``veille``), in zone order."""
        return list(self.zones.loc[self.zones["niveau"] == niveau, "code_zone"].astype(str))


def territoire_livre(donnees: str | os.PathLike) -> TerritoireLivre:
    """The shipped configuration computed from the data store ``donnees`` (once per path)."""
    return _territoire_livre(str(Path(donnees)))


@functools.lru_cache(maxsize=2)
def _territoire_livre(donnees: str) -> TerritoireLivre:
    from observatoire.cartes import Geometries
    from observatoire.cartes.generation import REFERENCES_CARTES
    from observatoire.config import charger_config
    from observatoire.rapport import Rapport
    from observatoire.territoire import charger_territoire, poids_territoire
    from observatoire.territoire.avertissements import avertissements_zones, notes_zones
    from observatoire.territoire.ecarts import ecarts_territoire
    from observatoire.territoire.indicateurs import codebook_territoire, indicateurs_territoire

    cfg = charger_config(None)
    rapport = Rapport()
    d = charger_territoire(cfg, depuis=donnees, rapport=rapport)
    p = poids_territoire(d, rapport)
    cb = codebook_territoire(d)
    i = indicateurs_territoire(d, p, codebook=cb, rapport=rapport)
    e = ecarts_territoire(d, p, i, codebook=cb)
    return TerritoireLivre(
        config=cfg,
        annees=list(d.annees),
        indicateurs=i.indicateurs,
        ecarts=e.ecarts,
        synthese=e.synthese_millesimes,
        poids=p.poids,
        zones=p.zones,
        geometries=Geometries(
            iris=d.iris_territoire, zones_territoire=p.zones, nom_territoire=cfg.nom
        ),
        codebook=cb,
        references=[r for r in REFERENCES_CARTES if r in cfg.niveaux_comparaison],
        avertissements=avertissements_zones(d, p, i, e, rapport),
        notes=notes_zones(d, p, e, cb),
    )
