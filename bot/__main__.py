"""`python -m bot` is the same as the `research-bridge` command."""

from bot.cli import cli

if __name__ == "__main__":
    cli()
