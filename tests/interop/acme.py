"""The renewal-workflow scenarios: real certbot (Debian 2.1) against a real ACME server (Debian's
Pebble 2.4, started by lab.sh on PEBBLE_IP), with the lab's bind9/knot/unbound/nginx, and the
built mpic-check as a user runs it around them: `--certbot DIR`, `gate`, the DNS-01 example hook,
and `explain` on certbot's own failure output.

Each scenario is a function returning a list of mismatches ("expected … got …"); an empty list is
a pass. They run in order and build on each other (the webroot issuance makes the certificates the
`--certbot` and `gate` scenarios read), so a failed setup step fails the scenarios after it with
the reason rather than a confusing mismatch.
Stdlib only.
"""

import glob
import json
import os
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NS = os.environ["NS"]
LAB = os.environ["D"]
BIN = os.environ["BIN"]
PEBBLE = os.environ.get("PEBBLE_IP", "127.0.40.1")
DIRECTORY = f"https://{PEBBLE}:14000/dir"
LE = os.path.join(LAB, "le")
CONFIG_DIR = os.path.join(LE, "config")
WEBROOT = os.path.join(LAB, "www")
SOCKS = os.path.join(HERE, "perspectives", "socks.toml")
AS_OF = "2026-11-28"

# What every command inside the lab gets: the lab's CA for certbot's HTTPS to Pebble, loopback
# allowed for mpic-check (the lab's Internet is 127.0.0.0/8), no colour, a scratch HOME.
ENV = [
    "env", "-u", "MPIC_CHECK_HTTP_PORT", "-u", "MPIC_CHECK_DNS_PORT", "-u", "XDG_CONFIG_HOME",
    f"HOME={LAB}/home", "NO_COLOR=1", "MPIC_CHECK_ALLOW_RANGES=127.0.0.0/8",
    f"REQUESTS_CA_BUNDLE={LAB}/pebble/ca.pem",
    f"PATH={os.path.dirname(BIN)}:/usr/sbin:/usr/bin:/sbin:/bin",
]


def certbot_args(*rest):
    return ["certbot", "--non-interactive", "--agree-tos", "--register-unsafely-without-email",
            "--server", DIRECTORY, "--config-dir", CONFIG_DIR, "--work-dir", os.path.join(LE, "work"),
            "--logs-dir", os.path.join(LE, "logs"), *rest]


def run(argv, timeout=120, stdin=None):
    """Runs argv inside the namespace with the lab environment; returns (code, stdout, stderr)."""
    p = subprocess.run(["ip", "netns", "exec", NS, *ENV, *argv], capture_output=True, text=True,
                       timeout=timeout, input=stdin)
    return p.returncode, p.stdout, p.stderr


def tail(text, n=6):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " / ".join(lines[-n:])


def webroot_listing():
    out = []
    for dirpath, dirnames, filenames in os.walk(WEBROOT):
        for name in dirnames + filenames:
            out.append(os.path.relpath(os.path.join(dirpath, name), WEBROOT))
    return sorted(out)


def cert_versions(name):
    return sorted(glob.glob(os.path.join(CONFIG_DIR, "archive", name, "cert*.pem")))


STATE = {}


def webroot_issuance():
    """certbot certonly --webroot for a healthy name and for one whose port 80 is geoblocked in two
    regions (Pebble's VA is not blocked, so both are issued): the two certificates the following
    scenarios renew or hold. The webroot must be left as it was."""
    bad = []
    before = webroot_listing()
    for name in ("www.healthy.test", "www.geoblock2.test"):
        code, out, err = run(certbot_args("certonly", "--webroot", "-w", WEBROOT, "-d", name))
        if code != 0 or not cert_versions(name):
            bad.append(f"expected certbot to issue {name} got exit {code}: {tail(out + err)}")
    if webroot_listing() != before:
        bad.append(f"expected the webroot unchanged got {webroot_listing()} (was {before})")
    STATE["issued"] = not bad
    return bad


def certbot_dir_check():
    """`mpic-check --certbot DIR` reads the real renewal confs: one READY, one WOULD FAIL."""
    if not STATE.get("issued"):
        return ["expected the webroot issuance to have worked got no certificates"]
    code, out, err = run([BIN, "--config", SOCKS, "--format", "json", "--as-of", AS_OF,
                          "--certbot", CONFIG_DIR])
    try:
        doc = json.loads(out)
    except json.JSONDecodeError as e:
        return [f"expected one JSON document got {e}; exit {code}; stderr {err.strip()[:200]!r}"]
    bad = []
    if code != 2:
        bad.append(f"expected exit 2 (one certificate would fail) got {code}")
    outcomes = {i["name"]: i["outcome"] for i in doc.get("identifiers", [])}
    want = {"www.healthy.test": "pass", "www.geoblock2.test": "fail"}
    if outcomes != want:
        bad.append(f"expected outcomes {want} got {outcomes}")
    codes = {f["code"] for f in doc.get("findings", []) if f.get("identifier") == "www.geoblock2.test"}
    if "http-geoblocked" not in codes:
        bad.append(f"expected http-geoblocked for www.geoblock2.test got {sorted(codes)}")
    return bad


def failed_validation_explain():
    """A real failed validation: nginx answers 403 to Pebble's VA (by its User-Agent). certbot's
    own output (stdout and stderr together, as the docs show) goes through `explain`."""
    code, out, err = run(certbot_args("certonly", "--webroot", "-w", WEBROOT, "-d", "www.forbidden.test"))
    text = out + err
    STATE["forbidden_text"] = text
    if code == 0:
        return ["expected certbot to fail for www.forbidden.test got exit 0"]
    if "returned 403" not in text:
        return [f"expected Pebble's 403 detail in certbot's output got {tail(text)!r}"]
    code, eout, eerr = run([BIN, "explain", "--format", "json", "-"], stdin=text)
    try:
        items = json.loads(eout)
    except json.JSONDecodeError as e:
        return [f"expected explain JSON got {e}; exit {code}; stderr {eerr.strip()[:200]!r}"]
    bad = []
    if len(items) != 1:
        bad.append(f"expected one explanation got {len(items)}: {eout[:300]!r}")
        return bad
    e = items[0]
    if e.get("identifier") != "www.forbidden.test":
        bad.append(f"expected identifier www.forbidden.test got {e.get('identifier')!r}")
    if e.get("status") != 403:
        bad.append(f"expected status 403 got {e.get('status')!r}")
    args = e.get("suggested_args") or []
    if "http-01" not in args:
        bad.append(f"expected a suggested http-01 check got {args}")
    STATE["forbidden_explain"] = e
    return bad


SCENARIOS = [
    ("certbot-webroot-issuance", webroot_issuance),
    ("certbot-dir-check", certbot_dir_check),
    ("certbot-403-explain", failed_validation_explain),
]
