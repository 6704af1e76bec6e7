#!/usr/bin/env python3
"""Introspection load and latency of the sidecar (RFC 7662), in one run on one machine.

A local IdP (127.0.0.1, standard library only, in its own process) serves discovery, a JWKS (a fixed public key: the
sidecar is ready once it holds keys) and an introspection endpoint that answers after
IDP_LATENCY_MS (a network IdP's round trip) and counts its calls. A local upstream answers 200.
The sidecar jar runs with the JVM flags the operator injects (lib/injected.py) and introspects opaque tokens (cacheTtl 60s).

Scenarios, each CONCURRENCY client threads with keep-alive connections for DURATION seconds
after a WARMUP:
  baseline        a path the policy allows without a token: the sidecar and upstream alone
  opaque-cached   one opaque token on every request: answered from the cache
  opaque-fresh    a new opaque token on every request: every request costs one IdP call
  burst-one-token BURST requests at once with one new token, repeated: concurrent requests with
                  the same token share one call (coalescing)
For each: requests/s, p50/p99 latency, and IdP calls per request. Writes introspection.md and
introspection/results.json beside this file (or in BENCH_OUT).
"""

import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.environ.get("BENCH_OUT", HERE)
DURATION = float(os.environ.get("DURATION", "10"))
WARMUP = float(os.environ.get("WARMUP", "5"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "16"))
IDP_LATENCY_MS = float(os.environ.get("IDP_LATENCY_MS", "5"))
BURST = int(os.environ.get("BURST", "32"))
BURSTS = int(os.environ.get("BURSTS", "50"))
JAVA = os.environ.get("JAVA", "java")
sys.path.insert(0, os.path.join(HERE, "lib"))
import injected  # noqa: E402  the flags the operator injects with the chart's defaults


def java_opts():
    """SIDECAR_JAVA_OPTS, or what the operator injects for the chart's limit plus -XX:MaxRAM of
    that limit (no memory cgroup here: the JVM is told the limit instead)."""
    if os.environ.get("SIDECAR_JAVA_OPTS"):
        return os.environ["SIDECAR_JAVA_OPTS"].split()
    pod = injected.defaults(java=JAVA)
    return pod["jvm_options"].split() + [f"-XX:MaxRAM={pod['limit_bytes']}"]


