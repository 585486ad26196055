"""`python -m oracle.service serve|score` — the service commands without the model CLI."""

import click

from oracle.service.commands import COMMANDS


@click.group()
def main() -> None:
    """Peerlend oracle service."""


for command in COMMANDS:
    main.add_command(command)

if __name__ == "__main__":
    main()
