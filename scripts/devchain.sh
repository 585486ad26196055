#!/usr/bin/env bash
# Starts a local anvil for the duration of a command and always stops it afterwards.
#   scripts/devchain.sh <command...>        (port: $PEERLEND_ANVIL_PORT, default 8545)
# The one implementation is peerlend/devchain.py; this wrapper keeps the documented name.
set -euo pipefail
exec python -m peerlend.devchain -- "$@"
