"""Benchmark of indicator consolidation and secret statistique (a script, not a timed test).

Two workloads on ``../shared/data`` (département 13):

``territoire`` — SAN Ouest Provence: 41 IRIS, 4 QPV 2024 (surface weights), 2 veille zones,
    6 communes, EPCI, département; RP 2016 counts + RFL + ptod rates + official values.
``departement`` — every IRIS of dept 13 with communes and the département, RP 2016 counts
    + ptod rates; the consolidation and the secret step are timed separately.

Usage::

    /work/venv/bin/python benchmarks/bench_indicateurs.py [territoire] [departement]
"""

from __future__ import annotations

import sys
import time

import pandas as pd

from observatoire.chargement import (
    lire_indicateurs_ptod,
    lire_iris,
    lire_qpv,
    lire_qpv_officiel,
    lire_table_iris,
)
from observatoire.chemins import dossier_donnees_partagees
from observatoire.indicateurs import (
    appliquer_secret,
    consolider,
    poids_appartenance,
    valeurs_officielles_ptod,
    valeurs_officielles_qpv,
)
from observatoire.ponderation import poids_liste_iris, table_poids

D = dossier_donnees_partagees()
SAN = ["13047", "13063", "13078", "13039", "13044", "13029"]


def _comptages():
    return [
        lire_table_iris(D / f"stats/rp2016_iris_{n}_dep13.csv").drop(columns="type_iris")
        for n in ("population_age_cs_irisH", "menages_familles_irisH", "logement_irisH")
    ]


def territoire() -> None:
    iris = lire_iris(D / "iris/iris_dep13_fullres_ign_circa2014.gpkg")
    qpv = lire_qpv(D / "qpv/qpv2024_istres_miramas_psl_anct_simplifie.geojson")
    it = iris[iris["code_commune"].isin(SAN)]
    ic = it[["code_iris", "code_commune"]]
    niveaux = {
        "iris": ic["code_iris"].tolist(),
        "qpv": table_poids(it, qpv),
        "veille": poids_liste_iris(
            pd.DataFrame(
                {
                    "code_zone": ["V1", "V1", "V2"],
                    "code_iris": ["130470106", "130470102", "130630106"],
                }
            )
        ),
        "commune": poids_appartenance(ic),
        "epci": poids_appartenance(ic.assign(e="SAN"), code_zone="e"),
        "departement": poids_appartenance(iris.assign(d="13"), code_zone="d"),
    }
    ptod = lire_indicateurs_ptod(D / "stats/ptod_iris_dep13_indicateurs_rp2011_2016_2022.csv")
    comptages = _comptages() + [
        lire_table_iris(D / "stats/rfl_revenus_fiscaux_localises_iris_2001_2011_dep13.csv")
    ]
    off = [
        valeurs_officielles_ptod(
            lire_indicateurs_ptod(D / "stats/ptod_communes5k_dep13_indicateurs.csv", "commune"),
            codes=SAN,
        ),
        valeurs_officielles_qpv(
            lire_qpv_officiel(D / "stats/qpv2024_indicateurs_sigville_dep13.csv"),
            annee=2020,
            codes=qpv["code_zone"].tolist(),
        ),
    ]
    pop = ptod[["code_iris", "annee", "p_pop"]]
    t0, c0 = time.perf_counter(), time.process_time()
    t = consolider(niveaux, comptages=comptages, taux=ptod, officiels=off, population=pop)
    print(
        f"territoire: {len(t):,} rows in {time.perf_counter() - t0:.1f} s "
        f"({time.process_time() - c0:.1f} s CPU); "
        + ", ".join(f"{k} {v}" for k, v in t["statut"].value_counts().items())
    )


def departement() -> None:
    iris = lire_iris(D / "iris/iris_dep13_fullres_ign_circa2014.gpkg")
    ic = iris[["code_iris", "code_commune"]]
    niveaux = {
        "iris": None,
        "commune": poids_appartenance(ic),
        "departement": poids_appartenance(ic.assign(d="13"), code_zone="d"),
    }
    ptod = lire_indicateurs_ptod(D / "stats/ptod_iris_dep13_indicateurs_rp2011_2016_2022.csv")
    c0 = time.process_time()
    brut = consolider(niveaux, comptages=_comptages(), taux=ptod, secret=False)
    c1 = time.process_time()
    t = appliquer_secret(brut, niveaux)
    c2 = time.process_time()
    n_comp = int(t["note"].fillna("").str.contains("complément").sum())
    print(
        f"departement: {len(t):,} rows; consolidation {c1 - c0:.1f} s CPU, secret "
        f"{c2 - c1:.1f} s CPU; {int((t['statut'] == 'secret').sum())} secret "
        f"({n_comp} by complement)"
    )


if __name__ == "__main__":
    choix = sys.argv[1:] or ["territoire", "departement"]
    for nom in choix:
        {"territoire": territoire, "departement": departement}[nom]()
