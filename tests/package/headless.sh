#!/usr/bin/env bash
# The headless packages' test: inspects the server's .deb, runs lintian on both, then
# installs them for real (dpkg -i, maintainer scripts included) into a throwaway copy of
# this machine
# (throwaway-root.sh: an overlay of / in a private mount namespace; the host is left as
# it was). There it checks the user, folders and boot enablement, verifies the unit with
# systemd-analyze (and scores its hardening), runs the service's command as the unit does
# (its user, environment file and umask) until the unit's /health check passes,
# provisions an account and validates its key; an administrator's `licentric activate`
# and `licentric check` (configured in /etc/licentric/licentric.toml), then `check` again
# with the server stopped (from the cache); then it purges the server package.
# systemd itself is not PID 1 on the build machines, so `systemctl start` is not run.
# Usage: tests/package/headless.sh SERVER.deb CLI.deb
set -euo pipefail
deb="$(realpath "$1")"
cli_deb="$(realpath "$2")"
fail() { printf 'server package test: %s\n' "$*" >&2; exit 1; }

info="$(dpkg-deb --info "$deb")"
grep -qx ' Package: licentric-server' <<<"$info" || fail "wrong package name"
grep -q '^ Depends: .*adduser' <<<"$info" || fail "Depends lacks adduser"
[ "$(dpkg-deb --info "$deb" conffiles)" = /etc/licentric-server/licentric-server.env ] \
  || fail "the settings file is not a conffile"
contents="$(dpkg-deb --contents "$deb" | awk '{print $1, $NF}')"
for entry in "-rwxr-xr-x ./usr/bin/licentric-server" \
  "-rw-r--r-- ./lib/systemd/system/licentric-server.service" \
  "-rw-r--r-- ./etc/licentric-server/licentric-server.env" \
  "-rwxr-xr-x ./usr/lib/licentric-server/health-check"; do
  grep -qxF -- "$entry" <<<"$contents" || fail "the package lacks $entry"
done
grep -qx ' Package: licentric-cli' <<<"$(dpkg-deb --info "$cli_deb")" || fail "wrong command package"
grep -qx './usr/bin/licentric' <<<"$(dpkg-deb --contents "$cli_deb" | awk '{print $NF}')" \
  || fail "the command package lacks /usr/bin/licentric"
report="$(lintian --fail-on error,warning "$deb" "$cli_deb" 2>&1)" \
  || { printf '%s\n' "$report" >&2; fail "lintian found problems (above)"; }

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# Runs in the throwaway root's namespace: $1 the server package, $2 the port, $3 the
# command's package.
inside='
set -euo pipefail
port="$2"
cp "$1" "$THROWAWAY_ROOT/tmp/package.deb"
cp "$3" "$THROWAWAY_ROOT/tmp/cli.deb"
exec chroot "$THROWAWAY_ROOT" /bin/bash -euo pipefail -c "$(cat <<INNER
fail() { printf "server package test: %s\n" "\$*" >&2; exit 1; }
getent passwd licentric >/dev/null && fail "this machine already has a licentric user"
dpkg -i /tmp/package.deb /tmp/cli.deb >&2

# The user, its folder, boot enablement.
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd licentric)
[ "\$uid" -lt 1000 ] || fail "licentric is not a system user (uid \$uid)"
[ "\$home" = /var/lib/licentric ] || fail "home is \$home"
case "\$shell" in */nologin|*/false) ;; *) fail "licentric can log in (\$shell)";; esac
[ "\$(stat -c "%U %a" /var/lib/licentric)" = "licentric 700" ] || fail "data folder: \$(stat -c "%U %a" /var/lib/licentric)"
[ -L /etc/systemd/system/multi-user.target.wants/licentric-server.service ] || fail "not enabled at boot"

unit=/lib/systemd/system/licentric-server.service
systemd-analyze verify "\$unit" >&2 || fail "systemd-analyze verify found problems (above)"
exposure="\$(systemd-analyze security --offline=true "\$unit" 2>/dev/null | sed -n "s/.*Overall exposure level for licentric-server.service: \([0-9.]*\).*/\1/p")"
[ -n "\$exposure" ] || fail "systemd-analyze security gave no score"
echo "systemd-analyze security: exposure \$exposure (0 is best, 10 worst)" >&2
awk -v e="\$exposure" "BEGIN { exit !(e <= 2.0) }" || fail "exposure \$exposure is above 2.0"

