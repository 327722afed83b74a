"""The steps of the yearly run, each a thin call to the public API of one stage.

Every step reads what the previous ones left in ``ctx.resultats`` and writes under
``ctx.dossier`` (the run's temporary folder). Table contents are sorted so that
the same inputs give the same files.

==============  ===============================================================
step            what it does
==============  ===============================================================
``sources``     reads the boundary layers and statistics tables of the config
``poids``       IRIS × zone weights: QPV (spatial method of the config), veille
                territories (perimeter, or IRIS set minus other zones);
                overlaps between veille territories and QPV are reported
``indicateurs`` indicators for every level and year (codebook)
``ecarts``      gaps against the references, and their evolution across years
``tables``      CSV / Parquet / GeoPackage / XLSX at the territory level
``cartes``      one sub-folder per vintage with the maps (the sheets are drawn
                meanwhile in a forked process, the workbook after the maps)
``fiches``      one sheet per QPV and veille territory (waits for that process)
``classeur``    waits for the XLSX workbook written in a background process,
                then writes ``index.html``
==============  ===============================================================
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.chargement import CRS_TRAVAIL
from observatoire.run.contexte import Contexte, Etape

__all__ = [
    "ETAPES",
    "etape_sources",
    "etape_poids",
    "etape_indicateurs",
    "etape_ecarts",
    "etape_tables",
    "etape_cartes",
    "etape_fiches",
    "etape_classeur",
    "table_large",
    "zones_territoire",
]


def _lire_couche(ctx: Contexte, role: str, lecteur):
    chemin = ctx.preparation.chemin(role)
    if chemin is None:
        return None
    e = ctx.preparation.entrees[f"sources.{role}"]
    return lecteur(chemin, e.couche, rapport=ctx.rapport)


def etape_sources(ctx: Contexte) -> None:
    """Read the boundary layers and the tables the later steps need."""
    from observatoire.chargement import (
        lire_communes,
        lire_departements,
        lire_epci,
        lire_indicateurs_ptod,
        lire_table_iris,
    )

    prep = ctx.preparation
    cfg = ctx.config
    communes = _lire_couche(ctx, "communes", lire_communes)
    if communes is not None:
        communes = communes[communes["code_commune"].isin(cfg.codes_communes)].reset_index(
            drop=True
        )
    couches = {
        "communes": communes,
        "departement": _lire_couche(ctx, "departement", lire_departements),
        "epci": _lire_couche(ctx, "epci", lire_epci),
    }
    tables = dict(prep.tables)
    for role, niveau in (
        ("indicateurs_communes", "commune"),
        ("indicateurs_departements", "departement"),
    ):
        chemin = prep.chemin(role)
        if chemin is not None:
            tables[role] = lire_indicateurs_ptod(chemin, niveau, rapport=ctx.rapport)
    if prep.chemin("revenus_iris") is not None:
        tables["revenus_iris"] = lire_table_iris(prep.chemin("revenus_iris"))
    ctx.resultats["couches"] = couches
    ctx.resultats["tables"] = tables
    e_iris = prep.entrees["sources.iris"]
    ctx.resume.append(
        f"IRIS geography: {e_iris.source} (edition {e_iris.edition or 'not stated'}, "
        f"{e_iris.chemin.name})"
    )
    ctx.resume.append(
        f"sources: {len(prep.entrees)} inputs, {len(prep.iris_territoire)} IRIS of "
        f"{len(cfg.codes_communes)} communes, {len(prep.qpv)} QPV, {len(cfg.veille)} veille "
        "territories"
    )


def _population_iris(ctx: Contexte, annee: int | None = None) -> pd.DataFrame | None:
    """IRIS population of a census vintage of the run (``code_iris, population``).

    Default: the latest vintage; otherwise the vintage nearest to ``annee`` (ties go to
    the later one).
    """
    from observatoire.indicateurs.valeur_retenue import millesime_proche

    ptod = ctx.preparation.tables.get("indicateurs_iris")
    if ptod is None or "p_pop" not in ptod.columns:
        return None
    dispo = sorted(set(ptod.loc[ptod["p_pop"].notna(), "annee"].astype(int)) & set(ctx.annees))
    if not dispo:
        return None
    choisi = max(dispo) if annee is None else int(millesime_proche([annee], dispo)[0])
    t = ptod[(ptod["annee"] == choisi) & ptod["p_pop"].notna()]
    out = pd.DataFrame(
        {"code_iris": t["code"].to_numpy(), "population": t["p_pop"].to_numpy(dtype="float64")}
    )
    out.attrs["annee"] = choisi
    return out


def zones_territoire(ctx: Contexte) -> gpd.GeoDataFrame:
    """Geometries of the QPV and veille territories (``code_zone, nom_zone, niveau``)."""
    from observatoire.ponderation import zone_depuis_iris

    prep = ctx.preparation
    q = prep.qpv
    morceaux = [
        gpd.GeoDataFrame(
            {
                "code_zone": q["code_qpv"].to_numpy(),
                "nom_zone": q["nom_qpv"].to_numpy(),
                "niveau": "qpv",
                "generation": q["generation"].to_numpy(),
            },
            geometry=q.geometry.to_numpy(),
            crs=q.crs,
        )
    ]
    qpv_geo = morceaux[0]
    for v in ctx.config.veille:
        if v.perimetre is not None:
            continue
        moins = qpv_geo[qpv_geo["code_zone"].isin(v.moins)] if v.moins else None
        z = zone_depuis_iris(
            prep.iris_territoire,
            list(v.iris),
            code=v.code,
            nom=v.nom,
            moins=moins,
            rapport=ctx.rapport,
        )
        morceaux.append(
            gpd.GeoDataFrame(
                {
                    "code_zone": [v.code],
                    "nom_zone": [v.nom],
                    "niveau": ["veille"],
                    "generation": [pd.NA],
                },
                geometry=z.geometry.to_numpy(),
                crs=z.crs,
            )
        )
    for z in ctx.resultats.get("perimetres_veille", []):
        morceaux.append(z)
    out = pd.concat(morceaux, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS_TRAVAIL)


def etape_poids(ctx: Contexte) -> None:
    """Weights of every zone of the territory; writes ``tables/poids.csv``.

    QPV: the configuration's method (by default calibrated on the official QPV
    populations, on the grid weights when a grid is given), derived once from the IRIS
    population of the census vintage nearest to the official one and applied as shares
    to every vintage. Veille territories: perimeter files get the spatial method (grid
    when there is one, else surface); IRIS sets are whole IRIS, minus the zones of
    ``moins`` — weighted with the grid where one is given, else with those zones' own
    weights.
    """
    from observatoire.ponderation import (
        poids_iris_moins_zones,
        table_poids,
        zones_implausibles,
    )

    cfg, prep = ctx.config, ctx.preparation
    pond = cfg.ponderation
    methode = cfg.methode_ponderation
    grille = prep.tables.get("grille")
    spatiale = "dasymetric" if grille is not None else "surface"
    t_off = ctx.resultats.get("tables", {}).get("qpv_officiel")
    officiel = None
    annee_off = None
    if t_off is not None and "pop_mun" in t_off.columns:
        officiel = pd.DataFrame({"code_zone": t_off["code_qpv"], "pop_mun": t_off["pop_mun"]})
        officiel = officiel.dropna().drop_duplicates("code_zone")
        annee_off = cfg.sources["qpv_officiel"].annee_valeurs
    population = _population_iris(ctx, annee_off if methode == "calibrated" else None)
    qpv = prep.qpv.rename(columns={"code_qpv": "code_zone"})
    poids_qpv = table_poids(
        prep.iris_territoire,
        qpv[["code_zone", "geometry"]],
        methode=methode,
        grille=grille,
        population_iris=population,
        officiel=officiel if methode == "calibrated" else None,
        part_min=pond.part_min,
        population_min_qpv=pond.population_min_qpv,
        rapport=ctx.rapport,
    )
    if methode == "calibrated" and population is not None:
        ctx.resume.append(
            f"calibration on the official QPV populations ({annee_off}) and the IRIS "
            f"population {population.attrs.get('annee')}: factors "
            + ", ".join(
                f"{z} {f:.2f}"
                for z, f in poids_qpv.groupby("code_zone")["facteur_calibration"].first().items()
                if f == f
            )
        )
    morceaux = [poids_qpv.assign(niveau="qpv")]

    # Veille territories given by a perimeter file: the spatial method.
    perimetres = []
    for v in cfg.veille:
        if v.perimetre is None:
            continue
        # read, repaired and checked against its commune by the run's checks
        geom = prep.perimetres_veille[v.code]
        z = gpd.GeoDataFrame(
            {
                "code_zone": [v.code],
                "nom_zone": [v.nom],
                "niveau": ["veille"],
                "generation": [pd.NA],
            },
            geometry=[geom],
            crs=CRS_TRAVAIL,
        )
        perimetres.append(z)
        m = spatiale if methode == "calibrated" else methode
        morceaux.append(
            table_poids(
                prep.iris_territoire,
                z[["code_zone", "geometry"]],
                methode=m,
                grille=grille,
                part_min=pond.part_min,
                rapport=ctx.rapport,
            ).assign(niveau="veille")
        )
    ctx.resultats["perimetres_veille"] = perimetres

    # Veille territories given as IRIS sets (optionally minus other zones).
    simples = [
        (v.code, code, part)
        for v in cfg.veille
        if v.iris and not v.moins
        for code, part in v.iris.items()
    ]
    if simples:
        liste = pd.DataFrame(simples, columns=["code_zone", "code_iris", "part"])
        morceaux.append(
            table_poids(
                prep.iris_territoire, liste, methode="iris_list", rapport=ctx.rapport
            ).assign(niveau="veille")
        )
    for v in cfg.veille:
        if v.iris and v.moins:
            retrait = pd.concat(morceaux, ignore_index=True)
            if grille is not None and set(v.moins) <= set(qpv["code_zone"]):
                # the population the QPV takes out of these IRIS, as the grid places it
                retrait = table_poids(
                    prep.iris_territoire,
                    qpv.loc[qpv["code_zone"].isin(v.moins), ["code_zone", "geometry"]],
                    methode="dasymetric",
                    grille=grille,
                    part_min=pond.part_min,
                    rapport=ctx.rapport,
                )
            pv = poids_iris_moins_zones(
                list(v.iris),
                retrait,
                code=v.code,
                moins=v.moins,
                parts=list(v.iris.values()),
                rapport=ctx.rapport,
            )
            morceaux.append(pv.assign(niveau="veille"))
            ctx.resultats.setdefault("notes_poids", {})[v.code] = [_note_moins(v, pv, grille)]
    poids = pd.concat(morceaux, ignore_index=True)
    poids = poids.sort_values(["niveau", "code_zone", "code_iris"], kind="stable")
    poids = poids.reset_index(drop=True)
    _signaler_chevauchements(ctx, poids, population)
    pop_recente = _population_iris(ctx)
    implausibles = (
        zones_implausibles(poids_qpv, pop_recente, pond.population_min_qpv)
        if pop_recente is not None
        else {}
    )
    _signaler_zones_vides(ctx, poids, pop_recente)
    _signaler_iris_redessines(ctx, poids)
    ctx.resultats["poids"] = poids
    ctx.resultats["implausibles"] = implausibles
    ctx.resultats["zones"] = zones_territoire(ctx)
    poids.to_csv(ctx.chemin("tables", "poids.csv"), index=False, float_format="%.10g")
    ctx.resume.append(
        f"weights: {poids['code_zone'].nunique()} zones × "
        f"{poids['code_iris'].nunique()} IRIS, method {methode}"
        + (" (grid weights)" if grille is not None else "")
    )


def _note_moins(v, pv: pd.DataFrame, grille) -> str:
    """Sheet note of a veille territory drawn as IRIS minus other zones: how it is computed."""
    parts = ", ".join(
        f"{c} : {100 * r:.0f} %".replace(".", ",")
        for c, r in zip(pv["code_iris"], pv["poids_retire"], strict=True)
    )
    comment = (
        "telle que le carroyage Filosofi la place (poids carroyés)"
        if grille is not None
        else "selon les poids de ces zones"
    )
    return (
        f"Calcul : population des IRIS {', '.join(pv['code_iris'])} moins celle de "
        f"{', '.join(v.moins)}, {comment} ; part retirée de chaque IRIS : {parts}."
    )


def _signaler_iris_redessines(ctx: Contexte, poids: pd.DataFrame) -> None:
    """IRIS of the zones drawn differently in the statistics' edition (lower reliability)."""
    from observatoire.indicateurs.geographie import iris_redessines

    stats = ctx.preparation.tables.get("iris_statistiques")
    if stats is None:
        return
    r = iris_redessines(ctx.preparation.iris_territoire, stats, poids["code_iris"].unique())
    ctx.resultats["iris_redessines"] = r["code_iris"].tolist()
    for row in r.itertuples(index=False):
        zones = sorted(poids.loc[poids["code_iris"] == row.code_iris, "code_zone"].unique())
        qui = "absent" if row.iou != row.iou else f"overlap {row.iou:.0%} (IoU)"
        ctx.rapport.avertir(
            "poids",
            row.code_iris,
            f"IRIS {row.code_iris} is drawn differently in the statistics' edition ({qui}): "
            f"the estimates of {', '.join(zones)} through it are graded 'faible'",
        )


