"""mpic-check's Open MPIC engine against the real coordinator: `open-mpic-core` (PyPI, pinned
below) wrapped by openmpic/server.py, whose five perspectives are the lab's regions (own unbound
resolver, own egress address). The tool runs with the lab's home resolver as primary and the
coordinator as its only remotes (`[[engine]] kind = "open-mpic"`).

Each scenario checks the tool's verdict and findings, and then holds every perspective the
coordinator returned against what the tool read from it: the observation `openmpic-<code>` must
exist, be `ok` exactly when the library said `check_passed`, carry the library's HTTP status and
CAA records, and the engine's verdict must repeat the library's `is_valid`. `parse-check-catches`
proves the comparison has teeth: a copy of the tool's JSON with one field changed must fail it.

The venv is built once under the lab state dir (MPICLAB_STATE_DIR) from wheels cached there, so a
second run installs nothing from the network. Environment (set by lab.sh): NS, D, BIN, TOKEN,
KEYAUTH, STATE_DIR. Stdlib only (the library runs in its venv, in the server process).
"""

import base64
import copy
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NS = os.environ["NS"]
LAB = os.environ["D"]
BIN = os.environ["BIN"]
TOKEN = os.environ["TOKEN"]
KEYAUTH = os.environ["KEYAUTH"]
STATE_DIR = os.environ.get("STATE_DIR", "/run/mpiclab")
PACKAGE = "open-mpic-core==6.5.0"
LISTEN = "127.0.0.1:8790"
# Lab regions as Open MPIC perspectives: AWS region codes (the reference deployments' naming,
# which mpic-check maps to RIRs), the RIR, and N: resolver 127.0.1.N, egress 127.0.0.N.
PERSPECTIVES = ["us-east-1:ARIN:3", "eu-west-1:RIPE:4", "ap-south-1:APNIC:5",
                "sa-east-1:LACNIC:6", "af-south-1:AFRINIC:7"]
WITH_TOKEN = ["--token", TOKEN, "--expect-body", KEYAUTH]
ENV = ["env", "-u", "MPIC_CHECK_HTTP_PORT", "-u", "MPIC_CHECK_DNS_PORT", "-u", "XDG_CONFIG_HOME",
       f"HOME={LAB}/home", "NO_COLOR=1", "MPIC_CHECK_ALLOW_RANGES=127.0.0.0/8"]
CONFIG = f"""\
[defaults]
timeout = "2s"

[[perspective]]
name = "home"
role = "primary"
rir = "ARIN"
dns = "udp://127.0.1.2:53"
http = "direct"

[[engine]]
kind = "open-mpic"
url = "http://{LISTEN}/mpic"
"""


