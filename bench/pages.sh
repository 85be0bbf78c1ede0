#!/usr/bin/env bash
# pages.sh — landing pages served by kizuna (/p/{slug}, rendered once and served from memory)
# side by side with nginx serving the same bytes as a static file, in the same run.
#
# usage: bench/pages.sh
#
#   pages_serve   GET /p/{slug} of a typical landing page (hero, text, columns, a form, ~6 kB),
#                 keep-alive, req/s; baseline: nginx's rate for the identical file. Target: ≥ 0.5.
#   pages_ab_serve  the same page in an A/B test (two variants), a returning visitor (their
#                 kz_vid and kz_ab_ cookies), req/s; baseline: nginx, the identical file.
#   content_serve GET /t/content for a page with two slots (rules on visits, UTM, segment) for
#                 a tracked visitor, req/s; baseline: nginx serving the identical JSON.
#
# Results go to build/bench/results.jsonl as {"name","value","unit","baseline",
# "baseline_value","ratio"} lines (the format of bench/run.sh).
# Environment: KIZUNA_BIN (build/kizuna), KZ_BENCH_RESULTS, KZ_BENCH_DURATION (10 s),
# KZ_BENCH_CONNECTIONS (64), KZ_BENCH_THREADS (2). Servers listen on free ports of 127.0.0.1;
# everything started here is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIZUNA=${KIZUNA_BIN:-$ROOT/build/kizuna}
RESULTS=${KZ_BENCH_RESULTS:-$ROOT/build/bench/results.jsonl}
DURATION=${KZ_BENCH_DURATION:-10}
CONNS=${KZ_BENCH_CONNECTIONS:-64}
THREADS=${KZ_BENCH_THREADS:-2}

die() {
	printf 'bench/pages: %s\n' "$*" >&2
	exit 1
}
find_tool() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true; }
WRK=$(find_tool wrk)
NGINX=$(find_tool nginx)
NODE=$(find_tool node)
[ -n "$WRK" ] && [ -n "$NGINX" ] && [ -n "$NODE" ] || die "needs wrk, nginx and node: sudo bash scripts/deps.sh"
[ -x "$KIZUNA" ] || die "no kizuna binary at $KIZUNA: build it first (make)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kz-bench-pages.XXXXXX")
KZ_PID=""
NGX_PID=""
cleanup() {
	local pid
	for pid in $KZ_PID $NGX_PID; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
	"$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

# kizuna with a key and a page
"$KIZUNA" init --db "$TMP/k.db" >"$TMP/init.json"
KEY=$("$NODE" -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).api_key)' "$TMP/init.json")
KZ_PORT=$(free_port)
KIZUNA_LOG=warn KIZUNA_BASE_URL="http://127.0.0.1:$KZ_PORT" "$KIZUNA" serve --db "$TMP/k.db" \
	--listen "127.0.0.1:$KZ_PORT" 2>"$TMP/kz.log" &
KZ_PID=$!
for ((i = 0; i < 100; i++)); do
	curl -fsS "http://127.0.0.1:$KZ_PORT/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
api() { curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; }
FORM=$(api -X POST "http://127.0.0.1:$KZ_PORT/api/v1/forms" -d '{"name":"資料請求","fields":[
 {"name":"email","type":"email","required":true,"label":{"ja":"メールアドレス","en":"Email"},"maps_to":"email"},
 {"name":"last_name","type":"text","required":true,"label":{"ja":"姓","en":"Last name"},"maps_to":"last_name"},
 {"name":"company","type":"text","label":{"ja":"会社名","en":"Company"},"maps_to":"company"},
 {"name":"consent","type":"consent","required":true,"text":{"ja":"個人情報の取り扱いに同意します","en":"I agree"}}]}' |
	"$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))')
