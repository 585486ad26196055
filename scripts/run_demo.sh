#!/usr/bin/env bash
# `make demo`: a fresh local anvil, the deployment, the indexer API, the oracle service and the
# demo story. Every process started here is stopped on exit (Ctrl-C included); rerunnable.
# Ports: PEERLEND_ANVIL_PORT (8545), PEERLEND_API_PORT (8000), PEERLEND_ORACLE_PORT (8100);
# state: PEERLEND_RUN_DIR (.run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PEERLEND_ANVIL_PORT="${PEERLEND_ANVIL_PORT:-8545}"
export PEERLEND_API_PORT="${PEERLEND_API_PORT:-8000}"
export PEERLEND_ORACLE_PORT="${PEERLEND_ORACLE_PORT:-8100}"
export PEERLEND_API_URL="http://127.0.0.1:${PEERLEND_API_PORT}"
export PEERLEND_ORACLE_URL="http://127.0.0.1:${PEERLEND_ORACLE_PORT}"

# Every port first: a busy one would otherwise surface later as a silent skip or a long wait.
busy=0
for entry in "PEERLEND_ANVIL_PORT anvil" "PEERLEND_API_PORT indexer-API" "PEERLEND_ORACLE_PORT oracle-service"; do
    read -r variable what <<<"$entry"
    port="${!variable}"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "demo: port $port (${what/-/ }) is in use; pick another with $variable, e.g. $variable=$((port + 1)) make demo" >&2
        busy=1
    fi
done
[ "$busy" -eq 0 ] || exit 1

# State (logs, databases, the summary) goes under .run/ unless PEERLEND_RUN_DIR names another folder.
export PEERLEND_RUN_DIR="$(mkdir -p "${PEERLEND_RUN_DIR:-.run}" && cd "${PEERLEND_RUN_DIR:-.run}" && pwd)"
exec scripts/devchain.sh bash scripts/demo_inner.sh
