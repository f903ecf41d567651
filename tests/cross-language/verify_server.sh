#!/usr/bin/env bash
# Starts a real licentric-server with demo data, activates a machine with curl, and has
# verify_server.py check the JWKS, the validation token and the offline file it serves
# with Python's own JWT and Ed25519 libraries.
# Usage: tests/cross-language/verify_server.sh PATH/TO/licentric-server
set -euo pipefail
server_bin="$1"
python="${LICENTRIC_PYTHON_BIN:?set by scripts/test}/python"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

"$server_bin" init --database-url "$work/licentric.db" --demo --json > "$work/init.json" 2> "$work/init.log"
field() { "$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/init.json" "$1"; }
"$server_bin" serve --listen 127.0.0.1:0 --database-url "$work/licentric.db" \
  > "$work/stdout" 2> "$work/server.log" &
server_pid=$!
url=""
for _ in $(seq 100); do
  url="$(sed -n 's/^Licentric server listening on //p' "$work/stdout")"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/server.log"; echo "the server did not start" >&2; exit 1; }

fingerprint="cross-language-$(date +%s)"
curl -sf -X POST "$url/api/v1/machines" \
  -H "Authorization: License $(field licenseKey)" \
  -H "Content-Type: application/json" \
  -d "{\"fingerprint\": \"$fingerprint\", \"name\": \"cross-language\", \"platform\": \"linux\"}" > /dev/null

"$python" "$here/verify_server.py" "$url" "$(field accountId)" "$(field licenseKey)" \
  "$fingerprint" "$(field apiKey)"
