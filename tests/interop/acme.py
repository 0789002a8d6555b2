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
import shlex
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
    STATE["webroot"] = before
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
    # Pebble is not a CA whose CAA issuer domain is known: CAA is not judged against
    # letsencrypt.org (issue 19), and the report says so per certificate.
    for ident in doc.get("identifiers", []):
        cert = ident.get("certificate") or {}
        if ident.get("ca") != "" or not cert.get("unknown_ca"):
            bad.append(f"expected {ident.get('name')} with an unknown CA (ca \"\", certificate.unknown_ca) "
                       f"got ca {ident.get('ca')!r}, certificate {cert!r}")
    unknown = {f["identifier"] for f in doc.get("findings", []) if f["code"] == "ca-unknown"}
    if unknown != set(want):
        bad.append(f"expected ca-unknown for {sorted(want)} got {sorted(unknown)}")
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
    # Exactly the documented pipeline: certbot prints the CA's detail on stdout, its log line on
    # stderr, and the user pipes both (`certbot … 2>&1 | mpic-check explain`).
    pipeline = " ".join(shlex.quote(a) for a in certbot_args(
        "certonly", "--webroot", "-w", WEBROOT, "-d", "www.forbidden.test"))
    pipeline += f" 2>&1 | {shlex.quote(BIN)} explain --format json"
    code, eout, eerr = run(["sh", "-c", pipeline])
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
    if e.get("family") != "http-status" or e.get("stage") != "primary":
        bad.append(f"expected family http-status at the primary got {e.get('family')!r}/{e.get('stage')!r}")
    if "user-agent-filtered" not in (e.get("likely_findings") or []):
        bad.append(f"expected user-agent-filtered among the likely findings got {e.get('likely_findings')}")
    if e.get("status") != 403:
        bad.append(f"expected status 403 got {e.get('status')!r}")
    args = e.get("suggested_args") or []
    if "http-01" not in args:
        bad.append(f"expected a suggested http-01 check got {args}")
    STATE["forbidden_explain"] = e
    return bad


def make_due(name, days=3000):
    """certbot renews a certificate when it expires within renew_before_expiry; Pebble's are valid
    for five years, so the lab says "renew within 3000 days" in the renewal conf itself (a key
    certbot honours per certificate)."""
    conf = os.path.join(CONFIG_DIR, "renewal", f"{name}.conf")
    with open(conf) as fh:
        text = fh.read()
    lines = [ln for ln in text.splitlines() if not ln.startswith("renew_before_expiry")]
    with open(conf, "w") as fh:
        fh.write(f"renew_before_expiry = {days} days\n" + "\n".join(lines) + "\n")


CERTBOT_PASS = ["--", "--no-random-sleep-on-renew", "--work-dir", os.path.join(LE, "work"),
                "--logs-dir", os.path.join(LE, "logs")]


def gate_renews_ready_holds_failing():
    """Both certificates are due. `gate` renews the ready one (a new cert2.pem from Pebble) and holds
    the one whose renewal would fail MPIC (two regions geoblocked), one line each, exit 2."""
    if not STATE.get("issued"):
        return ["expected the webroot issuance to have worked got no certificates"]
    for name in ("www.healthy.test", "www.geoblock2.test"):
        make_due(name)
    before = {n: len(cert_versions(n)) for n in ("www.healthy.test", "www.geoblock2.test")}
    code, out, err = run([BIN, "gate", "--config", SOCKS, "--config-dir", CONFIG_DIR, "--as-of", AS_OF,
                          *CERTBOT_PASS], timeout=180)
    text = out + err
    STATE["gate_text"] = text
    after = {n: len(cert_versions(n)) for n in before}
    bad = []
    if code != 2:
        bad.append(f"expected gate exit 2 (one certificate held: would fail) got {code}: {tail(text, 10)!r}")
    if after["www.healthy.test"] != before["www.healthy.test"] + 1:
        bad.append(f"expected www.healthy.test renewed (a new version) got {before} → {after}")
    if after["www.geoblock2.test"] != before["www.geoblock2.test"]:
        bad.append(f"expected www.geoblock2.test held (no new version) got {before} → {after}")
    held = [ln for ln in text.splitlines() if ln.startswith("hold www.geoblock2.test")]
    if not held:
        bad.append(f"expected a line holding www.geoblock2.test got {tail(text, 10)!r}")
    elif not any(r in held[0] for r in ("eu-west", "ap-south")):
        # The line's evidence is the dissenting region's (the one nginx refuses), not the primary's 200.
        bad.append(f"expected the hold line to name a blocked region got {held[0]!r}")
    if webroot_listing() != STATE.get("webroot", webroot_listing()):
        bad.append("expected the webroot unchanged after the gate")
    return bad