# Run as the unit does: its user, its environment file (the port changed as an
# administrator would), its umask; then its ExecStartPost health check.
sed -i "s/^LICENTRIC_LISTEN=.*/LICENTRIC_LISTEN=127.0.0.1:$port/" /etc/licentric-server/licentric-server.env
set -a; . /etc/licentric-server/licentric-server.env; set +a
umask 0077
setpriv --reuid=licentric --regid=licentric --init-groups --no-new-privs \
  /usr/bin/licentric-server serve >/tmp/server.log 2>&1 &
server=\$!
/usr/lib/licentric-server/health-check || { cat /tmp/server.log >&2; fail "the health check failed"; }
[ "\$(stat -c "%U %a" /var/lib/licentric/server-secret)" = "licentric 600" ] \
  || fail "server secret: \$(stat -c "%U %a" /var/lib/licentric/server-secret)"
[ "\$(stat -c "%U %a" /var/lib/licentric/licentric.db)" = "licentric 600" ] \
  || fail "database: \$(stat -c "%U %a" /var/lib/licentric/licentric.db)"
created="\$(setpriv --reuid=licentric --regid=licentric --init-groups --no-new-privs \
  /usr/bin/licentric-server init --demo --json)"
key="\$(printf "%s" "\$created" | sed -n "s/.*\"licenseKey\":\"\([^\"]*\)\".*/\1/p")"
answer="\$(curl -fsS -X POST -H "Content-Type: application/json" -d "{\"key\":\"\$key\"}" \
  "http://127.0.0.1:$port/api/v1/licenses/validate-key")"
grep -q "\"VALID\"" <<<"\$answer" || fail "the demo key does not validate: \$answer"

# As an administrator would: the command, configured system-wide, on a machine with no
# keyring (the key goes to an owner-only file).
product="\$(printf "%s" "\$created" | sed -n "s/.*\"productId\":\"\([^\"]*\)\".*/\1/p")"
account="\$(printf "%s" "\$created" | sed -n "s/.*\"accountId\":\"\([^\"]*\)\".*/\1/p")"
mkdir -p /etc/licentric
curl -fsS "http://127.0.0.1:$port/api/v1/accounts/\$account/jwks.json" >/etc/licentric/jwks.json
printf "server_url = \"http://127.0.0.1:$port\"\nproduct_id = \"%s\"\nproduct_salt = \"headless-test\"\npublic_key_file = \"jwks.json\"\ndata_dir = \"/var/lib/licentric-cli\"\n" "\$product" >/etc/licentric/licentric.toml
export DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent
code=0
licentric check >/dev/null 2>&1 || code=\$?
[ "\$code" -eq 10 ] || fail "check before activation exited \$code, not 10 (not activated)"
licentric activate "\$key" >&2 || fail "licentric activate failed"
licentric check >&2 || fail "licentric check failed after activation (exit \$?)"
[ "\$(stat -c "%a" /var/lib/licentric-cli/licenses/\$product/license.key)" = 600 ] || fail "the key file is not 0600"

kill -INT "\$server"
wait "\$server" || fail "the server did not stop cleanly on SIGINT (exit \$?)"
licentric check >&2 || fail "licentric check failed from the cache with the server stopped"

dpkg --purge licentric-server >&2
[ ! -e /usr/bin/licentric-server ] || fail "purge left the binary"
[ ! -e /etc/licentric-server ] || fail "purge left the settings"
[ ! -e /etc/systemd/system/multi-user.target.wants/licentric-server.service ] || fail "purge left it enabled"
[ -f /var/lib/licentric/licentric.db ] || fail "purge threw the database away"
echo "headless packages: installed, verified, served /health, activated and checked, purged" >&2
INNER
)"
'
"$(dirname "$0")/throwaway-root.sh" bash -c "$inside" inside "$deb" "$port" "$cli_deb"
