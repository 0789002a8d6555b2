#!/bin/sh
# Adds or removes one TXT value with nsupdate (RFC 2136 dynamic update, TSIG-signed): the
# DNS_TXT_TOOL of certbot-dns-auth-hook.sh for a BIND (or Knot, PowerDNS…) primary.
#
#   dns-nsupdate.sh add _acme-challenge.example.com VALUE
#   dns-nsupdate.sh del _acme-challenge.example.com VALUE
#
# "add" adds to the RRset (apex and wildcard share the name); "del" removes only that value.
# Settings, from /etc/mpic-check/certbot-dns-hook.conf (MPIC_HOOK_CONF names another file):
#   NSUPDATE_SERVER  the primary that accepts updates (required)
#   NSUPDATE_PORT    its port (default 53)
#   NSUPDATE_KEY     TSIG key file, e.g. from `tsig-keygen acme > /etc/mpic-check/acme.key` (required)
#   NSUPDATE_ZONE    the zone, when nsupdate cannot find it from the SOA (optional)
#   TXT_TTL          TTL of the record (default 60)
set -eu
conf=${MPIC_HOOK_CONF:-/etc/mpic-check/certbot-dns-hook.conf}
# shellcheck source=/dev/null
if [ -r "$conf" ]; then . "$conf"; fi
: "${NSUPDATE_SERVER:?set NSUPDATE_SERVER in $conf}" "${NSUPDATE_KEY:?set NSUPDATE_KEY in $conf}"
[ $# -eq 3 ] || { echo "usage: $0 add|del NAME VALUE" >&2; exit 3; }
case $1 in
    add) change="update add $2. ${TXT_TTL:-60} IN TXT \"$3\"" ;;
    del) change="update delete $2. IN TXT \"$3\"" ;;
    *) echo "usage: $0 add|del NAME VALUE" >&2; exit 3 ;;
esac
{
    echo "server $NSUPDATE_SERVER ${NSUPDATE_PORT:-53}"
    if [ -n "${NSUPDATE_ZONE:-}" ]; then echo "zone $NSUPDATE_ZONE"; fi
    echo "$change"
    echo "send"
} | nsupdate -k "$NSUPDATE_KEY"