def gate_on_unknown():
    """Every remote's proxy is down (a checker outage, not a domain problem): the default renews
    with a loud warning so certificates do not expire; `--on-unknown hold` holds with exit 3."""
    if not STATE.get("issued"):
        return ["expected the webroot issuance to have worked got no certificates"]
    dead = os.path.join(LAB, "dead-proxies.toml")
    with open(SOCKS) as fh:
        # Nothing listens on 127.0.31.N: every remote's HTTP and DNS-over-proxy fails to connect.
        text = fh.read().replace("127.0.30.", "127.0.31.").replace("udp://127.0.1.", "udp://127.0.9.")
    home = text.split("[[perspective]]")[1]
    text = text.replace(home, home.replace("udp://127.0.9.2", "udp://127.0.1.2"))
    with open(dead, "w") as fh:
        fh.write(text)
    bad = []
    before = len(cert_versions("www.healthy.test"))
    code, out, err = run([BIN, "gate", "--config", dead, "--config-dir", CONFIG_DIR, "--as-of", AS_OF,
                          "--on-unknown", "hold", *CERTBOT_PASS], timeout=180)
    if code != 3 or len(cert_versions("www.healthy.test")) != before:
        bad.append(f"expected --on-unknown hold to hold everything with exit 3 got exit {code}, "
                   f"versions {before} → {len(cert_versions('www.healthy.test'))}: {tail(out + err, 8)!r}")
    code, out, err = run([BIN, "gate", "--config", dead, "--config-dir", CONFIG_DIR, "--as-of", AS_OF,
                          *CERTBOT_PASS], timeout=180)
    if len(cert_versions("www.healthy.test")) != before + 1:
        bad.append(f"expected the default (--on-unknown renew) to renew www.healthy.test got exit {code}: "
                   f"{tail(out + err, 8)!r}")
    if "warn" not in (out + err).lower() and "could not" not in (out + err).lower():
        bad.append(f"expected a loud warning about the unassessed certificates got {tail(out + err, 8)!r}")
    return bad


def txt_at(server, name):
    p = subprocess.run(["ip", "netns", "exec", NS, "dig", "+short", "+time=1", "+tries=2", f"@{server}",
                        name, "TXT"], capture_output=True, text=True, timeout=30)
    return sorted(ln.strip().strip('"') for ln in p.stdout.splitlines() if ln.strip())


def hook_conf(path, timeout):
    hook_dir = os.path.dirname(path)
    os.makedirs(hook_dir, exist_ok=True)
    with open(path, "w") as fh:
        fh.write(f"""MPIC_CHECK={BIN}
MPIC_CONFIG={SOCKS}
WAIT_TXT_TIMEOUT={timeout}
ON_TIMEOUT=abort
DNS_TXT_TOOL={ROOT}/examples/dns-nsupdate.sh
STATE_DIR={hook_dir}/state
NSUPDATE_SERVER=127.0.2.1
NSUPDATE_KEY={LAB}/bind/lab.key
NSUPDATE_ZONE=dyn.test
TXT_TTL=60
""")
    return path


def certbot_manual_dns(conf, *names, timeout=240):
    domains = [a for n in names for a in ("-d", n)]
    return run(["env", f"MPIC_HOOK_CONF={conf}", *certbot_args(
        "certonly", "--manual", "--preferred-challenges", "dns",
        "--manual-auth-hook", os.path.join(ROOT, "examples", "certbot-dns-auth-hook.sh"),
        "--manual-cleanup-hook", os.path.join(ROOT, "examples", "certbot-dns-cleanup-hook.sh"),
        *domains)], timeout=timeout)


