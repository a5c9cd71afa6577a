"""The command line as a user runs it, for the tests."""

from __future__ import annotations

from click.testing import CliRunner, Result

from bot.cli import cli


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run `research-bridge ARGS`; an exception escaping it (a traceback the user would see)
    fails the test, whatever the exit code."""
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result
