"""No import cycle between the modules of ``observatoire``.

Every import statement counts, wherever it is (module level, inside a function, under
``if TYPE_CHECKING:``): a cycle hidden in a function still ties two modules together.
``from X import Y`` where ``X.Y`` is a module imports ``X.Y``; relative imports are
resolved. Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, so an
import of a module is also an import of its parent packages — except the packages of the
importing module itself, which are already initialised (or initialising) when it runs.
``importlib.import_module`` calls (the lazy faces of :pep:`562`) are not statements and
are not followed.
"""

from __future__ import annotations

import ast
from itertools import pairwise
from pathlib import Path

import pytest

import observatoire

RACINE = Path(observatoire.__file__).resolve().parent


def _modules(racine: Path, paquet: str) -> dict[str, Path]:
    """Module name → file, for every ``.py`` under ``racine`` (the package ``paquet``)."""
    out = {}
    for f in sorted(racine.rglob("*.py")):
        parties = [paquet, *f.relative_to(racine).with_suffix("").parts]
        if parties[-1] == "__init__":
            parties.pop()
        out[".".join(parties)] = f
    return out


def _parents(nom: str) -> list[str]:
    """``a.b.c`` → ``['a', 'a.b']``."""
    parties = nom.split(".")
    return [".".join(parties[:i]) for i in range(1, len(parties))]


def graphe_imports(racine: Path, paquet: str) -> dict[str, dict[str, str]]:
    """Return module → {imported module → where (``file:line``)}, within ``paquet``.

    Examples
    --------
    >>> g = graphe_imports(RACINE, "observatoire")
    >>> "observatoire.config" in g["observatoire.sources.acquisition"]
    True
    """
    modules = _modules(racine, paquet)
    graphe: dict[str, dict[str, str]] = {m: {} for m in modules}
    for nom, fichier in modules.items():
        est_paquet = fichier.name == "__init__.py"
        ici = nom if est_paquet else nom.rpartition(".")[0]
        deja_lances = {*_parents(nom), nom}
        arbre = ast.parse(fichier.read_text(encoding="utf-8"), filename=str(fichier))
        for noeud in ast.walk(arbre):
            cibles: list[str] = []
            if isinstance(noeud, ast.Import):
                cibles = [a.name for a in noeud.names]
            elif isinstance(noeud, ast.ImportFrom):
                if noeud.level:
                    base_parties = ici.split(".")
                    base_parties = base_parties[: len(base_parties) - (noeud.level - 1)]
                    base = ".".join([*base_parties, *([noeud.module] if noeud.module else [])])
                else:
                    base = noeud.module or ""
                sous_modules = [f"{base}.{a.name}" for a in noeud.names]
                sous_modules = [s for s in sous_modules if s in modules]
                # `from X import name` needs X itself; `from X import sub` only X.sub
                # (and X as its parent package).
                if len(sous_modules) < len(noeud.names) or base not in deja_lances:
                    cibles.append(base)
                cibles += sous_modules
            else:
                continue
            ou = f"{fichier.relative_to(racine.parent)}:{noeud.lineno}"
            for cible in cibles:
                for m in [*_parents(cible), cible]:
                    if m in modules and m != nom and (m == cible or m not in deja_lances):
                        graphe[nom].setdefault(m, ou)
    return graphe


def cycles(graphe: dict[str, dict[str, str]]) -> list[list[str]]:
    """Return one cycle (``[a, b, ..., a]``) per strongly connected group of modules."""
    index: dict[str, int] = {}
    bas: dict[str, int] = {}
    pile: list[str] = []
    sur_pile: set[str] = set()
    groupes: list[list[str]] = []

    def visiter(v: str) -> None:  # Tarjan
        index[v] = bas[v] = len(index)
        pile.append(v)
        sur_pile.add(v)
        for w in graphe[v]:
            if w not in index:
                visiter(w)
                bas[v] = min(bas[v], bas[w])
            elif w in sur_pile:
                bas[v] = min(bas[v], index[w])
        if bas[v] == index[v]:
            groupe = []
            while True:
                w = pile.pop()
                sur_pile.discard(w)
                groupe.append(w)
                if w == v:
                    break
            if len(groupe) > 1:
                groupes.append(sorted(groupe))

    for v in sorted(graphe):
        if v not in index:
            visiter(v)
    out = []
    for groupe in groupes:
        # shortest way back from the group's first module to itself, inside the group
        depart, membres = groupe[0], set(groupe)
        precedent: dict[str, str] = {}
        file_ = [depart]
        while file_ and depart not in precedent:
            v = file_.pop(0)
            for w in sorted(graphe[v]):
                if w in membres and w not in precedent:
                    precedent[w] = v
                    file_.append(w)
        chemin = [depart]
        v = precedent[depart]
        while v != depart:
            chemin.append(v)
            v = precedent[v]
        out.append([depart, *reversed(chemin[1:]), depart])
    return out


