#!/usr/bin/env bash
# Runs the whole suite. Called by `make test` (PATH already has the venv and anvil).
set -euo pipefail
cd "$(dirname "$0")/.."
ape compile >/dev/null
# -n 2: the contract and API tests are independent; CI has two cores.
exec pytest -q -n 2 --dist loadfile "$@"
