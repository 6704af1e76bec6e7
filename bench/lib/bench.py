"""tokengate benchmark: one run, every proxy, same machine, same issuer, same upstream.

Started by bench/run.sh (which installs the tools). Measures, for each target, in this order:
  * a warm-up, then a fixed request rate (open loop): vegeta at RATE req/s for RATE_DURATION s,
    with the sidecar's RSS sampled (its steady figure at that rate)
  * a warm-up, then fixed concurrency (closed loop): wrk -t THREADS -c CONNECTIONS for DURATION s
and, for the sidecar, its decision-log volume in both phases; then the 10,000-connection burst
in a memory cgroup (memory-burst.sh) and start to ready as the image starts it (startup.py).
Every sidecar runs what the operator injects with the chart's defaults (lib/injected.py), in its
own memory cgroup at the chart's limit where one can be made (lib/memcg.py).
Writes bench/raw/*.txt, bench/raw/results.json, bench/RESULTS.md and bench/results.png (or the
same under BENCH_OUT). Everything it starts runs in its own process group and is stopped on exit.
"""

import csv
import datetime
import glob
import json
import math
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH)
LIB = os.path.join(BENCH, "lib")
sys.path.insert(0, LIB)
import injected  # noqa: E402 - what the operator injects with the chart's defaults
import memcg  # noqa: E402 - the pod's memory limit as a cgroup-v1 memory cgroup
# Where RESULTS.md, results.png and raw/ go: bench/ itself unless BENCH_OUT says otherwise
# (for trying the harness without replacing the recorded run).
OUT = os.environ.get("BENCH_OUT") or BENCH
RAW = os.path.join(OUT, "raw")


# Every scenario, in the order they run; SCENARIOS picks a subset.
SCENARIOS = ["direct", "nginx", "oauth2-proxy", "sidecar-one", "sidecar-many", "sidecar-c2", "memory-burst", "startup"]


def env_int(name, default):
    return int(os.environ.get(name, default))


CFG = {
    "duration": env_int("DURATION", 15),
    "warmup": env_int("WARMUP", 10),
    "connections": env_int("CONNECTIONS", 64),
    "threads": env_int("THREADS", 2),
    "rate": env_int("RATE", 1000),
    "rate_warmup": env_int("RATE_WARMUP", 10),
    "rate_duration": env_int("RATE_DURATION", 15),
    "tokens": env_int("TOKENS", 10000),
    "starts": env_int("STARTS", 5),
    "rounds": env_int("ROUNDS", 1),
    "max_in_flight": env_int("MAX_IN_FLIGHT", 512),
    "nice": env_int("BENCH_NICE", 0),
    "scenarios": os.environ.get("SCENARIOS", ",".join(SCENARIOS)).split(","),
    "java": os.environ.get("JAVA", "java"),
    # The sidecar JVM's flags: by default exactly the JAVA_TOOL_OPTIONS the operator injects for
    # the chart's default memory limit (lib/injected.py compiles and runs the operator's own
    # SidecarJvmOptions), filled in by main().
    "java_opts": os.environ.get("SIDECAR_JAVA_OPTS"),
    # The "sidecar-c2" variant: the same flags with the C2 JIT back (the 128Mi flags stop at
    # C1), to show in the same run what that choice costs in throughput, CPU and memory.
    "alt_java_opts": os.environ.get("SIDECAR_ALT_JAVA_OPTS", "-XX:TieredStopAtLevel=4 -XX:CICompilerCount=2"),
    "jar": os.environ.get("SIDECAR_JAR", os.path.join(REPO, "sidecar/target/tokengate-sidecar.jar")),
    "image": os.environ.get("SIDECAR_IMAGE", os.path.join(REPO, "sidecar/target/jib-image.tar")),
    "cache": os.environ["TOKENGATE_CACHE"],
    "audience": "tokengate-bench",
    "command": os.environ.get("BENCH_COMMAND", "bench/run.sh"),
    "quiet_load": float(os.environ.get("QUIET_LOAD", "0")),
    "quiet_wait": env_int("QUIET_WAIT", 900),
}
BIN = os.path.join(CFG["cache"], "bin")
ISSUER_PORT = 0
ROUND_SUFFIX = ""  # "-r2" etc. when ROUNDS > 1, so each round keeps its raw files
RUN = os.environ.get("BENCH_RUN_DIR") or os.path.join(CFG["cache"], "run", str(os.getpid()))


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- processes

STARTED = []  # every Proc we started, stopped in reverse order on exit


class LogCounter:
    """Reads a process's stdout (the sidecar's JSON lines) from a pipe, copies it to its log file
    and counts what passes: all lines and bytes, decision lines, allowed and refused decisions,
    and lines the sidecar reports as dropped. Counts only whole lines."""

    KEYS = ("lines", "bytes", "decisions", "allowed", "denied", "dropped_reports")

    def __init__(self, fd, sink):
        self.fd = fd
        self.sink = sink
        self.counts = dict.fromkeys(self.KEYS, 0)
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        rest = b""
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            self.sink.write(chunk)
            buf = rest + chunk
            cut = buf.rfind(b"\n") + 1
            whole, rest = buf[:cut], buf[cut:]
            if not whole:
                continue
            with self.lock:
                c = self.counts
                c["lines"] += whole.count(b"\n")
                c["bytes"] += len(whole)
                c["decisions"] += whole.count(b'"event":"decision"')
                c["allowed"] += whole.count(b'"decision":"allow"')
                c["denied"] += whole.count(b'"decision":"deny"')
                c["dropped_reports"] += whole.count(b'"event":"log_dropped"')
        os.close(self.fd)

    def snapshot(self):
        with self.lock:
            return dict(self.counts)

    @staticmethod
    def rates(before, after, seconds):
        d = {k: after[k] - before[k] for k in LogCounter.KEYS}
        d["seconds"] = round(seconds, 2)
        d["lines_per_s"] = round(d["lines"] / seconds, 2) if seconds else None
        d["bytes_per_s"] = round(d["bytes"] / seconds, 1) if seconds else None
        d["allowed_per_s"] = round(d["allowed"] / seconds, 2) if seconds else None
        return d