def _signaler_zones_vides(
    ctx: Contexte, poids: pd.DataFrame, population: pd.DataFrame | None
) -> None:
    """Report each zone whose weights give it no inhabitant (never dropped silently)."""
    zones = ctx.resultats.get("zones_vides", {})
    pop = population.set_index("code_iris")["population"] if population is not None else None
    for code, g in poids.groupby("code_zone", sort=True):
        n = (
            float((g["poids"] * g["code_iris"].map(pop)).sum())
            if pop is not None
            else float(g["poids"].sum())
        )
        if n > 0:
            continue
        pourquoi = (
            "les zones retirées (moins:) prennent toute la population de ses IRIS"
            if "poids_retire" in g.columns and g["poids_retire"].fillna(0).gt(0).any()
            else "aucun IRIS habité ne lui est attribué"
        )
        zones[code] = (
            f"Poids nul : aucun habitant n'est attribué à ce territoire ({pourquoi}) ; "
            "ses indicateurs estimés sont manquants."
        )
        ctx.rapport.avertir(
            "poids",
            code,
            f"zone {code} gets no inhabitant from its weights "
            f"({pourquoi}): its estimated indicators are missing",
        )
    ctx.resultats["zones_vides"] = zones


def _fr(n: float) -> str:
    """Whole number with French thousands separator (narrow no-break space).

    Examples
    --------
    >>> _fr(1818.4)
    '1\u202f818'
    """
    return f"{n:,.0f}".replace(",", "\u202f")


def _signaler_chevauchements(
    ctx: Contexte, poids: pd.DataFrame, population: pd.DataFrame | None
) -> None:
    """Report the population a veille territory shares with a QPV (``chevauchements``)."""
    from observatoire.ponderation import chevauchements

    qpv = poids[poids["niveau"] == "qpv"]
    pop = (
        population.set_index("code_iris")["population"]
        if population is not None
        else pd.Series(dtype="float64")
    )
    for v in ctx.config.veille:
        if v.chevauchements != "signaler":
            continue
        pv = poids[poids["code_zone"] == v.code]
        # zones taken out of the veille territory are disjoint from it by construction
        c = chevauchements(pv, qpv[~qpv["code_zone"].isin(v.moins)])
        if c.empty:
            continue
        total = float((pv["poids"] * pv["code_iris"].map(pop)).sum())
        # upper bound of the shared population, exact when the veille takes whole IRIS
        c["commun"] = np.minimum(c["poids"], c["poids_autre"]) * c["code_iris"].map(pop)
        for q, g in c.groupby("code_zone_autre"):
            n = float(g["commun"].sum())
            iris = ", ".join(
                f"{i} ({p:.0%})" for i, p in zip(g["code_iris"], g["poids_autre"], strict=True)
            )
            chiffre = (
                f": about {n:,.0f} of its {total:,.0f} inhabitants "
                f"({100 * n / total:.0f} %, {max(ctx.annees)})"
                if total > 0
                else ""
            )
            if total > 0:
                ctx.resultats.setdefault("chevauchements", {}).setdefault(v.code, []).append(
                    f"Chevauchement avec le QPV {q} : environ {_fr(n)} des {_fr(total)} "
                    f"habitants du territoire ({100 * n / total:.0f} %, {max(ctx.annees)}) "
                    "sont aussi comptés dans le QPV."
                )
            ctx.rapport.avertir(
                "poids",
                v.code,
                f"veille {v.nom} ({v.code}) overlaps QPV {q}{chiffre} are also counted in the "
                f"QPV (share of IRIS population weighted into the QPV: {iris})",
                n=int(round(n)) if n == n else 0,
            )