def _decrire(graphe: dict[str, dict[str, str]], cycle: list[str]) -> str:
    return "\n".join(f"  {a} → {b}  ({graphe[a][b]})" for a, b in pairwise(cycle))


def test_pas_de_cycle_d_imports_dans_observatoire():
    graphe = graphe_imports(RACINE, "observatoire")
    assert len(graphe) > 50 and "observatoire.config" in graphe
    trouves = cycles(graphe)
    assert not trouves, "import cycle(s) in observatoire/:\n" + "\n\n".join(
        _decrire(graphe, c) for c in trouves
    )


def test_configuration_n_importe_rien_du_paquet():
    """The configuration models are the bottom layer: sources and partners import them."""
    graphe = graphe_imports(RACINE, "observatoire")
    assert graphe["observatoire.config"] == {}
    assert "observatoire.config" in graphe["observatoire.partenaires.modele"]
    assert "observatoire.config" in graphe["observatoire.sources.acquisition"]


# -- the walker itself, on small packages written for the test -----------------------------


def _paquet(racine: Path, fichiers: dict[str, str]) -> Path:
    for nom, texte in fichiers.items():
        f = racine / "pq" / nom
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(texte, encoding="utf-8")
    return racine / "pq"


SANS_CYCLE = {
    "__init__.py": "",
    "a.py": "import os\nfrom pq.b import f\nfrom . import c\n",
    "b.py": "from pq import c\n\ndef f():\n    from .c import g\n",
    "c.py": "import json\n\ndef g(): ...\n",
    # a package whose __init__ imports its modules, which import their siblings
    "sous/__init__.py": "from pq.sous.x import X\nfrom .y import Y\n",
    "sous/x.py": "from pq.sous.y import Y\nfrom pq.sous import y\nimport pq.c\nX = 1\n",
    "sous/y.py": "from ..c import g\nY = 2\n",
    # a lazy face: importlib calls are not import statements
    "paresseux/__init__.py": (
        "import importlib\n\ndef __getattr__(n):\n"
        "    return importlib.import_module('pq.paresseux.m')\n"
    ),
    "paresseux/m.py": "from pq.paresseux import autre\n",
    "paresseux/autre.py": "",
}


def test_paquet_sans_cycle(tmp_path):
    racine = _paquet(tmp_path, SANS_CYCLE)
    graphe = graphe_imports(racine, "pq")
    assert cycles(graphe) == []
    assert set(graphe["pq.a"]) == {"pq.b", "pq.c"}
    assert set(graphe["pq.sous.x"]) == {"pq.sous.y", "pq.c"}
    assert graphe["pq.sous.y"] == {"pq.c": "pq/sous/y.py:1"}
    assert set(graphe["pq.paresseux"]) == set()


@pytest.mark.parametrize(
    ("modifs", "attendu"),
    [
        # inside a function
        ({"c.py": "def g():\n    from pq.a import x\n"}, ["pq.a", "pq.c", "pq.a"]),
        # under `if TYPE_CHECKING:`
        (
            {"c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pq.b\n"},
            ["pq.b", "pq.c", "pq.b"],
        ),
        # `from package import submodule`, relative
        ({"c.py": "from . import a\n"}, ["pq.a", "pq.c", "pq.a"]),
        # through a parent package's __init__: importing pq.sous.y runs pq/sous/__init__
        (
            {"c.py": "import pq.sous.y\n", "sous/y.py": "Y = 2\n"},
            ["pq.c", "pq.sous", "pq.sous.x", "pq.c"],
        ),
        # a module taking a name from its own package, whose __init__ imports it
        ({"sous/y.py": "from pq.sous import X\nY = 2\n"}, ["pq.sous", "pq.sous.y", "pq.sous"]),
    ],
)
def test_paquet_avec_cycle(tmp_path, modifs, attendu):
    racine = _paquet(tmp_path, {**SANS_CYCLE, **modifs})
    graphe = graphe_imports(racine, "pq")
    trouves = cycles(graphe)
    assert trouves == [attendu], _decrire(graphe, trouves[0]) if trouves else "no cycle"
    assert "pq/" in _decrire(graphe, trouves[0])
