#!/usr/bin/env bash
# Real-software interop lab for mpic-check (issue 9; recipe: ../shared/docs/lab.md).
#
#   bash tests/interop/lab.sh run    # install, build the lab in a fresh netns, run every scenario, tear down
#   bash tests/interop/lab.sh up     # build the lab and leave it running (prints the namespace name)
#   bash tests/interop/lab.sh down   # tear down every lab this script started (idempotent)
#   bash tests/interop/lab.sh status # list the labs this script has running
#
# Everything runs inside a network namespace created here (`mpiclab-<pid>`) with only `lo` up, so no
# packet can leave 127.0.0.0/8; /etc/netns/<ns>/resolv.conf points the proxies that resolve names
# (socks5h, the HTTP proxy) at the lab's own resolver. Every daemon runs in the foreground under
# `ip netns exec`, its PID is recorded, and a trap removes everything on EXIT/INT/TERM.
# When the machine cannot create a namespace or cannot install the packages, one line starting with
# `SKIP interop:` says why and the script exits 0. Once the lab is up, any mismatch exits non-zero.
#
# Environment: MPIC_CHECK_BIN (default ${CARGO_TARGET_DIR:-target}/debug/mpic-check, built with
# `cargo build` if missing), MPICLAB_STATE_DIR (default /run/mpiclab), MPICLAB_KEEP (a directory:
# each scenario's JSON is copied there), MPICLAB_VERBOSE=1 (per-scenario durations).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STATE_DIR=${MPICLAB_STATE_DIR:-/run/mpiclab}
PKGS=(bind9 bind9-utils bind9-dnsutils unbound nginx dante-server microsocks tinyproxy knot
    knot-module-geoip curl iproute2 certbot pebble openssl prometheus python3-venv)

# ---- address plan (inside the namespace; all 127/8) --------------------------------------------
BIND_IP=127.0.2.1      # a.ns.test: bind9, test. and its child zones, views by source address
KNOT_IP=127.0.3.1      # b.ns.test: knot, geoecs.test (mod-geoip, ECS) + secondary of sec.test
ORIGIN_A=127.0.20.1    # nginx: every site
ORIGIN_B=127.0.20.2    # nginx: the APNIC region's GeoDNS origin
TINY_IP=127.0.30.8     # tinyproxy :8888, egress 127.0.0.8
PEBBLE_IP=127.0.40.1   # pebble: ACME on :14000, management :15000; its VA asks the home resolver
# Regions: name, N. Resolver unbound at 127.0.1.N (outgoing 127.0.0.N); proxy at 127.0.30.N:1080
# (egress 127.0.0.N): danted for us-east, microsocks for the others; home has no proxy.
REGIONS=("home 2" "us-east 3" "eu-west 4" "ap-south 5" "sa-east 6" "af-south 7")
BIND_ZONES=(healthy geosrc caa refused sec early geoblock1 geoblock2 redirect ua cdn socks5h httpproxy
    forbidden dyn)
TOKEN=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ
KEYAUTH=$TOKEN.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
export TOKEN KEYAUTH

say() { printf 'interop: %s\n' "$*"; }
skip() {
    echo "SKIP interop: $*"
    exit 0
}

