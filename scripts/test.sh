#!/usr/bin/env bash
# test.sh — `make test`: unit tests, black-box tests on SQLite and PostgreSQL, then the same
# under AddressSanitizer + UBSan. Exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
export TZ=UTC LC_ALL=C.UTF-8
failed=()

step() { echo; echo "==== $*"; }

step "unit tests (release build; SQLite, and PostgreSQL through a throwaway server)"
node tests/it/with-pg.mjs ctest --test-dir build --output-on-failure -j "$JOBS" || failed+=("unit")

step "black-box tests (release build; SQLite and PostgreSQL)"
KIZUNA_BIN="$PWD/build/kizuna" node tests/it/run.mjs || failed+=("it")

step "browser tests (Chromium; SQLite and PostgreSQL)"
if [ -f scripts/e2e.sh ]; then
  KIZUNA_BIN="$PWD/build/kizuna" bash scripts/e2e.sh || failed+=("e2e")
fi

step "building with AddressSanitizer + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKZ_SANITIZE=ON >/dev/null &&
  cmake --build build-asan -j "$JOBS" -- --no-print-directory >/dev/null || failed+=("asan-build")

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ -x build-asan/kizuna ]; then
  step "unit tests under ASan+UBSan"
  node tests/it/with-pg.mjs ctest --test-dir build-asan --output-on-failure -j "$JOBS" || failed+=("unit-asan")
  step "black-box tests under ASan+UBSan (SQLite and PostgreSQL)"
  KIZUNA_BIN="$PWD/build-asan/kizuna" node tests/it/run.mjs || failed+=("it-asan")
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "make test: FAILED: ${failed[*]}"
  exit 1
fi
echo "make test: all suites passed"