def _codebook(ctx: Contexte):
    """Return the codebook (restricted to the configured indicators), read once per run."""
    if "codebook" not in ctx.resultats:
        from observatoire.indicateurs import charger_codebook

        cb = charger_codebook()
        if ctx.config.indicateurs != "all":
            cb = cb.selection(ctx.config.indicateurs)
        if ctx.config.partenaires:
            from observatoire.indicateurs.codebook import Codebook
            from observatoire.partenaires import indicateurs_codebook

            extra = {
                i.cle: i for spec in ctx.config.partenaires for i in indicateurs_codebook(spec)
            }
            cb = Codebook([*cb, *extra.values()], source=cb.source)
        ctx.resultats["codebook"] = cb
    return ctx.resultats["codebook"]


def _appartenance(ctx: Contexte) -> pd.DataFrame:
    it = ctx.preparation.iris_territoire
    return pd.DataFrame(
        {
            "code_iris": it["code_iris"].to_numpy(),
            "code_commune": it["code_commune"].to_numpy(),
            "code_epci": ctx.config.epci.code,
        }
    )


def _noms(ctx: Contexte) -> dict:
    cfg, prep = ctx.config, ctx.preparation
    it = prep.iris_territoire
    zones = ctx.resultats["zones"]
    communes = {c: (n or c) for c, n in cfg.epci.communes.items()}
    return {
        "iris": dict(
            zip(
                it["code_iris"],
                it["nom_iris"].astype(str) + " (" + it["nom_commune"].astype(str) + ")",
                strict=True,
            )
        ),
        "qpv": dict(zip(zones["code_zone"], zones["nom_zone"], strict=True)),
        "veille": dict(zip(zones["code_zone"], zones["nom_zone"], strict=True)),
        "commune": communes,
        "epci": {cfg.epci.code: cfg.epci.nom},
    }


def etape_indicateurs(ctx: Contexte) -> None:
    """Compute every level's indicators and vintages; official values beside estimates."""
    from observatoire.indicateurs import consolider, poids_appartenance
    from observatoire.indicateurs.fiabilite import fiabilite
    from observatoire.indicateurs.officiel import (
        valeurs_officielles_ptod,
        valeurs_officielles_qpv,
    )

    cfg = ctx.config
    tables = ctx.resultats["tables"]
    poids = ctx.resultats["poids"]
    cb = _codebook(ctx)
    app = _appartenance(ctx)
    niveaux = {
        "iris": app["code_iris"].tolist(),
        "qpv": poids[poids["niveau"] == "qpv"],
        "veille": poids[poids["niveau"] == "veille"],
        "commune": poids_appartenance(app, code_zone="code_commune"),
        "epci": poids_appartenance(app, code_zone="code_epci"),
    }
    departement = None
    if "departement" in cfg.niveaux_comparaison:
        # Département aggregated from all its IRIS when the IRIS layer covers it: the
        # reference of record stays the official value where one is published
        # (2022 here); earlier vintages get the IRIS aggregate, labelled as such.
        toutes = ctx.preparation.iris
        dep = toutes[toutes["code_commune"].str.startswith(cfg.departement)]
        if len(dep):
            departement = poids_appartenance(
                pd.DataFrame(
                    {"code_iris": dep["code_iris"].to_numpy(), "code_departement": cfg.departement}
                ),
                code_zone="code_departement",
            )
    if niveaux["veille"].empty:
        del niveaux["veille"]
    comptages = [
        tables[r]
        for r in (
            "population_iris",
            "menages_iris",
            "logement_iris",
            "activite_iris",
            "diplomes_iris",
            "revenus_iris",
        )
        if r in tables
    ]
    ptod = tables.get("indicateurs_iris")
    population = None
    if ptod is not None and "p_pop" in ptod.columns:
        population = pd.DataFrame(
            {"code_iris": ptod["code"], "annee": ptod["annee"], "population": ptod["p_pop"]}
        ).dropna()
    officiels = []
    if "indicateurs_communes" in tables and "commune" in cfg.niveaux_comparaison:
        officiels.append(
            valeurs_officielles_ptod(
                tables["indicateurs_communes"],
                codebook=cb,
                codes=cfg.codes_communes,
                noms=dict(cfg.epci.communes),
            )
        )
    if "indicateurs_departements" in tables:
        codes = ([cfg.departement] if "departement" in cfg.niveaux_comparaison else []) + (
            ["00FR"] if "france" in cfg.niveaux_comparaison else []
        )
        if codes:
            officiels.append(
                valeurs_officielles_ptod(
                    tables["indicateurs_departements"], codebook=cb, codes=codes
                )
            )
    if "qpv_officiel" in tables:
        officiels.append(
            valeurs_officielles_qpv(
                tables["qpv_officiel"],
                codebook=cb,
                codes=list(ctx.preparation.qpv["code_qpv"]),
                annee=cfg.sources["qpv_officiel"].annee_valeurs,
                annees_colonnes=cfg.sources["qpv_officiel"].annees_colonnes,
                rapport=ctx.rapport,
            )
        )
    annees = list(ctx.annees)
    ind = consolider(
        niveaux,
        comptages=comptages or None,
        taux=ptod,
        officiels=officiels,
        codebook=cb,
        noms=_noms(ctx),
        population=population,
        annees=None,
        rapport=ctx.rapport,
    )
    if departement is not None:
        # Consolidated on its own, without the secret step: the whole département is far
        # above every publication threshold, and the only complement it could form with
        # the published territories (département minus the EPCI) is the rest of the
        # département, hundreds of thousands of inhabitants — nothing to protect, while
        # its 800+ IRIS would make the complement search several seconds slower.
        dep_ind = consolider(
            {"departement": departement},
            comptages=comptages or None,
            taux=ptod,
            codebook=cb,
            population=population,
            annees=None,
            secret=False,
            rapport=ctx.rapport,
        )
        ind = pd.concat([ind, dep_ind], ignore_index=True)
    # Keep the census vintages asked, plus the non-census values of record (official QPV
    # tables, income series) that have their own years.
    garder = ind["annee"].isin(annees) | ~ind["origine"].isin(["insee", "ptod"])
    if "revenus_iris" in tables:
        garder |= ind["origine"].eq("insee") & ind["annee"].lt(min(annees))
    ind = ind[garder].reset_index(drop=True)
    if ctx.preparation.tables.get("grille") is not None:
        ind = pd.concat([ind, _indicateurs_grille(ctx, cb)], ignore_index=True)
    corriges = _corrections(ctx, ind)
    if len(corriges):
        ind = pd.concat([ind, corriges], ignore_index=True)
    if cfg.partenaires:
        ind = pd.concat([ind, _indicateurs_partenaires(ctx, ind)], ignore_index=True)
    ctx.resultats["infos_zones"] = infos = _infos_zones(ctx)
    grade, motif = fiabilite(ind, infos)
    ind["fiabilite"] = grade
    ind["fiabilite_motif"] = motif
    ctx.resultats["indicateurs"] = ind
    ctx.resultats["niveaux"] = niveaux
    ctx.resultats["codes_iris"] = _codes_non_apparies(ctx, tables, population)
    par_statut = ind["statut"].value_counts().to_dict()
    ctx.resume.append(
        f"indicators: {len(ind):,} values, {ind['indicateur'].nunique()} indicators × "
        f"{ind['territoire_code'].nunique()} territories; statuses "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(par_statut.items()))
    )


