"""Benchmark: maps, sheets and index of the default territory (SAN Ouest Provence).

Usage: python benchmarks/cartes_territoire_defaut.py [DATA_DIR] [OUT_DIR]

Inputs: the shipped ``san_ouest_provence`` configuration over the data store
``DATA_DIR``: IRIS of the six communes (full-resolution ~2014 layer), the four QPV 2024,
the five Contrat de Ville veille territories. Tables: computed by the territory-level
entry points of the yearly run (``territoire_livre`` in tests/cartes_aides.py), every
vintage the sources hold. Maps and sheets are drawn with the arguments of the run's
``cartes`` and ``fiches`` steps, in one process. Prints timings and sizes.
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
    t = cartes_aides.territoire_livre(donnees)
    annees = t.annees
    communs = {"codebook": t.codebook, "synthese": t.synthese, "avertissements": t.avertissements}
    t1 = time.perf_counter()
    couches = couches_web(t.geometries)
    t2 = time.perf_counter()
    c2 = time.process_time()
    cartes = generer_cartes(
        t.indicateurs,
        t.ecarts,
        couches,
        sortie,
        annees=annees,
        references=t.references,
        **communs,
    )
    t3 = time.perf_counter()
    c3 = time.process_time()
    fiches = generer_fiches(
        t.indicateurs,
        t.ecarts,
        couches,
        sortie,
        poids=t.poids,
        annees=annees,
        notes=t.notes,
        **communs,
    )
    t4 = time.perf_counter()
    c4 = time.process_time()
    generer_index(sortie, titre=f"Observatoire — {t.config.nom}", **communs)
    t5 = time.perf_counter()
    ind = t.indicateurs
    n_ind = ind.loc[ind["niveau"] == "iris", "indicateur"].nunique()
    print(f"output: {sortie}")
    print(
        f"{len(couches.iris)} IRIS, {len(couches.zones)} zones, {n_ind} IRIS indicators, "
        f"years {annees}"
    )
    print(f"input tables (territory API) {t1 - t0:6.2f} s")
    print(f"simplification               {t2 - t1:6.2f} s")
    print(f"maps ({len(cartes):2d} pages)             {t3 - t2:6.2f} s (CPU {c3 - c2:.2f} s)")
    print(f"sheets ({len(fiches):2d} pages)           {t4 - t3:6.2f} s (CPU {c4 - c3:.2f} s)")
    print(f"index                        {t5 - t4:6.2f} s")
    for p in cartes:
        print(f"  {p.relative_to(sortie)}  {p.stat().st_size / 1e6:.2f} MB")
    tailles = [p.stat().st_size for p in fiches]
    print(f"  sheets: min {min(tailles) / 1e6:.2f} MB, max {max(tailles) / 1e6:.2f} MB")
    total = sum(p.stat().st_size for p in sortie.rglob("*.html"))
    print(f"  total {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