class Proc:
    def __init__(self, name, argv, env=None, cwd=None, count_stdout=False, cgroup=None):
        self.name = name
        self.cgroup = cgroup
        self.argv = cgroup.wrap(argv) if cgroup else argv
        self.log_path = os.path.join(RUN, f"{name}.log")
        self.log = open(self.log_path, "ab")
        self.t0 = time.monotonic()
        self.counter = None
        if count_stdout:
            # stdout through a pipe this process reads (a file written from inside a memory
            # cgroup would charge its page cache to the cgroup; a pod's stdout is a pipe too)
            r, w = os.pipe()
            stdout = w
        else:
            stdout = self.log
        self.p = subprocess.Popen(
            self.argv,
            stdout=stdout,
            stderr=self.log if count_stdout else subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            process_group=0,
        )
        if count_stdout:
            os.close(w)
            self.counter = LogCounter(r, self.log)
        STARTED.append(self)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, grace=10):
        """Stops the process; returns its exit status if it had ended before (None otherwise)."""
        ended_before = self.p.poll()
        if ended_before is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait(5)
        if self.counter:
            self.counter.t.join(5)
        self.log.close()
        if self.cgroup:
            self.cgroup_stats = self.cgroup.stats()
            self.cgroup.remove()
        if self in STARTED:
            STARTED.remove(self)
        return ended_before

    def tail(self, n=20):
        try:
            if not self.log.closed:
                self.log.flush()
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""


def stop_all():
    for p in reversed(list(STARTED)):
        try:
            p.stop(grace=5)
        except Exception as e:  # noqa: BLE001 - best effort at exit
            print(f"stopping {p.name}: {e}", file=sys.stderr)


def on_signal(signum, _frame):
    log(f"signal {signum}: stopping everything this run started")
    stop_all()
    sys.exit(128 + signum)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url, headers=None, timeout=2.0):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


urllib.request.install_opener(urllib.request.build_opener(NoRedirect))


def wait_for(url, proc, timeout=60.0, interval=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        if http_status(url, timeout=1.0) == 200:
            return time.monotonic() - proc.t0
        time.sleep(interval)
    raise RuntimeError(f"{proc.name} not ready at {url} after {timeout}s:\n{proc.tail()}")


# ---------------------------------------------------------------- machine readings


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def cpu_busy_seconds():
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    v = [int(x) for x in parts]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def group_pids(pgids):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) in pgids:
                pids.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return pids


def cpu_seconds_of(pgids):
    total = 0
    for pid in group_pids(pgids):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def rss_kib(pid, field="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler:
    """Samples the RSS of a process group and the machine's load while a load runs."""

    def __init__(self, pgid=None, interval=0.1):
        self.pgid = pgid
        self.interval = interval
        self.peak_kib = 0
        self.peak_anon_kib = 0
        self.last_kib = 0
        self.loads = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        last_load = 0.0
        while not self._stop.is_set():
            if self.pgid:
                pids = group_pids({self.pgid})
                self.last_kib = sum(rss_kib(p) for p in pids) or self.last_kib
                self.peak_kib = max(self.peak_kib, self.last_kib)
                self.peak_anon_kib = max(self.peak_anon_kib, sum(rss_kib(p, "RssAnon") for p in pids))
            now = time.monotonic()
            if now - last_load >= 1.0:
                self.loads.append(loadavg()[0])
                last_load = now
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


# ---------------------------------------------------------------- load generators


def run_wrk(name, url, seconds, lua, env=None, headers=(), record=True, ours=(), target_pg=None):
    argv = [
        "wrk",
        f"-t{CFG['threads']}",
        f"-c{CFG['connections']}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        lua,
    ]
    for h in headers:
        argv += ["-H", h]
    argv.append(url)
    env = {**os.environ, "REPORT_LUA": os.path.join(LIB, "report.lua"), **(env or {})}
    busy0, t0 = cpu_busy_seconds(), time.monotonic()
    p = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, process_group=0
    )
    ours_pg = set(ours) | {p.pid}
    ours0 = cpu_seconds_of(ours_pg)
    target0 = cpu_seconds_of({target_pg}) if target_pg else 0
    ours_last = ours0
    while p.poll() is None:
        time.sleep(0.5)
        ours_last = max(ours_last, cpu_seconds_of(ours_pg))
    target_cpu = (cpu_seconds_of({target_pg}) - target0) if target_pg else None
    out = p.communicate(timeout=seconds + 60)[0].decode(errors="replace")
    wall = time.monotonic() - t0
    other = max(0.0, (cpu_busy_seconds() - busy0) - (ours_last - ours0)) / wall
    line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed for {name}:\n{out}")
    res = json.loads(line[len("WRK_JSON ") :])
    res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
    res["other_cpu_cores"] = round(other, 2)
    if target_cpu is not None:
        # CPU the target itself spent per request: far less sensitive to a busy machine
        # than throughput, since time spent waiting for a core is not counted.
        res["target_cpu_us_per_req"] = round(target_cpu * 1e6 / max(1, res["requests"]), 1)
    if record:
        text = " ".join(shlex.quote(a if not a.startswith("Authorization") else "Authorization: Bearer <token>") for a in argv)
        with open(os.path.join(RAW, f"{name}{ROUND_SUFFIX}-wrk.txt"), "w") as f:
            f.write(f"$ {text}\n{out.replace(line, '').strip()}\n\n{line}\n")
    return res


