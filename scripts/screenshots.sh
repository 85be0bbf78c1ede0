#!/usr/bin/env bash
# screenshots.sh — `make screenshots`: every screen of the admin UI in Japanese and English, on demo data.
#
# Starts `kizuna serve` on a fresh SQLite database with `kizuna init` + `kizuna demo`, signs in
# with headless Chromium and saves build/screenshots/<lang>-<screen>.png at 1366×800.
# Env: KIZUNA_BIN (default build/kizuna), KIZUNA_WEB_DIR (serve the UI from a folder),
#      KZ_SCREENSHOT_DIR (default build/screenshots).
set -uo pipefail
cd "$(dirname "$0")/.."
export TZ=UTC LC_ALL=C.UTF-8
export KIZUNA_BIN="${KIZUNA_BIN:-$PWD/build/kizuna}"
export KZ_TEST_BACKEND=sqlite
OUT="${KZ_SCREENSHOT_DIR:-$PWD/build/screenshots}"
export KZ_SCREENSHOT_DIR="$OUT"

if [ ! -x "$KIZUNA_BIN" ]; then
  echo "screenshots.sh: kizuna binary not found at $KIZUNA_BIN: run \`make\` or set KIZUNA_BIN" >&2
  exit 2
fi
if [ ! -d node_modules/playwright-core ]; then
  echo "screenshots.sh: installing the pinned node packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error || { echo "screenshots.sh: npm ci failed" >&2; exit 2; }
fi
rm -rf "$OUT"
mkdir -p "$OUT"
node --test --test-reporter=spec --test-timeout=180000 tests/e2e/screenshots.mjs
rc=$?
n=$(find "$OUT" -name '*.png' | wc -l)
echo "screenshots.sh: $n screenshots in ${OUT#$PWD/}/"
exit $rc
