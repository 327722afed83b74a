"""Hand-made territory for the map tests: four 1 km IRIS, two communes, one QPV, one veille zone.

Values are chosen so that classes, tooltips and gaps can be checked by hand. IRIS
130990003 is named with an HTML injection attempt; its 2022 unemployment is secret
and IRIS 130990004 has no 2022 unemployment value (missing).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

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
            "code_qpv": ["QN01399M"],
            "nom_qpv": ["Les Pins-Centre"],
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


# ---------------------------------------------------------------- default territory (real data)
COMMUNES_SAN = ["13047", "13063", "13078", "13039", "13044", "13029"]
VEILLE_SAN = {  # Contrat de Ville veille territories as IRIS sets (issue 6 defaults)
    "V_ECHOPPES": ("Les Échoppes", ["130470106", "130470102"]),
    "V_MIRAMAS_CV": ("Centre-ville (Miramas)", ["130630106"]),
    "V_MOLIERES": ("Molières 1 / quartier nord", ["130630103", "130630104", "130630105"]),
    "V_VAUBAN": ("Vauban", ["130780103"]),
    "V_CROIZAT": ("Croizat / Jolivet / Allende (approximation : IRIS Centre)", ["130780102"]),
}


def territoire_defaut(donnees):
    """Tables with the issue-4 schemas built from the ptod rates (a stand-in for the run).

    IRIS rates are the ptod values; commune and département rows are ptod's; zone
    values are population-weighted means of IRIS rates with surface weights, status
    ``approximation`` (the indicators engine does better; this only feeds the maps).
    """
    import geopandas as gpd

    from observatoire.chargement import lire_indicateurs_ptod, lire_iris, lire_qpv
    from observatoire.indicateurs.codebook import charger_codebook

    iris = lire_iris(donnees / "iris" / "iris_dep13_fullres_ign_circa2014.gpkg")
    iris = iris[iris["code_commune"].isin(COMMUNES_SAN)].reset_index(drop=True)
    qpv = lire_qpv(donnees / "qpv" / "qpv2024_istres_miramas_psl_anct_simplifie.geojson")
    la_maille = qpv.loc[qpv["code_qpv"] == "QN01367M", "geometry"].iloc[0]
    veille = []
    for code, (nom, codes) in VEILLE_SAN.items():
        g = iris.loc[iris["code_iris"].isin(codes), "geometry"].union_all()
        if code == "V_MOLIERES":
            g = g.difference(la_maille)
        veille.append({"code_zone": code, "nom_zone": nom, "geometry": g})
    veille = gpd.GeoDataFrame(veille, crs=iris.crs)
    stats = donnees / "stats"
    p_iris = lire_indicateurs_ptod(
        stats / "ptod_iris_dep13_indicateurs_rp2011_2016_2022.csv", "iris"
    )
    p_com = lire_indicateurs_ptod(stats / "ptod_communes5k_dep13_indicateurs.csv", "commune")
    p_dep = lire_indicateurs_ptod(stats / "ptod_departements_indicateurs.csv", "departement")
    p_iris = p_iris[p_iris["code"].isin(iris["code_iris"])]
    p_dep = p_dep[p_dep["code"] == "13"]
    cb = [i for i in charger_codebook() if i.ptod is not None and i.sexe == "ensemble"]

    zones = pd.concat(
        [
            gpd.GeoDataFrame(
                {"code_zone": qpv["code_qpv"], "niveau": "qpv"}, geometry=qpv.geometry
            ),
            gpd.GeoDataFrame(
                {"code_zone": veille["code_zone"], "niveau": "veille"}, geometry=veille.geometry
            ),
        ],
        ignore_index=True,
    )
    inter = gpd.overlay(
        iris[["code_iris", "geometry"]], zones, how="intersection", keep_geom_type=True
    )
    inter["surface_m2"] = inter.area
    aires_i = iris.set_index("code_iris").area
    aires_z = zones.set_index("code_zone").area
    inter["part_iris"] = inter["surface_m2"] / inter["code_iris"].map(aires_i).to_numpy()
    inter["part_zone"] = inter["surface_m2"] / inter["code_zone"].map(aires_z).to_numpy()
    inter = inter[inter["part_zone"] > 0.005]
    inter["poids"] = np.where(inter["niveau"] == "veille", 1.0, inter["part_iris"])
    inter["poids"] = np.where(
        (inter["niveau"] == "veille") & (inter["part_iris"] < 0.5),
        inter["part_iris"],
        inter["poids"],
    )
    inter["methode"] = np.where(inter["niveau"] == "veille", "iris_list", "surface")
    poids = pd.DataFrame(inter.drop(columns="geometry"))
    noms_zones = dict(zip(qpv["code_qpv"], qpv["nom_qpv"], strict=True)) | dict(
        zip(veille["code_zone"], veille["nom_zone"], strict=True)
    )

    lignes = []
    for ind in cb:
        col = ind.ptod.colonne
        for niveau, tab in (("iris", p_iris), ("commune", p_com), ("departement", p_dep)):
            if col not in tab.columns:
                continue
            t = tab[["code", "nom", "annee", col]].dropna(subset=[col])
            if ind.ptod.annees:
                t = t[t["annee"].isin(ind.ptod.annees)]
            for code, nom, annee, v in t.itertuples(index=False):
                lignes.append(
                    (
                        code,
                        nom,
                        niveau,
                        ind.id,
                        int(annee),
                        float(v),
                        ind.unite,
                        "ptod",
                        "officiel" if niveau != "iris" else "estime",
                        ind.source,
                    )
                )
        if col not in p_iris.columns:
            continue
        denom = ind.ptod.denominateur_approche or "p_pop"
        denom = denom if denom in p_iris else "p_pop"
        base = pd.DataFrame(
            {"code": p_iris["code"], "annee": p_iris["annee"], "v": p_iris[col], "d": p_iris[denom]}
        )
        m = poids.merge(base, left_on="code_iris", right_on="code")
        m = m.dropna(subset=["v", "d"])
        if ind.type == "effectif":
            agg = m.assign(x=m["poids"] * m["v"]).groupby(["code_zone", "annee"])["x"].sum()
        else:
            m = m.assign(w=m["poids"] * m["d"], x=m["poids"] * m["d"] * m["v"])
            g = m.groupby(["code_zone", "annee"])[["w", "x"]].sum()
            agg = g["x"] / g["w"]
        for (cz, annee), v in agg.items():
            if ind.ptod.annees and annee not in ind.ptod.annees:
                continue
            niveau = "qpv" if cz.startswith("Q") else "veille"
            lignes.append(
                (
                    cz,
                    noms_zones[cz],
                    niveau,
                    ind.id,
                    int(annee),
                    float(v),
                    ind.unite,
                    "ponderation_surface_taux_ptod",
                    "approximation",
                    ind.source,
                )
            )
    ind_df = pd.DataFrame(
        lignes,
        columns=[
            "territoire_code",
            "territoire_nom",
            "niveau",
            "indicateur",
            "annee",
            "valeur",
            "unite",
            "methode",
            "statut",
            "source",
        ],
    )
    ind_df["sexe"] = "ensemble"
    ind_df["numerateur"] = np.nan
    ind_df["denominateur"] = np.nan

    commune_zone = {
        **{c: com[0] for c, com in zip(qpv["code_qpv"], qpv["communes"], strict=True)},
        **{c: cs[0][:5] for c, (_, cs) in VEILLE_SAN.items()},
    }
    refs = ind_df[ind_df["niveau"].isin(["commune", "departement"])].set_index(
        ["niveau", "territoire_code", "indicateur", "annee"]
    )["valeur"]
    e = []
    for r in ind_df[ind_df["niveau"].isin(["qpv", "veille"])].itertuples(index=False):
        for niv, code in (("commune", commune_zone[r.territoire_code]), ("departement", "13")):
            rv = refs.get((niv, code, r.indicateur, r.annee))
            if rv is None or not np.isfinite(rv):
                continue
            e.append(
                {
                    "territoire_code": r.territoire_code,
                    "niveau": r.niveau,
                    "indicateur": r.indicateur,
                    "sexe": "ensemble",
                    "annee": r.annee,
                    "valeur": r.valeur,
                    "reference_niveau": niv,
                    "reference_code": code,
                    "reference_valeur": rv,
                    "reference_statut": "officiel",
                    "ecart_points": r.valeur - rv,
                    "ratio": r.valeur / rv if rv else np.nan,
                    "lecture": "",
                    "statut": r.statut,
                }
            )
    geometries = {
        "iris": iris,
        "qpv": qpv,
        "veille": veille,
        "nom_territoire": "Ex-SAN Ouest Provence",
    }
    return ind_df, pd.DataFrame(e), geometries, poids
