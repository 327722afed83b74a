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
