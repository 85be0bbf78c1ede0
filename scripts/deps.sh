#!/usr/bin/env bash
# deps.sh — install every Debian package Kizuna's build, tests and run need (idempotent).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git ca-certificates
  clang libclang-rt-14-dev clang-tidy clang-format cppcheck
  libmicrohttpd-dev libjansson-dev libsqlite3-dev sqlite3
  libpq-dev postgresql-15 postgresql-client-15 libyaml-dev
  libcurl4-openssl-dev libsodium-dev libssl-dev zlib1g-dev libmimalloc-dev
  libgmime-3.0-dev libutf8proc-dev libcmocka-dev
  nginx-light wrk postfix
  chromium fonts-noto-cjk
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node (for black-box and browser tests): any node+npm on PATH will do; else Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "deps.sh: missing packages (${missing[*]}) and not root; run as root" >&2
    exit 1
  fi
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# postfix asks questions on install; answer them up front.
echo "postfix postfix/main_mailer_type select Local only" | $SUDO debconf-set-selections 2>/dev/null || true
echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# We start nginx/postfix/postgres ourselves in tests and benches; keep the system copies quiet.
for svc in nginx postfix postgresql; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
