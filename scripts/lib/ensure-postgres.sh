#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Makes sure Debian's PostgreSQL runs on 127.0.0.1:5432 with a login role and database `clawfleet`
# (password `clawfleet`, CREATEDB so tests can make a fresh database per run). Idempotent.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=apt.sh
source "$here/apt.sh"

ensure_packages postgresql
version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
[ -n "$version" ] || { echo "no PostgreSQL server under /usr/lib/postgresql" >&2; exit 1; }

cluster_status() { pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}'; }

# Some images ship the server without its default cluster.
[ -n "$(cluster_status)" ] || pg_createcluster "$version" main >&2
[ "$(cluster_status)" = online ] || pg_ctlcluster "$version" main start

for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not accept connections on 127.0.0.1:5432" >&2; exit 1; }

# SQL goes through stdin, so even this test password never shows in a process list.
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT 'CREATE ROLE clawfleet' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clawfleet')\gexec
ALTER ROLE clawfleet LOGIN CREATEDB PASSWORD 'clawfleet';
SELECT 'CREATE DATABASE clawfleet OWNER clawfleet'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'clawfleet')\gexec
SQL
echo "PostgreSQL $version: postgresql://clawfleet:clawfleet@127.0.0.1:5432/clawfleet"
