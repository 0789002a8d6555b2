"""The Prometheus exporter against a real Prometheus (Debian's `prometheus` package), inside the lab's
namespace: `mpic-check serve` runs with the lab's socks.toml, Prometheus scrapes it with the
blackbox-style relabel config that the README shows (targets become `?target=`, the exporter is the
address), and the scenario asks Prometheus's HTTP API for `mpic_check_probe_success`: 1 for
www.healthy.test, 0 for www.geoblock2.test (two regions get 403). It also holds the exporter's
answers to `promtool check metrics` and its shutdown to exit 0 on SIGTERM.

Each scenario is a function returning a list of mismatches ("expected … got …"); an empty list is a
pass. Environment (set by lab.sh): NS, D, BIN. Stdlib only; nothing here starts a system service.
"""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
NS = os.environ["NS"]
LAB = os.environ["D"]
BIN = os.environ["BIN"]
SOCKS = os.path.join(HERE, "perspectives", "socks.toml")
EXPORTER = "127.0.0.1:9817"
PROMETHEUS = "127.0.0.1:9090"
TARGETS = {"www.healthy.test": "1", "www.geoblock2.test": "0"}

# The scrape configuration of the README's "Prometheus exporter" section, with the lab's targets.
SCRAPE_CONFIG = """\
global:
  scrape_interval: 5s
  scrape_timeout: 5s
scrape_configs:
  - job_name: mpic-check
    metrics_path: /probe
    params:
      module: [default]
    static_configs:
      - targets: [{targets}]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: {exporter}
  - job_name: mpic-check-exporter
    static_configs:
      - targets: ['{exporter}']
"""

ENV = ["env", "-u", "MPIC_CHECK_HTTP_PORT", "-u", "MPIC_CHECK_DNS_PORT", "-u", "XDG_CONFIG_HOME",
       f"HOME={LAB}/home", "MPIC_CHECK_ALLOW_RANGES=127.0.0.0/8"]


def nsx(*argv, timeout=30):
    p = subprocess.run(["ip", "netns", "exec", NS, *argv], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def curl(url):
    return nsx("curl", "-s", "-m", "20", "-w", "\n%{http_code}", url)


def stop(proc, name, bad, expect_zero):
    """SIGTERM, then wait; a process that ignores it is killed and reported."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            bad.append(f"expected {name} to stop on SIGTERM got it still running after 20 s")
            return
    if expect_zero and proc.returncode != 0:
        bad.append(f"expected {name} to exit 0 after SIGTERM got {proc.returncode}")


def promtool_check(doc):
    p = subprocess.run(["promtool", "check", "metrics"], input=doc, capture_output=True, text=True,
                       timeout=30)
    return p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), \
        (p.stdout + p.stderr).strip()[:300]


def query(expr):
    q = urllib.parse.quote(expr)
    code, out, _ = nsx("curl", "-s", "-m", "5", f"http://{PROMETHEUS}/api/v1/query?query={q}")
    if code != 0:
        return None
    try:
        return json.loads(out)["data"]["result"]
    except (ValueError, KeyError, TypeError):
        return None


def prometheus_scrapes_serve():
    bad = []
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        return ["expected Debian's prometheus package (prometheus, promtool) got it missing: "
                "add `prometheus` to lab.sh's PKGS"]
    work = os.path.join(LAB, "prometheus")
    os.makedirs(os.path.join(work, "data"), exist_ok=True)
    os.makedirs(os.path.join(LAB, "home"), exist_ok=True)
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as fh:
        fh.write(SCRAPE_CONFIG.format(targets=", ".join(TARGETS), exporter=EXPORTER))
    p = subprocess.run(["promtool", "check", "config", config], capture_output=True, text=True,
                       timeout=30)
    if p.returncode != 0:
        return [f"expected promtool to accept the README's scrape config got {p.stdout}{p.stderr}"]

    exp_log = open(os.path.join(work, "serve.log"), "w")
    prom_log = open(os.path.join(work, "prometheus.log"), "w")
    exporter = subprocess.Popen(
        ["ip", "netns", "exec", NS, *ENV, BIN, "serve", "--listen", EXPORTER, "--config", SOCKS,
         "--min-interval", "30s"],
        stdout=subprocess.DEVNULL, stderr=exp_log)
    prom = None
    try:
        deadline = time.time() + 10
        while curl(f"http://{EXPORTER}/")[1].rsplit("\n", 1)[-1] != "200":
            if exporter.poll() is not None or time.time() > deadline:
                return [f"expected serve to listen on {EXPORTER} got exit {exporter.poll()}: "
                        f"{open(exp_log.name).read()[-300:]}"]
            time.sleep(0.1)
        # The exporter's own answers, as promtool reads them.
        for path in ["/probe?target=www.healthy.test", "/metrics"]:
            _, out, _ = curl(f"http://{EXPORTER}{path}")
            body, _, status = out.rpartition("\n")
            ok, why = promtool_check(body)
            if status != "200" or not ok:
                bad.append(f"expected {path} to answer 200 and pass promtool got {status}: {why}")
        _, out, _ = curl(f"http://{EXPORTER}/probe?target=http://www.healthy.test/")
        if out.rpartition("\n")[2] != "400":
            bad.append(f"expected a URL target to get 400 got {out[-200:]!r}")

        prom = subprocess.Popen(
            ["ip", "netns", "exec", NS, "prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={work}/data", f"--web.listen-address={PROMETHEUS}"],
            stdout=subprocess.DEVNULL, stderr=prom_log)
        # Each job's first scrape comes at its own offset within the interval: wait for both.
        deadline = time.time() + 60
        got, scraped = {}, []
        while time.time() < deadline:
            if prom.poll() is not None:
                return bad + [f"expected prometheus to keep running got exit {prom.returncode}: "
                              f"{open(prom_log.name).read()[-300:]}"]
            result = query('mpic_check_probe_success{job="mpic-check"}') or []
            got = {r["metric"].get("instance"): r["value"][1] for r in result}
            scraped = query('mpic_check_exporter_probes_total') or []
            if set(got) == set(TARGETS) and scraped:
                break
            time.sleep(0.5)
        if got != TARGETS:
            bad.append(f"expected Prometheus to hold mpic_check_probe_success {TARGETS} got {got}; "
                       f"up: {[(r['metric'].get('instance'), r['value'][1]) for r in query('up') or []]}")
        if not scraped:
            bad.append("expected Prometheus to scrape the exporter's /metrics got nothing in 60 s")
        down = query('mpic_check_perspective_up{job="mpic-check"} == 0') or []
        if down:
            bad.append(f"expected every lab perspective up got down: "
                       f"{[r['metric'] for r in down]}")
    finally:
        if prom is not None:
            stop(prom, "prometheus", bad, expect_zero=False)
        stop(exporter, "mpic-check serve", bad, expect_zero=True)
        exp_log.close()
        prom_log.close()
    return bad


SCENARIOS = [("prometheus-scrapes-serve", prometheus_scrapes_serve)]


if __name__ == "__main__":
    failed = 0
    for name, fn in SCENARIOS:
        problems = fn()
        print(f"FAIL {name}: {'; '.join(problems)}" if problems else f"PASS {name}", flush=True)
        failed += bool(problems)
    raise SystemExit(1 if failed else 0)
