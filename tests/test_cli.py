from click.testing import CliRunner

from observatoire import __version__
from observatoire.cli import main


def test_version():
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0
    assert __version__ in res.output


def test_every_command_has_help():
    runner = CliRunner()
    for nom, commande in main.commands.items():
        res = runner.invoke(main, [nom, "--help"])
        assert res.exit_code == 0, nom
        assert commande.help or commande.short_help, f"{nom} has no help text"


def _commandes(groupe, prefixe=()):
    import click

    for nom, commande in groupe.commands.items():
        chemin = (*prefixe, nom)
        yield chemin
        if isinstance(commande, click.Group):
            yield from _commandes(commande, chemin)


def test_every_command_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    manquantes = [
        " ".join(c) for c in _commandes(main) if f"observatoire {' '.join(c)}" not in readme
    ]
    assert not manquantes, f"commands missing from README.md: {manquantes}"


def test_every_subcommand_has_help():
    runner = CliRunner()
    for chemin in _commandes(main):
        res = runner.invoke(main, [*chemin, "--help"])
        assert res.exit_code == 0, chemin
        assert "Usage" in res.output