def _indicateurs_grille(ctx: Contexte, codebook) -> pd.DataFrame:
    """Grid indicators of the zones, of the communes the grid covers and of the EPCI.

    The communes covered are those the store's catalogue lists for the grid
    (``communes_couvertes``), else the member communes; the EPCI only when the grid
    covers all of them; never the département or France.
    """
    from observatoire.indicateurs.grille import indicateurs_grille

    cfg, prep = ctx.config, ctx.preparation
    e = prep.entrees["sources.grille"]
    couvertes = set(e.provenance.get("communes_couvertes") or cfg.codes_communes)
    annee = e.edition or e.provenance.get("millesime")
    if annee is None:
        ctx.rapport.avertir(
            "indicateurs",
            "sources.grille",
            "vintage of the grid unknown (set sources.grille.edition): no grid indicator computed",
        )
        return pd.DataFrame()
    zones = ctx.resultats["zones"]
    it = prep.iris_territoire
    communes = it[it["code_commune"].isin(couvertes)].dissolve("code_commune").reset_index()
    terr = {
        niveau: gpd.GeoDataFrame(
            {"code": z["code_zone"].to_numpy()}, geometry=z.geometry.to_numpy(), crs=zones.crs
        )
        for niveau, z in zones.groupby("niveau")
    }
    terr["commune"] = gpd.GeoDataFrame(
        {"code": communes["code_commune"].to_numpy()},
        geometry=communes.geometry.to_numpy(),
        crs=it.crs,
    )
    if set(cfg.codes_communes) <= couvertes:
        terr["epci"] = gpd.GeoDataFrame(
            {"code": [cfg.epci.code]}, geometry=[it.geometry.union_all()], crs=it.crs
        )
    t = indicateurs_grille(
        prep.tables["grille"], terr, annee=int(annee), codebook=codebook, noms=_noms(ctx)
    )
    ctx.resume.append(
        f"grid indicators ({e.source}, {annee}): "
        f"{t['indicateur'].nunique()} indicators × "
        f"{t['territoire_code'].nunique()} territories"
    )
    return t


def territoire_partenaires(ctx: Contexte):
    """Return the run's geography for placing partners' rows (zones, IRIS, communes, EPCI)."""
    from observatoire.partenaires import TerritoirePartenaires

    cfg, prep = ctx.config, ctx.preparation
    q = prep.qpv
    return TerritoirePartenaires(
        iris=prep.iris_territoire,
        zones=ctx.resultats["zones"],
        epci=cfg.epci.code,
        noms_communes={c: (n or c) for c, n in cfg.epci.communes.items()},
        nom_epci=cfg.epci.nom,
        communes_qpv={
            c: list(com)[0] for c, com in zip(q["code_qpv"], q["communes"], strict=True) if com
        },
        poids=ctx.resultats["poids"],
    )


def _denominateurs(ind: pd.DataFrame, indicateur: str, annee: int) -> pd.DataFrame:
    """Value of record of ``indicateur`` per territory at the vintage nearest ``annee``."""
    from observatoire.indicateurs.valeur_retenue import valeurs_retenues

    t = ind[(ind["indicateur"] == indicateur) & (ind["sexe"] == "ensemble") & ind["valeur"].notna()]
    if t.empty:
        return pd.DataFrame(columns=["niveau", "territoire_code", "valeur", "annee"])
    t = t.assign(_d=(t["annee"].astype(int) - int(annee)).abs()).sort_values(
        ["_d", "annee"], ascending=[True, False], kind="stable"
    )
    v = valeurs_retenues(t, ["niveau", "territoire_code"])
    return v[["niveau", "territoire_code", "valeur", "annee"]]


def _indicateurs_partenaires(ctx: Contexte, ind: pd.DataFrame) -> pd.DataFrame:
    """Count (and rate) every partner table of the configuration.

    The rows of a partner's file stay in memory: only counts, the placement report
    (``tables/partenaires_localisation``) and the file's SHA-256 (manifest) are written.
    """
    import os

    from observatoire.partenaires import traiter_table

    cfg = ctx.config
    territoire = territoire_partenaires(ctx)
    en_ligne = not os.environ.get("OBSERVATOIRE_HORS_LIGNE")
    morceaux, bilans = [], []
    for i, spec in enumerate(cfg.partenaires):
        e = ctx.preparation.entrees[f"partenaires[{i}].source"]
        den = (
            _denominateurs(ind, spec.denominateur.indicateur, spec.annee)
            if spec.denominateur is not None
            else None
        )
        r = traiter_table(
            e.chemin,
            spec,
            territoire,
            url=spec.geocodeur,
            en_ligne=en_ligne,
            denominateurs=den,
            table=ctx.preparation.tables["partenaires"][i],
        )
        morceaux.append(r.indicateurs)
        geo = r.bilan.pop("geocodage", None) or {}
        par_cle = r.bilan.pop("par_cle", {})
        bilans.append(
            {
                **r.bilan,
                **{f"par_cle_{k}": v for k, v in par_cle.items()},
                **{f"geocodage_{k}": v for k, v in geo.items() if k != "erreur"},
                "geocodage_erreur": geo.get("erreur"),
            }
        )
        non = r.bilan["lignes"] - r.bilan["placees"]
        ctx.resume.append(
            f"partner table {spec.code} ({spec.partenaire}, {spec.annee}): "
            f"{r.bilan['placees']:,} of {r.bilan['lignes']:,} rows placed"
        )
        if non:
            ctx.rapport.avertir(
                "partenaires",
                spec.code,
                f"{non} of {r.bilan['lignes']} rows of {e.chemin.name} not placed ("
                + ", ".join(
                    f"{k} {r.bilan[k]}"
                    for k in (
                        "hors_territoire",
                        "code_inconnu",
                        "sans_localisation",
                        "score_faible",
                        "non_geocodee",
                    )
                    if r.bilan[k]
                )
                + ")",
                n=non,
            )
        if r.bilan.get("chevauchements"):
            ctx.rapport.avertir(
                "partenaires",
                spec.code,
                f"{r.bilan['chevauchements']} rows of {spec.code} lie in a QPV and a veille "
                "zone at once: counted in each",
            )
    ctx.resultats["partenaires"] = pd.DataFrame(bilans)
    return pd.concat(morceaux, ignore_index=True) if morceaux else pd.DataFrame()


def _modele_correction(ctx: Contexte):
    """Dilution-correction model of the run, fitted once per set of inputs (cached).

    Trained on the QPV of ``sources.qpv_entrainement`` (every QPV of the département with
    official values), the IRIS layer of the statistics' edition, the IRIS rates, the
    commune table and the official QPV table of the configuration; cached in the cache
    folder under the SHA-256 of those files and the package version.
    """
    import hashlib
    import pickle

    from observatoire import __version__
    from observatoire.chemins import dossier_cache
    from observatoire.ecriture_atomique import ecrire_fichier_atomique
    from observatoire.run.manifeste import sha256_fichier

    prep, cfg = ctx.preparation, ctx.config
    roles = {
        "qpv": "qpv_entrainement",
        "iris": "iris_statistiques",
        "taux_iris": "indicateurs_iris",
        "communes": "indicateurs_communes",
        "officiel": "qpv_officiel",
    }
    if prep.chemin("qpv_entrainement") is None:
        return None
    fichiers = {
        k: prep.chemin(r) or (prep.chemin("iris") if k == "iris" else None)
        for k, r in roles.items()
    }
    manque = sorted(roles[k] for k, v in fichiers.items() if v is None)
    if manque:
        ctx.rapport.avertir(
            "indicateurs", "correction", f"dilution correction not fitted: sources {manque} missing"
        )
        return None
    from observatoire.indicateurs.valeur_retenue import millesime_proche

    annee_off = cfg.sources["qpv_officiel"].annee_valeurs or max(ctx.annees)
    annee_est = int(millesime_proche([annee_off], ctx.annees)[0])
    h = hashlib.sha256(f"{__version__}|{annee_off}|{annee_est}".encode())
    for k in sorted(fichiers):
        h.update(f"|{k}:{sha256_fichier(fichiers[k])}".encode())
    chemin = dossier_cache() / "modeles" / f"correction-{h.hexdigest()[:24]}.v2.pkl"
    if chemin.is_file():
        with open(chemin, "rb") as f:
            return pickle.load(f)
    from observatoire.correction import ajuster, donnees_entrainement

    entr = donnees_entrainement(
        fichiers=fichiers,
        annee_officielle=annee_off,
        annee_estimation=annee_est,
        codebook=_codebook(ctx),
    )
    modele = ajuster(entr).sans_resultats()
    chemin.parent.mkdir(parents=True, exist_ok=True)
    ecrire_fichier_atomique(chemin, pickle.dumps(modele))
    return modele


def _corrections(ctx: Contexte, ind: pd.DataFrame) -> pd.DataFrame:
    """Dilution-corrected rows of the zones that cut IRIS (indicators where it validates)."""
    from observatoire.correction import corriger, zones_iris_coupes

    modele = _modele_correction(ctx)
    if modele is None or not modele.modeles:
        return pd.DataFrame()
    ctx.resultats["modeles"] = {"correction_dilution": modele.to_dict()}
    poids = ctx.resultats["poids"]
    communes = {}
    for v in ctx.config.veille:
        communes[v.code] = v.commune
    q = ctx.preparation.qpv
    for code, com in zip(q["code_qpv"], q["communes"], strict=True):
        if com:
            communes[code] = list(com)[0]
    out = corriger(ind, modele, zones_coupees=zones_iris_coupes(poids), communes=communes)
    if len(out):
        ctx.resume.append(
            "dilution correction: "
            + ", ".join(f"{m.indicateur} ({m.forme}, n = {m.n})" for m in modele.modeles.values())
            + f" — {len(out)} corrected values"
        )
    return out


