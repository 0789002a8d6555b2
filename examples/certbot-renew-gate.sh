#!/usr/bin/env bash
# Gate `certbot renew` on an MPIC pre-check: a thin wrapper over `mpic-check gate`, kept for
# crontabs and scripts that call it. The gate checks each certificate certbot would renew and
# runs `certbot renew --cert-name NAME ARGS...` only for those that would pass (see README,
# "Renewal gate"); this script's arguments are those ARGS.
#
# A certbot pre-hook that fails does NOT stop the renewal, so the gate must run instead of
# `certbot renew`, not inside it.
#
#   MPIC_CHECK     path of mpic-check   (default /usr/bin/mpic-check, else mpic-check on PATH)
#   CERTBOT        path of certbot      (default: certbot on PATH)
#   MPIC_ARGS      gate options, as words (e.g. "--config /etc/mpic-check/config.toml");
#                  the older "--certbot DIR" is read as --config-dir DIR
#   RENEW_ON_RISK  renew at-risk certificates with a warning (1, default) or hold them (0)
#
# Exit status: the gate's (0 renewed, 1 at risk held, 2 would fail held, 3 bad input or not
# assessed and held, 4 certbot failed).
set -u
if [ -z "${MPIC_CHECK:-}" ]; then
    if [ -x /usr/bin/mpic-check ]; then MPIC_CHECK=/usr/bin/mpic-check; else MPIC_CHECK=mpic-check; fi
fi
opts=()
# shellcheck disable=SC2206 # MPIC_ARGS is a list of words on purpose
words=(${MPIC_ARGS:-})
i=0
while [ "$i" -lt "${#words[@]}" ]; do
    w=${words[$i]}
    if [ "$w" = --certbot ]; then
        next=${words[$((i + 1))]:-}
        if [ -n "$next" ] && [ "${next#-}" = "$next" ]; then
            opts+=(--config-dir "$next")
            i=$((i + 1))
        fi
    else
        opts+=("$w")
    fi
    i=$((i + 1))
done
if [ "${RENEW_ON_RISK:-1}" = 0 ]; then opts+=(--hold-at-risk); fi
exec "$MPIC_CHECK" gate --certbot-bin "${CERTBOT:-certbot}" "${opts[@]}" -- "$@"
