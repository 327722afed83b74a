"""Helpers shared by the run/config/notebook tests (not a test module).

``config_chemins`` turns a shipped configuration into one whose sources are absolute paths
into the real data store, read from the shipped catalogue of that store, so that the
configuration/run skeleton tests do not depend on the download cache.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import yaml

from observatoire.config import chemin_config, config_depuis_dict

CATALOGUE = (
    Path(__file__).resolve().parent.parent
    / "observatoire"
    / "sources"
    / "catalogues"
    / "shared_data.yaml"
)


def _chemins_catalogue(donnees: Path) -> dict[str, str]:
    cat = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    return {sid: str(donnees / e["chemin"]) for sid, e in cat["sources"].items()}


def dict_chemins(donnees: Path, nom: str = "san_ouest_provence") -> dict:
    """The shipped configuration ``nom`` as a dict, source ids replaced by absolute paths."""
    chemins = _chemins_catalogue(Path(donnees))
    d = yaml.safe_load(chemin_config(nom).read_text(encoding="utf-8"))
    for role, v in d["sources"].items():
        if isinstance(v, str):
            d["sources"][role] = chemins[v]
        else:
            v["source"] = chemins[v["source"]]
    for p in d["qpv"]["perimetres"]:
        p["source"] = chemins[p["source"]]
    return d


def config_chemins(donnees: Path, nom: str = "san_ouest_provence", **modifs):
    d = dict_chemins(donnees, nom)
    d.update(modifs)
    return config_depuis_dict(d, origine=f"{nom} (test)")


@functools.lru_cache(maxsize=4)
def run_reel(donnees: str, nom: str = "san_ouest_provence") -> Path:
    """Run the real pipeline once per test session; return the territory output folder."""
    from observatoire.run import executer_run

    racine = Path(tempfile.mkdtemp(prefix="observatoire-run-"))
    res = executer_run(nom, depuis=donnees, sorties=racine, progression=False)
    return res.dossier
