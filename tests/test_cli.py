"""The command line as a user meets it: help, version, and one-line errors."""

import re
import subprocess
import sys

from typer.testing import CliRunner

from translate import __version__
from translate.cli import app

runner = CliRunner()


def test_help_lists_every_planned_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("fit", "apply", "export", "evaluate", "import", "datasets", "recipes"):
        assert command in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_console_script_prints_one_line_error_and_no_traceback():
    # `translate evaluate` with a missing source must fail cleanly, whatever its state.
    proc = subprocess.run(
        [sys.executable, "-m", "translate.cli", "evaluate", "/nonexistent/run", "/nonexistent/data"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr


def test_every_command_has_help():
    for command in (["fit"], ["apply"], ["export"], ["evaluate"], ["import"], ["datasets", "list"],
                    ["datasets", "fetch"], ["datasets", "info"], ["recipes", "list"],
                    ["recipes", "show"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


COMMANDS = (["fit"], ["apply"], ["export"], ["evaluate"], ["import"], ["datasets", "list"],
            ["datasets", "fetch"], ["datasets", "info"], ["recipes", "list"], ["recipes", "show"])


def _click_command(path):
    import typer.main

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


def test_short_help_flag_and_bracketed_defaults_shown_as_written():
    """`-h` works everywhere, and "[runs]", "[latest]" in help texts are not eaten as markup."""
    for path in COMMANDS:
        result = runner.invoke(app, [*path, "-h"], terminal_width=400, env={"COLUMNS": "400"})
        assert result.exit_code == 0 and "Usage" in result.output, (path, result.output)
        for param in _click_command(path).params:
            text = (getattr(param, "help", None) or "").replace("\\[", "[")
            for bracketed in re.findall(r"\[[^\]]*\]", text):
                assert bracketed in result.output, (path, param.name, bracketed)


def test_errors_keep_square_brackets_and_a_typo_answers_without_tensorflow():
    proc = subprocess.run(
        [sys.executable, "-m", "translate.cli", "apply", "/no/run[1]", "in/[xy]*.png", "out"],
        capture_output=True, text=True,
    )
    assert proc.returncode != 0 and "[1]" in proc.stderr, proc.stderr
    code = ("import sys; sys.argv = ['translate', 'fitt']\n"
            "from translate.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "No such command 'fitt'" in proc.stderr and proc.stdout.strip() == "False"
