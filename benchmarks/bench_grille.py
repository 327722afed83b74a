"""Benchmarks of the grid step (a script, not a timed test).

``defaut``
    The Filosofi 2019 200 m grid of the store (2,155 cells, INSEE CSV of cell ids) read
    with ``lire_grille`` and aggregated on the default territory's QPV, its six
    communes and the EPCI (``indicateurs_grille``: 8 grid indicators).
``grand``
    A synthetic 2,000,000-cell 200 m grid (a 1,414 × 1,414 block of cells, ≈ 80,000 km²,
    Filosofi columns with random values) written as a CSV of INSPIRE ids in a temporary
    folder, read with ``lire_grille``, then aggregated on 1,500 QPV-sized squares
    (≈ 700 m) spread over it.

Each case prints the best and median wall time over ``--repetitions`` runs in this
process (imports excluded) and the peak memory of the process.

Usage::

    python benchmarks/bench_grille.py [defaut|grand|all] [--repetitions 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import box

RACINE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(RACINE))

from observatoire.chargement import lire_grille, lire_iris, lire_qpv  # noqa: E402
from observatoire.chemins import dossier_donnees_partagees  # noqa: E402
from observatoire.indicateurs import charger_codebook  # noqa: E402
from observatoire.indicateurs.grille import indicateurs_grille  # noqa: E402

COMMUNES = ["13047", "13063", "13078", "13039", "13044", "13029"]


def _chrono(f, n: int) -> tuple[float, float]:
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return min(t), statistics.median(t)


def defaut(n: int) -> None:
    d = dossier_donnees_partagees()
    chemin = d / "raster/filosofi2019_200m_san_ouest_provence.csv"
    iris = lire_iris(d / "iris/iris_dep13_fullres_ign_circa2014.gpkg")
    iris = iris[iris["code_commune"].isin(COMMUNES)]
    com = iris.dissolve("code_commune").reset_index()
    q = lire_qpv(d / "qpv/qpv2024_istres_miramas_psl_anct_simplifie.geojson")
    terr = {
        "qpv": gpd.GeoDataFrame({"code": q["code_zone"]}, geometry=q.geometry, crs=q.crs),
        "commune": gpd.GeoDataFrame(
            {"code": com["code_commune"]}, geometry=com.geometry, crs=com.crs
        ),
        "epci": gpd.GeoDataFrame(
            {"code": ["241300177"]}, geometry=[iris.union_all()], crs=iris.crs
        ),
    }
    cb = charger_codebook()
    g = lire_grille(chemin)
    lire = _chrono(lambda: lire_grille(chemin), n)
    agr = _chrono(lambda: indicateurs_grille(g, terr, annee=2019, codebook=cb), n)
    print(
        f"defaut: {len(g):,} cells; read best {lire[0]:.3f} s (median {lire[1]:.3f}); "
        f"aggregate on {sum(len(t) for t in terr.values())} territories best {agr[0]:.3f} s "
        f"(median {agr[1]:.3f})"
    )


def grand(n: int, cellules: int = 2_000_000, zones: int = 1500) -> None:
    cote = int(np.ceil(np.sqrt(cellules)))
    rng = np.random.default_rng(0)
    i = np.arange(cellules)
    x = 3_500_000 + 200 * (i % cote)
    y = 2_000_000 + 200 * (i // cote)
    men = rng.integers(1, 60, cellules).astype(float)
    df = pd.DataFrame(
        {
            "idcar_200m": [f"CRS3035RES200mN{b}E{a}" for a, b in zip(x, y, strict=True)],
            "ind": men * 2.2,
            "men": men,
            "men_pauv": np.floor(men * 0.15),
            "men_1ind": np.floor(men * 0.35),
            "men_5ind": np.floor(men * 0.05),
            "men_prop": np.floor(men * 0.5),
            "men_fmp": np.floor(men * 0.1),
            "ind_snv": men * 2.2 * 21000,
            "men_coll": np.floor(men * 0.6),
            "men_mais": men - np.floor(men * 0.6),
            "imputed": (men < 5).astype(int),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        chemin = Path(tmp) / "grille.csv"
        df.to_csv(chemin, index=False)
        del df
        g = lire_grille(chemin, crs="EPSG:3035")
        lire = _chrono(lambda: lire_grille(chemin, crs="EPSG:3035"), n)
    xs = rng.uniform(3_500_000, 3_500_000 + 200 * cote - 700, zones)
    ys = rng.uniform(2_000_000, 2_000_000 + 200 * cote - 700, zones)
    terr = {
        "qpv": gpd.GeoDataFrame(
            {"code": [f"Z{k}" for k in range(zones)]},
            geometry=[box(a, b, a + 700, b + 700) for a, b in zip(xs, ys, strict=True)],
            crs="EPSG:3035",
        )
    }
    cb = charger_codebook()
    agr = _chrono(lambda: indicateurs_grille(g, terr, annee=2019, codebook=cb), n)
    print(
        f"grand: {len(g):,} cells; read best {lire[0]:.2f} s (median {lire[1]:.2f}); "
        f"aggregate on {zones:,} zones best {agr[0]:.2f} s (median {agr[1]:.2f})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cas", nargs="?", default="all", choices=["defaut", "grand", "all"])
    p.add_argument("--repetitions", type=int, default=3)
    a = p.parse_args()
    if a.cas in ("defaut", "all"):
        defaut(a.repetitions)
    if a.cas in ("grand", "all"):
        grand(a.repetitions)
    pic = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"peak memory of the process: {pic:.2f} GB")


if __name__ == "__main__":
    main()
