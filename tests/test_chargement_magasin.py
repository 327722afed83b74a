"""Every file of the local store ../shared/data is read by a loader into the normalised schema.

The catalogue (``observatoire/sources/catalogues/shared_data.yaml``) lists every file; each id is
read with the loader of its kind and checked for the schema's key columns and a row count.
"""

import pytest
import yaml

from observatoire.chargement import (
    lire_communes,
    lire_departements,
    lire_epci,
    lire_grille,
    lire_indicateurs_ptod,
    lire_iris,
    lire_qpv,
    lire_qpv_officiel,
    lire_table,
    lire_table_iris,
)
from observatoire.chargement.validation import lire_vecteur, preparer_geometries


def _points(chemin):
    """Point layers (centroids): read and validated, polygons not required."""
    brut = lire_vecteur(chemin)
    brut = brut.assign(_i=range(len(brut)))
    return preparer_geometries(brut, source=str(chemin), code="_i", polygones=False)


# id → (loader, key columns, expected rows)
LECTEURS = {
    "iris_contours_2014_dep13": (lire_iris, ["code_iris", "code_commune_arm"], 840),
    "iris_contours_2020_dep13": (lire_iris, ["code_iris", "type_iris"], 840),
    "iris_contours_2020_france": (lire_iris, ["code_iris"], 48592),
    "qpv_2024_dep13": (lire_qpv, ["code_zone", "generation", "communes"], 71),
    "qpv_2024_ouest_provence": (lire_qpv, ["code_zone", "generation"], 4),
    "qpv_2015_occitanie": (lire_qpv, ["code_zone", "generation"], 105),
    "qpv_2015_marseille": (lire_qpv, ["code_zone", "generation"], 37),
    "qpv_2024_liste_communes": (_points, ["code_qp", "insee_com"], 824),
    "communes_dep13": (lire_communes, ["code_commune", "nom_commune"], 119),
    "departement_13": (lire_departements, ["code_departement"], 1),
    "departements_france": (lire_departements, ["code_departement"], 96),
    "epci_2018_france": (lire_epci, ["code_epci", "population"], 1264),
    "perimetre_san_ouest_provence": (lire_epci, ["code_epci"], 1),
    "arrondissements_dep13": (lire_communes, ["code_commune"], 4),
    "contrats_de_ville_2015": (_points, ["code_cv", "pop"], 434),
    "rp2016_iris_population_dep13": (lire_table_iris, ["code_iris", "annee", "p_pop0014"], 698),
    "rp2016_iris_population_france": (lire_table_iris, ["code_iris", "p_pop75p"], 14943),
    "rp2016_iris_menages_dep13": (lire_table_iris, ["code_iris", "c_pmen_menfammono"], 698),
    "rp2016_iris_menages_france": (lire_table_iris, ["code_iris", "c_pmen_cs1"], 14943),
    "rp2016_iris_logement_dep13": (lire_table_iris, ["code_iris", "p_rp_lochlmv"], 698),
    "rp2016_iris_logement_france": (lire_table_iris, ["code_iris", "p_rpmaison"], 14943),
    "rfl_iris_2001_2011_dep13": (lire_table_iris, ["code_iris", "rfucq2"], 703 * 10),
    "rfl_iris_2001_2011_france": (lire_table_iris, ["code_iris", "rfucq2"], 14122 * 10),
    "ptod_iris_dep13": (lambda c: lire_indicateurs_ptod(c, "iris"), ["code_iris", "p_pop"], None),
    "ptod_communes_dep13": (
        lambda c: lire_indicateurs_ptod(c, "commune"),
        ["code_commune"],
        None,
    ),
    "ptod_departements": (
        lambda c: lire_indicateurs_ptod(c, "departement"),
        ["code_departement"],
        None,
    ),
    "ptod_dictionnaire": (lire_table, ["column", "formula_as_documented"], 368),
    "qpv2024_indicateurs_dep13": (lire_qpv_officiel, ["code_zone", "pop_mun"], 71),
    "qpv2024_indicateurs_france": (lire_qpv_officiel, ["code_zone", "pop_mun"], 1518),
    "qpv2015_indicateurs_occitanie": (lire_qpv_officiel, ["code_zone", "taux_pauvrete_60"], 105),
    "qpv2015_indicateurs_occitanie_meta": (lire_table, ["colonne", "description"], 44),
    "insee_emploi_zonages": (lire_table, ["geo_code", "rp_year", "actifs_1564"], 15),
    "grille_filosofi2017_marseille": (lire_grille, ["id_carreau", "population"], 7282),
    "grille_filosofi2019_san_ouest_provence": (
        lire_grille,
        ["id_carreau", "population", "menages", "imputed", "men_pauv"],
        2155,
    ),
    "grille_eurostat2021_1km_dep13": (lire_grille, ["id_carreau", "population", "m", "f"], 6764),
}


def _catalogue():
    from importlib.resources import files

    texte = (
        files("observatoire.sources")
        .joinpath("catalogues/shared_data.yaml")
        .read_text(encoding="utf-8")
    )
    return yaml.safe_load(texte)["sources"]


def test_every_catalogued_file_has_a_loader():
    assert set(_catalogue()) == set(LECTEURS)


@pytest.mark.parametrize("ident", sorted(LECTEURS))
def test_loader_reads_file(donnees, ident):
    entree = _catalogue()[ident]
    lecteur, colonnes, n = LECTEURS[ident]
    df = lecteur(donnees / entree["chemin"])
    assert set(colonnes) <= set(df.columns), (ident, list(df.columns))
    assert len(df) > 0
    if n is not None:
        assert len(df) == n
    if "geometry" in df.columns:
        assert df.crs.to_epsg() == 2154
        assert not df.geometry.is_empty.any()