def _infos_zones(ctx: Contexte) -> pd.DataFrame:
    """Zone-level facts of the reliability grade (cut IRIS, calibration, plausibility)."""
    from observatoire.indicateurs.fiabilite import infos_zones

    poids = ctx.resultats["poids"].copy()
    if "calibre" in poids.columns and "methode_base" in poids.columns:
        # zones left uncalibrated keep their spatial weights
        pas = poids["calibre"].eq(False) & poids["methode"].eq("calibrated")
        poids.loc[pas, "methode"] = poids.loc[pas, "methode_base"]
    return infos_zones(
        poids,
        plausibilite=ctx.resultats.get("implausibles", {}),
        iris_redessines=ctx.resultats.get("iris_redessines", ()),
    )


def _codes_non_apparies(
    ctx: Contexte, tables: dict, population: pd.DataFrame | None
) -> pd.DataFrame:
    """IRIS codes of the territory present in a statistics table or the geometry only."""
    from observatoire.indicateurs.geographie import comparer_codes_iris

    it = ctx.preparation.iris_territoire
    communes = set(ctx.config.codes_communes) | set(it["code_commune_arm"])
    edition = ctx.preparation.entrees["sources.iris"].edition
    morceaux = []
    for role in ("indicateurs_iris", "population_iris", "activite_iris"):
        t = tables.get(role)
        if t is None:
            continue
        st = t.rename(columns={"code": "code_iris"}) if "code_iris" not in t.columns else t
        st = st[st["code_iris"].astype(str).str[:5].isin(communes)]
        for annee in sorted(set(st["annee"].dropna().astype(int)) & set(ctx.annees)):
            pop = None
            if population is not None:
                sel = population[population["annee"] == annee]
                pop = pd.Series(sel["population"].to_numpy(), index=sel["code_iris"].astype(str))
            r = comparer_codes_iris(
                st, it, annee=annee, edition=edition, population=pop, rapport=ctx.rapport
            )
            morceaux.append(r.assign(source=role))
    if not morceaux:
        return pd.DataFrame(
            columns=["code_iris", "cote", "population", "annee", "edition", "source"]
        )
    return pd.concat(morceaux, ignore_index=True)


def etape_ecarts(ctx: Contexte) -> None:
    """Gaps against the reference territories and their evolution between vintages."""
    from observatoire.ecarts import calculer_ecarts
    from observatoire.indicateurs.references import references_territoires
    from observatoire.indicateurs.synthese import table_synthese

    cfg = ctx.config
    app = _appartenance(ctx)
    niveaux = ctx.resultats["niveaux"]
    refs = references_territoires(
        {k: v for k, v in niveaux.items() if k in ("qpv", "veille")},
        app[["code_iris", "code_commune"]],
        communes_epci={cfg.epci.code: cfg.codes_communes},
        france="FR" if "france" in cfg.niveaux_comparaison else None,
        zones=[
            z
            for z in ("iris", "qpv", "veille", "commune")
            if z == "commune" or z in niveaux or z == "iris"
        ],
    )
    refs = refs[refs["reference_niveau"].isin(cfg.niveaux_comparaison)].reset_index(drop=True)
    ecarts, evolution = calculer_ecarts(
        ctx.resultats["indicateurs"],
        refs,
        codebook=_codebook(ctx),
        ecart_min_annees=cfg.ecart_min_annees,
    )
    ctx.resultats["references"] = refs
    ctx.resultats["ecarts"] = ecarts
    ctx.resultats["evolution"] = evolution
    ctx.resultats["synthese_millesimes"] = synth = table_synthese(
        ctx.resultats["indicateurs"],
        ecarts,
        millesimes=ctx.annees,
        references=refs,
        niveaux_reference=cfg.niveaux_comparaison,
        codebook=_codebook(ctx),
        zones=ctx.resultats["infos_zones"],
        noms_references=_noms_references(ctx),
        tous_millesimes=True,
    )
    ctx.resultats["synthese"] = synth[synth["annee_recensement"] == max(ctx.annees)]
    ctx.resultats["qualite"] = _qualite(ctx)
    n_fav = ecarts["lecture"].astype(str).str.contains("moins favorable").sum()
    ctx.resume.append(
        f"gaps: {len(ecarts):,} (zone × reference × indicator × year), "
        f"{n_fav:,} less favourable than their reference; "
        f"{len(evolution):,} evolutions between vintages"
    )


def _avertissements(ctx: Contexte) -> dict[str, list[str]]:
    if "avertissements" not in ctx.resultats:
        ctx.resultats["avertissements"] = avertissements_zones(ctx)
    return ctx.resultats["avertissements"]


def avertissements_zones(ctx: Contexte) -> dict[str, list[str]]:
    """French warnings of each zone for its sheet and the map tooltips.

    Plausibility (a QPV estimated under the legal minimum population), calibration
    factor, redrawn IRIS, a zone left without inhabitants, headline values compared
    with a reference more than two years apart.
    """
    from observatoire.indicateurs.fiabilite import motifs_zone

    cfg = ctx.config
    infos = ctx.resultats["infos_zones"]
    out: dict[str, list[str]] = {}
    seuil = cfg.ponderation.population_min_qpv
    for code, n in ctx.resultats.get("implausibles", {}).items():
        out.setdefault(code, []).append(
            f"Population estimée à {_fr(n)} habitants avec les poids IRIS, sous le minimum "
            f"légal d'un QPV ({_fr(seuil)}) : les estimations IRIS de ce quartier sont peu "
            "fiables (fiabilité faible)."
        )
    for code, row in infos.iterrows():
        for m in motifs_zone(row.to_dict()):
            out.setdefault(str(code), []).append(m[0].upper() + m[1:] + ".")
    for code, texte in ctx.resultats.get("zones_vides", {}).items():
        out.setdefault(code, []).append(texte)
    zones = set(ctx.resultats["zones"]["code_zone"].astype(str))
    for r in ctx.rapport.reparations:
        if str(r.get("code")) in zones:
            out.setdefault(str(r["code"]), []).append(
                f"Périmètre réparé (géométrie invalide : {r['raison']}) : surface "
                f"{_fr(r['surface_avant_m2'])} m² dessinée → {_fr(r['surface_apres_m2'])} m² "
                f"réparée ({100 * r['variation']:+.1f} %)".replace(".", ",")
                + "."
            )
    s = ctx.resultats.get("synthese")
    if s is not None and len(s):
        loin = s[pd.to_numeric(s["ecart_annees"], errors="coerce") > 2]
        for code, g in loin.groupby("territoire_code"):
            libs = ", ".join(sorted(set(g["libelle"].dropna().astype(str))))
            out.setdefault(str(code), []).append(
                f"Comparé à une référence distante de plus de 2 ans : {libs}."
            )
    return out


_NOMS_QUALITE = {
    "surface": "poids de surface",
    "dasymetric": "poids carroyés",
    "calibrated": "poids calés",
    "grille": "carroyage Filosofi agrégé",
}


def _nom_estimation(methode: str) -> str:
    """French name of an estimation method of the quality table."""
    m = str(methode)
    if m.startswith("grille"):
        return "carroyage Filosofi"
    if m.startswith("correction"):
        return "estimation IRIS corrigée de la dilution"
    if m.startswith("taux_iris"):
        return "taux IRIS pondérés"
    return _NOMS_QUALITE.get(m, m)