# ---- teardown -----------------------------------------------------------------------------------
# Stops the lab described by a state file: TERM to every recorded PID, KILL after 5 s, KILL to any
# process still inside our namespace (by PID), then deletes the namespace, /etc/netns/<ns> and the
# lab directory. Safe to call twice.
teardown_one() {
    local state=$1 NS='' DIR='' pid name alive i
    [ -f "$state" ] || return 0
    # shellcheck disable=SC1090
    . "$state"
    local inside=''
    if [ -n "$NS" ] && ip netns list 2>/dev/null | grep -qw "^$NS"; then inside=$(ip netns pids "$NS" 2>/dev/null || true); fi
    if [ -n "$DIR" ] && [ -f "$DIR/pids" ]; then
        while read -r pid name; do kill -TERM "$pid" 2>/dev/null || true; done <"$DIR/pids"
        for i in $(seq 50); do
            alive=0
            while read -r pid name; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$DIR/pids"
            [ "$alive" = 0 ] && break
            sleep 0.1
        done
        while read -r pid name; do kill -KILL "$pid" 2>/dev/null || true; done <"$DIR/pids"
    fi
    if [ -n "$NS" ] && ip netns list 2>/dev/null | grep -qw "^$NS"; then
        for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        for i in $(seq 20); do
            [ -z "$(ip netns pids "$NS" 2>/dev/null)" ] && break
            sleep 0.1
        done
        ip netns delete "$NS" 2>/dev/null || true
    fi
    # Children (danted forks) are reaped by init: wait until every process that was in the
    # namespace is gone, zombies included.
    for i in $(seq 30); do
        alive=0
        for pid in $inside; do [ -e "/proc/$pid" ] && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    [ -n "$NS" ] && rm -rf "/etc/netns/$NS"
    rmdir /etc/netns 2>/dev/null || true
    case "$DIR" in /tmp/mpiclab.*) rm -rf "$DIR" ;; esac
    rm -f "$state"
    rmdir "$STATE_DIR" 2>/dev/null || true
    # When a signal hit our whole process group, danted's children may already have been orphaned
    # (reparented to PID 1, which reaps them): wait a little for those zombies of ours to go.
    local pg
    pg=$(ps -o pgid= -p $$ | tr -d ' ')
    for i in $(seq 30); do
        ps -eo stat=,pgid=,ppid= | awk -v pg="$pg" '$1 ~ /^Z/ && $2 == pg && $3 == 1 {f=1} END {exit !f}' || break
        sleep 0.1
    done
}

