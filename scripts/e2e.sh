#!/usr/bin/env bash
# e2e.sh — the browser tests (tests/e2e/) on SQLite and PostgreSQL; exits non-zero when any failed.
#
# Usage: scripts/e2e.sh [FILTER...] [--NODE-TEST-FLAG...]   (arguments go to tests/e2e/run.mjs)
# Env: KIZUNA_BIN (default build/kizuna), KZ_BACKENDS (default sqlite,postgres),
#      KIZUNA_WEB_DIR (serve the UI from a folder instead of the binary's embedded copy).
# Screenshots of failed tests land in build/e2e-failures/.
set -uo pipefail
cd "$(dirname "$0")/.."
export TZ=UTC LC_ALL=C.UTF-8
export KIZUNA_BIN="${KIZUNA_BIN:-$PWD/build/kizuna}"

if [ ! -d node_modules/playwright-core ]; then
  echo "e2e.sh: installing the pinned node packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error || { echo "e2e.sh: npm ci failed" >&2; exit 2; }
fi
rm -rf build/e2e-failures
node tests/e2e/run.mjs "$@"