def _notes_qualite(ctx: Contexte, code: str) -> list[str]:
    """Return the zone's own figures of the quality table (its sheet's method section)."""
    q = ctx.resultats.get("qualite")
    if q is None or q.empty:
        return []
    cb = _codebook(ctx)
    out = []
    for ind, g in q[q["territoire_code"] == code].groupby("indicateur", sort=True):
        o = g["valeur_officielle"].iloc[0]
        if pd.isna(o):
            continue
        meta = cb[ind, "ensemble"] if (ind, "ensemble") in cb else None
        taux = meta is not None and meta.unite == "%"

        def fmt(v, taux=taux):
            return f"{v:.1f} %".replace(".", ",") if taux else _fr(v)

        def erreur(v, e, taux=taux, o=o):
            txt = f"{v - o:+.1f} pt".replace(".", ",") if taux else f"{100 * e:+.0f} %"
            return txt.replace("-", "−")

        est = " ; ".join(
            f"{_nom_estimation(m)} {fmt(v)} ({erreur(v, e)})"
            for m, v, e in zip(g["methode"], g["valeur_estimee"], g["erreur_relative"], strict=True)
            if pd.notna(v)
        )
        libelle = meta.libelle if meta is not None else ind
        out.append(
            f"{libelle} — valeur officielle {g['annee_officielle'].iloc[0]} : "
            f"{fmt(o)} ; estimations : {est}."
        )
    return out


def _noms_references(ctx: Contexte) -> dict[tuple[str, str], str]:
    """``(niveau, code)`` → name of every reference territory of the run."""
    cfg = ctx.config
    ind = ctx.resultats["indicateurs"]
    noms = {
        (n, c): v
        for n, c, v in ind[["niveau", "territoire_code", "territoire_nom"]]
        .dropna()
        .drop_duplicates(["niveau", "territoire_code"])
        .itertuples(index=False)
    }
    noms.update({("commune", c): n for c, n in cfg.epci.communes.items() if n})
    noms[("epci", cfg.epci.code)] = cfg.epci.nom
    noms.setdefault(("departement", cfg.departement), f"Département {cfg.departement}")
    noms[("france", "FR")] = "France"
    return noms


def _qualite(ctx: Contexte) -> pd.DataFrame:
    """Official QPV population and households against every estimate the inputs allow."""
    from observatoire.indicateurs.valeur_retenue import millesime_proche
    from observatoire.ponderation.qualite_zones import (
        COLONNES_QUALITE,
        EQUIVALENTS_GRILLE,
        comparer_taux_officiels,
        qualite_zones,
    )

    tables = ctx.resultats["tables"]
    off = tables.get("qpv_officiel")
    ptod = tables.get("indicateurs_iris")
    if off is None or ptod is None or "p_pop" not in ptod.columns:
        return pd.DataFrame(columns=COLONNES_QUALITE)
    cfg = ctx.config
    annee_off = cfg.sources["qpv_officiel"].annee_valeurs or max(ctx.annees)
    dispo = sorted(set(ptod.loc[ptod["p_pop"].notna(), "annee"].astype(int)) & set(ctx.annees))
    annee = int(millesime_proche([annee_off], dispo)[0])
    t = ptod[ptod["annee"] == annee]
    comptages = pd.DataFrame(
        {"code_iris": t["code"].to_numpy(), "population": t["p_pop"].to_numpy(dtype="float64")}
    )
    corr = {"population": ("population", "pop_mun")}
    if "men_tot_stock" in t.columns and "nombre_menages" in off.columns:
        comptages["menages"] = t["men_tot_stock"].to_numpy(dtype="float64")
        corr["nombre_menages"] = ("menages", "nombre_menages")
    officiel = off.rename(columns={"code_qpv": "code_zone"})
    officiel = officiel[
        [c for c in ("code_zone", "pop_mun", "nombre_menages") if c in officiel.columns]
    ]
    zones = ctx.resultats["zones"]
    zones = zones[zones["niveau"] == "qpv"]
    grille = ctx.preparation.tables.get("grille")
    e_grille = ctx.preparation.entrees.get("sources.grille")
    comptes = qualite_zones(
        ctx.preparation.iris_territoire,
        zones,
        officiel,
        comptages,
        correspondances=corr,
        annee_officielle=annee_off,
        annee_estimation=annee,
        grille=grille,
        correspondances_grille={"population": "population", "nombre_menages": "menages"},
        annee_grille=e_grille.edition if e_grille is not None else None,
        noms=dict(zip(zones["code_zone"], zones["nom_zone"], strict=True)),
        part_min=cfg.ponderation.part_min,
    )
    taux = comparer_taux_officiels(ctx.resultats["indicateurs"], equivalents=EQUIVALENTS_GRILLE)
    return (
        pd.concat([comptes, taux], ignore_index=True)
        .sort_values(["territoire_code", "indicateur", "methode"], kind="stable")
        .reset_index(drop=True)
    )


def _geometries(ctx: Contexte) -> dict[str, gpd.GeoDataFrame]:
    """Layer geometries (``code``, geometry) for the GeoPackage and the maps."""
    prep, cfg = ctx.preparation, ctx.config
    zones = ctx.resultats["zones"]
    it = prep.iris_territoire
    geos = {
        "iris": gpd.GeoDataFrame(
            {"code": it["code_iris"].to_numpy()}, geometry=it.geometry.to_numpy(), crs=it.crs
        ),
    }
    for niveau in ("qpv", "veille"):
        z = zones[zones["niveau"] == niveau]
        if len(z):
            geos[niveau] = gpd.GeoDataFrame(
                {"code": z["code_zone"].to_numpy()}, geometry=z.geometry.to_numpy(), crs=zones.crs
            )
    communes = it.dissolve("code_commune").reset_index()
    geos["commune"] = gpd.GeoDataFrame(
        {"code": communes["code_commune"].to_numpy()},
        geometry=communes.geometry.to_numpy(),
        crs=it.crs,
    )
    geos["epci"] = gpd.GeoDataFrame(
        {"code": [cfg.epci.code]}, geometry=[it.geometry.union_all()], crs=it.crs
    )
    toutes = prep.iris
    dep = toutes[toutes["code_commune"].str.startswith(cfg.departement)]
    if len(dep) and "departement" in cfg.niveaux_comparaison:
        geos["departement"] = gpd.GeoDataFrame(
            {"code": [cfg.departement]}, geometry=[dep.geometry.union_all()], crs=dep.crs
        )
    return geos


#: Published precision (decimals) by unit; other units get 2 decimals.
DECIMALES = {"%": 1, "habitants": 0, "ménages": 0, "allocataires": 0, "€": 0, "€/UC": 0}


def table_large(indicateurs: pd.DataFrame) -> pd.DataFrame:
    """One row per territory, one column per indicator × sex × vintage (value of record).

    Column names are ``<indicateur>_<annee>`` (``<indicateur>_<sexe>_<annee>`` for F/H),
    values rounded to their published precision (:data:`DECIMALES`), each followed by
    ``<colonne>_statut``, ``<colonne>_methode`` and ``<colonne>_fiabilite``; this is the
    attribute table of the GeoPackage layers, ready for a QGIS choropleth.

    Examples
    --------
    >>> t = pd.DataFrame({"niveau": ["qpv"] * 2, "territoire_code": ["Q"] * 2,
    ...     "territoire_nom": ["q"] * 2, "indicateur": ["part_etrangers"] * 2,
    ...     "sexe": ["ensemble"] * 2, "annee": [2020] * 2, "valeur": [21.345, 8.0],
    ...     "unite": ["%"] * 2, "statut": ["officiel", "approximation"],
    ...     "methode": ["valeur_publiee_qpv", "taux"], "fiabilite": ["bonne", "moyenne"]})
    >>> r = table_large(t).iloc[0]
    >>> float(r["part_etrangers_2020"]), r["part_etrangers_2020_fiabilite"]
    (21.3, 'bonne')
    """
    from observatoire.indicateurs.valeur_retenue import valeurs_retenues

    v = valeurs_retenues(indicateurs)
    v = v[v["valeur"].notna()]
    sexe = v["sexe"].astype(str)
    decimales = (
        v["unite"].map(DECIMALES).fillna(2).astype(int)
        if "unite" in v.columns
        else pd.Series(2, index=v.index)
    )
    v = v.assign(
        colonne=v["indicateur"].astype(str)
        + np.where(sexe.eq("ensemble"), "", "_" + sexe.str.lower())
        + "_"
        + v["annee"].astype(int).astype(str),
        valeur=[round(float(x), int(d)) for x, d in zip(v["valeur"], decimales, strict=True)],
    )
    if "fiabilite" not in v.columns:
        v = v.assign(fiabilite=None)
    morceaux = []
    for champ, suffixe in (
        ("valeur", ""),
        ("statut", "_statut"),
        ("methode", "_methode"),
        ("fiabilite", "_fiabilite"),
    ):
        p = v.pivot(index=["niveau", "territoire_code"], columns="colonne", values=champ)
        p.columns = [f"{c}{suffixe}" for c in p.columns]
        morceaux.append(p)
    large = pd.concat(morceaux, axis=1)
    ordre = sorted(v["colonne"].unique())
    large = large[[f"{c}{s}" for c in ordre for s in ("", "_statut", "_methode", "_fiabilite")]]
    large = large.reset_index()
    large.columns.name = None
    for c in ordre:
        large[c] = large[c].astype("float64")
    noms = (
        indicateurs.dropna(subset=["territoire_nom"])
        .drop_duplicates(["niveau", "territoire_code"])
        .set_index(["niveau", "territoire_code"])["territoire_nom"]
    )
    large.insert(
        2,
        "territoire_nom",
        [noms.get((n, c)) for n, c in zip(large["niveau"], large["territoire_code"], strict=True)],
    )
    return large.sort_values(["niveau", "territoire_code"], kind="stable").reset_index(drop=True)