def write_targets(path, url, tokens):
    with open(path, "w") as f:
        for t in tokens:
            f.write(f"GET {url}\nAuthorization: Bearer {t}\n\n")


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    k = max(0, math.ceil(p / 100.0 * len(sorted_vals)) - 1)
    return sorted_vals[k]


def run_vegeta(name, url, tokens, ours=(), target_pg=None, seconds=None, record=True):
    seconds = seconds or CFG["rate_duration"]
    vegeta = os.path.join(BIN, "vegeta")
    targets = os.path.join(RUN, f"{name}-targets.http")
    write_targets(targets, url, tokens)
    binout = os.path.join(RUN, f"{name}-rate.bin")
    argv = [
        vegeta,
        "attack",
        f"-rate={CFG['rate']}/1s",
        f"-duration={seconds}s",
        "-format=http",
        f"-targets={targets}",
        "-timeout=10s",
        "-keepalive=true",
        # Open loop while fewer than this many requests are in flight; a target that falls so
        # far behind gets fewer (the achieved rate says so) instead of unbounded connections.
        f"-max-workers={CFG['max_in_flight']}",
        f"-output={binout}",
    ]
    busy0, t0 = cpu_busy_seconds(), time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, process_group=0)
    ours_pg = set(ours) | {p.pid}
    ours0 = cpu_seconds_of(ours_pg)
    target0 = cpu_seconds_of({target_pg}) if target_pg else 0
    ours_last = ours0
    while p.poll() is None:
        time.sleep(0.5)
        ours_last = max(ours_last, cpu_seconds_of(ours_pg))
    target_cpu = (cpu_seconds_of({target_pg}) - target0) if target_pg else None
    out = p.communicate(timeout=seconds + 60)[0].decode(errors="replace")
    wall = time.monotonic() - t0
    other = max(0.0, (cpu_busy_seconds() - busy0) - (ours_last - ours0)) / wall
    if p.returncode != 0:
        raise RuntimeError(f"vegeta failed for {name}:\n{out}")
    report = subprocess.run(
        [vegeta, "report", binout], capture_output=True, text=True, check=True
    ).stdout
    enc = subprocess.run(
        [vegeta, "encode", "--to", "csv", binout], capture_output=True, text=True, check=True
    ).stdout
    lat, codes, ts = [], {}, []
    for row in csv.reader(enc.splitlines()):
        ts.append(int(row[0]))
        codes[row[1]] = codes.get(row[1], 0) + 1
        lat.append(int(row[2]) / 1000.0)  # ns -> us
    lat.sort()
    span = (max(ts) - min(ts)) / 1e9 if len(ts) > 1 else 0
    res = {
        "requests": len(lat),
        "achieved_rate": len(lat) / span if span else None,
        "codes": codes,
        "latency_us": {
            "p50": pct(lat, 50),
            "p90": pct(lat, 90),
            "p99": pct(lat, 99),
            "p99.9": pct(lat, 99.9),
            "max": lat[-1] if lat else None,
        },
        "distinct_tokens": len(set(tokens)),
        "other_cpu_cores": round(other, 2),
        "wall_s": round(wall, 2),
    }
    if target_cpu is not None:
        res["target_cpu_us_per_req"] = round(target_cpu * 1e6 / max(1, len(lat)), 1)
    if record:
        with open(os.path.join(RAW, f"{name}{ROUND_SUFFIX}-rate.txt"), "w") as f:
            f.write("$ " + " ".join(argv).replace(RUN, "$RUN") + "\n")
            f.write(report)
            f.write("\npercentiles from every request (us): " + json.dumps(res["latency_us"]) + "\n")
            f.write("status codes: " + json.dumps(codes) + "\n")
    os.remove(binout)
    os.remove(targets)
    return res


# ---------------------------------------------------------------- targets


def start_upstream(port):
    prefix = os.path.join(RUN, "nginx-upstream")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(
            f"""worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location / {{ default_type text/plain; return 200 "hello from the upstream\\n"; }}
  }}
}}
"""
        )
    return Proc("upstream", ["nginx", "-p", prefix, "-c", conf, "-g", "daemon off;"])


def start_nginx_proxy(port, upstream_port):
    prefix = os.path.join(RUN, "nginx-proxy")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(
            f"""worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log {prefix}/logs/access.log;
  keepalive_requests 1000000;
  upstream app {{ server 127.0.0.1:{upstream_port}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
"""
        )
    return Proc("nginx-proxy", ["nginx", "-p", prefix, "-c", conf, "-g", "daemon off;"])


def start_oauth2_proxy(port, upstream_port, issuer):
    argv = [
        os.path.join(BIN, "oauth2-proxy"),
        "--provider=oidc",
        f"--oidc-issuer-url={issuer}",
        f"--client-id={CFG['audience']}",
        "--client-secret=bench-client-secret",
        f"--cookie-secret={os.urandom(16).hex()}",
        "--cookie-secure=false",
        "--email-domain=*",
        "--skip-jwt-bearer-tokens",
        f"--upstream=http://127.0.0.1:{upstream_port}/",
        f"--http-address=127.0.0.1:{port}",
        f"--redirect-url=http://127.0.0.1:{port}/oauth2/callback",
        "--silence-ping-logging",
    ]
    return Proc("oauth2-proxy", argv)


