"""Benchmarks of the yearly run (a script, not a timed test).

Two measurements, each in a fresh child process so that wall time and peak memory
(``ru_maxrss``) cover a whole process end to end (imports, reads, compute, writes):

``defaut``
    ``observatoire run --from ../shared/data`` on the default territory
    (SAN Ouest Provence) into a temporary folder. Goal: under 20 s here.
``national``
    The national scope: every IRIS of France (48,592, generalised 2020 layer) against
    every QPV perimeter of the store (Occitanie 2015, dept 13 2024, Marseille 2015)
    plus synthetic QPV-sized polygons up to 1,500 zones; surface weights, then
    indicators for every zone from the national RP 2016 IRIS count tables and the
    weights table written to Parquet. Goal: under 2 minutes and 4 GB.

Usage::

    /work/venv/bin/python benchmarks/bench_run.py [defaut|national|all] [--zones 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RACINE = Path(__file__).resolve().parent.parent


def _donnees() -> Path:
    sys.path.insert(0, str(RACINE))
    from observatoire.chemins import dossier_donnees_partagees

    return dossier_donnees_partagees()


def _enfant(code: str, *args: str) -> dict:
    """Run ``code`` in a child Python; return its JSON result plus wall time and peak RSS."""
    t0 = time.perf_counter()
    avant = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=RACINE
    )
    mur = time.perf_counter() - t0
    pic = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-5000:])
        raise SystemExit(f"child failed with exit code {p.returncode}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["mur_s"] = round(mur, 2)
    res["pic_memoire_mo"] = round(max(pic, avant) / 1024, 1)  # ru_maxrss is in KiB on Linux
    return res


_DEFAUT = r"""
import json, sys, time, tempfile
from observatoire.run import executer_run
t = time.perf_counter()
r = executer_run(None, depuis=sys.argv[1], sorties=tempfile.mkdtemp(), progression=False)
m = r.manifeste
print(json.dumps({"duree_run_s": round(time.perf_counter() - t, 2), "etapes_s": m["durees_s"],
                  "fichiers": len(m["sorties"]),
                  "octets": sum(f["octets"] for f in m["sorties"].values()),
                  "avertissements": m["avertissements"]["total"]}))
"""

_NATIONAL = r"""
import json, sys, time
from pathlib import Path
import numpy as np, pandas as pd, geopandas as gpd, shapely
D = Path(sys.argv[1]); N_ZONES = int(sys.argv[2]); SORTIE = Path(sys.argv[3])
t = {}
t0 = time.perf_counter()
from observatoire.chargement import lire_iris, lire_qpv, lire_table_iris
from observatoire.ponderation import table_poids
from observatoire.rapport import Rapport
rapport = Rapport()
iris = lire_iris(D / "iris/iris_2020_france_generalise_z9.parquet", rapport=rapport)
t["lecture_iris"] = time.perf_counter() - t0
t1 = time.perf_counter()
qpv = pd.concat([lire_qpv(D / f, rapport=rapport) for f in (
    "qpv/qpv2015_occitanie_hackaviz2021.geojson", "qpv/qpv2024_dep13_anct_simplifie.geojson",
    "qpv/qpv2015_marseille_icu_mediapart.geojson")], ignore_index=True)
qpv = qpv.drop_duplicates("code_zone")
n_reels = len(qpv)
# Synthetic QPV-sized polygons (irregular 16-gons of 10-60 ha) placed in dense IRIS
# (type H, the smallest quarter by area), fixed seed.
rng = np.random.default_rng(2024)
h = iris[iris["type_iris"] == "H"]
aire = h.geometry.area.to_numpy()
denses = h[aire <= np.quantile(aire, 0.25)]
n_synth = max(0, N_ZONES - n_reels)
choix = rng.choice(len(denses), size=n_synth, replace=False)
centres = shapely.get_coordinates(denses.geometry.iloc[choix].representative_point().to_numpy())
angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
rayons = np.sqrt(rng.uniform(10e4, 60e4, n_synth) / np.pi)
bruit = rng.uniform(0.7, 1.3, (n_synth, 16))
xs = centres[:, :1] + rayons[:, None] * bruit * np.cos(angles)
ys = centres[:, 1:] + rayons[:, None] * bruit * np.sin(angles)
anneaux = np.stack([xs, ys], axis=-1)
synth = gpd.GeoDataFrame({"code_zone": [f"QS{i:06d}" for i in range(n_synth)]},
                         geometry=shapely.polygons(anneaux), crs=iris.crs)
zones = gpd.GeoDataFrame(pd.concat([qpv[["code_zone", "geometry"]], synth], ignore_index=True),
                         geometry="geometry", crs=iris.crs)
t["zones"] = time.perf_counter() - t1
t1 = time.perf_counter()
poids = table_poids(iris, zones, methode="surface", rapport=rapport)
t["poids"] = time.perf_counter() - t1
t1 = time.perf_counter()
poids.to_parquet(SORTIE / "poids_national.parquet", index=False)
t["ecriture_poids"] = time.perf_counter() - t1
t1 = time.perf_counter()
comptages = [lire_table_iris(D / f"stats/rp2016_iris_{n}_irisH_france.csv")
             for n in ("population_age_cs", "menages_familles", "logement")]
t["lecture_tables"] = time.perf_counter() - t1
t1 = time.perf_counter()
n_lignes = None
try:
    from observatoire.indicateurs import consolider
    ind = consolider({"qpv": poids}, comptages=comptages, annees=[2016], rapport=rapport)
    n_lignes = len(ind)
    ind.to_parquet(SORTIE / "indicateurs_national.parquet", index=False)
    methode_ind = "observatoire.indicateurs.consolider"
except ImportError:
    from observatoire.ponderation import ventiler
    tab = comptages[0]
    variables = [c for c in tab.columns if c.startswith(("p_", "c_"))]
    ind = ventiler(poids, tab, variables)
    n_lignes = len(ind)
    ind.to_parquet(SORTIE / "indicateurs_national.parquet", index=False)
    methode_ind = "ventiler (indicator module not installed)"
t["indicateurs"] = time.perf_counter() - t1
print(json.dumps({"n_iris": len(iris), "n_zones": len(zones), "n_qpv_reels": n_reels,
                  "n_synthetiques": n_synth, "n_paires": len(poids),
                  "n_lignes_indicateurs": n_lignes, "indicateurs_par": methode_ind,
                  "avertissements": rapport.n_avertissements,
                  "etapes_s": {k: round(v, 2) for k, v in t.items()},
                  "total_s": round(time.perf_counter() - t0, 2)}))
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("quoi", nargs="?", default="all", choices=["defaut", "national", "all"])
    ap.add_argument("--zones", type=int, default=1500, help="total zones of the national run")
    ap.add_argument("--repetitions", type=int, default=1)
    args = ap.parse_args(argv)
    donnees = _donnees()
    resultats = {}
    if args.quoi in ("defaut", "all"):
        resultats["defaut"] = [_enfant(_DEFAUT, str(donnees)) for _ in range(args.repetitions)]
    if args.quoi in ("national", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            resultats["national"] = [
                _enfant(_NATIONAL, str(donnees), str(args.zones), tmp)
                for _ in range(args.repetitions)
            ]
    resultats["machine"] = {"cpu": os.cpu_count(), "python": sys.version.split()[0]}
    print(json.dumps(resultats, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