def etape_tables(ctx: Contexte) -> None:
    """Write the cross-year tables under ``tables/``.

    CSV and Parquet: every long table. GeoPackage ``observatoire.gpkg``: one layer per
    level (IRIS, QPV, veille, commune, EPCI) with geometry and one column per
    indicator × vintage (values of record). XLSX ``observatoire.xlsx`` for partners:
    indicators, gaps and evolutions of the QPV and veille territories (the IRIS and
    commune gaps are in the CSV/Parquet tables), weights, references.
    """
    import warnings

    import pyogrio

    from observatoire.sorties import ecrire_geopackage, ecrire_tables

    cfg = ctx.config
    cles = ["niveau", "territoire_code", "indicateur", "sexe", "annee"]
    tables = {
        "indicateurs": _trier(ctx.resultats["indicateurs"], cles),
        "ecarts": _trier(ctx.resultats["ecarts"], cles + ["reference_niveau", "reference_code"]),
        "evolution_ecarts": _trier(
            ctx.resultats["evolution"],
            [
                "niveau",
                "territoire_code",
                "indicateur",
                "sexe",
                "reference_niveau",
                "reference_code",
                "annee_debut",
            ],
        ),
        "poids": ctx.resultats["poids"],
        "synthese": ctx.resultats["synthese"],
        "qualite": ctx.resultats["qualite"],
        **(
            {"partenaires_localisation": ctx.resultats["partenaires"]}
            if "partenaires" in ctx.resultats
            else {}
        ),
        "references": _trier(
            ctx.resultats["references"], ["niveau", "territoire_code", "reference_niveau"]
        ),
        "iris_non_apparies": _trier(
            ctx.resultats["codes_iris"], ["source", "annee", "cote", "code_iris"]
        ),
    }
    geos = _geometries(ctx)
    ctx.resultats["geometries"] = geos
    dossier = ctx.dossier / "tables"
    formats = tuple(f for f in cfg.sorties.formats if f in ("csv", "parquet"))
    ecrits = ecrire_tables(tables, dossier, formats=formats) if formats else {}
    n = sum(len(v) for v in ecrits.values())
    if "gpkg" in cfg.sorties.formats:
        large = table_large(tables["indicateurs"])
        large = large[large["niveau"].isin(list(geos))]
        # GeoPackages record a "last change" date: pin it so same inputs give same bytes.
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*(extension|conformant).*")
                ecrire_geopackage(large, geos, dossier / "observatoire.gpkg")
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
        n += 1
    if "xlsx" in cfg.sorties.formats:
        feuilles = _classeur(ctx, tables)
        if cfg.sorties.cartes:  # written on the second core once the maps are drawn
            ctx.resultats["_classeur_differe"] = (feuilles, dossier / "observatoire.xlsx")
        else:
            _lancer_classeur(ctx, feuilles, dossier / "observatoire.xlsx")
        n += 1
    ctx.resume.append(f"tables: {n} files in tables/ ({', '.join(cfg.sorties.formats)})")


def _couches_web(ctx: Contexte):
    """Web layers (simplified once) shared by the maps and the sheets."""
    if "couches_web" in ctx.resultats:
        return ctx.resultats["couches_web"]
    from observatoire.cartes import Geometries, couches_web

    prep, cfg = ctx.preparation, ctx.config
    zones = ctx.resultats["zones"]
    veille = zones[zones["niveau"] == "veille"][["code_zone", "nom_zone", "geometry"]]
    geo = Geometries(
        iris=prep.iris_territoire,
        qpv=prep.qpv,
        veille=veille if len(veille) else None,
        nom_territoire=cfg.nom,
    )
    ctx.resultats["couches_web"] = couches_web(geo, rapport=ctx.rapport)
    return ctx.resultats["couches_web"]


def etape_cartes(ctx: Contexte) -> None:
    """IRIS choropleths and gap maps, one sub-folder per vintage.

    The sheets are drawn at the same time in a forked process (second core) when the
    platform can fork; :func:`etape_fiches` waits for them.
    """
    from observatoire.cartes import generer_cartes

    cfg = ctx.config
    refs = [r for r in ("commune", "epci", "departement") if r in cfg.niveaux_comparaison]
    if not cfg.sorties.cartes:
        ctx.resume.append("maps: not asked (sorties.cartes: false)")
        return
    couches = _couches_web(ctx)
    # the sheets on the second core while the maps are drawn; the workbook after them
    if cfg.sorties.fiches:
        _lancer_enfant(
            ctx, "_fiches", _fiches_enfant, (ctx, _groupes_fiches(ctx)), "observatoire-fiches"
        )
    ecrits = generer_cartes(
        ctx.resultats["indicateurs"],
        ctx.resultats["ecarts"],
        couches,
        ctx.dossier,
        annees=ctx.annees,
        references=refs,
        codebook=_codebook(ctx),
        synthese=ctx.resultats["synthese_millesimes"],
        avertissements=_avertissements(ctx),
        rapport=ctx.rapport,
    )
    if "_classeur_differe" in ctx.resultats:
        _lancer_classeur(ctx, *ctx.resultats.pop("_classeur_differe"))
    taille = sum(p.stat().st_size for p in ecrits)
    ctx.resume.append(
        f"maps: {len(ecrits)} pages in {', '.join(map(str, ctx.annees))}/ ({taille / 1e6:.1f} MB)"
    )


def _groupes_fiches(ctx: Contexte) -> list[tuple[tuple, list[str]]]:
    """Zones grouped by the notes printed on their sheets (one sheet call per group)."""
    cfg = ctx.config
    par_notes: dict[tuple, list[str]] = {}
    for code in ctx.resultats["zones"]["code_zone"]:
        v = next((v for v in cfg.veille if v.code == code), None)
        notes = list(v.notes) if v is not None else []
        notes += ctx.resultats.get("chevauchements", {}).get(code, [])
        notes += ctx.resultats.get("notes_poids", {}).get(code, [])
        notes += _notes_qualite(ctx, code)
        if v is not None and v.statut == "approximation":
            notes = [
                "Périmètre approché (statut « approximation ») : voir la note ci-dessous."
            ] + notes
        par_notes.setdefault(tuple(notes), []).append(code)
    return list(par_notes.items())


def _dessiner_fiches(ctx: Contexte, groupes, barre: bool = True) -> int:
    """Write the sheets of every group of zones; return the number of pages."""
    from observatoire.cartes import generer_fiches

    n = 0
    cb = _codebook(ctx)
    for notes, codes in ctx.barre(groupes, "fiches") if barre else groupes:
        n += len(
            generer_fiches(
                ctx.resultats["indicateurs"],
                ctx.resultats["ecarts"],
                _couches_web(ctx),
                ctx.dossier,
                poids=ctx.resultats["poids"],
                annees=ctx.annees,
                codes=codes,
                codebook=cb,
                notes=list(notes) or None,
                synthese=ctx.resultats["synthese_millesimes"],
                avertissements=_avertissements(ctx),
                rapport=ctx.rapport,
            )
        )
    return n


def _fiches_enfant(ctx: Contexte, groupes) -> None:  # runs in the child process
    import logging

    _mourir_avec_le_parent()
    logging.disable(logging.CRITICAL)  # the run's log belongs to the parent
    _dessiner_fiches(ctx, groupes, barre=False)


def etape_fiches(ctx: Contexte) -> None:
    """One sheet per QPV and veille territory and vintage."""
    cfg = ctx.config
    n = 0
    if "_fiches" in ctx.resultats:
        _attendre_enfant(ctx, "_fiches", "the sheets")
        n = sum(1 for _ in ctx.dossier.glob("*/fiches/*.html"))
    elif cfg.sorties.fiches:
        n = _dessiner_fiches(ctx, _groupes_fiches(ctx))
    ctx.resume.append(f"sheets: {n} pages (QPV and veille territories × vintages)")