def venv_python():
    """The venv's python, building the venv on first use (wheels cached under STATE_DIR)."""
    venv = os.path.join(STATE_DIR, "openmpic-venv")
    wheels = os.path.join(STATE_DIR, "openmpic-wheels")
    py = os.path.join(venv, "bin", "python")
    marker = os.path.join(venv, ".installed-" + PACKAGE)
    if os.path.exists(marker):
        return py
    os.makedirs(wheels, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True,
                   capture_output=True, timeout=120)
    pip = [py, "-m", "pip", "--disable-pip-version-check", "-q"]
    # Offline first (the cache), then fill the cache from PyPI.
    if subprocess.run([*pip, "install", "--no-index", "--find-links", wheels, PACKAGE],
                      capture_output=True, timeout=300).returncode != 0:
        p = subprocess.run([*pip, "download", "-d", wheels, PACKAGE], capture_output=True,
                           text=True, timeout=600)
        if p.returncode != 0:
            raise OSError(f"pip download {PACKAGE} failed: {p.stderr.strip()[-300:]}")
        p = subprocess.run([*pip, "install", "--no-index", "--find-links", wheels, PACKAGE],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise OSError(f"pip install {PACKAGE} failed: {p.stderr.strip()[-300:]}")
    open(marker, "w").close()
    return py


class Coordinator:
    """openmpic/server.py inside the namespace, with its response log."""

    def __init__(self):
        self.work = os.path.join(LAB, "openmpic")
        os.makedirs(self.work, exist_ok=True)
        os.makedirs(os.path.join(LAB, "home"), exist_ok=True)
        self.log = os.path.join(self.work, "responses.jsonl")
        self.config = os.path.join(self.work, "mpic.toml")
        with open(self.config, "w") as fh:
            fh.write(CONFIG)
        args = ["ip", "netns", "exec", NS, venv_python(), os.path.join(HERE, "openmpic", "server.py"),
                "--listen", LISTEN, "--log", self.log]
        for p in PERSPECTIVES:
            args += ["--perspective", p]
        self.err = open(os.path.join(self.work, "server.log"), "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.time() + 30
        while not self.ready():
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise OSError(f"the coordinator did not start: "
                              f"{open(self.err.name).read()[-400:]}")
            time.sleep(0.2)

    def ready(self):
        # A request the library rejects (no target) proves the server is up and parsing.
        code = subprocess.run(
            ["ip", "netns", "exec", NS, "curl", "-s", "-o", "/dev/null", "-m", "2", "-w",
             "%{http_code}", "-H", "content-type: application/json", "-d", "{}",
             f"http://{LISTEN}/mpic"], capture_output=True, text=True).stdout
        return code == "400"

    def responses(self):
        with open(self.log) as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


_coordinator = None


def coordinator():
    global _coordinator
    if _coordinator is None:
        _coordinator = Coordinator()
    return _coordinator


def run_tool(c, name, args):
    before = len(c.responses())
    p = subprocess.run(["ip", "netns", "exec", NS, *ENV, BIN, "--config", c.config, "--format",
                        "json", "--as-of", "2026-11-28", *args, name], capture_output=True,
                       timeout=90)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        doc = None
    return p.returncode, doc, p.stderr.decode(errors="replace"), c.responses()[before:]


def observation(doc, perspective, check):
    for o in doc["identifiers"][0]["observations"]:
        if o["perspective"] == perspective and o["check"] == check:
            return o
    return None


def compare(doc, responses):
    """Every perspective of every 200 response against the tool's reading of it."""
    bad = []
    ok = [r["response"] for r in responses if r["status"] == 200]
    if not ok:
        return [f"expected the coordinator to answer 200 got {responses}"]
    verdicts = " | ".join(e for f in doc.get("findings", []) if f["code"] == "engine-verdict"
                          for e in f["evidence"])
    for resp in ok:
        kind = resp["check_type"]
        what = "caa" if kind == "caa" else "dcv"
        want = f"{what} is_valid={str(resp['is_valid']).lower()}"
        if want not in verdicts:
            bad.append(f"expected the engine verdict {want!r} got {verdicts[:300]!r}")
        for p in resp["perspectives"]:
            code, cr = p["perspective_code"], p["check_response"]
            check = "caa" if kind == "caa" else "http-01"
            o = observation(doc, f"openmpic-{code}", check)
            if o is None:
                bad.append(f"expected an observation openmpic-{code}/{check} got none")
                continue
            if o["ok"] != cr["check_passed"]:
                bad.append(f"expected openmpic-{code}/{check} ok={cr['check_passed']} "
                           f"got {o['ok']}: {o['summary'][:200]}")
            d = cr.get("details") or {}
            if check == "http-01":
                got = (o.get("http") or {}).get("status")
                want = d.get("response_status_code") or http_error_status(cr)
                if got != want:
                    bad.append(f"expected openmpic-{code} HTTP status {want} got {got}")
                page = d.get("response_page")
                if page and (o.get("http") or {}).get("body_len") != len(base64.b64decode(page)):
                    bad.append(f"expected openmpic-{code} body of {len(base64.b64decode(page))} "
                               f"bytes got {(o.get('http') or {}).get('body_len')}")
            else:
                seen = d.get("records_seen") or []
                got = [f"{r['flags']} {r['tag']} \"{r['value']}\""
                       for r in (o.get("caa") or {}).get("records", [])]
                if sorted(got) != sorted(seen):
                    bad.append(f"expected openmpic-{code} CAA records {seen} got {got}")
    return bad


def http_error_status(cr):
    """The library puts a non-200 status only in its `mpic_error:http` message ("Response status
    403, ..."), not in `details.response_status_code`."""
    for e in cr.get("errors") or []:
        if e.get("error_type") == "mpic_error:http":
            m = re.search(r"Response status (\d+)", e.get("error_message", ""))
            if m:
                return int(m.group(1))
    return None


def findings(doc):
    return {f["code"]: f for f in doc.get("findings", [])}


def scenario(name, args, exit_code, outcome, present=(), who=None):
    c = coordinator()
    code, doc, err, responses = run_tool(c, name, args)
    if doc is None:
        return [f"expected one JSON document got exit {code}: {err.strip()[:300]!r}"]
    bad = []
    if code != exit_code or doc.get("outcome") != outcome:
        got = ", ".join(f"{k}({v['severity']})" for k, v in findings(doc).items())
        bad.append(f"expected exit {exit_code} / {outcome} got {code} / {doc.get('outcome')} "
                   f"[{got}]")
    for p in present:
        if p not in findings(doc):
            bad.append(f"expected finding {p} got {sorted(findings(doc))}")
    for c_, names in (who or {}).items():
        got = sorted(findings(doc).get(c_, {}).get("perspectives", []))
        if got != sorted(names):
            bad.append(f"expected {c_} naming {sorted(names)} got {got}")
    if "perspective-error" in findings(doc) or "engine-unavailable" in findings(doc):
        err_f = findings(doc).get("perspective-error") or findings(doc).get("engine-unavailable")
        bad.append(f"expected no engine error got {err_f}")
    bad += compare(doc, responses)
    for d in [c.work, os.environ.get("MPICLAB_KEEP")]:
        if d:
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"openmpic-{name}.json"), "w") as fh:
                json.dump({"tool": doc, "coordinator": responses}, fh)
    return bad