def write_sidecar_config(directory, issuer, upstream_port):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "tokenissuer.yaml"), "w") as f:
        f.write(
            f"""apiVersion: tokengate.io/v1alpha1
kind: TokenIssuer
metadata:
  name: bench-idp
  namespace: bench
spec:
  issuer: {issuer}
  allowInsecureHttp: true
  discovery: true
  algorithms: [RS256]
"""
        )
    with open(os.path.join(directory, "apipolicy.yaml"), "w") as f:
        f.write(
            f"""apiVersion: tokengate.io/v1alpha1
kind: ApiPolicy
metadata:
  name: bench-api
  namespace: bench
spec:
  selector:
    matchLabels:
      app: bench
  issuerRef:
    kind: TokenIssuer
    name: bench-idp
  audiences: [{CFG['audience']}]
  upstream:
    port: {upstream_port}
  rules:
    - paths: ["/**"]
      require:
        scopes: [bench.read]
  forwardClaims:
    sub: X-Auth-Subject
    azp: X-Auth-Client
"""
        )


def start_sidecar(name, config_dir, extra_opts=()):
    """A fresh sidecar as the operator runs it with the chart's defaults: the injected flags in
    JAVA_TOOL_OPTIONS, TOKENGATE_MEMORY_LIMIT_BYTES, the chart's decision log of allowed
    requests, and (root, cgroup v1) its own memory cgroup at the chart's limit, so the JVM sees
    the limit the kubelet would set and an OOM kill is recorded. Returns (proc, port, admin)."""
    port, admin = free_port(), free_port()
    argv = [CFG["java"], *extra_opts, "-jar", CFG["jar"], "--config", config_dir,
            "--listen-port", str(port), "--admin-port", str(admin),
            "--listen-host", "127.0.0.1", "--admin-host", "127.0.0.1",
            "--decision-log-allowed", CFG["decision_log_allowed"]]
    opts = CFG["java_opts"]
    cgroup = None
    if CFG["memory_cgroup"]:
        cgroup = memcg.MemoryCgroup.create(name, CFG["limit_bytes"])
    else:
        # No cgroup to put it in: the JVM is told the limit instead, so it sizes itself as there.
        opts += f" -XX:MaxRAM={CFG['limit_bytes']}"
    env = {"JAVA_TOOL_OPTIONS": opts, "TOKENGATE_MEMORY_LIMIT_BYTES": str(CFG["limit_bytes"])}
    return Proc(name, argv, env=env, count_stdout=True, cgroup=cgroup), port, admin


# ---------------------------------------------------------------- scenarios


def check_enforced(name, url, token):
    with_token = http_status(url, {"Authorization": f"Bearer {token}"})
    without = http_status(url)
    bad = http_status(url, {"Authorization": f"Bearer {token[:-4]}AAAA"})
    log(f"{name}: valid token -> {with_token}, no token -> {without}, bad signature -> {bad}")
    if with_token != 200:
        raise RuntimeError(f"{name} does not accept the benchmark token (status {with_token})")
    return {"valid_token": with_token, "no_token": without, "bad_signature": bad}


def token_cache(admin):
    """The sidecar's verified-token cache counters ({"hit": n, "miss": n}) from its metrics."""
    cache = {}
    for line in scrape_metrics(admin):
        if line.startswith("tokengate_token_cache_total{"):
            result = line.split('result="', 1)[1].split('"', 1)[0]
            cache[result] = int(float(line.rsplit(" ", 1)[1]))
    return cache


def jvm_memory(admin, pid):
    """Where the sidecar's memory is, from its own metrics and /proc: what an RSS figure is made
    of (MiB; committed means reserved and at least partly touched)."""
    mib = 1024 * 1024
    out = {"heap_committed": 0.0, "heap_used": 0.0, "metaspace_committed": 0.0, "code_cache_committed": 0.0,
           "jdk_direct_buffers": 0.0, "threads": 0}
    for line in scrape_metrics(admin, prefix="jvm_"):
        try:
            value = float(line.rsplit(" ", 1)[1])
        except (IndexError, ValueError):
            continue
        if line.startswith("jvm_memory_committed_bytes{"):
            if 'area="heap"' in line:
                out["heap_committed"] += value / mib
            elif "Metaspace" in line or "Compressed Class" in line:
                out["metaspace_committed"] += value / mib
            elif "CodeHeap" in line or "CodeCache" in line:
                out["code_cache_committed"] += value / mib
        elif line.startswith("jvm_memory_used_bytes{") and 'area="heap"' in line:
            out["heap_used"] += value / mib
        elif line.startswith('jvm_buffer_memory_used_bytes{id="direct"}'):
            out["jdk_direct_buffers"] = value / mib
        elif line.startswith("jvm_threads_live_threads"):
            out["threads"] = int(value)
    out = {k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}
    out["rss_anon"] = round(rss_kib(pid, "RssAnon") / 1024, 1)
    out["rss_file"] = round(rss_kib(pid, "RssFile") / 1024, 1)
    return out


def log_phase(proc, before, seconds):
    """The sidecar's decision-log volume over a phase that just ended."""
    time.sleep(0.3)  # the sidecar writes its lines from a background thread: let it catch up
    return LogCounter.rates(before, proc.counter.snapshot(), seconds)