down_all() {
    local s
    for s in "$STATE_DIR"/*.env; do [ -e "$s" ] && teardown_one "$s"; done
    rmdir "$STATE_DIR" 2>/dev/null || true
    return 0
}

STATE=''
on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$STATE" ]; then
        [ "$rc" -ge 128 ] && echo "interop: interrupted (exit $rc); tearing the lab down" >&2
        teardown_one "$STATE"
    fi
    exit "$rc"
}

# ---- packages -----------------------------------------------------------------------------------
install_packages() {
    local missing=() p log created=0
    for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} = 0 ]; then
        say "packages already installed"
        return 0
    fi
    command -v apt-get >/dev/null || skip "no apt-get on this machine (missing: ${missing[*]})"
    # Daemons must not start at install time (we run our own, in the namespace).
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created=1
    fi
    log=$(mktemp /tmp/mpiclab-apt.XXXXXX)
    local t0=$SECONDS ok=1
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -q -o Acquire::Retries=2 -o Acquire::http::Timeout=30 >"$log" 2>&1; then
        ok=0
    elif ! apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
        ok=0
    fi
    [ "$created" = 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ "$ok" = 0 ]; then
        local why
        why=$(grep -E '^(E|W):' "$log" | head -1 | tr -s ' ')
        rm -f "$log"
        skip "apt failed to install ${missing[*]}: ${why:-see apt-get output}"
    fi
    rm -f "$log"
    say "installed ${missing[*]} in $((SECONDS - t0)) s"
}

# ---- the binary ---------------------------------------------------------------------------------
find_bin() {
    local target=${CARGO_TARGET_DIR:-target}
    BIN=${MPIC_CHECK_BIN:-$target/debug/mpic-check}
    case "$BIN" in /*) ;; *) BIN=$ROOT/$BIN ;; esac
    if [ ! -x "$BIN" ]; then
        if [ -n "${MPIC_CHECK_BIN:-}" ]; then
            echo "interop: MPIC_CHECK_BIN=$MPIC_CHECK_BIN is not an executable" >&2
            echo "interop: 0 passed, 1 failed"
            exit 1
        fi
        say "building $BIN (cargo build)"
        (cd "$ROOT" && cargo build --quiet --bin mpic-check)
        [ -x "$BIN" ] || {
            echo "interop: cargo build did not produce $BIN" >&2
            echo "interop: 0 passed, 1 failed"
            exit 1
        }
    fi
    export BIN
}

# ---- configuration files ------------------------------------------------------------------------
soa() { printf '$TTL 300\n@ IN SOA %s hostmaster.test. %s 86400 3600 604800 300\n' "$1" "${2:-1}"; }

# A child zone on bind: NS a.ns.test, CAA for the CA at the apex, www → $2, extra lines after.
bind_zone() {
    local name=$1 www=$2
    shift 2
    {
        soa a.ns.test.
        echo '@ NS a.ns.test.'
        echo '@ CAA 0 issue "letsencrypt.org"'
        echo "www A $www"
        printf '%s\n' "$@"
    } >"$D/bind/$name.db"
}

write_configs() {
    mkdir -p "$D"/{bind,knot/db,nginx/tmp,www/.well-known/acme-challenge,www-empty,dante,tiny,log,home}
    # -- bind9: test. and its children ----------------------------------------------------------
    {
        soa a.ns.test.
        echo '@ NS a.ns.test.'
        echo "a.ns A $BIND_IP"
        echo "b.ns A $KNOT_IP"
        for z in "${BIND_ZONES[@]}"; do echo "$z NS a.ns.test."; done
        echo 'sec NS b.ns.test.'
        echo 'geoecs NS b.ns.test.'
    } >"$D/bind/test.db"
    for z in healthy refused geoblock1 geoblock2 redirect ua cdn socks5h httpproxy; do
        bind_zone "$z.test" "$ORIGIN_A"
    done
    bind_zone geosrc.test "$ORIGIN_A"
    bind_zone geosrc-apac.test "$ORIGIN_B"
    bind_zone caa.test "$ORIGIN_A"
    sed -i 's/"letsencrypt.org"/"pki.goog"/' "$D/bind/caa.test.db"
    echo '@ CAA 0 iodef "mailto:security@caa.test"' >>"$D/bind/caa.test.db"
    bind_zone sec.test "$ORIGIN_A" '@ NS b.ns.test.'
    bind_zone early.test "$ORIGIN_A" '_acme-challenge.www TXT "early-digest-value"'
    bind_zone forbidden.test "$ORIGIN_A"
    # dyn.test: the DNS-01 issuance zone. Updated only with a TSIG key (as a real provider's
    # nsupdate endpoint would be); knot is its secondary and lags: no NOTIFY, it polls every 3 s
    # (SOA refresh). The resolvers ask only the secondary, so a hook that lets the CA look before
    # the secondary has the TXT makes the issuance fail.
    {
        printf '$TTL 60\n@ IN SOA a.ns.test. hostmaster.test. 1 3 2 604800 30\n'
        echo '@ NS a.ns.test.'
        echo '@ NS b.ns.test.'
        echo '@ CAA 0 issue "letsencrypt.org"'
        echo "@ A $ORIGIN_A"
        echo "www A $ORIGIN_A"
    } >"$D/bind/dyn.test.db"
    tsig-keygen -a hmac-sha256 lab-key >"$D/bind/lab.key"

    local zones_a='' zones_def='' z opts
    for z in test "${BIND_ZONES[@]}"; do
        [ "$z" = test ] && name=test || name=$z.test
        opts=''
        case "$z" in
            sec | early) opts='allow-update { 127.0.0.0/8; };' ;;
            dyn) opts='allow-update { key "lab-key"; };' ;;
            refused) opts='allow-query { !127.0.0.6; any; };' ;; # sa-east's resolver is refused
        esac
        if [ "$z" = geosrc ]; then
            zones_a+="  zone \"geosrc.test\" { type primary; file \"geosrc-apac.test.db\"; };"$'\n'
            zones_def+="  zone \"geosrc.test\" { type primary; file \"geosrc.test.db\"; };"$'\n'
        else
            zones_a+="  zone \"$name\" { type primary; file \"$name.db\"; $opts };"$'\n'
            zones_def+="  zone \"$name\" { in-view \"apac\"; };"$'\n'
        fi
    done
    cat >"$D/bind/named.conf" <<EOF
options {
  directory "$D/bind";
  pid-file "$D/bind/named.pid";
  session-keyfile "$D/bind/session.key";
  managed-keys-directory "$D/bind";
  listen-on port 53 { $BIND_IP; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  allow-query { any; };
  allow-transfer { 127.0.0.0/8; };
  notify no;
};
controls { };
include "$D/bind/lab.key";
# GeoDNS by resolver source address: the APNIC region's resolver (outgoing 127.0.0.5) gets its own
# answer for geosrc.test; every other zone is shared between the views.
view "apac" {
  match-clients { 127.0.0.5; };
$zones_a};
view "default" {
  match-clients { any; };
$zones_def};
EOF

    # -- knot: geoecs.test with mod-geoip (ECS), secondary of sec.test ---------------------------
    {
        soa b.ns.test.
        echo '@ NS b.ns.test.'
        echo '@ CAA 0 issue "letsencrypt.org"'
        echo "www A $ORIGIN_A"
    } >"$D/knot/geoecs.test.zone"
    cat >"$D/knot/geo.conf" <<EOF
www.geoecs.test:
  - net: 126.0.0.0/24
    A: $ORIGIN_B
EOF
    cat >"$D/knot/knot.conf" <<EOF
server:
    listen: $KNOT_IP@53
    rundir: $D/knot
    edns-client-subnet: on
database:
    storage: $D/knot/db
log:
  - target: stderr
    any: info
remote:
  - id: bind
    address: $BIND_IP@53
mod-geoip:
  - id: geo
    config-file: $D/knot/geo.conf
    ttl: 60
    mode: subnet
zone:
  - domain: geoecs.test
    file: $D/knot/geoecs.test.zone
    module: mod-geoip/geo
  - domain: sec.test
    master: bind
    file: $D/knot/sec.test.zone
  - domain: dyn.test
    master: bind
    file: $D/knot/dyn.test.zone
EOF

    # -- unbound: one recursive resolver per region ---------------------------------------------
    local r n
    for r in "${REGIONS[@]}"; do
        n=${r#* }
        mkdir -p "$D/unbound-$n"
        cat >"$D/unbound-$n/unbound.conf" <<EOF
server:
  interface: 127.0.1.$n
  port: 53
  outgoing-interface: 127.0.0.$n
  access-control: 127.0.0.0/8 allow_snoop   # RD=0 queries answered from the cache (lets a scenario peek)
  do-not-query-localhost: no
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$D/unbound-$n"
  pidfile: "$D/unbound-$n/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  module-config: "iterator"
  local-zone: "test." nodefault
  prefetch: no
remote-control:
  control-enable: no
stub-zone:
  name: "test."
  stub-addr: $BIND_IP
# sec.test has a lagging secondary (knot); the resolvers ask the primary only, so the scenario is
# deterministic and only the tool's own nameserver sweep can see the secondary.
stub-zone:
  name: "sec.test."
  stub-addr: $BIND_IP
# dyn.test: only the lagging secondary, so the DNS-01 hook must wait for it.
stub-zone:
  name: "dyn.test."
  stub-addr: $KNOT_IP
EOF
    done

    # -- nginx: every site on ORIGIN_A (by server_name), the APNIC GeoDNS origin on ORIGIN_B ------
    printf '%s' "$KEYAUTH" >"$D/www/.well-known/acme-challenge/$TOKEN"
    local ch='location /.well-known/acme-challenge/'
    cat >"$D/nginx/nginx.conf" <<EOF
user nobody nogroup;
worker_processes 1;
pid $D/nginx/nginx.pid;
error_log $D/log/nginx-error.log info;
events { worker_connections 256; }
http {
  log_format lab '\$remote_addr host=\$host "\$request" \$status ua="\$http_user_agent"';
  access_log $D/log/nginx-access.log lab;
  client_body_temp_path $D/nginx/tmp/body;
  proxy_temp_path $D/nginx/tmp/proxy;
  fastcgi_temp_path $D/nginx/tmp/fastcgi;
  uwsgi_temp_path $D/nginx/tmp/uwsgi;
  scgi_temp_path $D/nginx/tmp/scgi;
  default_type text/plain;
  server_tokens off;
  server { listen $ORIGIN_A:80 default_server; listen $ORIGIN_B:80 default_server; return 404; }
  server { listen $ORIGIN_A:80;
    server_name www.healthy.test www.geosrc.test www.geoecs.test www.caa.test www.refused.test
                www.sec.test www.early.test www.dyn.test dyn.test;
    root $D/www; }
  # GeoDNS by source: the APNIC origin serves the same files.
  server { listen $ORIGIN_B:80; server_name www.geosrc.test; root $D/www; }
  # GeoDNS by ECS: the APNIC origin was never given the challenge file.
  server { listen $ORIGIN_B:80; server_name www.geoecs.test; root $D/www-empty; }
  # Geoblocking: eu-west (egress 127.0.0.4) and ap-south (127.0.0.5) by source address.
  server { listen $ORIGIN_A:80; server_name www.geoblock1.test www.socks5h.test; root $D/www;
    $ch { deny 127.0.0.4; allow all; } }
  server { listen $ORIGIN_A:80; server_name www.geoblock2.test; root $D/www;
    $ch { deny 127.0.0.4; deny 127.0.0.5; allow all; } }
  # The HTTP proxy's egress (tinyproxy, 127.0.0.8) is blocked.
  server { listen $ORIGIN_A:80; server_name www.httpproxy.test; root $D/www;
    $ch { deny 127.0.0.8; allow all; } }
  server { listen $ORIGIN_A:80; server_name www.redirect.test; root $D/www;
    $ch { return 302 http://www.redirect.test:8080\$request_uri; } }
  # Pebble's VA (User-Agent "LetsEncrypt-Pebble-VA …") gets 403, like a WAF rule against the CA.
  server { listen $ORIGIN_A:80; server_name www.forbidden.test; root $D/www;
    $ch { if (\$http_user_agent ~* "Pebble-VA") { return 403; } } }
  server { listen $ORIGIN_A:80; server_name www.ua.test; root $D/www;
    $ch { if (\$http_user_agent ~* "Let's Encrypt") { return 403; } } }
  # A CDN edge that cached an old challenge answer for the whole path.
  server { listen $ORIGIN_A:80; server_name www.cdn.test; root $D/www;
    $ch { add_header Cache-Control "public, max-age=86400" always; add_header Age 7200 always;
          add_header X-Cache "HIT from lab-edge" always; add_header Via "1.1 lab-edge" always;
          return 200 "old-token-from-last-renewal.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"; } }
}
EOF

    # -- pebble: its own TLS root (the Debian package ships no test certificates) --------------
    mkdir -p "$D/pebble"
    (
        cd "$D/pebble"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
            -out ca.pem -days 2 -subj "/CN=mpiclab pebble root" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
            -out leaf.csr -subj "/CN=pebble" 2>/dev/null
        printf 'subjectAltName=IP:%s\n' "$PEBBLE_IP" >ext.cnf
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem \
            -days 2 -extfile ext.cnf 2>/dev/null
    )
    cat >"$D/pebble/config.json" <<EOF
{"pebble": {"listenAddress": "$PEBBLE_IP:14000", "managementListenAddress": "$PEBBLE_IP:15000",
 "certificate": "$D/pebble/cert.pem", "privateKey": "$D/pebble/key.pem",
 "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF

    # -- proxies --------------------------------------------------------------------------------
    cat >"$D/dante/danted.conf" <<EOF
logoutput: stderr
internal: 127.0.30.3 port = 1080
external: 127.0.0.3
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 127.0.0.0/8 command: connect }
socks block { from: 0.0.0.0/0 to: 0.0.0.0/0 log: connect error }
EOF
    cat >"$D/tiny/tinyproxy.conf" <<EOF
User nobody
Group nogroup
Port 8888
Listen $TINY_IP
Bind 127.0.0.8
Allow 127.0.0.0/8
ConnectPort 80
ConnectPort 443
DisableViaHeader Yes
LogLevel Notice
PidFile "$D/tiny/tinyproxy.pid"
EOF
}

# ---- daemons ------------------------------------------------------------------------------------
start() { # start NAME CMD...: in the namespace, in the foreground, output to log/NAME.log
    local name=$1
    shift
    ip netns exec "$NS" "$@" >"$D/log/$name.log" 2>&1 </dev/null &
    echo "$! $name" >>"$D/pids"
}

start_daemons() {
    local r n
    start named named -g -c "$D/bind/named.conf"
    for r in "${REGIONS[@]}"; do
        n=${r#* }
        start "unbound-$n" unbound -d -c "$D/unbound-$n/unbound.conf"
    done
    start nginx nginx -c "$D/nginx/nginx.conf" -g 'daemon off;'
    start danted danted -f "$D/dante/danted.conf" -p "$D/dante/danted.pid"
    for n in 4 5 6 7; do start "microsocks-$n" microsocks -i "127.0.30.$n" -p 1080 -b "127.0.0.$n"; done
    start tinyproxy tinyproxy -d -c "$D/tiny/tinyproxy.conf"
    # No random VA sleeps, no bad-nonce injection, no authorization reuse: every order validates.
    start pebble env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
        pebble -config "$D/pebble/config.json" -dnsserver 127.0.1.2:53
}

nsx() { ip netns exec "$NS" "$@"; }
q() { nsx dig +short +time=1 +tries=1 "$@" 2>/dev/null || true; }
http_code() { nsx curl -s -o /dev/null -m 2 -w '%{http_code}' "$@" 2>/dev/null || true; }

# Polls CHECK (a shell function name) until it succeeds, at most $2 tenths of a second.
until_ok() {
    local what=$1 tries=$2 i
    for ((i = 0; i < tries; i++)); do
        if "$what"; then return 0; fi
        sleep 0.1
    done
    return 1
}

URL=http://www.healthy.test/.well-known/acme-challenge/$TOKEN
ready_bind() { [ "$(q @$BIND_IP www.healthy.test A)" = "$ORIGIN_A" ]; }
ready_knot_geo() { [ "$(q @$KNOT_IP www.geoecs.test A)" = "$ORIGIN_A" ]; }
ready_knot_sec() { [ -n "$(q @$KNOT_IP sec.test SOA)" ]; }
ready_knot_dyn() { [ -n "$(q @$KNOT_IP dyn.test SOA)" ]; }
ready_unbound() {
    local r n
    for r in "${REGIONS[@]}"; do
        n=${r#* }
        [ "$(q @127.0.1.$n www.healthy.test A)" = "$ORIGIN_A" ] || return 1
    done
}
ready_pebble() { nsx curl -sf -m 2 --cacert "$D/pebble/ca.pem" "https://$PEBBLE_IP:14000/dir" >/dev/null 2>&1; }
ready_nginx() { [ "$(http_code --resolve www.healthy.test:80:$ORIGIN_A "$URL")" = 200 ]; }
ready_socks() {
    local n
    for n in 3 4 5 6 7; do
        [ "$(http_code --socks5 127.0.30.$n:1080 --resolve www.healthy.test:80:$ORIGIN_A "$URL")" = 200 ] || return 1
        # The request must have left from that region's egress address.
        tail -1 "$D/log/nginx-access.log" | grep -q "^127.0.0.$n " || return 1
    done
    # Proxy-resolves modes: the proxies resolve through the namespace's resolv.conf.
    [ "$(http_code --socks5-hostname 127.0.30.4:1080 "$URL")" = 200 ] || return 1
    [ "$(http_code -x http://$TINY_IP:8888 "$URL")" = 200 ] || return 1
    tail -1 "$D/log/nginx-access.log" | grep -q '^127.0.0.8 '
}

wait_ready() {
    local c
    for c in ready_bind ready_unbound ready_nginx ready_socks ready_pebble; do
        if ! until_ok "$c" 100; then lab_broken "$c"; fi
    done
    # knot loads geoecs.test and transfers sec.test (serial 1) from bind; only then may the
    # secondary scenario change the primary.
    start knotd knotd -c "$D/knot/knot.conf"
    for c in ready_knot_geo ready_knot_sec ready_knot_dyn; do
        if ! until_ok "$c" 100; then lab_broken "$c"; fi
    done
}

lab_broken() {
    echo "interop: lab did not come up: $1 failed after 10 s; daemon logs:" >&2
    local f
    for f in "$D"/log/*.log; do
        echo "--- ${f##*/}" >&2
        tail -5 "$f" >&2
    done
    echo "interop: 0 passed, 1 failed"
    exit 1
}

