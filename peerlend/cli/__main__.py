"""`python -m peerlend.cli`: the same as the `peerlend` console script."""

from peerlend.cli.commands import main

main()