def measure(name, url, one_token, results, pgid=None, ours=(), rotate_file=None, rate_tokens=None,
            cpu_pg=None, proc=None, admin=None, warmup_tokens=None):
    """Every load shape against one target, in this order: a warm-up at the fixed rate, the
    fixed rate (the process has seen nothing heavier yet, so its RSS is the steady figure at
    that rate), a warm-up at fixed concurrency, fixed concurrency. For a sidecar (proc, admin):
    its decision-log volume in both measured phases and its token cache during the fixed rate."""
    cpu_pg = cpu_pg or pgid
    hits0 = issuer_hits(ISSUER_PORT)
    hdr = [f"Authorization: Bearer {one_token}"]

    log(f"{name}: warm-up at {CFG['rate']}/s for {CFG['rate_warmup']}s")
    # With new tokens in the measured phase, the warm-up sends new tokens too (others): the
    # signature check is then compiled before it is measured, as in a pod that has been serving.
    run_vegeta(name + "-warmup", url, warmup_tokens or [one_token], ours=ours, seconds=CFG["rate_warmup"], record=False)
    log(f"{name}: fixed rate {CFG['rate']}/s for {CFG['rate_duration']}s")
    cache0 = token_cache(admin) if admin else None
    log0 = proc.counter.snapshot() if proc else None
    with Sampler(pgid) as s:
        rate = run_vegeta(name, url, rate_tokens or [one_token], ours=ours, target_pg=cpu_pg)
    rate["loadavg_during"] = round(statistics.mean(s.loads), 2) if s.loads else loadavg()[0]
    if pgid:
        rate["peak_rss_mib"] = round(s.peak_kib / 1024, 1)
        rate["peak_rss_anon_mib"] = round(s.peak_anon_kib / 1024, 1)
        rate["last_rss_mib"] = round(s.last_kib / 1024, 1)
    if proc:
        rate["decision_log"] = log_phase(proc, log0, rate["wall_s"])
    if admin:
        cache1 = token_cache(admin)
        rate["token_cache"] = {k: cache1.get(k, 0) - cache0.get(k, 0) for k in ("hit", "miss")}
        rate["memory"] = jvm_memory(admin, pgid)
    log(f"{name}: p99 {rate['latency_us']['p99']:.0f} us at {rate['achieved_rate']:.0f}/s, codes {rate['codes']}"
        + (f", peak RSS {rate['peak_rss_mib']} MiB" if pgid else ""))

    log(f"{name}: warm-up at {CFG['connections']} connections for {CFG['warmup']}s")
    run_wrk(name, url, CFG["warmup"], os.path.join(LIB, "report.lua"), headers=hdr, record=False, ours=ours)
    log(f"{name}: fixed concurrency {CFG['connections']} for {CFG['duration']}s")
    log0 = proc.counter.snapshot() if proc else None
    with Sampler(pgid) as s:
        if rotate_file:
            fixed = run_wrk(
                name, url, CFG["duration"], os.path.join(LIB, "rotate.lua"),
                env={"TOKENS_FILE": rotate_file}, ours=ours, target_pg=cpu_pg,
            )
        else:
            fixed = run_wrk(
                name, url, CFG["duration"], os.path.join(LIB, "report.lua"), headers=hdr, ours=ours,
                target_pg=cpu_pg,
            )
    fixed["loadavg_during"] = round(statistics.mean(s.loads), 2) if s.loads else loadavg()[0]
    if pgid:
        fixed["peak_rss_mib"] = round(s.peak_kib / 1024, 1)
        fixed["peak_rss_anon_mib"] = round(s.peak_anon_kib / 1024, 1)
    if proc:
        fixed["decision_log"] = log_phase(proc, log0, fixed["duration_us"] / 1e6)
    fixed["loadavg_after"] = loadavg()[0]
    log(f"{name}: {fixed['rps']:.0f} req/s, p99 {fixed['latency_us']['p99']} us, other load {fixed['other_cpu_cores']} cores")
    hits1 = issuer_hits(ISSUER_PORT)
    issuer_requests = {k: v - hits0.get(k, 0) for k, v in hits1.items() if v - hits0.get(k, 0)}
    results["scenarios"][name] = {"fixed": fixed, "rate": rate, "issuer_requests_during": issuer_requests}


def startup_times(results):
    """Start to ready as the image starts it (startup.py: the Jib tarball's entrypoint in its own
    root filesystem, user 65532, the injected JAVA_TOOL_OPTIONS), once as built and once without
    its AOT cache, and the jar on this machine's JDK; each start in a memory cgroup at the
    chart's limit when one can be made. Static keys: no IdP round trip before ready."""
    import tempfile

    sys.path.insert(0, BENCH)
    import startup  # noqa: E402 - bench/startup.py, the one start-to-ready measurement

    out = {"runs": [], "starts": CFG["starts"]}
    cgroup = memcg.MemoryCgroup.create("startup", CFG["limit_bytes"]) if CFG["memory_cgroup"] else None
    startup.configure(CFG["java_opts"], CFG["limit_bytes"], cgroup.wrap if cgroup else None)
    work = tempfile.mkdtemp(prefix="startup-", dir=RUN)
    server = None
    try:
        server, config, token = startup.prepare(work)
        why_not = None
        if os.geteuid() != 0:
            why_not = "needs root (unshare and chroot into the image's filesystem)"
        elif not os.path.exists(CFG["image"]):
            why_not = f"no image tarball at {os.path.relpath(CFG['image'], REPO)} (build: ./mvnw -B -Pimages -pl sidecar -am package -DskipTests)"
        if why_not:
            out["image_error"] = why_not
            log(f"startup: image not measured: {why_not}")
        else:
            try:
                startup.image_variants(out, CFG["image"], config, token, CFG["starts"], work)
            except Exception as e:  # noqa: BLE001 - recorded, and the run goes on
                out["image_error"] = str(e)[:2000]
                log(f"startup: image FAILED: {e}")
        try:
            out["runs"].append(startup.measure("jar on this machine's JDK", injected.java_home(CFG["java"]), [],
                                               CFG["jar"], config, token, CFG["starts"]))
        except Exception as e:  # noqa: BLE001
            out["jar_error"] = str(e)[:2000]
            log(f"startup: jar FAILED: {e}")
        out["image"] = {k: v for k, v in out.get("image", {}).items() if k != "tar"}
    finally:
        if server:
            server.shutdown()
        if cgroup:
            out["memory_cgroup"] = cgroup.stats()
            cgroup.remove()
    for run in out["runs"]:
        run.pop("java", None)  # a path on this machine (or the unpacked image's)
    results["startup"] = out


