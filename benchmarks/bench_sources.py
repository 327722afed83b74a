"""Timings of the acquisition layer (not a test): fetch --from, summary, local HTTP download.

Usage: /work/venv/bin/python benchmarks/bench_sources.py [STORE]   (default ../shared/data)
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from serveur_http import ServeurLocal  # noqa: E402

from observatoire.chemins import dossier_donnees_partagees  # noqa: E402
from observatoire.sources import charger_catalogue, recuperer, territoire  # noqa: E402
from observatoire.sources.resume import resumer_territoire  # noqa: E402


def chrono(f, n=3):
    temps = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        temps.append(time.perf_counter() - t0)
    return min(temps), sorted(temps)[len(temps) // 2]


def main() -> None:
    logging.disable(logging.WARNING)
    store = Path(sys.argv[1]) if len(sys.argv) > 1 else dossier_donnees_partagees()
    terr = territoire()
    ids = terr.sources_locales
    cat = charger_catalogue()
    taille = sum((store / cat[i].chemin).stat().st_size for i in ids)
    froid = chrono(lambda: recuperer(ids, depuis=store, cache=tempfile.mkdtemp()))
    cache = tempfile.mkdtemp()
    recuperer(ids, depuis=store, cache=cache)
    chaud = chrono(lambda: recuperer(ids, depuis=store, cache=cache))
    resume = chrono(lambda: resumer_territoire(terr, depuis=store), n=3)
    print(f"fetch --from, default territory: {len(ids)} files, {taille / 1e6:.1f} MB")
    print(f"  cold cache: min {froid[0]:.3f} s, median {froid[1]:.3f} s")
    print(f"  warm cache (all already cached, sha256 re-checked): min {chaud[0]:.3f} s")
    print(f"summary --from (loaders + figures): min {resume[0]:.2f} s, median {resume[1]:.2f} s")
    gros = "iris/iris_2020_france_generalise_z9.parquet"
    with ServeurLocal(store) as s, tempfile.TemporaryDirectory() as d:
        reg = Path(d) / "r.yaml"
        reg.write_text(
            yaml.safe_dump(
                {
                    "sources": [
                        {
                            "id": "gros",
                            "producteur": "t",
                            "jeu": "t",
                            "rubrique": "iris",
                            "format": "parquet",
                            "licence": "LO",
                            "acces": {"type": "fichier", "url": f"{s.url}/{gros}"},
                        }
                    ]
                }
            )
        )
        n = (store / gros).stat().st_size
        dl = chrono(lambda: recuperer(["gros"], registre=reg, cache=tempfile.mkdtemp()))
        s.couper("/" + gros, fois=1)
        t0 = time.perf_counter()
        (r,) = recuperer(["gros"], registre=reg, cache=tempfile.mkdtemp())
        coupe = time.perf_counter() - t0
    print(
        f"HTTP 127.0.0.1, {n / 1e6:.1f} MB file: min {dl[0]:.2f} s ({n / 1e6 / dl[0]:.0f} MB/s "
        "incl. sha256 and install)"
    )
    print(
        f"  same, cut at half then resumed with Range: {coupe:.2f} s (incl. 0.5 s pause), "
        f"reprises={r.reprises}"
    )


if __name__ == "__main__":
    main()
