#!/usr/bin/env bash
# run.sh — `make run`: start Kizuna on SQLite with demo data and say how to reach it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/kizuna
DB=${KIZUNA_DB:-./data/kizuna.db}
LISTEN=${KIZUNA_LISTEN:-127.0.0.1:8080}
CREDS=./data/credentials.json
mkdir -p data

if [ ! -f "$CREDS" ]; then
  # First start: create the database, the admin and a key, then the demo data.
  umask 077
  "$BIN" init --db "$DB" > "$CREDS.tmp"
  mv "$CREDS.tmp" "$CREDS"
  "$BIN" demo --db "$DB" >/dev/null
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
exec "$BIN" serve --db "$DB" --listen "$LISTEN"
