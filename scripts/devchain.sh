#!/usr/bin/env bash
# Starts a local anvil for the duration of a command and always stops it afterwards.
#   scripts/devchain.sh <command...>
# We manage anvil ourselves instead of letting ape-foundry spawn it: ape-foundry 0.8.12
# polls anvil's log for "Listening on" without waiting and races a slow start.
set -euo pipefail
port="${PEERLEND_ANVIL_PORT:-8545}"
mnemonic="test test test test test test test test test test test junk"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "devchain: port $port is already in use; set PEERLEND_ANVIL_PORT to a free port" >&2
    exit 1
fi
mkdir -p .run
# The platform binary itself, not the Node wrapper in node_modules/.bin, so killing it stops the chain.
anvil_bin="$(ls node_modules/@foundry-rs/anvil-*/bin/anvil 2>/dev/null | head -n 1 || true)"
"${anvil_bin:-anvil}" --port "$port" --mnemonic "$mnemonic" --accounts 20 --balance 100000 \
    --chain-id 31337 --silent >.run/anvil.log 2>&1 &
anvil_pid=$!
trap 'kill "$anvil_pid" 2>/dev/null; wait "$anvil_pid" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
done
export APE_FOUNDRY_HOST="http://127.0.0.1:$port"
export PEERLEND_RPC_URL="$APE_FOUNDRY_HOST"
"$@"
