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
    rm -f "$PEERLEND_RUN_DIR/demo.db"
    # PEERLEND_ORACLE_URL: the web app (served by the API at /) relays score applications there.
    DATABASE_URL="sqlite:///$PEERLEND_RUN_DIR/demo.db" PEERLEND_RPC_URL="$APE_FOUNDRY_HOST" \
    PEERLEND_ORACLE_URL="$PEERLEND_ORACLE_URL" \
        peerlend-indexer serve --port "$PEERLEND_API_PORT" >"$PEERLEND_RUN_DIR/api.log" 2>&1 &
    children+=($!)
    echo "== indexer API starting on $PEERLEND_API_URL (log: $PEERLEND_RUN_DIR/api.log)"
fi

echo "== credit model (trained once from the packaged Lending Club data, about a minute; then cached)"
model_path="$(python -m scripts._demo.scoring | tail -n 1)"
echo "   $model_path"
rm -f "$PEERLEND_RUN_DIR/oracle.db"
# anvil test account 3 holds ORACLE_ROLE (deployments/params/local.json); a raw key is for local dev only.
oracle_key="$(python -c 'from peerlend.devchain import test_account; print("0x" + bytes(test_account(3).key).hex())')"
PEERLEND_ORACLE_RPC_URL="$APE_FOUNDRY_HOST" PEERLEND_ORACLE_MODEL_PATH="$model_path" \
PEERLEND_ORACLE_DB_URL="sqlite:///$PEERLEND_RUN_DIR/oracle.db" PEERLEND_ORACLE_API_PORT="$PEERLEND_ORACLE_PORT" \
PEERLEND_ORACLE_PRIVATE_KEY="$oracle_key" \
    peerlend-oracle serve >"$PEERLEND_RUN_DIR/oracle.log" 2>&1 &
children+=($!)
printf "== oracle service starting on %s " "$PEERLEND_ORACLE_URL"
for _ in $(seq 1 120); do
    if curl -fsS "$PEERLEND_ORACLE_URL/health" >/dev/null 2>&1; then break; fi
    printf "."
    sleep 0.5
done
echo
curl -fsS "$PEERLEND_ORACLE_URL/health" >/dev/null || { echo "oracle service did not start within 60 s; see $PEERLEND_RUN_DIR/oracle.log" >&2; exit 1; }
echo "== oracle service on $PEERLEND_ORACLE_URL (log: $PEERLEND_RUN_DIR/oracle.log)"

ape run demo --network ethereum:local:foundry --summary-json "$PEERLEND_RUN_DIR/demo-summary.json" 2>&1 | quiet

if curl -fsS "$PEERLEND_API_URL/health" >/dev/null 2>&1; then
    head_block=$(python -c "from web3 import Web3; print(Web3(Web3.HTTPProvider('$APE_FOUNDRY_HOST')).eth.block_number)")
    for _ in $(seq 1 120); do
        indexed=$(curl -fsS "$PEERLEND_API_URL/health" | python -c "import json,sys; print(json.load(sys.stdin).get('indexed_block') or 0)")
        [ "$indexed" -ge "$head_block" ] && break
        sleep 0.5
    done
    echo
    echo "== what the indexer API discloses (GET $PEERLEND_API_URL/stats)"
    curl -fsS "$PEERLEND_API_URL/stats" | python -m scripts._demo.stats_digest --symbol tUSD --decimals 6 || true
fi

if [ "${#children[@]}" -gt 0 ]; then
    echo
    python -m backend.web "$PEERLEND_API_URL" || true
    if [ -n "${PEERLEND_DEMO_NO_WAIT:-}" ]; then
        exit 0
    fi
    echo
    echo "== wallet CLI: in another terminal, \`source .venv/bin/activate\` in this folder, then from any folder"
    echo "   peerlend loans                      (README: Quick start lists more)"
    echo "   peerlend --account TEST::4 status 1"
    echo
    echo "The chain ($APE_FOUNDRY_HOST), the API ($PEERLEND_API_URL) and the oracle service ($PEERLEND_ORACLE_URL)"
    echo "stay up. Ctrl-C stops everything."
    wait "${children[@]}"
fi
