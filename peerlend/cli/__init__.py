"""The wallet CLI (`peerlend`): borrowers and lenders sign with an ape account.

It sits above the shared layer (`peerlend.deployments`, `peerlend.vocabulary`); nothing in the
shared layer or the services imports it. The console script is `peerlend.cli:main`.
"""

from peerlend.cli.commands import main

__all__ = ["main"]
