#!/usr/bin/env bash
# certbot --manual-auth-hook for DNS-01: create the TXT record with your DNS provider's tool, then
# block until every authoritative nameserver and a quorum of perspectives see it, so the CA's
# remote perspectives do not validate before the record has propagated.
#
#   certbot certonly --manual --preferred-challenges dns \
#     --manual-auth-hook /usr/local/bin/certbot-dns-auth-hook.sh -d example.com -d '*.example.com'
#
# certbot exports CERTBOT_DOMAIN and CERTBOT_VALIDATION.
set -eu
: "${CERTBOT_DOMAIN:?run me from certbot}" "${CERTBOT_VALIDATION:?run me from certbot}"

# 1. Add (do not replace: apex and wildcard share one name) the TXT record. Replace this line
#    with your provider's CLI, e.g. an nsupdate script, lexicon, or the provider's API client.
"${DNS_ADD_TXT:-/usr/local/bin/dns-add-txt}" "_acme-challenge.${CERTBOT_DOMAIN}" "${CERTBOT_VALIDATION}"

# 2. Wait until it is visible everywhere a CA looks (exit 2 after the timeout names what lags).
exec mpic-check wait-txt "${CERTBOT_DOMAIN}" "${CERTBOT_VALIDATION}" --timeout "${WAIT_TXT_TIMEOUT:-10m}"
