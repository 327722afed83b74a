import importlib
import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from observatoire import __version__
from observatoire.cli import SOMMAIRE, main


def _commande(chemin):
    """The command at ``chemin`` (names from ``main``), importing its module if needed."""
    commande = main
    for nom in chemin:
        commande = commande.get_command(click.Context(commande), nom)
    return commande


def _commandes(groupe=main, prefixe=()):
    for nom in groupe.list_commands(click.Context(groupe)):
        chemin = (*prefixe, nom)
        yield chemin
        commande = groupe.get_command(click.Context(groupe), nom)
        if isinstance(commande, click.Group):
            yield from _commandes(commande, chemin)


def test_version():
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0
    assert __version__ in res.output


def test_every_command_has_help():
    runner = CliRunner()
    for nom in main.list_commands(click.Context(main)):
        res = runner.invoke(main, [nom, "--help"])
        assert res.exit_code == 0, nom
        commande = _commande([nom])
        assert commande.help or commande.short_help, f"{nom} has no help text"


def test_sommaire_matches_the_commands():
    """Every command of every CLI module is listed, with its docstring's first sentence."""
    modules = {module for module, _ in SOMMAIRE.values()}
    trouvees = {}
    for module in modules:
        for commande in importlib.import_module(f"observatoire.cli.{module}").COMMANDES:
            trouvees[commande.name] = (module, commande.get_short_help_str(10_000))
    assert trouvees == SOMMAIRE
    assert main.list_commands(click.Context(main)) == sorted(SOMMAIRE)


def test_main_help_lists_every_command():
    aide = CliRunner().invoke(main, ["--help"]).output
    for nom in SOMMAIRE:
        assert re.search(rf"^  {nom} ", aide, re.MULTILINE), nom


_IMPORTS_LOURDS = ("pandas", "numpy", "geopandas", "shapely", "pyproj", "requests")


def test_help_imports_no_heavy_library():
    """``observatoire --help`` and every ``observatoire CMD --help`` import no data library."""
    code = f"""
import sys
from observatoire.cli import main
chemins = [[]] + {[list(c) for c in _commandes()]!r}
for chemin in chemins:
    try:
        main([*chemin, "--help"], prog_name="observatoire")
    except SystemExit as exc:
        assert exc.code == 0, (chemin, exc.code)
print(sorted(m for m in {_IMPORTS_LOURDS!r} if m in sys.modules))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip().splitlines()[-1] == "[]"


def test_top_level_help_imports_no_command_module():
    code = """
import sys
from observatoire.cli import main
try:
    main(["--help"], prog_name="observatoire")
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("observatoire.") and m != "observatoire.cli"))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip().splitlines()[-1] == "[]"


def test_weights_methods_are_the_engine_s():
    from observatoire.cli.ponderation import _METHODES
    from observatoire.ponderation import METHODES

    assert _METHODES == METHODES


def test_every_command_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    manquantes = [" ".join(c) for c in _commandes() if f"observatoire {' '.join(c)}" not in readme]
    assert not manquantes, f"commands missing from README.md: {manquantes}"


def test_every_subcommand_has_help():
    runner = CliRunner()
    for chemin in _commandes():
        res = runner.invoke(main, [*chemin, "--help"])
        assert res.exit_code == 0, chemin
        assert "Usage" in res.output


# -- one spelling per meaning -------------------------------------------------------------------

#: (command, spelling shown by --help, former spelling still accepted, other arguments).
RENOMMEES = [
    (("indicateurs", "codebook"), "--output", "--sortie", []),
    (("indicateurs", "calculer"), "--out", "--sortie", ["--iris", "{f}"]),
    (("ecarts",), "--out", "--sortie", ["--indicateurs", "{f}"]),
    (("partenaires", "localiser"), "--output", "--out", ["{f}"]),
]


def _option(nom):
    return re.compile(rf"(?<![\w-]){re.escape(nom)}(?![\w-])")


@pytest.mark.parametrize("chemin,nouvelle,ancienne,autres", RENOMMEES)
def test_former_spelling_is_a_hidden_alias(tmp_path, chemin, nouvelle, ancienne, autres):
    f = tmp_path / "f.csv"
    f.write_text("x\n1\n", encoding="utf-8")
    autres = [a.format(f=f) for a in autres]
    commande = _commande(chemin)
    valeur = str(tmp_path / "sortie")
    avec = {}
    for option in (nouvelle, ancienne):
        with commande.make_context(chemin[-1], [*autres, option, valeur]) as ctx:
            avec[option] = ctx.params
    assert avec[nouvelle] == avec[ancienne]
    assert valeur in [str(v) for v in avec[nouvelle].values()]
    aide = CliRunner().invoke(main, [*chemin, "--help"]).output
    assert _option(nouvelle).search(aide) and not _option(ancienne).search(aide)
    if commande.params[[p.name for p in commande.params].index("sortie")].required:
        manque = CliRunner().invoke(main, [*chemin, *autres])
        assert manque.exit_code == 2 and f"'{nouvelle}'" in manque.output
        assert not _option(ancienne).search(manque.output)


def _options(chemin):
    commande = _commande(chemin)
    return {o for p in commande.params if isinstance(p, click.Option) for o in p.opts}


def test_one_spelling_per_meaning():
    """Output folder --out, local store --from, configuration --config, years --years."""
    dossiers = {
        ("run",): "--out",
        ("maps",): "--out",
        ("fiches",): "--out",
        ("indicateurs", "calculer"): "--out",
        ("ecarts",): "--out",
    }
    for chemin in _commandes():
        commande = _commande(chemin)
        for p in commande.params:
            if not isinstance(p, click.Option) or p.hidden:
                continue
            visibles = [o for o in p.opts if o not in getattr(p, "anciens", ())]
            for o in visibles:
                assert o not in ("--sortie", "--output-dir", "--dossier", "--out-dir"), chemin
            if "--out" in visibles:
                assert dossiers.get(chemin) == "--out", f"{chemin}: --out is a folder option"
            if "--from" in visibles or "--cache-dir" in visibles:
                assert p.metavar == "DIR", (chemin, visibles)
            if "--config" in visibles:
                assert p.metavar == "FILE|NAME", chemin
            if "--years" in visibles:
                assert p.metavar == "Y1,Y2|all", chemin
    for chemin in dossiers:
        assert "--out" in _options(chemin), chemin
