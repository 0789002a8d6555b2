#!/usr/bin/env bash
# certbot --manual-auth-hook for DNS-01 that waits for MPIC before certbot answers the challenges.
#
#   certbot certonly --manual --preferred-challenges dns \
#     --manual-auth-hook /usr/local/bin/certbot-dns-auth-hook.sh \
#     --manual-cleanup-hook /usr/local/bin/certbot-dns-cleanup-hook.sh \
#     -d example.com -d '*.example.com'
#
# certbot runs this hook once per challenge, with CERTBOT_DOMAIN, CERTBOT_VALIDATION,
# CERTBOT_REMAINING_CHALLENGES (challenges still to come) and CERTBOT_ALL_DOMAINS. It answers all
# challenges only after the last hook returns. So the hook adds each TXT value as it comes (adds:
# apex and wildcard share _acme-challenge.example.com) and only at the last one
# (CERTBOT_REMAINING_CHALLENGES=0) waits ONCE for every value of every name: first on every
# authoritative nameserver, then once through the perspectives' resolvers. Waiting per value would
# make resolvers cache an RRset that still lacks the later value, for its TTL.
#
# What protects you: certbot IGNORES this hook's exit code and answers the challenges anyway,
# which burns a failed authorization at the CA (Let's Encrypt: 5 per hour per account and name).
# So when the records do not show up in time (ON_TIMEOUT=abort, the default) the hook removes every
# value it added and sends SIGTERM to certbot before certbot can answer: certbot then runs the
# cleanup hook for the other challenges and exits non-zero; the authorizations stay pending
# (nothing failed) and the next run starts over. ON_TIMEOUT=continue lets certbot try anyway.
#
# certbot does not save this hook's environment for renewals, so nothing here needs extra
# variables: settings come from /etc/mpic-check/certbot-dns-hook.conf (a shell fragment; see
# examples/certbot-dns-hook.conf), MPIC_HOOK_CONF names another file.
set -euf -o pipefail

conf=${MPIC_HOOK_CONF:-/etc/mpic-check/certbot-dns-hook.conf}
# shellcheck source=/dev/null
if [ -r "$conf" ]; then . "$conf"; fi
MPIC_CHECK=${MPIC_CHECK:-/usr/bin/mpic-check}
DNS_TXT_TOOL=${DNS_TXT_TOOL:-/usr/local/bin/dns-nsupdate.sh}   # called as: TOOL add|del NAME VALUE
MPIC_CONFIG=${MPIC_CONFIG:-}                                   # perspectives file for wait-txt
WAIT_TXT_TIMEOUT=${WAIT_TXT_TIMEOUT:-10m}
ON_TIMEOUT=${ON_TIMEOUT:-abort}                                # abort | continue
STATE_DIR=${STATE_DIR:-/run/mpic-check}

: "${CERTBOT_DOMAIN:?run me from certbot --manual-auth-hook}" "${CERTBOT_VALIDATION:?run me from certbot}"
if [ -n "${CERTBOT_TOKEN:-}" ]; then
    echo "certbot-dns-auth-hook: this is an http-01 challenge; use --preferred-challenges dns" >&2
    exit 1
fi
remaining=${CERTBOT_REMAINING_CHALLENGES:-0}
all=${CERTBOT_ALL_DOMAINS:-$CERTBOT_DOMAIN}

# The values of this certbot run, one "NAME VALUE" per line: what wait-txt --records reads.
mkdir -p -m 0700 "$STATE_DIR"
state="$STATE_DIR/certbot-dns-$(printf '%s' "$all" | sha256sum | cut -c1-16).records"
IFS=, read -r -a domains <<< "$all"
if [ "$remaining" -ge $(( ${#domains[@]} - 1 )) ]; then
    : > "$state"   # first challenge of this run: forget what a killed earlier run left
fi

"$DNS_TXT_TOOL" add "_acme-challenge.${CERTBOT_DOMAIN}" "$CERTBOT_VALIDATION"
printf '%s %s\n' "$CERTBOT_DOMAIN" "$CERTBOT_VALIDATION" >> "$state"
if [ "$remaining" -gt 0 ]; then
    exit 0         # more values to come; asking resolvers now would cache a partial RRset
fi

args=(wait-txt --records "$state" --timeout "$WAIT_TXT_TIMEOUT")
if [ -n "$MPIC_CONFIG" ]; then args+=(--config "$MPIC_CONFIG"); fi
status=0
"$MPIC_CHECK" "${args[@]}" || status=$?
if [ "$status" -eq 0 ]; then
    exit 0
fi
echo "certbot-dns-auth-hook: mpic-check wait-txt exited $status: the TXT records are not visible everywhere a CA looks" >&2
if [ "$ON_TIMEOUT" != abort ]; then
    exit 1         # certbot answers anyway (ON_TIMEOUT=continue)
fi

# Abort: remove what this run added, then stop certbot before it answers the challenges.
while read -r name value; do
    "$DNS_TXT_TOOL" del "_acme-challenge.${name}" "$value" || true
done < "$state"
rm -f "$state"
pid=$PPID
while [ "${pid:-0}" -gt 1 ]; do
    # certbot is argv[0] (a wrapper) or argv[1] (python3 /usr/bin/certbot); the shell that runs
    # this hook (sh -c HOOK) is skipped.
    mapfile -t -n 2 argv < <(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null || true)
    for a in "${argv[@]}"; do
        if [ "${a##*/}" = certbot ]; then
            echo "certbot-dns-auth-hook: removed the TXT records; stopping certbot (pid $pid) before it answers the challenges, so no authorization fails" >&2
            kill -TERM "$pid"
            exit 1
        fi
    done
    pid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
done
echo "certbot-dns-auth-hook: certbot's process not found; it will answer the challenges and fail" >&2
exit 1
