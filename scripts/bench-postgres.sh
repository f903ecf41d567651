#!/usr/bin/env bash
# PostgreSQL and nginx for the benchmarks (scripts/bench-runtime --postgres,
# scripts/bench-server --postgres): a throw-away PostgreSQL cluster of Debian's packages in
# a temporary folder, with the two roles the README prescribes (an owner that migrates, a
# server role in licentric_runtime that owns nothing), and nginx as the one port in front
# of several server processes. Sourced after scripts/setup.sh; not a test.

PG_BIN_DIR=""

# bench_postgres_start PORT: initdb + pg_ctl in a temporary folder of its own (owned by the
# postgres user when run as root: initdb refuses root, and the caller's folder is private),
# listening on 127.0.0.1:PORT with fsync on (a real server's durability). Sets
# PG_OWNER_URL, PG_APP_URL and PG_DATA; bench_postgres_stop removes it all.
bench_postgres_start() {
  local port="$1" run=() dir
  apt_install postgresql
  PG_BIN_DIR="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  dir="$(mktemp -d)"
  PG_DIR="$dir"
  PG_DATA="$dir/pgdata"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; run=(runuser -u postgres --); fi
  "${run[@]}" "$PG_BIN_DIR/initdb" -D "$PG_DATA" -U postgres -A trust >/dev/null
  "${run[@]}" "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" -l "$dir/postgres.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB" \
    start >/dev/null
  PG_RUN=("${run[@]}")
  local psql=(psql -qAtX -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1)
  "${psql[@]}" -d postgres -c "CREATE ROLE licentric_owner LOGIN CREATEROLE PASSWORD 'owner'" \
    -c "CREATE DATABASE licentric OWNER licentric_owner"
  PG_OWNER_URL="postgres://licentric_owner:owner@127.0.0.1:$port/licentric"
  PG_APP_URL="postgres://licentric_app:app@127.0.0.1:$port/licentric"
  PG_PORT="$port"
}

# bench_postgres_app_role: the server's login role, once the owner's migration has made
# licentric_runtime.
bench_postgres_app_role() {
  psql -qAtX -h 127.0.0.1 -p "$PG_PORT" -U postgres -d licentric -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE licentric_app LOGIN PASSWORD 'app' IN ROLE licentric_runtime"
}

# bench_postgres_analyze: the planner's statistics brought up to date, as autovacuum would
# within a minute on a server that runs for longer than a benchmark. The runs grow a table
# from one machine to tens of thousands on one license in seconds; with the statistics of
# one machine the planner picks an index on the license alone and filters its thousands
# of machines (measured: 2.3 ms instead of 0.05 ms per lookup).
bench_postgres_analyze() {
  psql -qAtX -h 127.0.0.1 -p "$PG_PORT" -U postgres -d licentric -c ANALYZE
}

# bench_postgres_stop: the cluster stopped and its folder removed.
bench_postgres_stop() {
  [ -n "${PG_DATA:-}" ] || return 0
  "${PG_RUN[@]}" "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}

# bench_postgres_cpu_ticks: the CPU time (clock ticks) the cluster has used so far: the
# postmaster's own and its reaped children's (backends that have exited), plus every
# live backend's. Differences of two readings are the cluster's CPU in between, even
# when backends come and go.
bench_postgres_cpu_ticks() {
  local main t child
  main="$(head -1 "$PG_DATA/postmaster.pid")"
  t="$(awk '{print $14 + $15 + $16 + $17}' "/proc/$main/stat")"
  for child in $(pgrep -P "$main"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$child/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

# bench_nginx_start DIR PORT UPSTREAM...: nginx (Debian's) in the foreground on
# 127.0.0.1:PORT, round-robin over the UPSTREAM host:port addresses with kept-alive
# connections, its files in DIR. Sets NGINX_PID.
bench_nginx_start() {
  local dir="$1" port="$2"; shift 2
  apt_install nginx
  mkdir -p "$dir"
  {
    echo "worker_processes auto;"
    echo "pid $dir/nginx.pid;"
    echo "error_log $dir/error.log warn;"
    echo "events { worker_connections 4096; }"
    echo "http {"
    echo "  access_log off;"
    echo "  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;"
    echo "  fastcgi_temp_path $dir/fastcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;"
    echo "  upstream licentric {"
    local upstream
    for upstream in "$@"; do echo "    server $upstream;"; done
    echo "    keepalive 128;"
    echo "  }"
    echo "  server {"
    echo "    listen 127.0.0.1:$port;"
    echo "    location / {"
    echo "      proxy_pass http://licentric;"
    echo "      proxy_http_version 1.1;"
    echo "      proxy_set_header Connection \"\";"
    echo "    }"
    echo "  }"
    echo "}"
  } >"$dir/nginx.conf"
  nginx -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/nginx.err" &
  NGINX_PID=$!
  local tries=0
  until curl -s -o /dev/null "http://127.0.0.1:$port/health"; do
    tries=$((tries + 1))
    [ "$tries" -lt 200 ] || { cat "$dir/nginx.err" >&2; die "nginx did not start"; }
    sleep 0.05
  done
}