LOREM='マーケティングオートメーションで、匿名の訪問者を見込み顧客へ。フォーム、ランディングページ、ホワイトペーパー、パーソナライズをひとつの製品で。'
api -X POST "http://127.0.0.1:$KZ_PORT/api/v1/pages" -d "{\"slug\":\"seminar\",\"title\":\"無料セミナー 2026\",
 \"description\":\"$LOREM\",\"published\":true,\"seo\":{\"og_image\":\"https://cdn.example.com/og.png\"},\"blocks\":[
 {\"type\":\"hero\",\"heading\":\"無料セミナー：はじめての MA\",\"text\":\"$LOREM\",\"label\":\"申し込む\",\"url\":\"#form\"},
 {\"type\":\"columns\",\"columns\":[[{\"type\":\"text\",\"heading\":\"学べること\",\"text\":\"$LOREM\n$LOREM\"}],
  [{\"type\":\"text\",\"heading\":\"対象\",\"text\":\"$LOREM\"}],[{\"type\":\"image\",\"src\":\"/img/speaker.png\",\"alt\":\"講師\"}]]},
 {\"type\":\"text\",\"heading\":\"プログラム\",\"text\":\"$LOREM\n\n$LOREM\n\n$LOREM\"},
 {\"type\":\"form\",\"form_id\":$FORM}]}" >/dev/null
URL_KZ="http://127.0.0.1:$KZ_PORT/p/seminar"
mkdir -p "$TMP/www/p" "$TMP/ngx"
curl -fsS "$URL_KZ" -o "$TMP/www/p/seminar"
SIZE=$(stat -c %s "$TMP/www/p/seminar")
chmod -R a+rX "$TMP" # nginx workers may run as another user

# nginx with the same bytes as a static file
NGX_PORT=$(free_port)
cat >"$TMP/ngx/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/ngx/cb; proxy_temp_path $TMP/ngx/px; fastcgi_temp_path $TMP/ngx/fc;
  uwsgi_temp_path $TMP/ngx/uw; scgi_temp_path $TMP/ngx/sc;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGX_PORT;
    root $TMP/www;
    location / { default_type "text/html; charset=utf-8"; add_header Cache-Control "public, max-age=60"; }
  }
}
CONF
"$NGINX" -c "$TMP/ngx/nginx.conf" -p "$TMP/ngx" 2>"$TMP/ngx/start.log" &
NGX_PID=$!
URL_NG="http://127.0.0.1:$NGX_PORT/p/seminar"
for ((i = 0; i < 100; i++)); do
	curl -fsS "$URL_NG" -o /dev/null 2>/dev/null && break
	sleep 0.1
done
cmp -s <(curl -fsS "$URL_NG") "$TMP/www/p/seminar" || die "nginx does not serve the same bytes"

rate() { # URL SECONDS → requests/s
	"$WRK" -t"$THREADS" -c"$CONNS" -d"$2s" --latency "$1" >"$TMP/wrk.out" 2>&1 || { cat "$TMP/wrk.out" >&2; die "wrk failed"; }
	grep -q 'Non-2xx' "$TMP/wrk.out" && { cat "$TMP/wrk.out" >&2; die "non-2xx answers"; }
	awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.out"
}
rate "$URL_KZ" 2 >/dev/null # warm-up
rate "$URL_NG" 2 >/dev/null
KZ=$(rate "$URL_KZ" "$DURATION")
NG=$(rate "$URL_NG" "$DURATION")
RATIO=$(awk -v a="$KZ" -v b="$NG" 'BEGIN { printf "%.3f", a / b }')
mkdir -p "$(dirname "$RESULTS")"
printf '{"name":"pages_serve","value":%s,"unit":"req/s","baseline":"nginx static file","baseline_value":%s,"ratio":%s}\n' \
	"$KZ" "$NG" "$RATIO" >>"$RESULTS"
printf 'pages_serve: kizuna %s req/s, nginx %s req/s (same %s-byte page), ratio %s (target ≥ 0.5)\n' \
	"$KZ" "$NG" "$SIZE" "$RATIO"

# the same page in an A/B test, for a visitor who has seen it before (cookies)
api -X PATCH "http://127.0.0.1:$KZ_PORT/api/v1/pages/1" -d '{"variants":[{"key":"b","weight":50,"title":"無料セミナー 2026【残席わずか】"}]}' >/dev/null
COOKIE="kz_vid=bench-visitor-1; kz_ab_seminar=$(curl -fsS -D - -o /dev/null -H 'Cookie: kz_vid=bench-visitor-1' "$URL_KZ" |
	awk -F'[=;]' '/^Set-Cookie: kz_ab_seminar=/ {print $2}')"
curl -fsS -H "Cookie: $COOKIE" "$URL_KZ" -o "$TMP/www/p/seminar-ab"
URL_NG_AB="http://127.0.0.1:$NGX_PORT/p/seminar-ab"
rate_h() { # URL SECONDS HEADER → requests/s
	"$WRK" -t"$THREADS" -c"$CONNS" -d"$2s" -H "$3" "$1" >"$TMP/wrk.out" 2>&1 || { cat "$TMP/wrk.out" >&2; die "wrk failed"; }
	grep -q 'Non-2xx' "$TMP/wrk.out" && { cat "$TMP/wrk.out" >&2; die "non-2xx answers"; }
	awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.out"
}
rate_h "$URL_KZ" 2 "Cookie: $COOKIE" >/dev/null
KZ=$(rate_h "$URL_KZ" "$DURATION" "Cookie: $COOKIE")
NG=$(rate "$URL_NG_AB" "$DURATION")
RATIO=$(awk -v a="$KZ" -v b="$NG" 'BEGIN { printf "%.3f", a / b }')
printf '{"name":"pages_ab_serve","value":%s,"unit":"req/s","baseline":"nginx static file","baseline_value":%s,"ratio":%s}\n' \
	"$KZ" "$NG" "$RATIO" >>"$RESULTS"
printf 'pages_ab_serve: kizuna %s req/s, nginx %s req/s (an A/B page for a returning visitor), ratio %s\n' \
	"$KZ" "$NG" "$RATIO"

# personalization: /t/content for a tracked visitor and two slots with rules
SITE=$(api -X POST "http://127.0.0.1:$KZ_PORT/api/v1/sites" -d '{"name":"bench"}' |
	"$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).site_key))')
SEG=$(api -X POST "http://127.0.0.1:$KZ_PORT/api/v1/segments" -d '{"name":"VIP","type":"static"}' |
	"$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))')
api -X POST "http://127.0.0.1:$KZ_PORT/api/v1/slots" -d "{\"name\":\"hero\",\"default\":{\"html\":\"<h2>ようこそ</h2>\"},\"variants\":[
 {\"key\":\"vip\",\"rule\":{\"segment_id\":$SEG},\"html\":\"<h2>VIP</h2>\"},
 {\"key\":\"ad\",\"rule\":{\"utm_campaign\":\"autumn\"},\"html\":\"<h2>秋</h2>\"},
 {\"key\":\"back\",\"rule\":{\"visitor\":\"returning\"},\"html\":\"<h2>おかえりなさい</h2>\"}]}" >/dev/null
api -X POST "http://127.0.0.1:$KZ_PORT/api/v1/slots" -d '{"name":"side","default":{"html":"<p>資料請求はこちら</p>"},
 "variants":[{"key":"many","rule":{"min_visits":3},"html":"<p>導入事例</p>"}]}' >/dev/null
api -X POST "http://127.0.0.1:$KZ_PORT/api/v1/events" -d '{"type":"page","anonymousId":"bench-visitor-1","context":{"url":"https://www.example.jp/"}}' >/dev/null
URL_CT="http://127.0.0.1:$KZ_PORT/t/content?site=$SITE&vid=bench-visitor-1&slots=hero,side&popups=1&url=https%3A%2F%2Fwww.example.jp%2Fpricing"
sleep 0.5
curl -fsS "$URL_CT" -o "$TMP/www/content.json"
URL_NG_CT="http://127.0.0.1:$NGX_PORT/content.json"
rate "$URL_CT" 2 >/dev/null
KZ=$(rate "$URL_CT" "$DURATION")
NG=$(rate "$URL_NG_CT" "$DURATION")
RATIO=$(awk -v a="$KZ" -v b="$NG" 'BEGIN { printf "%.3f", a / b }')
printf '{"name":"content_serve","value":%s,"unit":"req/s","baseline":"nginx static file","baseline_value":%s,"ratio":%s}\n' \
	"$KZ" "$NG" "$RATIO" >>"$RESULTS"
printf 'content_serve: kizuna %s req/s, nginx %s req/s (the same %s-byte answer), ratio %s\n' \
	"$KZ" "$NG" "$(stat -c %s "$TMP/www/content.json")" "$RATIO"
