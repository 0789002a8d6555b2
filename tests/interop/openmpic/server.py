"""A real Open MPIC coordinator for the interop lab: `open-mpic-core`'s `MpicCoordinator` behind
`POST /mpic`, as the reference deployments serve it, with one `MpicCaaChecker` + `MpicDcvChecker`
per perspective. Each perspective is a lab region: its DNS goes to that region's unbound
(127.0.1.N, whose queries leave from 127.0.0.N) and its HTTP fetches leave from 127.0.0.N after
resolving through the same resolver, so bind views and nginx rules keyed on the source address see
the region, as they would see a CA's perspective.

What this file adds is transport only: request parsing with the library's own pydantic models,
`coordinate_mpic`, and the response as the library serialises it (`model_dump_json`). Nothing of
the response is shaped here. Every response body is also appended to --log (one JSON line per
request) so a scenario can compare what mpic-check read with what the library produced.

Usage (inside the namespace, from the venv lab.sh builds):
    python server.py --listen 127.0.0.1:8790 --log FILE \
        --perspective us-east-1:ARIN:3 --perspective eu-west-1:RIPE:4 ...
"""

import argparse
import asyncio
import contextlib
import json
import socket
import sys

import aiohttp
import dns.asyncresolver
import dns.exception
import dns.resolver
from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from open_mpic_core import (
    CheckType,
    MpicCaaChecker,
    MpicCoordinator,
    MpicCoordinatorConfiguration,
    MpicDcvChecker,
    MpicRequest,
    MpicRequestValidationException,
    RemotePerspective,
)

CAA_DOMAINS = ["letsencrypt.org"]


def region_resolver(ip):
    """A resolver that asks only the region's unbound (not the shared default resolver the
    checkers start with, which every checker in this process would otherwise share)."""
    r = dns.asyncresolver.Resolver(configure=False)
    r.nameservers = [ip]
    r.timeout = 2
    r.lifetime = 4
    return r


class RegionHostResolver(aiohttp.abc.AbstractResolver):
    """aiohttp host resolution through the region's resolver, so the fetch goes to the address
    the region sees (GeoDNS)."""

    def __init__(self, resolver):
        self.resolver = resolver

    async def resolve(self, host, port=0, family=socket.AF_INET):
        try:
            answer = await self.resolver.resolve(host, "A")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.exception.DNSException) as e:
            raise OSError(f"cannot resolve {host}: {e}") from e
        return [
            {"hostname": host, "host": r.address, "port": port, "family": socket.AF_INET,
             "proto": 0, "flags": socket.AI_NUMERICHOST}
            for r in answer
        ]

    async def close(self):
        pass


class RegionDcvChecker(MpicDcvChecker):
    """The library's DCV checker; only its HTTP client is bound to the region's egress address
    and resolver (the library builds a fresh client per check in `get_async_http_client`)."""

    def __init__(self, resolver_ip, egress_ip, **kw):
        super().__init__(**kw)
        self.resolver = region_resolver(resolver_ip)
        self.egress_ip = egress_ip

    @contextlib.asynccontextmanager
    async def get_async_http_client(self):
        connector = aiohttp.TCPConnector(
            ssl=self.verify_ssl, limit=0, force_close=True, local_addr=(self.egress_ip, 0),
            resolver=RegionHostResolver(self.resolver))
        client = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self._http_client_timeout),
            trust_env=False, cookie_jar=aiohttp.DummyCookieJar())
        try:
            yield client
        finally:
            if not client.closed:
                await client.close()


def build(perspective_args, count):
    perspectives, checkers = [], {}
    for spec in perspective_args:
        code, rir, n = spec.split(":")
        # The library's enum spells RIPE as "RIPE NCC".
        rir = "RIPE NCC" if rir.upper() == "RIPE" else rir.upper()
        perspectives.append(RemotePerspective(code=code, rir=rir))
        caa = MpicCaaChecker(default_caa_domain_list=CAA_DOMAINS)
        caa.resolver = region_resolver(f"127.0.1.{n}")
        dcv = RegionDcvChecker(f"127.0.1.{n}", f"127.0.0.{n}", http_client_timeout=5)
        checkers[code] = (caa, dcv)

    async def call_remote_perspective(perspective, check_type, check_request):
        caa, dcv = checkers[perspective.code]
        if check_type == CheckType.CAA:
            return await caa.check_caa(check_request)
        return await dcv.check_dcv(check_request)

    config = MpicCoordinatorConfiguration(
        target_perspectives=perspectives, default_perspective_count=count,
        global_max_attempts=None, hash_secret="mpic-check-interop")
    return MpicCoordinator(call_remote_perspective, config)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:8790")
    ap.add_argument("--log", required=True)
    ap.add_argument("--perspective", action="append", required=True,
                    help="CODE:RIR:N (resolver 127.0.1.N, egress 127.0.0.N)")
    ap.add_argument("--count", type=int, default=None, help="default perspective count")
    args = ap.parse_args()
    coordinator = build(args.perspective, args.count or len(args.perspective))
    adapter = TypeAdapter(MpicRequest)
    log = open(args.log, "a", buffering=1)

    async def mpic(request):
        body = await request.read()
        try:
            req = adapter.validate_json(body)
        except ValidationError as e:
            out = {"error": "mpic_error:request_validation",
                   "validation_issues": json.loads(e.json(include_url=False))}
            log.write(json.dumps({"status": 400, "response": out}) + "\n")
            return web.json_response(out, status=400)
        try:
            resp = await coordinator.coordinate_mpic(req)
        except MpicRequestValidationException as e:
            out = {"error": str(e), "validation_issues": getattr(e, "__notes__", [])}
            log.write(json.dumps({"status": 400, "response": out}) + "\n")
            return web.json_response(out, status=400)
        text = resp.model_dump_json()
        log.write(json.dumps({"status": 200, "response": json.loads(text)}) + "\n")
        return web.Response(text=text, content_type="application/json")

    app = web.Application()
    app.router.add_post("/mpic", mpic)
    host, port = args.listen.rsplit(":", 1)
    print(f"open-mpic coordinator on {args.listen} with {len(args.perspective)} perspectives",
          file=sys.stderr, flush=True)
    web.run_app(app, host=host, port=int(port), print=None, handle_signals=True)


if __name__ == "__main__":
    asyncio.set_event_loop(asyncio.new_event_loop())
    main()
