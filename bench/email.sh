#!/usr/bin/env bash
# email.sh — the email benchmarks (issue 6), side by side with Postfix's smtp-source:
#
#   email_render        renders/s of a 20 KB template with ~20 variables and a loop (one core).
#                       Target: >= 50000/s. No baseline (ratio against the target).
#   email_send          N personalised messages rendered, MIME-encoded and delivered to smtp-sink
#                       on localhost over C connections; baseline: smtp-source sending N messages
#                       of the same size to the same sink over C connections, in the same run.
#                       Target: >= 70% of smtp-source's rate. smtp-source runs right before
#                       and after each of our runs (shared machine); the baseline is their mean.
#   email_send_dkim_rsa, email_send_dkim_ed25519   the same, DKIM-signed (RSA-2048, Ed25519).
#
# usage: bench/email.sh     env: KZ_BENCH_EMAILS (N, default 100000), KZ_BENCH_SMTP_CONNS (C, 4),
#                           KZ_BENCH_RENDERS (200000), KZ_BENCH_RESULTS (results file)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${KZ_EMAIL_BENCH_BIN:-$ROOT/build/kz_email_bench}
RESULTS=${KZ_BENCH_RESULTS:-$ROOT/build/bench/results.jsonl}
N=${KZ_BENCH_EMAILS:-100000}
C=${KZ_BENCH_SMTP_CONNS:-4}
R=${KZ_BENCH_RENDERS:-200000}
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$BIN" ] || { echo "email.sh: build first (make): $BIN is missing" >&2; exit 1; }
[ -x "$SINK" ] && [ -x "$SOURCE" ] || { echo "email.sh: smtp-sink/smtp-source missing (postfix)" >&2; exit 1; }
mkdir -p "$(dirname "$RESULTS")"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SINK" -u "$(id -un)" "127.0.0.1:$port" 512 & sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
sleep 0.3

jget() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
record() { # name value unit baseline baseline_value
	local ratio
	ratio=$(python3 -c "print(round($2 / $5, 3) if $5 else 0)")
	printf '%-26s %10s %s   (%s %s, ratio %s)\n' "$1" "$2" "$3" "$4" "$5" "$ratio"
	printf '{"name":"%s","value":%s,"unit":"%s","baseline":"%s","baseline_value":%s,"ratio":%s}\n' \
		"$1" "$2" "$3" "$4" "$5" "$ratio" >> "$RESULTS"
}

out=$("$BIN" render "$R")
record email_render "$(jget "$out" per_second)" renders/s target 50000

# the size of one of our messages, for smtp-source's -l
size=$(jget "$("$BIN" send 20 1 "smtp://127.0.0.1:$port")" bytes)
# smtp-source's rate (msgs/s) now; the machine is shared, so it runs right before and right
# after each of our runs and the ratio is against the mean of the two.
source_rate() {
	local t0 t1
	t0=$(date +%s.%N)
	"$SOURCE" -s "$C" -m "$N" -l "$size" -f bench@kizuna.example -t sink@example.jp "127.0.0.1:$port"
	t1=$(date +%s.%N)
	echo "smtp-source: $N messages of $size bytes in $(python3 -c "print(round($t1 - $t0, 2))") s (load $(cut -d' ' -f1 /proc/loadavg))" >&2
	python3 -c "print(round($N / ($t1 - $t0)))"
}
before=$(source_rate)
for dkim in none rsa ed25519; do
	out=$("$BIN" send "$N" "$C" "smtp://127.0.0.1:$port" $([ $dkim = none ] || echo $dkim))
	after=$(source_rate)
	base=$(python3 -c "print(round(($before + $after) / 2))")
	name=email_send$([ $dkim = none ] || echo "_dkim_$dkim")
	echo "$name: smtp-source $before before, $after after (load $(cut -d' ' -f1 /proc/loadavg))"
	record "$name" "$(jget "$out" per_second)" msgs/s smtp_source "$base"
	before=$after
done
