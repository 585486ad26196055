#!/usr/bin/env bash
# Runs inside scripts/devchain.sh (anvil is up, APE_FOUNDRY_HOST is set).
set -euo pipefail
children=()
cleanup() {
    for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

quiet() { grep -v -E "^(INFO|WARNING|SUCCESS):|warnings.warn|IncompleteFieldDefinitionWarning" || true; }

echo "== deploying to $APE_FOUNDRY_HOST"
ape run deploy --network ethereum:local:foundry 2>&1 | quiet

if command -v peerlend-indexer >/dev/null && python -c "import backend.api" 2>/dev/null; then
    rm -f .run/demo.db
    DATABASE_URL="sqlite:///$PWD/.run/demo.db" PEERLEND_RPC_URL="$APE_FOUNDRY_HOST" \
        peerlend-indexer serve --port "$PEERLEND_API_PORT" >.run/api.log 2>&1 &
    children+=($!)
    echo "== indexer API starting on $PEERLEND_API_URL (log: .run/api.log)"
fi

ape run demo --network ethereum:local:foundry --summary-json .run/demo-summary.json 2>&1 | quiet

if [ "${#children[@]}" -gt 0 ]; then
    if [ -n "${PEERLEND_DEMO_NO_WAIT:-}" ]; then
        exit 0
    fi
    echo
    echo "The API stays up at $PEERLEND_API_URL (try $PEERLEND_API_URL/stats). Ctrl-C stops everything."
    wait "${children[@]}"
fi
