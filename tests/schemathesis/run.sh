#!/usr/bin/env bash
# Fuzzes the real server over HTTP from its own OpenAPI document (schemathesis).
# Usage: tests/schemathesis/run.sh PATH/TO/licentric-server [MAX_EXAMPLES] [sqlite|postgres]
#
# postgres: the server runs on PostgreSQL, as in production: run it inside pg_virtualenv
# (PGHOST, PGPORT, PGUSER, PGPASSWORD of a superuser). The demo account is made by `init`
# in a SQLite file and moved there with `migrate-db`, and `serve` logs in as a member of
# licentric_runtime with the same secret file.
#
# One worker: with two, schemathesis (4.32, CPython 3.11) now and then crashes in its own
# code generation ("AST constructor recursion depth mismatch"), failing a run whose every
# case passed.
# Checked: no 5xx ever; every status, content type, header and body matches the document;
# schema-invalid requests are refused; endpoints that declare auth reject requests
# without it; deleted records stay gone. Not checked: positive_data_acceptance, because
# "valid by schema" cannot know that a referenced id must exist or that a node-locked
# policy allows exactly one machine, so the server rightly answers 400 there.
set -euo pipefail
server_bin="$1"
examples="${2:-40}"
database="${3:-sqlite}"
st="${LICENTRIC_PYTHON_BIN:?set by scripts/test}/st"
work="$(mktemp -d)"
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

head -c 48 /dev/urandom | base64 > "$work/secret"
key="$("$server_bin" init --database-url "$work/licentric.db" --demo --json --secret-file "$work/secret" | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')"
serve_url="$work/licentric.db"
exclude=()
if [ "$database" = postgres ]; then
  : "${PGHOST:?the postgres run needs a PostgreSQL server: run it inside pg_virtualenv}"
  name="lt_schemathesis_$$"
  password="schemathesis-$$"
  # A socket folder goes in the URL's query; a host name in its authority.
  if [[ "$PGHOST" == /* ]]; then at="localhost:${PGPORT:-5432}/$name?host=$PGHOST"; else at="$PGHOST:${PGPORT:-5432}/$name"; fi
  psql -q -v ON_ERROR_STOP=1 -d postgres \
    -c "CREATE ROLE ${name}_owner LOGIN CREATEROLE PASSWORD '$password'" \
    -c "CREATE DATABASE $name OWNER ${name}_owner"
  "$server_bin" migrate-db --from "$work/licentric.db" --to "postgres://${name}_owner:$password@$at" > "$work/migrate-db.log"
  psql -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE ${name}_app LOGIN PASSWORD '$password' IN ROLE licentric_runtime"
  serve_url="postgres://${name}_app:$password@$at"
  # Not yet served on PostgreSQL (a documented 501, which schemathesis counts as a server
  # error): bulk issue, bulk actions and CSV import. Drop these when they are ported.
  exclude=(--exclude-path /api/v1/licenses/bulk --exclude-path /api/v1/licenses/actions --exclude-path /api/v1/licenses/import)
fi
"$server_bin" serve --listen 127.0.0.1:0 --database-url "$serve_url" --secret-file "$work/secret" \
  --rate-limit-api-key 1000000/1s --rate-limit-license-key 1000000/1s --rate-limit-anonymous 1000000/1s --rate-limit-auth-failures 1000000/1s \
  > "$work/stdout" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
  url="$(sed -n 's/^Licentric server listening on //p' "$work/stdout")"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/server.log"; echo "the server did not start" >&2; exit 1; }

"$st" run "$url/api/v1/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,ignored_auth,use_after_free \
  --max-examples "$examples" \
  --workers 1 \
  --seed 20261122 \
  --suppress-health-check all \
  --warnings off \
  ${exclude[@]+"${exclude[@]}"}