JAVA_OPTS = java_opts()
AUDIENCE = "api://bench"
N = "t3DcpetNP05wG5ez8x57g8maz83s_mecjbM2CtvWIooqX6TbRVIscOXvRa6U4w9_uCHki5uSvdRQbLco0lPUXD0UdC4UpncdKS7arHd_0YT9frbEke0pGv3s1eY_N5V-cd8-Xl62NDKCKZm3ugL7EGfRycM4g_GIA0Ngsu8XuwyZoSzdmEQV2fUhZmj3bPzdLUcEgtT-1BWwcS7siqTmhkZ88-bv4P6vybQvcnlqmDAg-fuz5I2VTD47r7TkBwGnDMYJNv1rrY8IiLmH1QJ8H9V8Rga44QHcDbXnsm91VpLhMpHb0XWJoMjX5Q2kCRJuNS8EHEwxQui5Zc3_eQ85uQ"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Idp:
    """Serves from its own process (the load client's GIL must not slow it); counts calls."""

    def __init__(self):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._calls = multiprocessing.Value("l", 0)
        self.process = multiprocessing.Process(target=self._serve, daemon=True)
        self.process.start()

    @property
    def calls(self):
        return self._calls.value

    def _serve(self):
        idp = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send_json(self, doc):
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    self.send_json(
                        {
                            "issuer": idp.issuer,
                            "jwks_uri": idp.issuer + "/jwks",
                            "introspection_endpoint": idp.issuer + "/introspect",
                        }
                    )
                elif self.path == "/jwks":
                    self.send_json(
                        {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1", "n": N, "e": "AQAB"}]}
                    )
                else:
                    self.send_error(404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = self.rfile.read(length).decode()
                with idp._calls.get_lock():
                    idp._calls.value += 1
                time.sleep(IDP_LATENCY_MS / 1000)
                active = "token=bench-" in form
                answer = {"active": active}
                if active:
                    answer.update(
                        {
                            "aud": AUDIENCE,
                            "scope": "bench.read",
                            "sub": "bench-user",
                            "client_id": "bench-client",
                            "token_type": "Bearer",
                            "exp": int(time.time()) + 3600,
                        }
                    )
                self.send_json(answer)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.serve_forever()


class Upstream:
    """Answers 200 from its own process."""

    def __init__(self):
        self.port = free_port()
        self.process = multiprocessing.Process(target=self._serve, daemon=True)
        self.process.start()

    def _serve(self):

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                body = b"ok\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.serve_forever()


def start_sidecar(work, idp, upstream):
    secret = os.path.join(work, "client-secret")
    with open(secret, "w") as f:
        f.write("bench-secret\n")
    config = os.path.join(work, "config")
    os.makedirs(config)
    with open(os.path.join(config, "gate.yaml"), "w") as f:
        f.write(
            f"""apiVersion: tokengate.io/v1alpha1
kind: TokenIssuer
metadata: {{name: idp, namespace: bench}}
spec:
  issuer: {idp.issuer}
  allowInsecureHttp: true
  audiences: [{AUDIENCE}]
  introspection:
    clientId: bench-gate
    clientSecretFile: {secret}
    cacheTtl: 60s
---
apiVersion: tokengate.io/v1alpha1
kind: ApiPolicy
metadata: {{name: bench, namespace: bench}}
spec:
  selector: {{matchLabels: {{app: bench}}}}
  issuerRef: {{name: idp}}
  upstream: {{port: {upstream.port}}}
  rules:
    - paths: ["/open/**"]
      action: Allow
    - paths: ["/**"]
      require: {{scopes: [bench.read]}}
"""
        )
    jar = os.path.join(work, "sidecar.jar")
    shutil.copy(os.path.join(REPO, "sidecar/target/tokengate-sidecar.jar"), jar)
    port, admin = free_port(), free_port()
    log = open(os.path.join(work, "sidecar.log"), "w")
    proc = subprocess.Popen(
        [JAVA, *JAVA_OPTS, "-jar", jar, "--config", config, "--listen-host", "127.0.0.1",
         "--admin-host", "127.0.0.1", "--listen-port", str(port), "--admin-port", str(admin)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", admin, timeout=1)
            c.request("GET", "/healthz/ready")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    sys.exit("the sidecar was not ready within 60 s; see " + log.name)


def load(port, seconds, token_for, path="/data"):
    """CONCURRENCY threads, keep-alive, for seconds: [latency in ms], statuses."""
    stop = time.time() + seconds
    lat, statuses, lock = [], {}, threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine, seen = [], {}
        while time.time() < stop:
            token = token_for()
            headers = {"Authorization": "Bearer " + token} if token else {}
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            mine.append((time.perf_counter() - t) * 1000)
            seen[r.status] = seen.get(r.status, 0) + 1
        with lock:
            lat.extend(mine)
            for k, v in seen.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, statuses


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def scenario(name, port, idp, token_for, path="/data"):
    load(port, WARMUP, token_for, path)
    before = idp.calls
    lat, statuses = load(port, DURATION, token_for, path)
    calls = idp.calls - before
    return {
        "scenario": name,
        "requests": len(lat),
        "rps": round(len(lat) / DURATION),
        "p50_ms": round(pct(lat, 50), 2),
        "p99_ms": round(pct(lat, 99), 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "idp_calls": calls,
        "idp_calls_per_request": round(calls / max(1, len(lat)), 4),
    }


def bursts(port, idp):
    before = idp.calls
    lat, statuses = [], {}
    for _ in range(BURSTS):
        token = "bench-" + uuid.uuid4().hex
        barrier = threading.Barrier(BURST)
        out = []

        def one():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            barrier.wait()
            t = time.perf_counter()
            conn.request("GET", "/data", headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            r.read()
            out.append(((time.perf_counter() - t) * 1000, r.status))

        threads = [threading.Thread(target=one) for _ in range(BURST)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for ms, st in out:
            lat.append(ms)
            statuses[st] = statuses.get(st, 0) + 1
    calls = idp.calls - before
    return {
        "scenario": "burst-one-token",
        "requests": len(lat),
        "rps": None,
        "p50_ms": round(pct(lat, 50), 2),
        "p99_ms": round(pct(lat, 99), 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "idp_calls": calls,
        "idp_calls_per_request": round(calls / max(1, len(lat)), 4),
    }


def main():
    work = tempfile.mkdtemp(prefix="introspection-bench.")
    idp, upstream = Idp(), Upstream()
    proc, port = start_sidecar(work, idp, upstream)
    try:
        cached = "bench-" + uuid.uuid4().hex
        results = [
            scenario("baseline", port, idp, lambda: None, "/open/data"),
            scenario("opaque-cached", port, idp, lambda: cached),
            scenario("opaque-fresh", port, idp, lambda: "bench-" + uuid.uuid4().hex),
            bursts(port, idp),
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    run = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "settings": {
            "duration_s": DURATION, "warmup_s": WARMUP, "concurrency": CONCURRENCY,
            "idp_latency_ms": IDP_LATENCY_MS, "burst": BURST, "bursts": BURSTS,
            "java_opts": " ".join(JAVA_OPTS),
        },
        "results": results,
    }
    os.makedirs(os.path.join(OUT, "introspection"), exist_ok=True)
    with open(os.path.join(OUT, "introspection", "results.json"), "w") as f:
        json.dump(run, f, indent=2)
    base = results[0]
    lines = [
        "# Introspection load and latency (RFC 7662)",
        "",
        f"Run {run['date']} by `bench/introspection.py` on {run['cpus']} CPUs (load average"
        f" {run['load_average'][0]:.2f} at the end; the machine is shared). {CONCURRENCY} client"
        f" threads with keep-alive, {DURATION:.0f} s per scenario after {WARMUP:.0f} s of warm-up;"
        f" the local IdP answers introspection after {IDP_LATENCY_MS:g} ms. The load client is"
        " Python: absolute rates are the client's as much as the sidecar's; compare rows.",
        "",
        "| scenario | requests/s | p50 ms | p99 ms | added p50 over baseline | IdP calls per request | statuses |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['scenario']} | {r['rps'] if r['rps'] is not None else '—'} | {r['p50_ms']} |"
            f" {r['p99_ms']} | {r['p50_ms'] - base['p50_ms']:+.2f} | {r['idp_calls_per_request']} |"
            f" {', '.join(k + ': ' + str(v) for k, v in r['statuses'].items())} |"
        )
    lines += [
        "",
        "- **baseline**: a path the policy allows without a token (sidecar and upstream only).",
        "- **opaque-cached**: one opaque token on every request; after its first call the answer"
        " comes from the cache (keyed by the token's SHA-256, at most `cacheTtl`).",
        "- **opaque-fresh**: a never-seen opaque token on every request: one IdP call each, so the"
        " added latency is about the IdP's, and the IdP sees the full request rate.",
        f"- **burst-one-token**: {BURSTS} bursts of {BURST} simultaneous requests, each burst with a"
        " new token: concurrent requests with one token share one call.",
        "",
        "Reproduce: `./mvnw -B -q -pl sidecar -am package -DskipTests && python3 bench/introspection.py`"
        " (settings: DURATION, WARMUP, CONCURRENCY, IDP_LATENCY_MS, BURST, BURSTS, JAVA,"
        " SIDECAR_JAVA_OPTS, BENCH_OUT).",
        "",
    ]
    with open(os.path.join(OUT, "introspection.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