def _mourir_avec_le_parent() -> None:
    """In a forked child: die with the run if it is killed (``kill -9``), on Linux."""
    import sys

    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # pragma: no cover - best effort
            pass


def _ecrire_classeur(feuilles, chemin) -> None:  # runs in the child process
    _mourir_avec_le_parent()
    from observatoire.sorties import ecrire_xlsx

    ecrire_xlsx(feuilles, chemin)


def _lancer_enfant(ctx: Contexte, cle: str, cible, args: tuple, nom: str) -> bool:
    """Run ``cible(*args)`` in a forked process (``ctx.resultats[cle]``); False if no fork.

    The process is a daemon and is stopped by the run's cleanups when a step fails.
    """
    import multiprocessing as mp

    try:
        contexte = mp.get_context("fork")
    except ValueError:
        return False
    proc = contexte.Process(target=cible, args=args, name=nom, daemon=True)
    proc.start()
    ctx.resultats[cle] = proc

    def arreter():
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=10)

    ctx.nettoyages.append(arreter)
    return True


def _attendre_enfant(ctx: Contexte, cle: str, quoi: str) -> None:
    """Wait for a forked process of the run; a failure fails the step."""
    proc = ctx.resultats.pop(cle)
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(
            f"writing {quoi} failed in the background process "
            f"(exit code {proc.exitcode}); see the messages above"
        )


def _lancer_classeur(ctx: Contexte, feuilles: dict, chemin) -> None:
    """Write the XLSX workbook in a forked process while the maps are drawn.

    openpyxl is pure Python (≈ 2 s here): on a two-core machine the workbook is written
    on the second core; :func:`etape_classeur` waits for it. Where ``fork`` is not
    available the workbook is written at once.
    """
    if _lancer_enfant(
        ctx, "_classeur", _ecrire_classeur, (feuilles, chemin), "observatoire-classeur"
    ):
        ctx.resultats["_chemin_classeur"] = chemin
    else:
        _ecrire_classeur(feuilles, chemin)


def etape_classeur(ctx: Contexte) -> None:
    """Wait for the XLSX workbook written in the background, then write ``index.html``.

    The index links every file of the run, so it comes once they are all written.
    """
    from observatoire.cartes import generer_index

    cfg = ctx.config
    if "_classeur" in ctx.resultats:
        chemin = ctx.resultats.pop("_chemin_classeur")
        _attendre_enfant(ctx, "_classeur", chemin.name)
        if not chemin.is_file():
            raise RuntimeError(f"writing {chemin.name} failed in the background process")
    if cfg.sorties.cartes or cfg.sorties.fiches:
        generer_index(
            ctx.dossier,
            titre=f"Observatoire — {cfg.nom}",
            synthese=ctx.resultats["synthese_millesimes"],
            codebook=_codebook(ctx),
            avertissements=_avertissements(ctx),
        )
        ctx.resume.append("index.html: dashboard and links to every page and file")


def _classeur(ctx: Contexte, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Sheets of the partners' workbook: zones and references, not the IRIS detail."""
    from observatoire.ecarts import COLONNES_ECARTS, LECTURE_EFFECTIF
    from observatoire.indicateurs import COLONNES

    cfg = ctx.config
    zones = ["qpv", "veille"]
    ind = tables["indicateurs"]
    ind = ind.loc[
        ind["niveau"] != "iris",
        [
            c
            for c in [
                *COLONNES,
                "fiabilite",
                "fiabilite_motif",
                "valeur_non_corrigee",
                "intervalle_bas",
                "intervalle_haut",
                "note",
            ]
            if c in ind.columns
        ],
    ]
    e = tables["ecarts"]
    # head counts have no gap in points: no gap row for them in the partners' workbook
    e = e.loc[
        e["niveau"].isin(zones) & (e["lecture"] != LECTURE_EFFECTIF),
        [
            c
            for c in [
                "territoire_nom",
                *COLONNES_ECARTS,
                "valeur_statut",
                "methode",
                "reference_annee",
                "ecart_annees",
                "avertissement",
            ]
            if c in e.columns
        ],
    ]
    ev = tables["evolution_ecarts"]
    ev = ev.loc[
        ev["niveau"].isin(zones),
        [
            c
            for c in (
                "territoire_nom",
                "territoire_code",
                "niveau",
                "indicateur",
                "sexe",
                "reference_niveau",
                "reference_code",
                "annee_debut",
                "annee_fin",
                "valeur_debut",
                "valeur_fin",
                "ecart_debut",
                "ecart_fin",
                "evolution_ecart",
                "lecture",
                "statut",
            )
            if c in ev.columns
        ],
    ]
    refs = tables["references"]
    lisez_moi = pd.DataFrame(
        {
            "rubrique": [
                "territoire",
                "millésimes",
                "feuilles",
                "synthese",
                "indicateurs",
                "ecarts",
                "evolution_ecarts",
                "qualite",
                "poids",
                "references",
                "statuts",
                "fiabilite",
                "détail",
            ],
            "contenu": [
                f"{cfg.nom} ({cfg.code}); communes {', '.join(cfg.codes_communes)}",
                ", ".join(map(str, ctx.annees)),
                "synthese, avertissements, indicateurs, ecarts, evolution_ecarts, qualite, "
                "poids, references",
                "valeur retenue de chaque QPV / territoire de veille (valeur officielle si elle "
                "existe à moins de 3 ans du dernier recensement, sinon la meilleure estimation), "
                "sa fiabilité et son écart à chaque référence (millésimes de la valeur et de la "
                "référence indiqués ; pas d'écart en points pour les effectifs)",
                "valeur par territoire (QPV, veille, commune, EPCI, département, France), "
                "indicateur, sexe et millésime, avec méthode, statut et source",
                "écart en points et ratio de chaque QPV / territoire de veille à ses références",
                "évolution des valeurs et des écarts entre millésimes (≥ "
                f"{cfg.ecart_min_annees} ans d'écart)",
                "population et ménages officiels des QPV comparés à chaque estimation possible "
                "(poids de surface, carroyés, calés ; agrégation du carroyage)",
                "part de la population de chaque IRIS attribuée à chaque zone",
                "territoires de référence de chaque zone",
                "officiel, estime, estime_corrige, approximation, secret, manquant",
                "bonne : valeur officielle ou IRIS entiers ; moyenne : IRIS coupés avec poids "
                "calés ou carroyés, taux approchés, estimation corrigée ; faible : poids de "
                "surface sur IRIS coupés, facteur de calage > 2, millésimes distants de plus de "
                "2 ans, IRIS redessinés, alerte de plausibilité",
                "le détail par IRIS est dans tables/*.csv et tables/observatoire.gpkg",
            ],
        }
    )
    avert = pd.DataFrame(
        [(c, m) for c, ms in sorted(_avertissements(ctx).items()) for m in ms],
        columns=["territoire_code", "avertissement"],
    )
    return {
        "lisez_moi": lisez_moi,
        "synthese": tables["synthese"],
        "avertissements": avert,
        "indicateurs": ind,
        "ecarts": e,
        "evolution_ecarts": ev,
        "qualite": tables["qualite"],
        "poids": tables["poids"],
        "references": refs[refs["niveau"] != "iris"],
    }


def _trier(df: pd.DataFrame, cles: list[str]) -> pd.DataFrame:
    """Sort a table on its keys (then method/origin) so that files are deterministic."""
    cles = [c for c in cles if c in df.columns]
    cles += [c for c in ("methode", "origine") if c in df.columns and c not in cles]
    if not cles:
        return df.reset_index(drop=True)
    return df.sort_values(cles, kind="stable", na_position="last").reset_index(drop=True)


ETAPES = [
    Etape("sources", etape_sources, "read boundary layers and tables"),
    Etape("poids", etape_poids, "IRIS × zone weights"),
    Etape("indicateurs", etape_indicateurs, "indicators for every level and vintage"),
    Etape("ecarts", etape_ecarts, "gaps against the references, evolution"),
    Etape("tables", etape_tables, "CSV / Parquet / GeoPackage / XLSX"),
    Etape("cartes", etape_cartes, "maps per vintage"),
    Etape("fiches", etape_fiches, "neighbourhood sheets"),
    Etape("classeur", etape_classeur, "wait for the XLSX workbook, then the index"),
]
