"""Benchmark: maps, sheets and index of the default territory (SAN Ouest Provence).

Usage: python benchmarks/cartes_territoire_defaut.py [DATA_DIR] [OUT_DIR] [RUN_TABLES_DIR]

Inputs: IRIS of the six communes (full-resolution ~2014 layer), the four QPV 2024,
the Contrat de Ville veille territories. Tables: those of ``observatoire run``
(``RUN_TABLES_DIR`` = ``<out>/san_ouest_provence/tables``: indicateurs, ecarts and
poids Parquet files, veille perimeters from its GeoPackage), else stand-in tables
built from the ptod rates by tests/cartes_aides.py. Prints timings and sizes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import cartes_aides  # noqa: E402

from observatoire.cartes import (  # noqa: E402
    couches_web,
    generer_cartes,
    generer_fiches,
    generer_index,
)


def main() -> None:
    donnees = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data")
    sortie = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp()) / "cartes"
    t0 = time.perf_counter()
    ind, ecarts, geo, poids = cartes_aides.territoire_defaut(donnees)
    annees = None
    if len(sys.argv) > 3:
        import geopandas as gpd
        import pandas as pd

        tables = Path(sys.argv[3])
        ind = pd.read_parquet(tables / "indicateurs.parquet")
        ecarts = pd.read_parquet(tables / "ecarts.parquet")
        poids = pd.read_parquet(tables / "poids.parquet")
        geo["veille"] = gpd.read_file(tables / "observatoire.gpkg", layer="veille")
        annees = [2011, 2016, 2022]
    t1 = time.perf_counter()
    couches = couches_web(geo)
    t2 = time.perf_counter()
    c2 = time.process_time()
    cartes = generer_cartes(ind, ecarts, couches, sortie, annees=annees)
    t3 = time.perf_counter()
    c3 = time.process_time()
    fiches = generer_fiches(ind, ecarts, couches, sortie, poids=poids, annees=annees)
    t4 = time.perf_counter()
    c4 = time.process_time()
    generer_index(sortie)
    t5 = time.perf_counter()
    n_ind = ind.loc[ind["niveau"] == "iris", "indicateur"].nunique()
    print(f"output: {sortie}")
    print(
        f"{len(couches.iris)} IRIS, {len(couches.zones)} zones, {n_ind} IRIS indicators, "
        f"years {annees or sorted(int(a) for a in ind['annee'].unique())}"
    )
    print(f"input tables (stand-in)   {t1 - t0:6.2f} s")
    print(f"simplification            {t2 - t1:6.2f} s")
    print(f"maps ({len(cartes):2d} pages)          {t3 - t2:6.2f} s (CPU {c3 - c2:.2f} s)")
    print(f"sheets ({len(fiches):2d} pages)        {t4 - t3:6.2f} s (CPU {c4 - c3:.2f} s)")
    print(f"index                     {t5 - t4:6.2f} s")
    for p in cartes:
        print(f"  {p.relative_to(sortie)}  {p.stat().st_size / 1e6:.2f} MB")
    tailles = [p.stat().st_size for p in fiches]
    print(f"  sheets: min {min(tailles) / 1e6:.2f} MB, max {max(tailles) / 1e6:.2f} MB")
    total = sum(p.stat().st_size for p in sortie.rglob("*.html"))
    print(f"  total {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