def healthy():
    return scenario("www.healthy.test", WITH_TOKEN, 0, "pass")


def geoblocked_one_region():
    # nginx refuses eu-west's egress (127.0.0.4): 4 of 5 pass, the library's quorum (4) holds.
    return scenario("www.geoblock1.test", WITH_TOKEN, 1, "at-risk", ["http-geoblocked"],
                    {"http-geoblocked": ["openmpic-eu-west-1"]})


def caa_forbids():
    return scenario("www.caa.test", WITH_TOKEN, 2, "fail", ["caa-forbids"])


def parse_check_catches():
    """The comparison fails when the tool's reading differs from the library's in one field."""
    path = os.path.join(coordinator().work, "openmpic-www.geoblock1.test.json")
    if not os.path.exists(path):
        return ["expected the geoblocked scenario's saved JSON got none (run it first)"]
    saved = json.load(open(path))
    if compare(saved["tool"], saved["coordinator"]):
        return ["expected the saved run to match before mutating it"]
    bad = []
    for label, mutate in [
        ("ok flipped", lambda o: o.__setitem__("ok", not o["ok"])),
        ("status changed", lambda o: o["http"].__setitem__("status", 200 if o["http"]["status"] != 200 else 403)),
    ]:
        doc = copy.deepcopy(saved["tool"])
        target = observation(doc, "openmpic-eu-west-1", "http-01")
        if target is None or not target.get("http"):
            return ["expected openmpic-eu-west-1/http-01 with http facts in the saved run"]
        mutate(target)
        if not compare(doc, saved["coordinator"]):
            bad.append(f"expected the comparison to fail with the tool's reading {label} got a pass")
    return bad


def shutdown():
    global _coordinator
    if _coordinator is not None:
        _coordinator.stop()
        _coordinator = None
    return []


SCENARIOS = [
    ("openmpic-healthy", healthy),
    ("openmpic-geoblocked-one-region", geoblocked_one_region),
    ("openmpic-caa-forbids", caa_forbids),
    ("openmpic-parse-check-catches", parse_check_catches),
]


if __name__ == "__main__":
    failed = 0
    try:
        for name, fn in SCENARIOS:
            problems = fn()
            print(f"FAIL {name}: {'; '.join(problems)}" if problems else f"PASS {name}",
                  flush=True)
            failed += bool(problems)
    finally:
        shutdown()
    raise SystemExit(1 if failed else 0)