preflight() {
    [ "$(id -u)" = 0 ] || skip "needs root to create a network namespace (running as uid $(id -u))"
    command -v ip >/dev/null || skip "no ip(8) (iproute2) on this machine"
    command -v python3 >/dev/null || skip "no python3 on this machine (the scenario runner needs it)"
}

lab_up() {
    preflight
    mkdir -p "$STATE_DIR"
    NS=mpiclab-$$
    D=$(mktemp -d /tmp/mpiclab.XXXXXX)
    chmod 755 "$D"
    STATE=$STATE_DIR/$NS.env
    printf 'NS=%s\nDIR=%s\n' "$NS" "$D" >"$STATE"
    local err
    if ! err=$(ip netns add "$NS" 2>&1); then
        teardown_one "$STATE"
        skip "cannot create a network namespace (ip netns add: $err)"
    fi
    if ! err=$(ip -n "$NS" link set lo up 2>&1); then
        teardown_one "$STATE"
        skip "cannot bring up lo in a network namespace: $err"
    fi
    install_packages
    local t0=$EPOCHREALTIME
    # named binds only to addresses that exist on an interface: give a.ns/b.ns their own.
    ip -n "$NS" addr add "$BIND_IP/32" dev lo
    ip -n "$NS" addr add "$KNOT_IP/32" dev lo
    ip -n "$NS" addr add 127.0.30.3/32 dev lo # danted checks that its internal address exists
    ip -n "$NS" addr add "$PEBBLE_IP/32" dev lo
    mkdir -p "/etc/netns/$NS"
    echo "nameserver 127.0.1.2" >"/etc/netns/$NS/resolv.conf"
    write_configs
    start_daemons
    wait_ready
    # Only lo exists in the namespace.
    local links
    links=$(ip -n "$NS" -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
    [ "$links" = "lo " ] || lab_broken "namespace has interfaces other than lo: $links"
    LAB_UP_S=$(python3 -c "print(f'{$EPOCHREALTIME - $t0:.1f}')")
    say "lab up in namespace $NS in $LAB_UP_S s"
    export NS D LAB_UP_S PEBBLE_IP
}

case "${1:-}" in
    up)
        trap on_exit EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        lab_up
        trap - EXIT INT TERM
        echo "NS=$NS"
        echo "DIR=$D"
        echo "run a scenario by hand:  ip netns exec $NS \$BIN --config $HERE/perspectives/socks.toml --as-of 2026-11-28 www.healthy.test"
        echo "tear down:               bash $0 down"
        ;;
    down)
        down_all
        say "down"
        ;;
    status)
        for s in "$STATE_DIR"/*.env; do [ -e "$s" ] && cat "$s" && echo; done
        ;;
    run)
        export RUN_T0=$EPOCHREALTIME
        trap on_exit EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        preflight
        find_bin
        lab_up
        rc=0
        # openmpic_scenarios.py keeps its venv and wheel cache there between runs.
        STATE_DIR=$STATE_DIR python3 "$HERE/scenarios.py" || rc=$?
        teardown_one "$STATE"
        STATE=''
        rmdir "$STATE_DIR" 2>/dev/null || true
        if ip netns list | grep -qw "$NS"; then
            echo "interop: namespace $NS still present after teardown" >&2
            rc=1
        fi
        exit "$rc"
        ;;
    *)
        echo "usage: $0 run|up|down|status" >&2
        exit 3
        ;;
esac