def dns01_hook_issuance():
    """The README's DNS-01 recipe, as shipped: examples/certbot-dns-auth-hook.sh and
    certbot-dns-cleanup-hook.sh with examples/dns-nsupdate.sh (TSIG-signed nsupdate to bind, the
    primary of dyn.test). The CA's resolver asks only knot, the secondary, which lags by up to 3 s,
    so the issuance of dyn.test + *.dyn.test (two values at one name) succeeds only if the hook waits
    for every value on every nameserver. The hooks get their settings from a file (certbot keeps no
    hook environment for renewals); the zone must be left without any _acme-challenge TXT."""
    conf = hook_conf(os.path.join(LAB, "hook", "certbot-dns-hook.conf"), "60s")
    t0 = time.time()
    code, out, err = certbot_manual_dns(conf, "dyn.test", "*.dyn.test")
    took = time.time() - t0
    STATE["dns01_text"] = out + err
    STATE["dns01_seconds"] = took
    if os.environ.get("MPICLAB_VERBOSE"):
        print(f"    certbot DNS-01 issuance took {took:.1f} s", flush=True)
    bad = []
    if code != 0 or not cert_versions("dyn.test"):
        bad.append(f"expected certbot to issue dyn.test + *.dyn.test got exit {code} after {took:.1f} s: "
                   f"{tail(out + err, 12)!r}")
    if took > 45:
        bad.append(f"expected one wait for both values (well under the 60 s TTL) got {took:.1f} s")
    # Cleanup: the primary at once, the secondary after its next refresh (≤ 3 s).
    left = {}
    for _ in range(60):
        left = {srv: txt_at(srv, "_acme-challenge.dyn.test") for srv in ("127.0.2.1", "127.0.3.1")}
        if not any(left.values()):
            break
        time.sleep(0.2)
    if any(left.values()):
        bad.append(f"expected no _acme-challenge.dyn.test TXT left got {left}")
    return bad


def pebble_challenge_posts():
    """How many times an ACME client answered a challenge (POST to a challenge URL) so far."""
    with open(os.path.join(LAB, "log", "pebble.log"), errors="replace") as fh:
        return sum(1 for ln in fh if "POST /chalZ/" in ln)


