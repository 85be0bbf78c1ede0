#!/usr/bin/env bash
# fuzz.sh — `make fuzz`: runs every libFuzzer target in a build dir against its committed corpus.
#
#   scripts/fuzz.sh BUILD_DIR [SECONDS]
#
# SECONDS (default 20) is the budget for the whole run, shared between the targets
# (at least 5 s each), so `make fuzz` stays quick on a 2-core machine. For a long
# hunt, run one target by hand: build-fuzz/fuzz_csv -max_total_time=3600 DIR tests/fuzz/corpus/fuzz_csv
#
# The committed corpus is copied to a temp dir first, so new inputs never land in
# the repo. A crash, sanitizer report, leak or timeout fails the run; its input
# is kept under $KZ_FUZZ_ARTIFACTS (default /tmp/kizuna-fuzz-artifacts) and the
# last lines of the log are printed. Set KZ_FUZZ_KEEP=1 to keep the temp dirs.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

build=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS]}
total=${2:-20}
artifacts=${KZ_FUZZ_ARTIFACTS:-/tmp/kizuna-fuzz-artifacts}
corpus_root=tests/fuzz/corpus

if ! [[ "$total" =~ ^[0-9]+$ ]]; then
	echo "fuzz.sh: SECONDS must be a whole number, got '$total'" >&2
	exit 2
fi
mapfile -t targets < <(find "$build" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x 2>/dev/null | sort)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz_* binaries in $build; configure with" \
		"CC=clang cmake -S . -B $build -DKZ_FUZZ=ON and build first" >&2
	exit 2
fi

per=$((total / ${#targets[@]}))
[ "$per" -lt 5 ] && per=5
work=$(mktemp -d "${TMPDIR:-/tmp}/kizuna-fuzz.XXXXXX")
[ "${KZ_FUZZ_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"

# Abort on the first UBSan report (the build also passes -fno-sanitize-recover) and
# show where it came from; leaks count as findings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "fuzzing ${#targets[@]} targets for ${per}s each (budget ${total}s)"
failed=()
for bin in "${targets[@]}"; do
	name=$(basename "$bin")
	seeds=$corpus_root/$name
	corpus=$work/$name
	log=$work/$name.log
	mkdir -p "$corpus"
	if [ -d "$seeds" ]; then
		cp -r "$seeds"/. "$corpus"/
	else
		echo "  (no committed corpus in $seeds; starting empty)"
	fi
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	"$bin" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/$name-" "${dict[@]}" "$corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	units=$(find "$corpus" -type f | wc -l)
	if [ $rc -eq 0 ]; then
		printf '%-20s ok      %8s runs  %-10s corpus %s\n' "$name" "${runs:-?}" "${cov:-cov: ?}" "$units"
	else
		crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		printf '%-20s FAILED  exit %d  input: %s\n' "$name" "$rc" "${crash:-(none written)}"
		# the finding and the project's frames; libFuzzer's and libc's own are noise
		grep -E 'ERROR|runtime error|SUMMARY|^fuzz_|#[0-9]+ 0x' "$log" |
			grep -vE 'fuzzer::|__sanitizer_|libc\.so|libc_start|_start |raise|pthread_kill' |
			head -20 | sed 's/^/    /'
		echo "    reproduce: $bin ${crash:-<input>}"
		failed+=("$name")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "make fuzz: FAILED: ${failed[*]} (inputs under $artifacts)"
	exit 1
fi
echo "make fuzz: all targets ran clean"
