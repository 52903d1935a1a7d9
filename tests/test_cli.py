"""The command line as a user meets it: help, version, and one-line errors."""

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