def dns01_hook_abort():
    """The secondary stops transferring (knotc zone-freeze), so the TXT never shows up everywhere
    the CA looks. With ON_TIMEOUT=abort the example hook removes what it added and stops certbot
    before certbot answers the challenge: certbot exits non-zero, Pebble never receives a
    challenge answer (no failed authorization), and the zone is left without the TXT."""
    knotc = ["ip", "netns", "exec", NS, "knotc", "-s", os.path.join(LAB, "knot", "knot.sock")]
    p = subprocess.run([*knotc, "zone-freeze", "dyn.test"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        return [f"expected knotc zone-freeze to work got {p.returncode}: {p.stderr.strip()[:200]}"]
    try:
        conf = hook_conf(os.path.join(LAB, "hook-abort", "certbot-dns-hook.conf"), "4s")
        answers = pebble_challenge_posts()
        code, out, err = certbot_manual_dns(conf, "www.dyn.test", timeout=120)
        bad = []
        if code == 0 or cert_versions("www.dyn.test"):
            bad.append(f"expected certbot stopped without a certificate got exit {code}")
        if pebble_challenge_posts() != answers:
            bad.append("expected no challenge answered at Pebble (no failed authorization) got "
                       f"{pebble_challenge_posts() - answers} answer(s)")
        left = txt_at("127.0.2.1", "_acme-challenge.www.dyn.test")
        if left:
            bad.append(f"expected the hook to remove its TXT from the primary got {left}")
        # certbot logs a hook's output only after the hook returns; this one stops certbot first.
        return bad
    finally:
        subprocess.run([*knotc, "zone-thaw", "dyn.test"], capture_output=True, timeout=30)


# --acme-dry-run: the CA's own validation, issuing nothing. Each scenario runs mpic-check against
# Pebble with the lab's root, keeps the account in a state directory of its own, and checks that
# the webroot (or the zone) is left exactly as before and that nothing was finalized.
DRY_STATE = os.path.join(LAB, "dry-run-state")


def pebble_log_count(needle):
    with open(os.path.join(LAB, "log", "pebble.log"), errors="replace") as fh:
        return sum(1 for ln in fh if needle in ln)


def dry_run(*args, timeout=240, env=()):
    """mpic-check --acme-dry-run against Pebble; returns (code, doc or None, stdout, stderr)."""
    code, out, err = run(["env", f"XDG_STATE_HOME={DRY_STATE}", *env, BIN, "--config", SOCKS,
                          "--format", "json", "--as-of", AS_OF, "--acme-dry-run", DIRECTORY,
                          "--acme-ca-file", os.path.join(LAB, "pebble", "ca.pem"), *args],
                         timeout=timeout)
    try:
        doc = json.loads(out)
    except json.JSONDecodeError:
        doc = None
    return code, doc, out, err


def dry_common(name, code, doc, out, err, finalized_before):
    """What every dry run must show: the notice first on stderr, one JSON document with the
    name's acme_dry_run, no secret echoed, nothing finalized, the account file private."""
    bad = []
    first = err.splitlines()[0] if err.strip() else ""
    if "--acme-dry-run contacts" not in first or "nothing is issued" not in first:
        bad.append(f"expected the notice as the first stderr line got {first!r}")
    if doc is None:
        return bad + [f"expected one JSON document got exit {code}: {tail(out + err)!r}"]
    ids = {i["name"]: i for i in doc.get("identifiers", [])}
    if "acme_dry_run" not in ids.get(name, {}):
        bad.append(f"expected acme_dry_run for {name} got {sorted(ids.get(name, {}))}")
    if pebble_log_count("finalize-order") != finalized_before:
        bad.append("expected no finalization at Pebble got "
                   f"{pebble_log_count('finalize-order') - finalized_before} finalize request(s)")
    if "/my-account/" in out or "BEGIN" in out or "key_pkcs8" in out + err:
        bad.append("expected no account URL or key in the output")
    files = glob.glob(os.path.join(DRY_STATE, "mpic-check", "acme-account-*.json"))
    if len(files) != 1:
        bad.append(f"expected one stored account got {files}")
    else:
        mode = os.stat(files[0]).st_mode & 0o777
        dmode = os.stat(os.path.dirname(files[0])).st_mode & 0o777
        if (mode, dmode) != (0o600, 0o700):
            bad.append(f"expected the account file 0600 in a 0700 directory got {oct(mode)}/{oct(dmode)}")
    return bad


def dry_run_valid():
    """A healthy name over HTTP-01: the key authorization goes into the webroot, Pebble validates
    it (`valid`), the file is gone afterwards and nothing is finalized."""
    before = webroot_listing()
    finalized = pebble_log_count("finalize-order")
    code, doc, out, err = dry_run("--webroot", WEBROOT, "www.healthy.test")
    bad = dry_common("www.healthy.test", code, doc, out, err, finalized)
    if doc is not None:
        d = doc["identifiers"][0].get("acme_dry_run", {})
        if d.get("status") != "valid" or d.get("challenge") != "http-01":
            bad.append(f"expected a valid http-01 dry run got {d}")
        if code != 0:
            bad.append(f"expected exit 0 (predicted and validated) got {code}: {tail(err)!r}")
    if webroot_listing() != before:
        bad.append(f"expected the webroot unchanged got {webroot_listing()} (was {before})")
    # The second run reuses the stored account (still one file; checked in dry_common).
    return bad


def dry_run_forbidden():
    """nginx answers 403 to Pebble's VA only: mpic-check's perspectives see nothing wrong, the CA
    says invalid. The problem is explained, the disagreement said, the name WOULD FAIL (exit 2)."""
    before = webroot_listing()
    finalized = pebble_log_count("finalize-order")
    code, doc, out, err = dry_run("--webroot", WEBROOT, "www.forbidden.test")
    bad = dry_common("www.forbidden.test", code, doc, out, err, finalized)
    if doc is not None:
        d = doc["identifiers"][0].get("acme_dry_run", {})
        detail = (d.get("problem") or {}).get("detail", "")
        if d.get("status") != "invalid" or "403" not in detail:
            bad.append(f"expected invalid with the 403 problem got {d}")
        if "acme-challenge/" in detail and "acme-challenge/<token>" not in detail:
            bad.append(f"expected the token scrubbed from the problem got {detail!r}")
        if not d.get("summary", "").startswith("the CA says: ") or "mpic-check saw:" not in d.get("summary", ""):
            bad.append(f"expected the CA's words beside mpic-check's got {d.get('summary')!r}")
        f = [f for f in doc.get("findings", []) if f["code"] == "acme-dry-run-invalid"]
        if not f or not any(e.startswith("explained (") for e in f[0]["evidence"]):
            bad.append(f"expected an acme-dry-run-invalid finding with the explanation got {f}")
        if d.get("agrees") is not False or "disagree" not in d.get("summary", ""):
            bad.append(f"expected the disagreement with the predicted pass said got {d.get('summary')!r}")
        if code != 2:
            bad.append(f"expected exit 2 (the CA's invalid is ground truth) got {code}")
    if webroot_listing() != before:
        bad.append(f"expected the webroot unchanged got {webroot_listing()} (was {before})")
    return bad


def zone_records(server):
    """The dyn.test zone at `server` without its SOA (nsupdate bumps the serial), sorted."""
    p = subprocess.run(["ip", "netns", "exec", NS, "dig", "+noall", "+answer", "+time=2", f"@{server}",
                        "dyn.test", "AXFR"],
                       capture_output=True, text=True, timeout=30)
    rows = []
    for ln in p.stdout.splitlines():
        f = ln.split()
        if len(f) >= 5 and f[3] != "SOA":
            rows.append(" ".join([f[0], f[3], *f[4:]]))
    return sorted(rows)


def dry_run_dns01_hook():
    """DNS-01 through the shipped certbot hooks (nsupdate to bind, wait-txt for the lagging
    secondary), called by mpic-check exactly like certbot calls them: `valid`, and the zone is left
    with exactly the records it had."""
    name = "dry.dyn.test"
    conf = hook_conf(os.path.join(LAB, "hook-dry", "certbot-dns-hook.conf"), "60s")
    before = zone_records("127.0.2.1")
    finalized = pebble_log_count("finalize-order")
    code, doc, out, err = dry_run(
        "-m", "dns-01",
        "--dns-hook", os.path.join(ROOT, "examples", "certbot-dns-auth-hook.sh"),
        "--dns-cleanup-hook", os.path.join(ROOT, "examples", "certbot-dns-cleanup-hook.sh"),
        name, env=(f"MPIC_HOOK_CONF={conf}",))
    bad = dry_common(name, code, doc, out, err, finalized)
    if doc is not None:
        d = doc["identifiers"][0].get("acme_dry_run", {})
        if d.get("status") != "valid" or d.get("challenge") != "dns-01":
            bad.append(f"expected a valid dns-01 dry run got {d}; stderr {tail(err)!r}")
    if not before:
        bad.append("expected an AXFR of dyn.test from bind to work")
    after = zone_records("127.0.2.1")
    if after != before:
        bad.append(f"expected the zone unchanged got +{sorted(set(after) - set(before))} "
                   f"-{sorted(set(before) - set(after))}")
    left = txt_at("127.0.2.1", f"_acme-challenge.{name}")
    if left:
        bad.append(f"expected no _acme-challenge.{name} TXT left got {left}")
    return bad


SCENARIOS = [
    ("certbot-webroot-issuance", webroot_issuance),
    ("certbot-dir-check", certbot_dir_check),
    ("gate-renews-ready-holds-failing", gate_renews_ready_holds_failing),
    ("gate-on-unknown", gate_on_unknown),
    ("certbot-dns01-hook-lagging-secondary", dns01_hook_issuance),
    ("certbot-dns01-hook-abort", dns01_hook_abort),
    ("certbot-403-explain", failed_validation_explain),
    ("acme-dry-run-valid", dry_run_valid),
    ("acme-dry-run-403-invalid", dry_run_forbidden),
    ("acme-dry-run-dns01-hook", dry_run_dns01_hook),
]
