#!/usr/bin/env bash
# lint.sh — `make lint`: cppcheck and clang-tidy over src/; exits non-zero on any finding.
#
#   scripts/lint.sh [FILE.c ...]     (default: every src/**/*.c)
#
# clang-tidy reads .clang-tidy and the compile commands of the build dir
# ($KZ_LINT_BUILD, default build/, made by `make build`). A finding that is a
# false positive gets an inline suppression next to the code, with the reason:
#   // cppcheck-suppress <id>      or      // NOLINT(<check>): <why>
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

build=${KZ_LINT_BUILD:-build}
jobs=$(nproc 2>/dev/null || echo 2)
if [ $# -gt 0 ]; then
	files=("$@")
else
	mapfile -t files < <(find src -name '*.c' | sort)
fi
failed=()

for tool in cppcheck clang-tidy; do
	if ! command -v "$tool" >/dev/null; then
		echo "lint.sh: $tool is not installed; run scripts/deps.sh (or apt-get install $tool)" >&2
		exit 2
	fi
done
if [ ! -f "$build/compile_commands.json" ]; then
	echo "lint.sh: no $build/compile_commands.json; run 'make build' first" \
		"(or set KZ_LINT_BUILD to a configured build dir)" >&2
	exit 2
fi

jansson_h=$(pkg-config --variable=includedir jansson 2>/dev/null || echo /usr/include)/jansson.h

echo "==== cppcheck (${#files[@]} files)"
# jansson.h is pre-included so cppcheck knows json_array_foreach & co. as loops
# rather than stopping at an "unknown macro"; other system headers stay unparsed.
if cppcheck --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
	--std=c11 -I src -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	--include="$jansson_h" --library=gnu --library=sqlite3 --library=libcurl \
	--library=openssl --suppress=missingIncludeSystem \
	--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
	-q -j "$jobs" "${files[@]}"; then
	echo "cppcheck: clean"
else
	failed+=(cppcheck)
fi

echo "==== clang-tidy (${#files[@]} files, $jobs jobs)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# One clang-tidy per file, in parallel; each file's report stays in one piece. The
# analyzer's path notes (often dozens per finding) only show with KZ_LINT_NOTES=1.
tidy_one()
{
	local report status
	report=$(clang-tidy -p "$KZ_LINT_BUILD_DIR" --quiet "$1" 2>&1)
	status=$?
	printf '%s\n' "$report" |
		grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Error while processing|treated as errors' |
		awk -v notes="${KZ_LINT_NOTES:-0}" 'notes == 1 { print; next }
			/: note: / { skip = 2; next } skip > 0 { skip--; next } { print }' |
		grep .
	[ "$status" -eq 0 ] || echo "LINT-FAILED $1"
}
export -f tidy_one
export KZ_LINT_BUILD_DIR=$build
# shellcheck disable=SC2016 # $1 is expanded by the inner bash, on purpose
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} bash -c 'tidy_one "$1"' _ {} >"$out"
grep -v '^LINT-FAILED ' "$out"
nfail=$(grep -c '^LINT-FAILED ' "$out")
if [ "$nfail" -eq 0 ]; then
	echo "clang-tidy: clean"
else
	echo "clang-tidy: findings in $nfail file(s) (KZ_LINT_NOTES=1 shows the analyzer's paths):"
	grep -hoE '^[^ :]+:[0-9]+:[0-9]+: (warning|error): .*' "$out" | sed 's|^'"$PWD"'/||' |
		sort -u | sed 's/^/  /'
	failed+=(clang-tidy)
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "make lint: FAILED: ${failed[*]}"
	exit 1
fi
echo "make lint: clean"