def memory_burst(results):
    """memory-burst.sh (the 10,000-connection burst in a memory cgroup at the chart's limit),
    run as it runs on its own; its JSON lands in raw/memory-burst.json."""
    why = memcg.unavailable_reason()
    if why:
        results["memory_burst"] = {"error": f"not run: {why} (the burst needs a cgroup-v1 memory cgroup)"}
        log(f"memory-burst: {results['memory_burst']['error']}")
        return
    out_file = os.path.join(RAW, "memory-burst.json")
    env = {**os.environ, "SIDECAR_JAR": CFG["jar"], "JAVA": CFG["java"], "BURST_OUT": out_file,
           "BURST_JVM_FLAGS": CFG["java_opts"]}
    log("memory-burst: 10,000 connections + 1,000 slow heads against the sidecar in a "
        f"{CFG['memory_limit']} memory cgroup")
    p = Proc("memory-burst", ["bash", os.path.join(BENCH, "memory-burst.sh")], env=env)
    try:
        p.p.wait(600)
    except subprocess.TimeoutExpired:
        pass
    status = p.stop()
    if status == 0 and os.path.exists(out_file):
        with open(out_file) as f:
            results["memory_burst"] = json.load(f)
        b = results["memory_burst"]
        log(f"memory-burst: OOM kills {b['oom_kill']}, alive {b['alive']}, peak RSS {b['peak_rss_mib']} MiB, "
            f"clients {b['clients']}")
    else:
        results["memory_burst"] = {"error": f"memory-burst.sh ended with {status}:\n{p.tail(15)}"}
        log(f"memory-burst FAILED: {results['memory_burst']['error']}")


