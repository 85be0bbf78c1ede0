#!/usr/bin/env bash
# run.sh — `make run`: start Kizuna on SQLite with demo data and say how to reach it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/kizuna
DB=${KIZUNA_DB:-./data/kizuna.db}
LISTEN=${KIZUNA_LISTEN:-127.0.0.1:8080}
CREDS=./data/credentials.json
mkdir -p data

first=0
if [ ! -f "$CREDS" ]; then
  # First start: create the database, the admin and a key, then the demo people and companies
  # (the rest of the demo goes in through the REST API once the server is up, below).
  umask 077
  "$BIN" init --db "$DB" > "$CREDS.tmp"
  mv "$CREDS.tmp" "$CREDS"
  "$BIN" demo --db "$DB" >/dev/null
  first=1
fi

field() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync('$CREDS','utf8'))['$1'] ?? ''))"; }
cat <<MSG

  Kizuna is starting.

    URL:       http://$LISTEN/
    Login:     $(field admin_email) / $(field admin_password)
    API key:   $(field api_key)
    Database:  $DB  (credentials kept in $CREDS)

  Try:  curl -H "Authorization: Bearer $(field api_key)" http://$LISTEN/api/v1/contacts?limit=3
  Stop with Ctrl-C.

MSG
"$BIN" serve --db "$DB" --listen "$LISTEN" &
server=$!
trap 'kill -TERM $server 2>/dev/null' INT TERM
if [ "$first" = 1 ]; then
  # Site visits, scoring, segments, emails and forms, as an integration would load them.
  node -e 'const u = process.argv[1], t0 = Date.now();
    (async () => { for (;;) { try { if ((await fetch(u)).ok) return; } catch {}
      if (Date.now() - t0 > 15000) process.exit(1); await new Promise((r) => setTimeout(r, 100)); } })();' \
    "http://$LISTEN/healthz" || true
  node scripts/demo.mjs "http://$LISTEN" "$(field api_key)" >/dev/null ||
    echo "  (the marketing demo data could not be loaded; the server runs without it)" >&2
fi
wait "$server"
