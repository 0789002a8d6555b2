#!/usr/bin/env bash
# certbot --manual-cleanup-hook matching certbot-dns-auth-hook.sh: removes this challenge's TXT
# value (only that value: the other name of an apex + wildcard pair may still be validating) and,
# after the last challenge, the hook's list of values. Removing a value that is already gone
# (after the auth hook aborted) is not an error. Same settings file as the auth hook.
set -euf -o pipefail

conf=${MPIC_HOOK_CONF:-/etc/mpic-check/certbot-dns-hook.conf}
# shellcheck source=/dev/null
if [ -r "$conf" ]; then . "$conf"; fi
DNS_TXT_TOOL=${DNS_TXT_TOOL:-/usr/local/bin/dns-nsupdate.sh}
STATE_DIR=${STATE_DIR:-/run/mpic-check}

: "${CERTBOT_DOMAIN:?run me from certbot --manual-cleanup-hook}" "${CERTBOT_VALIDATION:?run me from certbot}"
"$DNS_TXT_TOOL" del "_acme-challenge.${CERTBOT_DOMAIN}" "$CERTBOT_VALIDATION"
if [ "${CERTBOT_REMAINING_CHALLENGES:-0}" -eq 0 ]; then
    all=${CERTBOT_ALL_DOMAINS:-$CERTBOT_DOMAIN}
    rm -f "$STATE_DIR/certbot-dns-$(printf '%s' "$all" | sha256sum | cut -c1-16).records"
fi
