#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server on 127.0.0.1 for the backend tests (no systemd).
#
#   eval "$(bash scripts/ci_postgres.sh)"        # install if missing, initdb, start, create db
#   pytest tests/backend                          # the PostgreSQL legs now run
#   bash scripts/ci_postgres.sh stop "$PEERLEND_PG_DATA"
#
# Prints shell `export` lines on stdout (DATABASE_URL, PEERLEND_TEST_POSTGRES_URL,
# PEERLEND_PG_DATA); progress goes to stderr. The cluster lives in a temp dir with trust
# auth on 127.0.0.1 only; as root it runs as the `postgres` user.
set -euo pipefail

PG_VERSION="${PEERLEND_PG_VERSION:-15}"
log() { echo "ci_postgres: $*" >&2; }

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

bindir() {
    local dir="/usr/lib/postgresql/$PG_VERSION/bin"
    if [ -x "$dir/initdb" ]; then
        echo "$dir"
        return
    fi
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
        return
    fi
    command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return
    return 1
}

if [ "${1:-}" = stop ]; then
    data="${2:-${PEERLEND_PG_DATA:-}}"
    [ -n "$data" ] && [ -d "$data" ] || { log "usage: $0 stop DATA_DIR"; exit 2; }
    as_pg "$(bindir)/pg_ctl" -D "$data" -m fast stop >&2 || true
    rm -rf "$data"
    exit 0
fi

if ! BIN=$(bindir); then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "PostgreSQL is not installed and cannot be installed here (needs root and apt-get)"
        exit 1
    fi
    log "installing postgresql-$PG_VERSION"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "postgresql-$PG_VERSION" >&2 || apt-get install -y -qq postgresql >&2
    BIN=$(bindir)
fi

if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home /var/lib/postgresql --shell /bin/sh postgres
fi

port="${PEERLEND_PG_PORT:-}"
if [ -z "$port" ]; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
data=$(mktemp -d "${TMPDIR:-/tmp}/peerlend-pg.XXXXXX")
[ "$(id -u)" = 0 ] && chown postgres: "$data"
chmod 700 "$data"

log "initdb in $data ($("$BIN/postgres" --version))"
as_pg "$BIN/initdb" -D "$data" -U peerlend -A trust -E UTF8 --locale=C.UTF-8 >"$data.initdb.log" 2>&1 \
    || as_pg "$BIN/initdb" -D "$data" -U peerlend -A trust -E UTF8 >"$data.initdb.log" 2>&1 \
    || { cat "$data.initdb.log" >&2; exit 1; }
rm -f "$data.initdb.log"
as_pg "$BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
    start >&2 || { cat "$data/server.log" >&2; exit 1; }
as_pg "$BIN/createdb" -h 127.0.0.1 -p "$port" -U peerlend peerlend

url="postgresql://peerlend@127.0.0.1:$port/peerlend"
log "PostgreSQL ready at $url"
echo "export DATABASE_URL=$url"
echo "export PEERLEND_TEST_POSTGRES_URL=$url"
echo "export PEERLEND_PG_DATA=$data"
