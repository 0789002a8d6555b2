#!/usr/bin/env bash
# Gate `certbot renew` on an MPIC pre-check.
#
# A certbot pre-hook that fails does NOT stop the renewal, so the gate must run before certbot.
# Exit codes of mpic-check: 0 ready, 1 at risk, 2 would fail, 3 could not assess.
#
#   MPIC_CHECK   path of mpic-check        (default: mpic-check on PATH)
#   CERTBOT      path of certbot           (default: certbot on PATH)
#   MPIC_ARGS    extra arguments           (e.g. "--config /etc/mpic-check/config.toml")
#   RENEW_ON_RISK  renew anyway when at risk (1, default) or not (0)
set -u
MPIC_CHECK=${MPIC_CHECK:-mpic-check}
CERTBOT=${CERTBOT:-certbot}
RENEW_ON_RISK=${RENEW_ON_RISK:-1}

# shellcheck disable=SC2086 # MPIC_ARGS is a list of words on purpose
"$MPIC_CHECK" --certbot --quiet ${MPIC_ARGS:-}
status=$?
case $status in
    0)
        echo "mpic-check: ready; renewing"
        ;;
    1)
        if [ "$RENEW_ON_RISK" = 1 ]; then
            echo "mpic-check: at risk (see above); renewing anyway"
        else
            echo "mpic-check: at risk; not renewing (RENEW_ON_RISK=0)" >&2
            exit 1
        fi
        ;;
    2)
        # A failed attempt burns rate limits (5 failed authorizations per hour at Let's Encrypt).
        echo "mpic-check: the renewal would fail MPIC; not renewing. Fix the findings above." >&2
        exit 2
        ;;
    *)
        echo "mpic-check: could not assess (exit $status); not renewing" >&2
        exit 3
        ;;
esac
exec "$CERTBOT" renew "$@"
