#!/usr/bin/env bash
# Builds the Debian package, installs it with dpkg -i, checks what a sysadmin gets (the binary on
# the PATH systemd and cron use, a check against a loopback fake, man pages, completions, units
# that verify), then removes it with dpkg -r and checks that only the conffile is left, and
# finally purges it so the machine is as before.
# Root only (prints "SKIP package: …" otherwise). Idempotent: a package left installed or
# removed by an earlier run is simply installed over. Network traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ] || ! command -v dpkg >/dev/null 2>&1; then
    echo "SKIP package: needs root and dpkg"
    exit 0
fi

fail() { echo "FAIL package: $*" >&2; exit 1; }
conffile=/etc/mpic-check/config.toml
work=$(mktemp -d)
fake_pid=
installed=
cleanup() {
    if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; fi
    # Also on failure: a stray /etc/mpic-check/config.toml would change later test runs.
    if [ -n "$installed" ]; then dpkg -P mpic-check >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

deb=$(bash packaging/build-deb.sh | tail -n 1)
[ -f "$deb" ] || fail "build-deb.sh did not name a .deb (got '$deb')"
echo "package: $deb"

# --force-conf*: never prompt about a conffile an earlier run (or an admin) left behind.
installed=1
dpkg -i --force-confdef --force-confold "$deb" >/dev/null
dpkg -L mpic-check >"$work/files"

# The PATH systemd gives services and cron gives jobs: /usr/bin must be enough.
sys_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
got=$(env -i PATH="$sys_path" mpic-check --version)
[ "$got" = "mpic-check $version" ] || fail "--version printed '$got'"
[ "$(command -v mpic-check)" = /usr/bin/mpic-check ] || fail "mpic-check is not /usr/bin/mpic-check"
echo "ok: $got from /usr/bin"

# One real check, on loopback only: a fake resolver answers 127.0.0.1, a fake origin 404.
python3 packaging/loopback-fake.py "$work/ports" &
fake_pid=$!
for _ in $(seq 50); do [ -s "$work/ports" ] && break; sleep 0.1; done
read -r dns_port http_port <"$work/ports" || fail "the loopback fake did not start"
cat >"$work/config.toml" <<TOML
[defaults]
authoritative_sources = false
[[perspective]]
name = "local"
role = "primary"
dns = "udp://127.0.0.1:$dns_port"
[[perspective]]
name = "r-arin"
role = "remote"
rir = "ARIN"
dns = "udp://127.0.0.1:$dns_port"
[[perspective]]
name = "r-ripe"
role = "remote"
rir = "RIPE"
dns = "udp://127.0.0.1:$dns_port"
TOML
set +e
env -i PATH="$sys_path" MPIC_CHECK_ALLOW_RANGES=127.0.0.0/8 MPIC_CHECK_HTTP_PORT="$http_port" \
    mpic-check --config "$work/config.toml" --policy custom --remotes 2 --quorum 2 \
    --format json --quiet pkg-check.example >"$work/run.json"
rc=$?
set -e
[ "$rc" = 0 ] || fail "the loopback check exited $rc: $(head -c 400 "$work/run.json")"
grep -q '"pkg-check.example"' "$work/run.json" || fail "the JSON does not name the checked name"
echo "ok: installed binary checked a name against the loopback fake (exit 0)"

# Man pages (cargo-deb gzips them), for the command and each subcommand it names.
if ! command -v man >/dev/null 2>&1; then
    apt-get install -y --no-install-recommends man-db >/dev/null
fi
for page in mpic-check mpic-check-wait-txt mpic-check-explain; do
    path=$(man -w "$page") || fail "man -w $page found nothing"
    case "$path" in /usr/share/man/man1/"$page".1.gz) ;; *) fail "man -w $page: $path" ;; esac
done
echo "ok: man -w mpic-check → $(man -w mpic-check)"

# Completions, where each shell looks for them.
for f in /usr/share/bash-completion/completions/mpic-check \
    /usr/share/zsh/vendor-completions/_mpic-check \
    /usr/share/fish/vendor_completions.d/mpic-check.fish; do
    [ -s "$f" ] || fail "completion file $f missing"
done
bash -c 'source /usr/share/bash-completion/completions/mpic-check && complete -p mpic-check' \
    >/dev/null || fail "the bash completion does not register"
echo "ok: bash, zsh and fish completions installed"

# The systemd units: installed, not enabled (no maintainer script), and valid.
units=$(grep -E '^/usr/lib/systemd/system/[^/]+\.(service|timer)$' "$work/files" || true)
[ -n "$units" ] || fail "no systemd units in the package"
for u in $units; do
    [ ! -e "/etc/systemd/system/timers.target.wants/$(basename "$u")" ] || fail "$u is enabled"
done
if command -v systemd-analyze >/dev/null 2>&1; then
    # shellcheck disable=SC2086 # one argument per unit
    systemd-analyze verify $units || fail "systemd-analyze verify failed for: $units"
    echo "ok: systemd-analyze verify $(echo $units | tr '\n' ' ')"
else
    echo "SKIP systemd-analyze verify: systemd-analyze is not installed"
fi

# Remove: everything goes except the conffile (dpkg keeps conffiles until purge).
dpkg -r mpic-check >/dev/null
status=$(dpkg-query -W -f='${Status}' mpic-check 2>/dev/null || true)
[ "$status" = "deinstall ok config-files" ] || fail "status after dpkg -r: '$status'"
[ -f "$conffile" ] || fail "$conffile was removed by dpkg -r"
left=0
while read -r f; do
    [ "$f" = "$conffile" ] && continue
    case "$f" in
    /etc/mpic-check) continue ;;   # holds the conffile
    *mpic-check*) [ -e "$f" ] && { echo "left behind: $f" >&2; left=1; } ;;
    *) [ -e "$f" ] && [ ! -d "$f" ] && { echo "left behind: $f" >&2; left=1; } ;;
    esac
done <"$work/files"
[ "$left" = 0 ] || fail "dpkg -r left files behind"
echo "ok: dpkg -r removed $(grep -c . "$work/files") paths except $conffile"

# Purge too, so this machine is left as it was: a stray /etc/mpic-check/config.toml would be
# picked up by every later run (and test run) that does not pass --config.
dpkg -P mpic-check >/dev/null
[ ! -e "$conffile" ] || fail "dpkg -P left $conffile"
echo "ok: dpkg -P removed $conffile"
echo "PASS package"
