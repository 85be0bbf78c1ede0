#!/usr/bin/env bash
# track.sh — the tracking benchmarks of issue 4, each side by side with nginx answering 204 to
# the identical request in the same run (bench/run.sh track calls this script).
#
# usage: bench/track.sh            (or bench/run.sh track)
#
#   track_collect         single-event POST /t/collect (kz.js's request), keep-alive, req/s
#   track_events          single-event POST /api/v1/events, keep-alive, req/s
#   track_events_batch100 POST /api/v1/events with batches of 100, events/s
#   track_*_p50/_p99      latency at half of kizuna's peak rate (paced with wrk's delay():
#                         wrk2 is not installed; see docs/benchmarks.md for what that means)
#   track_rss_hwm         the server's peak RSS (VmHWM) after all of the above, kB
#
# Every answer kizuna gives is a durable acknowledgement: the event is in the event log (one
# write(2) into the page cache: survives kill -9 of the server) before the 200; the writer
# thread applies the log to SQLite behind it. *_applied is the rate into the database: the
# peak run's events over the run plus the time the writer needed to finish them.
# Results go to build/bench/results.jsonl as {"name","value","unit","baseline",
# "baseline_value","ratio"} lines (same format as bench/run.sh).
#
# Environment: KIZUNA_BIN (default build/kizuna), KZ_BENCH_RESULTS, KZ_BENCH_DURATION (10 s),
# KZ_BENCH_TRACK_CONNECTIONS (64), KZ_BENCH_THREADS (2), KZ_BENCH_TMPDIR (/tmp),
# KZ_BENCH_TRACK_ROUNDS (3: kizuna and nginx measured in turn this many times, medians kept).
# Servers listen on random free ports of 127.0.0.1; everything started here is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/bench
KIZUNA=${KIZUNA_BIN:-$ROOT/build/kizuna}
RESULTS=${KZ_BENCH_RESULTS:-$ROOT/build/bench/results.jsonl}
DURATION=${KZ_BENCH_DURATION:-10}
CONNS=${KZ_BENCH_TRACK_CONNECTIONS:-64}
THREADS=${KZ_BENCH_THREADS:-2}
ROUNDS=${KZ_BENCH_TRACK_ROUNDS:-3}
WARMUP=2
LUA="" # the wrk script, written into the temp directory by write_lua

die() {
	printf 'bench/track: %s\n' "$*" >&2
	exit 1
}

find_tool() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true; }

WRK=$(find_tool wrk)
NGINX=$(find_tool nginx)
NODE=$(find_tool node)
if [ -z "$WRK" ] || [ -z "$NGINX" ] || [ -z "$NODE" ]; then
	die "needs wrk, nginx and node. Install them with: sudo bash scripts/deps.sh"
fi
[ -x "$KIZUNA" ] || die "no kizuna binary at $KIZUNA: build it first (make), or set KIZUNA_BIN"

