"""tokengate benchmark: one run, every proxy, same machine, same issuer, same upstream.

Started by bench/run.sh (which installs the tools). Measures, for each target:
  * fixed concurrency (closed loop): wrk -t THREADS -c CONNECTIONS for DURATION s after WARMUP s
  * fixed request rate (open loop): vegeta at RATE req/s for RATE_DURATION s
and, for the sidecar, peak RSS under load and the time from process start to ready.
Writes bench/raw/*.txt, bench/raw/results.json, bench/RESULTS.md and bench/results.png.
Everything it starts runs in its own process group and is stopped on exit.
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
# Where RESULTS.md, results.png and raw/ go: bench/ itself unless BENCH_OUT says otherwise
# (for trying the harness without replacing the recorded run).
OUT = os.environ.get("BENCH_OUT") or BENCH
RAW = os.path.join(OUT, "raw")


def env_int(name, default):
    return int(os.environ.get(name, default))


CFG = {
    "duration": env_int("DURATION", 15),
    "warmup": env_int("WARMUP", 10),
    "connections": env_int("CONNECTIONS", 64),
    "threads": env_int("THREADS", 2),
    "rate": env_int("RATE", 1000),
    "rate_duration": env_int("RATE_DURATION", 15),
    "tokens": env_int("TOKENS", 10000),
    "starts": env_int("STARTS", 5),
    "rounds": env_int("ROUNDS", 1),
    "max_in_flight": env_int("MAX_IN_FLIGHT", 512),
    "nice": env_int("BENCH_NICE", 0),
    "scenarios": os.environ.get(
        "SCENARIOS", "direct,nginx,oauth2-proxy,sidecar-one,sidecar-many,sidecar-c1,startup"
    ).split(","),
    "java": os.environ.get("JAVA", "java"),
    # The operator's JAVA_TOOL_OPTIONS for the sidecar (operator/src/main/resources/
    # sidecar-template.yaml); -XX:MaxRAM=128m stands in for the pod's 128Mi memory limit, which
    # this machine does not impose, so the JVM sizes its heap as it would in the pod.
    "java_opts": os.environ.get(
        "SIDECAR_JAVA_OPTS",
        "-XX:+UseSerialGC -XX:MaxRAMPercentage=70 -XX:+ExitOnOutOfMemoryError -Xss512k"
        " -XX:MaxRAM=128m",
    ),
    # The "sidecar-c1" variant: the same flags plus these (the C1 compiler only), to show the
    # trade between throughput, memory and start time in the same run.
    "alt_java_opts": os.environ.get("SIDECAR_ALT_JAVA_OPTS", "-XX:TieredStopAtLevel=1"),
    "jar": os.environ.get("SIDECAR_JAR", os.path.join(REPO, "sidecar/target/tokengate-sidecar.jar")),
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


class Proc:
    def __init__(self, name, argv, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(RUN, f"{name}.log")
        self.log = open(self.log_path, "ab")
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(
            argv,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            process_group=0,
        )
        STARTED.append(self)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, grace=10):
        if self.p.poll() is None:
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
        self.log.close()
        if self in STARTED:
            STARTED.remove(self)

    def tail(self, n=20):
        try:
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
        self.loads = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        last_load = 0.0
        while not self._stop.is_set():
            if self.pgid:
                pids = group_pids({self.pgid})
                self.peak_kib = max(self.peak_kib, sum(rss_kib(p) for p in pids))
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


def run_vegeta(name, url, tokens, ours=(), target_pg=None):
    vegeta = os.path.join(BIN, "vegeta")
    targets = os.path.join(RUN, f"{name}-targets.http")
    write_targets(targets, url, tokens)
    binout = os.path.join(RUN, f"{name}-rate.bin")
    argv = [
        vegeta,
        "attack",
        f"-rate={CFG['rate']}/1s",
        f"-duration={CFG['rate_duration']}s",
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
    out = p.communicate(timeout=CFG["rate_duration"] + 60)[0].decode(errors="replace")
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
    }
    if target_cpu is not None:
        res["target_cpu_us_per_req"] = round(target_cpu * 1e6 / max(1, len(lat)), 1)
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


def sidecar_argv(config_dir, port, admin_port, extra_opts=()):
    return (
        [CFG["java"]]
        + shlex.split(CFG["java_opts"])
        + list(extra_opts)
        + ["-jar", CFG["jar"], "--config", config_dir, "--listen-port", str(port), "--admin-port", str(admin_port)]
    )


# ---------------------------------------------------------------- scenarios


def check_enforced(name, url, token):
    with_token = http_status(url, {"Authorization": f"Bearer {token}"})
    without = http_status(url)
    bad = http_status(url, {"Authorization": f"Bearer {token[:-4]}AAAA"})
    log(f"{name}: valid token -> {with_token}, no token -> {without}, bad signature -> {bad}")
    if with_token != 200:
        raise RuntimeError(f"{name} does not accept the benchmark token (status {with_token})")
    return {"valid_token": with_token, "no_token": without, "bad_signature": bad}


def measure(name, url, one_token, results, pgid=None, ours=(), rotate_file=None, rate_tokens=None, cpu_pg=None):
    cpu_pg = cpu_pg or pgid
    hits0 = issuer_hits(ISSUER_PORT)
    log(f"{name}: warm-up {CFG['warmup']}s")
    hdr = [f"Authorization: Bearer {one_token}"]
    run_wrk(name, url, CFG["warmup"], os.path.join(LIB, "report.lua"), headers=hdr, record=False, ours=ours)
    log(f"{name}: fixed concurrency {CFG['connections']} for {CFG['duration']}s")
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
    log(f"{name}: {fixed['rps']:.0f} req/s, p99 {fixed['latency_us']['p99']} us, other load {fixed['other_cpu_cores']} cores")
    log(f"{name}: fixed rate {CFG['rate']}/s for {CFG['rate_duration']}s")
    rate = run_vegeta(name, url, rate_tokens or [one_token], ours=ours, target_pg=cpu_pg)
    rate["loadavg_after"] = loadavg()[0]
    log(f"{name}: p99 {rate['latency_us']['p99']:.0f} us at {rate['achieved_rate']:.0f}/s, codes {rate['codes']}")
    hits1 = issuer_hits(ISSUER_PORT)
    issuer_requests = {k: v - hits0.get(k, 0) for k, v in hits1.items() if v - hits0.get(k, 0)}
    results["scenarios"][name] = {"fixed": fixed, "rate": rate, "issuer_requests_during": issuer_requests}


def startup_times(config_dir, results, issuer_pgid):
    out = {"java_opts": CFG["java_opts"], "runs": {}}

    def starts(label, extra):
        times, rss, cpu = [], [], []
        for i in range(CFG["starts"]):
            port, admin = free_port(), free_port()
            p = Proc(f"sidecar-start-{label}-{i}", sidecar_argv(config_dir, port, admin, extra))
            t = wait_for(f"http://127.0.0.1:{admin}/healthz/ready", p, timeout=60, interval=0.005)
            times.append(t)
            cpu.append(cpu_seconds_of({p.pid}))
            rss.append(rss_kib(p.pid) / 1024)
            p.stop()
        log(f"startup {label}: median {statistics.median(times) * 1000:.0f} ms of {[round(t * 1000) for t in times]}")
        return {
            "median_ms": round(statistics.median(times) * 1000),
            "all_ms": [round(t * 1000) for t in times],
            "cpu_ms_median": round(statistics.median(cpu) * 1000),
            "load_during": loadavg()[0],
            "rss_at_ready_mib": round(statistics.median(rss), 1),
            "extra_opts": list(extra),
        }

    out["runs"]["default"] = starts("default", [])
    # AppCDS: a dynamic archive of the classes one start and a few requests load.
    jsa = os.path.join(RUN, "sidecar-appcds.jsa")
    port, admin = free_port(), free_port()
    p = Proc("sidecar-appcds-train", sidecar_argv(config_dir, port, admin, [f"-XX:ArchiveClassesAtExit={jsa}"]))
    try:
        wait_for(f"http://127.0.0.1:{admin}/healthz/ready", p, timeout=60)
        tok = open(os.path.join(RUN, "one.txt")).readline().strip()
        for _ in range(50):
            http_status(f"http://127.0.0.1:{port}/", {"Authorization": f"Bearer {tok}"})
            http_status(f"http://127.0.0.1:{port}/")
        p.p.send_signal(signal.SIGTERM)
        p.p.wait(60)
    finally:
        p.stop()
    if os.path.exists(jsa):
        out["appcds_archive_mib"] = round(os.path.getsize(jsa) / 2**20, 1)
        out["runs"]["appcds"] = starts("appcds", [f"-XX:SharedArchiveFile={jsa}"])
    else:
        out["appcds_error"] = "no archive written at exit:\n" + p.tail(5)
        log(out["appcds_error"])
    results["startup"] = out


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
    for name in ("sidecar-one", "sidecar-many", "sidecar-c1"):
        if name not in sc:
            continue
        # A fresh process per variant: the many-token run starts with an empty token cache.
        port, admin = free_port(), free_port()
        extra = shlex.split(CFG["alt_java_opts"]) if name == "sidecar-c1" else []
        p = Proc(name, sidecar_argv(config_dir, port, admin, extra))
        try:
            ready = wait_for(f"http://127.0.0.1:{admin}/healthz/ready", p, timeout=120)
            log(f"{name}: ready in {ready * 1000:.0f} ms (pid {p.pid})")
            url = f"http://127.0.0.1:{port}/"
            enforced = check_enforced(name, url, one)
            if name != "sidecar-many":
                measure(name, url, one, rnd, pgid=p.pid, ours=base + [p.pid])
            else:
                fresh = [t.strip() for t in open(os.path.join(RUN, "fresh.txt")) if t.strip()]
                measure(
                    name, url, one, rnd, pgid=p.pid, ours=base + [p.pid],
                    rotate_file=os.path.join(RUN, "many.txt"), rate_tokens=fresh,
                )
                rnd["scenarios"][name]["fixed"]["distinct_tokens"] = CFG["tokens"]
            rnd["scenarios"][name]["enforced"] = enforced
            rnd["scenarios"][name]["ready_ms"] = round(ready * 1000)
            rnd["scenarios"][name]["vm_hwm_mib"] = round(rss_kib(p.pid, "VmHWM") / 1024, 1)
            cache = {}
            for line in scrape_metrics(admin, name):
                if line.startswith("tokengate_token_cache_total{"):
                    result = line.split('result="', 1)[1].split('"', 1)[0]
                    cache[result] = int(float(line.rsplit(" ", 1)[1]))
            rnd["scenarios"][name]["token_cache"] = cache
        except Exception as e:  # noqa: BLE001 - recorded, and the run goes on
            rnd.setdefault("failures", {})[name] = f"{e}\n{p.tail(5)}"
            log(f"{name} FAILED: {e}")
        finally:
            p.stop()
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
        for key in ("peak_rss_mib", "peak_rss_anon_mib"):
            if key in agg["fixed"]:
                agg["fixed"][key] = max(x["fixed"][key] for x in runs)
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
    for old in glob.glob(os.path.join(RAW, "*")):
        os.remove(old)  # raw/ holds exactly one run
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
    sc = CFG["scenarios"]
    want_sidecar = any(s.startswith("sidecar") or s == "startup" for s in sc)
    if want_sidecar and not os.path.exists(CFG["jar"]):
        results["notes"].append(f"sidecar jar {CFG['jar']} missing: sidecar scenarios not run")
        sc = [s for s in sc if not (s.startswith("sidecar") or s == "startup")]
    try:
        global ISSUER_PORT
        issuer_port, up_port = free_port(), free_port()
        ISSUER_PORT = issuer_port
        n_rate = CFG["rate"] * CFG["rate_duration"]
        token_sets = ["one=1"]
        if "sidecar-many" in sc:
            token_sets += [f"many={CFG['tokens']}", f"fresh={n_rate}"]
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
        config_dir = os.path.join(RUN, "sidecar-config")

        if "startup" in sc:
            startup_times(config_dir, results, issuer.pid)
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


def scrape_metrics(admin, name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
            text = r.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return [f"# unavailable: {e}"]
    keep = [l for l in text.splitlines() if l.startswith("tokengate_") and "_bucket{" not in l]
    with open(os.path.join(RAW, f"{name}{ROUND_SUFFIX}-metrics.txt"), "w") as f:
        f.write("\n".join(keep) + "\n")
    return keep


if __name__ == "__main__":
    sys.path.insert(0, LIB)
    main()