def go_module_version(binary):
    try:
        out = subprocess.run(["go", "version", "-m", binary], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = out.splitlines()
    mod = next((l.split() for l in lines if l.strip().startswith("mod")), None)
    go = lines[0].split(":", 1)[1].strip() if lines else ""
    return f"{mod[2]} (built from {mod[1]} with {go})" if mod else "unknown"


def issuer_hits(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, OSError, ValueError):
        return {}


def machine_info():
    def cmd(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            return (r.stdout + r.stderr).strip()
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"unavailable ({e})"

    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "os": cmd(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "java": cmd([CFG["java"], "-version"]).splitlines()[0:3],
        "nginx": cmd(["nginx", "-v"]),
        "oauth2_proxy": go_module_version(os.path.join(BIN, "oauth2-proxy")),
        "wrk": cmd(["wrk", "-v"]).splitlines()[0],
        "vegeta": go_module_version(os.path.join(BIN, "vegeta")),
        "git_commit": cmd(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
        "top_cpu_at_start": cmd(["sh", "-c", "ps -eo pcpu,comm --sort=-pcpu | head -6"]),
    }


def wait_quiet():
    if CFG["quiet_load"] <= 0:
        return
    end = time.monotonic() + CFG["quiet_wait"]
    while loadavg()[0] > CFG["quiet_load"] and time.monotonic() < end:
        log(f"waiting for a quiet machine: load {loadavg()[0]} > {CFG['quiet_load']}")
        time.sleep(20)


def run_round(sc, one, up_port, issuer_url, base, want_sidecar):
    """One pass over every target; each proxy is started fresh and stopped after."""
    rnd = {"scenarios": {}, "loadavg_start": loadavg()}
    if "direct" in sc:
        measure("direct", f"http://127.0.0.1:{up_port}/", one, rnd, ours=base, cpu_pg=base[1])

    if "nginx" in sc:
        port = free_port()
        p = start_nginx_proxy(port, up_port)
        try:
            wait_for(f"http://127.0.0.1:{port}/", p)
            measure("nginx", f"http://127.0.0.1:{port}/", one, rnd, pgid=p.pid, ours=base + [p.pid])
        except Exception as e:  # noqa: BLE001
            rnd.setdefault("failures", {})["nginx"] = f"{e}\n{p.tail(5)}"
            log(f"nginx FAILED: {e}")
        finally:
            p.stop()

    if "oauth2-proxy" in sc:
        port = free_port()
        p = start_oauth2_proxy(port, up_port, issuer_url)
        try:
            wait_for(f"http://127.0.0.1:{port}/ping", p)
            enforced = check_enforced("oauth2-proxy", f"http://127.0.0.1:{port}/", one)
            measure("oauth2-proxy", f"http://127.0.0.1:{port}/", one, rnd, pgid=p.pid, ours=base + [p.pid])
            rnd["scenarios"]["oauth2-proxy"]["enforced"] = enforced
        except Exception as e:  # noqa: BLE001
            rnd.setdefault("failures", {})["oauth2-proxy"] = f"{e}\n{p.tail(5)}"
            log(f"oauth2-proxy FAILED: {e}")
        finally:
            p.stop()

    config_dir = os.path.join(RUN, "sidecar-config")
    if want_sidecar:
        write_sidecar_config(config_dir, issuer_url, up_port)
    for name in ("sidecar-one", "sidecar-many", "sidecar-c2"):
        if name not in sc:
            continue
        # A fresh process per variant: the many-token run starts with an empty token cache.
        extra = shlex.split(CFG["alt_java_opts"]) if name == "sidecar-c2" else []
        p, port, admin = start_sidecar(name, config_dir, extra)
        sc_res = None
        try:
            ready = wait_for(f"http://127.0.0.1:{admin}/healthz/ready", p, timeout=120)
            log(f"{name}: ready in {ready * 1000:.0f} ms (pid {p.pid})")
            url = f"http://127.0.0.1:{port}/"
            log0 = p.counter.snapshot()
            enforced = check_enforced(name, url, one)
            time.sleep(0.3)
            # Each refused request must leave its line, whatever the sampling of allowed ones.
            enforced["denied_lines"] = p.counter.snapshot()["denied"] - log0["denied"]
            if name != "sidecar-many":
                measure(name, url, one, rnd, pgid=p.pid, ours=base + [p.pid], proc=p, admin=admin)
            else:
                fresh = [t.strip() for t in open(os.path.join(RUN, "fresh.txt")) if t.strip()]
                warm = [t.strip() for t in open(os.path.join(RUN, "warm.txt")) if t.strip()]
                measure(
                    name, url, one, rnd, pgid=p.pid, ours=base + [p.pid], proc=p, admin=admin,
                    rotate_file=os.path.join(RUN, "many.txt"), rate_tokens=fresh, warmup_tokens=warm,
                )
                rnd["scenarios"][name]["fixed"]["distinct_tokens"] = CFG["tokens"]
            sc_res = rnd["scenarios"][name]
            sc_res["enforced"] = enforced
            sc_res["ready_ms"] = round(ready * 1000)
            sc_res["vm_hwm_mib"] = round(rss_kib(p.pid, "VmHWM") / 1024, 1)
            sc_res["token_cache"] = token_cache(admin)
            scrape_metrics(admin, name)
        except Exception as e:  # noqa: BLE001 - recorded, and the run goes on
            rnd.setdefault("failures", {})[name] = f"{e}\n{p.tail(5)}"
            log(f"{name} FAILED: {e}")
        finally:
            ended = p.stop()
            # Killed by the kernel or gone by itself before it was stopped: recorded as such.
            life = {"ended_before_stop": ended, "memory_cgroup": getattr(p, "cgroup_stats", None)}
            rnd.setdefault("lives", {})[name] = life
            if sc_res is not None:
                sc_res["life"] = life
    return rnd


def median_of(values):
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def aggregate(rounds, how=None):
    """One figure per target from several rounds.

    "quietest" (the default below 3 rounds): per target, the round in which other processes
    took the least CPU during its fixed-concurrency run, whole (its latencies, throughput and
    rate run together); a build starting on a shared machine spoils one round, not the result.
    "median": the median of every figure over the rounds (the peak for RSS).
    """
    how = how or os.environ.get("AGGREGATE") or ("median" if len(rounds) >= 3 else "quietest")
    if len(rounds) == 1:
        r = rounds[0]
        return {k: v for k, v in r.items() if k != "loadavg_start"}
    out = {"scenarios": {}, "aggregate": how}
    names = []
    for r in rounds:
        names += [n for n in r["scenarios"] if n not in names]
    for name in names:
        runs = [r["scenarios"][name] for r in rounds if name in r["scenarios"]]
        if how == "quietest":
            pick = min(range(len(runs)), key=lambda i: runs[i]["fixed"].get("other_cpu_cores", 0))
            agg = json.loads(json.dumps(runs[pick]))
            agg["rounds"] = len(runs)
            agg["round_used"] = [i + 1 for i, r in enumerate(rounds) if name in r["scenarios"]][pick]
            out["scenarios"][name] = agg
            continue
        agg = json.loads(json.dumps(runs[0]))
        for shape in ("fixed", "rate"):
            for key in ("rps", "achieved_rate", "other_cpu_cores", "loadavg_during", "loadavg_after", "target_cpu_us_per_req"):
                if key in agg[shape]:
                    agg[shape][key] = median_of([x[shape].get(key) for x in runs])
            for q in agg[shape]["latency_us"]:
                agg[shape]["latency_us"][q] = median_of([x[shape]["latency_us"][q] for x in runs])
            for key in ("requests",):
                agg[shape][key] = sum(x[shape][key] for x in runs)
        if "errors" in agg["fixed"]:
            for e in agg["fixed"]["errors"]:
                agg["fixed"]["errors"][e] = sum(x["fixed"]["errors"][e] for x in runs)
        codes = {}
        for x in runs:
            for c, n in x["rate"]["codes"].items():
                codes[c] = codes.get(c, 0) + n
        agg["rate"]["codes"] = codes
        for shape in ("fixed", "rate"):
            for key in ("peak_rss_mib", "peak_rss_anon_mib", "last_rss_mib"):
                if key in agg[shape]:
                    agg[shape][key] = max(x[shape][key] for x in runs)
        agg["rounds"] = len(runs)
        if "vm_hwm_mib" in agg:
            agg["vm_hwm_mib"] = max(x.get("vm_hwm_mib", 0) for x in runs)
        out["scenarios"][name] = agg
    fails = {}
    for i, r in enumerate(rounds):
        for k, v in r.get("failures", {}).items():
            fails[f"{k} (round {i + 1})"] = v
    if fails:
        out["failures"] = fails
    return out


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if CFG["nice"]:
        # Every target and load generator inherits this: on a machine shared with builds,
        # they then get the cores first and the builds wait (root only for a negative value).
        # With autogroup scheduling (one CPU share per session, whatever the nice values inside
        # it), the session's own nice value is what counts: every process here stays in this
        # session (own process groups, for stopping them) and shares it.
        os.setpriority(os.PRIO_PROCESS, 0, CFG["nice"])
        try:
            with open("/proc/self/autogroup", "w") as f:
                f.write(str(CFG["nice"]))
        except OSError:
            pass
    os.makedirs(RUN, exist_ok=True)
    os.makedirs(RAW, exist_ok=True)
    # raw/ holds exactly one run of this script; what other scripts left there (startup.py's
    # JSON files, for example) stays.
    for pattern in ("*-wrk.txt", "*-rate.txt", "*-metrics.txt", "results.json", "memory-burst.json"):
        for old in glob.glob(os.path.join(RAW, pattern)):
            os.remove(old)
    # The sidecar as the operator injects it with the chart's defaults (lib/injected.py).
    pod = injected.defaults(java=CFG["java"])
    CFG["memory_limit"] = pod["memory_limit"]
    CFG["limit_bytes"] = pod["limit_bytes"]
    CFG["decision_log_allowed"] = pod["decision_log_allowed"]
    CFG["injected_java_opts"] = pod["jvm_options"]
    CFG["java_opts"] = CFG["java_opts"] or pod["jvm_options"]
    CFG["injected_source"] = pod["source"]
    CFG["memory_cgroup_unavailable"] = memcg.unavailable_reason()
    CFG["memory_cgroup"] = CFG["memory_cgroup_unavailable"] is None
    log(f"sidecar: {CFG['memory_limit']} limit "
        + ("(a memory cgroup each)" if CFG["memory_cgroup"] else f"(no memory cgroup: {CFG['memory_cgroup_unavailable']}; -XX:MaxRAM instead)")
        + f", JAVA_TOOL_OPTIONS {CFG['java_opts']}, --decision-log-allowed {CFG['decision_log_allowed']}")
    wait_quiet()
    t_start = time.monotonic()
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "config": {k: v for k, v in CFG.items() if k not in ("cache",)},
        "machine": machine_info(),
        "loadavg_start": loadavg(),
        "scenarios": {},
        "notes": [],
    }
    results["config"]["jar"] = os.path.relpath(CFG["jar"], REPO)
    if os.path.exists(CFG["jar"]):
        # Run a private copy: a build in the same tree may rewrite the jar mid-run.
        import hashlib
        import shutil

        private = os.path.join(RUN, "tokengate-sidecar.jar")
        shutil.copyfile(CFG["jar"], private)
        with open(private, "rb") as f:
            results["config"]["jar_sha256"] = hashlib.sha256(f.read()).hexdigest()[:16]
        results["config"]["jar_built"] = time.strftime(
            "%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(CFG["jar"]))
        )
        CFG["jar"] = private
    if "startup" in CFG["scenarios"] and os.path.exists(CFG["image"]):
        import hashlib
        import shutil

        results["config"]["image"] = os.path.relpath(CFG["image"], REPO)
        results["config"]["image_built"] = time.strftime(
            "%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(CFG["image"]))
        )
        private = os.path.join(RUN, "sidecar-image.tar")
        shutil.copyfile(CFG["image"], private)
        with open(private, "rb") as f:
            results["config"]["image_sha256"] = hashlib.sha256(f.read()).hexdigest()[:16]
        CFG["image"] = private
    sc = CFG["scenarios"]
    unknown = [x for x in sc if x not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}: choose from {','.join(SCENARIOS)}")
    uses_jar = ("sidecar-one", "sidecar-many", "sidecar-c2", "memory-burst", "startup")
    want_sidecar = any(x in uses_jar for x in sc)
    if want_sidecar and not os.path.exists(CFG["jar"]):
        results["notes"].append(f"sidecar jar {CFG['jar']} missing: sidecar scenarios not run")
        sc = [x for x in sc if x not in uses_jar]
    try:
        global ISSUER_PORT
        issuer_port, up_port = free_port(), free_port()
        ISSUER_PORT = issuer_port
        n_rate = CFG["rate"] * CFG["rate_duration"]
        token_sets = ["one=1"]
        if "sidecar-many" in sc:
            token_sets += [f"many={CFG['tokens']}", f"warm={CFG['rate'] * CFG['rate_warmup']}", f"fresh={n_rate}"]
        log(f"issuer on {issuer_port}: minting {' '.join(token_sets)}")
        issuer = Proc(
            "issuer",
            [sys.executable, os.path.join(LIB, "..", "..", "demo", "issuer.py"), "--port", str(issuer_port),
             "--state-dir", os.path.join(RUN, "issuer"), "--audience", CFG["audience"], "--out", RUN] + sum((["--tokens", t] for t in token_sets), []),
        )
        wait_for(f"http://127.0.0.1:{issuer_port}/jwks", issuer, timeout=600, interval=0.2)
        issuer_url = f"http://127.0.0.1:{issuer_port}"
        one = open(os.path.join(RUN, "one.txt")).readline().strip()
        upstream = start_upstream(up_port)
        wait_for(f"http://127.0.0.1:{up_port}/", upstream)
        base = [issuer.pid, upstream.pid]
        results["upstream"] = "nginx `return 200` (24-byte text/plain body), 1 worker process"

        rounds = []
        for i in range(CFG["rounds"]):
            if CFG["rounds"] > 1:
                global ROUND_SUFFIX
                ROUND_SUFFIX = f"-r{i + 1}"
                log(f"round {i + 1} of {CFG['rounds']}")
            rounds.append(run_round(sc, one, up_port, issuer_url, base, want_sidecar))
        results["rounds"] = rounds
        results.update(aggregate(rounds))
        if "memory-burst" in sc:
            memory_burst(results)
        if "startup" in sc:
            startup_times(results)
    finally:
        stop_all()
    results["loadavg_end"] = loadavg()
    results["elapsed_s"] = round(time.monotonic() - t_start)
    with open(os.path.join(RAW, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    import report  # noqa: E402 - after the run; needs matplotlib

    report.write_all(results, OUT, BENCH)
    if os.environ.get("KEEP_RUN") != "1":
        import shutil

        shutil.rmtree(RUN, ignore_errors=True)
    log(f"done in {results['elapsed_s']} s: {os.path.relpath(OUT, REPO)}/RESULTS.md, results.png, raw/")


def scrape_metrics(admin, name=None, prefix="tokengate_"):
    """The sidecar's metrics of one prefix (without histogram buckets); kept in raw/ when named."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
            text = r.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return [f"# unavailable: {e}"]
    keep = [l for l in text.splitlines() if l.startswith(prefix) and "_bucket{" not in l]
    if name:
        with open(os.path.join(RAW, f"{name}{ROUND_SUFFIX}-metrics.txt"), "w") as f:
            f.write("\n".join(keep) + "\n")
    return keep


if __name__ == "__main__":
    sys.path.insert(0, LIB)
    main()