declare -A LIVE=()
TMP=""
stop_pid() {
	local pid=$1 i
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	unset "LIVE[$pid]"
}
cleanup() {
	local pid
	for pid in "${!LIVE[@]}"; do stop_pid "$pid"; done
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tracked() {
	local pid rc=0
	"$@" &
	pid=$!
	LIVE[$pid]=client
	wait "$pid" || rc=$?
	unset "LIVE[$pid]"
	return "$rc"
}

free_port() {
	"$NODE" -e 'const s=require("net").createServer();
		s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_kizuna() { # DB LOG → KZ_PID, KZ_PORT
	local i
	"$KIZUNA" serve --db "$1" --listen 127.0.0.1:0 2>"$2" &
	KZ_PID=$!
	LIVE[$KZ_PID]=kizuna
	KZ_PORT=""
	for ((i = 0; i < 300; i++)); do
		KZ_PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$2" | head -n1)
		[ -n "$KZ_PORT" ] && return 0
		kill -0 "$KZ_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$2" >&2
	die "kizuna serve did not start (log above)"
}

start_nginx() { # DIR → NGX_PID, NGX_PORT: 204 for both tracking paths, an access log like kizuna's
	local dir=$1 i temp="" m
	mkdir -p "$dir/tmp"
	for m in client-body fastcgi proxy scgi uwsgi; do
		"$NGINX" -V 2>&1 | grep -q -- "--http-$m-temp-path" && temp+="	${m//-/_}_temp_path $dir/tmp/$m;"$'\n'
	done
	NGX_PORT=$(free_port)
	cat >"$dir/nginx.conf" <<-CONF
		daemon off;
		master_process on;
		worker_processes 2;
		pid $dir/nginx.pid;
		error_log $dir/error.log warn;
		events { worker_connections 4096; }
		http {
		$temp
			access_log $dir/access.log;
			keepalive_requests 1000000;
			keepalive_timeout 120s;
			client_body_buffer_size 64k;
			server {
				listen 127.0.0.1:$NGX_PORT;
				location = /t/collect { return 204; }
				location = /api/v1/events { return 204; }
			}
		}
	CONF
	"$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" 2>"$dir/stderr.log" &
	NGX_PID=$!
	LIVE[$NGX_PID]=nginx
	for ((i = 0; i < 100; i++)); do
		port_open "$NGX_PORT" && return 0
		sleep 0.1
	done
	cat "$dir/error.log" "$dir/stderr.log" >&2
	die "nginx did not start"
}

api() { # METHOD PATH KEY [BODY] → the answer's body; dies unless 2xx
	# shellcheck disable=SC2016 # the ${...} below are JavaScript template strings
	"$NODE" -e '
		const [m, url, key, body] = process.argv.slice(1);
		const h = { Authorization: `Bearer ${key}` };
		if (body) h["Content-Type"] = "application/json";
		fetch(url, { method: m, headers: h, body: body || undefined }).then(async (r) => {
			const t = await r.text();
			if (r.status >= 300) { console.error(`${m} ${url} → ${r.status} ${t}`); process.exit(1); }
			process.stdout.write(t);
		}).catch((e) => { console.error(`${m} ${url}: ${e.message}`); process.exit(1); });
	' "$1" "http://127.0.0.1:$KZ_PORT$2" "$3" "${4:-}" || die "$1 $2 failed"
}

# wrk_run OUT CONNS SECONDS URL ARGS...: one wrk measurement; OUT gets wrk's report.
wrk_run() {
	local out=$1 c=$2 s=$3 url=$4
	shift 4
	tracked "$WRK" -t"$THREADS" -c"$c" -d"${s}s" --latency -s "$LUA" "$url" -- "$@" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk failed"; }
	grep -q '^BENCH ' "$out" || { cat "$out" >&2; die "wrk printed no BENCH line"; }
}
field() { awk -v k="$2" '$1 == "BENCH" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1"; }
rate() { # 2xx answers per second
	awk -v r="$(field "$1" requests)" -v e="$(field "$1" non2xx)" -v d="$(field "$1" duration_us)" \
		'BEGIN { printf "%.1f", (r - e) / (d / 1e6) }'
}
notes() {
	local k v s=""
	for k in non2xx connect_err read_err write_err timeouts; do
		v=$(field "$1" "$k")
		[ "${v:-0}" != 0 ] && s+=" $k=$v"
	done
	[ -n "$s" ] && printf '  (wrk:%s)' "$s"
	return 0
}

record() { # NAME VALUE UNIT BASELINE BASELINE_VALUE [NOTE]
	local ratio
	ratio=$(awk -v a="$2" -v b="$5" 'BEGIN { if (b > 0) printf "%.4f", a / b; else print "null" }')
	printf '%-28s %12s %-9s %-14s %12s  ratio %s%s\n' "$1" "$2" "$3" "$4" "$5" "$ratio" "${6:-}"
	mkdir -p "$(dirname "$RESULTS")"
	printf '{"name":"%s","value":%s,"unit":"%s","baseline":"%s","baseline_value":%s,"ratio":%s}\n' \
		"$1" "$2" "$3" "$4" "$5" "$ratio" >>"$RESULTS"
}

# drain: wait until the writer has applied every logged event (the /metrics gauge
# kizuna_track_queue_events is 0); prints "SECONDS LOGGED" (the wait, and the events it
# applied meanwhile).
drain() {
	# shellcheck disable=SC2016
	"$NODE" -e '
		const url = process.argv[1];
		const t0 = Date.now();
		let first = null;
		(async () => {
			for (;;) {
				const m = await (await fetch(url)).text();
				const q = Number((m.match(/^kizuna_track_queue_events (\d+)/m) || [])[1] || 0);
				if (first === null) first = q;
				if (q === 0) break;
				if (Date.now() - t0 > 600000) { console.error("drain: still " + q + " after 10 min"); process.exit(1); }
				await new Promise((r) => setTimeout(r, 50));
			}
			console.log(((Date.now() - t0) / 1000).toFixed(3) + " " + first);
		})().catch((e) => { console.error(e.message); process.exit(1); });
	' "http://127.0.0.1:$KZ_PORT/metrics" || die "could not read /metrics"
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# measure NAME MODE KZKEY BATCH UNIT: peak on kizuna and on nginx, ROUNDS times in turn (the
# VM's speed drifts from minute to minute: nginx alone has moved between 70k and 200k req/s
# from one run to the next), the medians compared; then latency at half kizuna's peak.
measure() {
	local name=$1 mode=$2 key=$3 batch=$4 unit=$5 d=$TMP/$1 kzr ngr mult half pause dsec dq
	local r kzs="" ngs="" pairs="" k n
	mkdir -p "$d"
	mult=$batch
	wrk_run "$d/warm" "$CONNS" "$WARMUP" "http://127.0.0.1:$KZ_PORT" "$mode" "$key" "w$name" "$batch"
	drain >/dev/null
	for ((r = 1; r <= ROUNDS; r++)); do
		wrk_run "$d/kz$r" "$CONNS" "$DURATION" "http://127.0.0.1:$KZ_PORT" "$mode" "$key" "p$r$name" "$batch"
		read -r dsec dq < <(drain)
		wrk_run "$d/ng$r" "$CONNS" "$DURATION" "http://127.0.0.1:$NGX_PORT" "$mode" "" "n$r$name" "$batch"
		k=$(awk -v r="$(rate "$d/kz$r")" -v m="$mult" 'BEGIN { printf "%.1f", r * m }')
		n=$(awk -v r="$(rate "$d/ng$r")" -v m="$mult" 'BEGIN { printf "%.1f", r * m }')
		kzs+=" $k"
		ngs+=" $n"
		pairs+=" $(awk -v a="$k" -v b="$n" 'BEGIN { printf "%.0f/%.0f", a, b }')"
		# the round whose kizuna rate is the median is the one the other lines describe
		echo "$k $r $dsec $dq" >>"$d/rounds"
	done
	kzr=$(echo "$kzs" | median)
	ngr=$(echo "$ngs" | median)
	read -r _ r dsec dq < <(sort -g "$d/rounds" | awk -v m="$kzr" '$1 == m { print; exit }')
	cp "$d/kz$r" "$d/kz"
	record "$name" "$kzr" "$unit" nginx_204 "$ngr" \
		"  [medians of $ROUNDS rounds kizuna/nginx:$pairs; $CONNS conns; kizuna p50 $(field "$d/kz" p50_us) us p99 $(field "$d/kz" p99_us) us]$(notes "$d/kz")"
	# Into the store: the events of the peak run over the run plus the time the writer then
	# needed to apply what was still in the log (the end-to-end rate a sustained load gets).
	record "${name}_applied" "$(awk -v r="$kzr" -v d="$(field "$d/kz" duration_us)" -v w="$dsec" \
		'BEGIN { s = d / 1e6; printf "%.1f", r * s / (s + w) }')" "$unit" nginx_204 "$ngr" \
		"  [$dq events still in the log at the end of the run, applied in $dsec s]"
	# Half the peak: each connection waits `pause` ms before its next request, so the offered
	# rate is about CONNS * 1000 / (pause + latency) requests/s.
	half=$(awk -v r="$(rate "$d/kz")" 'BEGIN { printf "%.1f", r / 2 }')
	pause=$(awk -v h="$half" -v c="$CONNS" -v l="$(field "$d/kz" p50_us)" \
		'BEGIN { p = c * 1000 / h - l / 1000; if (p < 1) p = 1; printf "%d", p + 0.5 }')
	export KZ_WRK_DELAY_MS=$pause
	drain >/dev/null
	wrk_run "$d/half" "$CONNS" "$DURATION" "http://127.0.0.1:$KZ_PORT" "$mode" "$key" "h$name" "$batch" "$pause"
	wrk_run "$d/nhalf" "$CONNS" "$DURATION" "http://127.0.0.1:$NGX_PORT" "$mode" "" "m$name" "$batch" "$pause"
	unset KZ_WRK_DELAY_MS
	record "${name}_p50" "$(awk -v u="$(field "$d/half" p50_us)" 'BEGIN { printf "%.3f", u / 1000 }')" ms \
		nginx_204 "$(awk -v u="$(field "$d/nhalf" p50_us)" 'BEGIN { printf "%.3f", u / 1000 }')" \
		"  [paced ${pause} ms/conn: kizuna $(rate "$d/half") req/s (target $half), nginx $(rate "$d/nhalf") req/s]$(notes "$d/half")"
	record "${name}_p99" "$(awk -v u="$(field "$d/half" p99_us)" 'BEGIN { printf "%.3f", u / 1000 }')" ms \
		nginx_204 "$(awk -v u="$(field "$d/nhalf" p99_us)" 'BEGIN { printf "%.3f", u / 1000 }')"
}

# write_lua: the wrk request generator (kept here so the benchmark is one file); it prints
# bench/wrk_report.lua's BENCH line at the end, like bench/run.sh's scripts.
write_lua() {
	LUA=$TMP/track.lua
	export KZ_WRK_REPORT=$BENCH_DIR/wrk_report.lua
	cat >"$LUA" <<'LUA'
-- track.lua (written by bench/track.sh) — wrk script: one event, or BATCH events, per request.
--
-- usage: wrk -s track.lua URL -- MODE KEY RUN_TAG [BATCH] [DELAY_MS]
--   MODE collect: POST /t/collect the way kz.js sends it (text/plain, Origin, site_key in the body);
--        events:  POST /api/v1/events with the API key KEY (a Bearer token).
--   KEY   the site key (collect) or the API key (events); "" for the nginx baseline.
--   BATCH events per request (1: a single event; more: {"batch": [...]}), events only.
--   DELAY_MS wait this long before each request on a connection (pacing, for latency at a
--        chosen rate: wrk has no constant-rate mode, wrk2 is not installed); needs
--        KZ_WRK_DELAY_MS set (to the same value) in wrk's environment.
-- Visitors come from a pool of 1000 per thread; every event has a new messageId.

dofile(os.getenv("KZ_WRK_REPORT"))

local threads = 0
function setup(thread)
	thread:set("tid", threads)
	threads = threads + 1
end

local mode, key, tag, batch, pause = "collect", "", "r", 1, 0
function init(args)
	mode = args[1] or mode
	key = args[2] or key
	tag = args[3] or tag
	batch = tonumber(args[4] or "1") or 1
	pause = tonumber(args[5] or "0") or 0
	wrk.method = "POST"
	if mode == "collect" then
		wrk.path = "/t/collect"
		wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
		wrk.headers["Origin"] = "http://bench.example"
		wrk.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " ..
			"(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	else
		wrk.path = "/api/v1/events"
		wrk.headers["Content-Type"] = "application/json"
		if key ~= "" then
			wrk.headers["Authorization"] = "Bearer " .. key
		end
	end
end

local n = 0
local function page(i)
	return string.format(
		'{"type":"page","anonymousId":"bv-%s-%d-%d","messageId":"bm-%s-%d-%d",' ..
		'"context":{"url":"http://bench.example/products/%d?utm_source=news&utm_medium=email",' ..
		'"title":"製品 %d","referrer":"https://www.google.com/"}}',
		tag, tid or 0, i % 1000, tag, tid or 0, i, i % 50, i % 50)
end
local function track(i)
	return string.format(
		'{"type":"track","event":"Viewed Pricing","anonymousId":"bv-%s-%d-%d",' ..
		'"messageId":"bm-%s-%d-%d","properties":{"plan":"pro","n":%d}}',
		tag, tid or 0, i % 1000, tag, tid or 0, i, i)
end

function request()
	if mode == "collect" then
		n = n + 1
		local ev = page(n)
		return wrk.format(nil, nil, nil, '{"site_key":"' .. key .. '",' .. ev:sub(2))
	end
	if batch <= 1 then
		n = n + 1
		return wrk.format(nil, nil, nil, track(n))
	end
	local evs = {}
	for k = 1, batch do
		n = n + 1
		evs[k] = track(n)
	end
	return wrk.format(nil, nil, nil, '{"batch":[' .. table.concat(evs, ",") .. ']}')
end

-- wrk decides whether a script paces before init() runs, so the pause comes from the
-- environment (KZ_WRK_DELAY_MS), read when the script loads; DELAY_MS then overrides it.
if (tonumber(os.getenv("KZ_WRK_DELAY_MS") or "0") or 0) > 0 then
	function delay()
		return pause
	end
end
LUA
}

main() {
	local key site_key stored
	TMP=$(mktemp -d "${KZ_BENCH_TMPDIR:-/tmp}/kz-track.XXXXXX")
	chmod 755 "$TMP"
	write_lua
	echo "kizuna: $KIZUNA ($("$KIZUNA" version)); results: $RESULTS"
	echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)," \
		"$(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	key=$("$KIZUNA" init --db "$TMP/kizuna.db" | sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p')
	[ -n "$key" ] || die "kizuna init printed no api_key"
	start_kizuna "$TMP/kizuna.db" "$TMP/serve.log"
	site_key=$(api POST /api/v1/sites "$key" \
		'{"name":"Bench","allowed_origins":["http://bench.example"],"bot_filter":true}' |
		sed -n 's/.*"site_key": *"\([^"]*\)".*/\1/p')
	[ -n "$site_key" ] || die "could not create the benchmark site"
	start_nginx "$TMP/nginx"
	echo "== tracking: wrk -t$THREADS -c$CONNS, ${DURATION} s per run after a ${WARMUP} s warm-up;" \
		"kizuna (SQLite) answers once the events are in its event log, nginx answers 204 at once"
	measure track_collect collect "$site_key" 1 req/s
	measure track_events events "$key" 1 req/s
	measure track_events_batch100 events "$key" 100 events/s
	record track_rss_hwm "$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$KZ_PID/status")" kB \
		none 0 "  [VmRSS now $(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$KZ_PID/status")]"
	stored=$(api GET /api/v1/events/count "$key" | sed -n 's/.*"count": *\([0-9]*\).*/\1/p')
	echo "   events stored: $stored; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
	stop_pid "$KZ_PID"
	stop_pid "$NGX_PID"
}

main "$@"
