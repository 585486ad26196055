#!/usr/bin/env bash
# Runs the whole suite. Called by `make test` (PATH already has the venv and anvil).
# Starts a throwaway PostgreSQL (installing it from Debian packages if needed) so the backend
# tests also run on PostgreSQL; in CI that leg is required, elsewhere it is skipped if impossible.
set -euo pipefail
cd "$(dirname "$0")/.."
ape compile >/dev/null

pg_data=""
stop_postgres() { [ -n "$pg_data" ] && bash scripts/ci_postgres.sh stop "$pg_data" || true; }
trap stop_postgres EXIT
if [ -z "${PEERLEND_TEST_POSTGRES_URL:-}" ] && [ "${PEERLEND_SKIP_POSTGRES:-}" != 1 ]; then
    if exports=$(bash scripts/ci_postgres.sh 2>.pytest_postgres.log); then
        eval "$exports"
        pg_data="${PEERLEND_PG_DATA:-}"
        unset DATABASE_URL  # only the PostgreSQL tests use it, through PEERLEND_TEST_POSTGRES_URL
        export PEERLEND_REQUIRE_POSTGRES=1
        echo "run_tests: PostgreSQL leg on ${PEERLEND_TEST_POSTGRES_URL}"
    elif [ "${CI:-}" = true ]; then
        cat .pytest_postgres.log >&2
        echo "run_tests: CI needs the PostgreSQL leg and it could not start" >&2
        exit 1
    else
        echo "run_tests: PostgreSQL unavailable ($(tail -n 1 .pytest_postgres.log)); its tests are skipped" >&2
    fi
fi

# The browser tests (tests/web) drive Debian's chromium; install it when missing (root + apt-get).
# In CI it must be there; elsewhere tests/web skip themselves without it.
if ! bash scripts/ci_chromium.sh >/dev/null 2>.pytest_chromium.log; then
    if [ "${CI:-}" = true ]; then
        cat .pytest_chromium.log >&2
        echo "run_tests: CI needs chromium for tests/web and it could not be installed" >&2
        exit 1
    fi
    echo "run_tests: chromium unavailable ($(tail -n 1 .pytest_chromium.log)); tests/web are skipped" >&2
fi
# The web app's bundle (make setup builds it; rebuilt here when run directly on a fresh tree).
[ -f backend/web/dist/index.html ] || node backend/web/build.mjs

# -n 2: the suites are independent; CI has two cores.
pytest -q -n 2 --dist loadfile "$@"
