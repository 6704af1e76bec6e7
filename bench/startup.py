#!/usr/bin/env python3
"""Sidecar start-to-ready on the JDKs an image could ship (issue 9: "starts in half a second").

Starts the sidecar jar N times per variant and measures the time from the process start to the
first 200 from the admin port's /healthz/ready (the readiness probe's URL). The configuration is
an ApiPolicy and a TokenIssuer with static keys (no IdP round trip), so what is measured is the
JVM and the sidecar's own boot. Every variant runs with the JVM flags the operator injects
(JAVA_TOOL_OPTIONS and TOKENGATE_MEMORY_LIMIT_BYTES of operator/src/main/resources/
sidecar-template.yaml, for the chart's default memory limit: lib/injected.py derives them from the
operator's SidecarJvmOptions and the chart's values). With --memory-cgroup (root, cgroup v1) every
start runs in a memory cgroup at that limit, so the JVM sizes itself as in the pod.

Variants: JDK 17 as is, JDK 17 with a dynamic AppCDS archive, JDK 25 as is, JDK 25 with compact
object headers, JDK 25 with an AOT cache (JEP 483/514) trained by one start plus a few
requests (with and without compact object headers: the cache must be trained with the flag it
is used with).

With --image TAR (the sidecar's Jib tarball; needs root for unshare and chroot), the image's own
entrypoint is measured too, as a container starts it: the image's filesystem as root, a private
/proc, user 65532, the injected JAVA_TOOL_OPTIONS, the host's /dev; once as built (with its AOT cache) and once
with the cache left out of its argument file. bench/run.sh's "startup" scenario runs the image
variants and the jar on the host's JDK through this file's functions.

Usage: startup.py [--jar sidecar/target/tokengate-sidecar.jar] [--starts 7] [--image TAR]
                  [--only-image] [--memory-cgroup] [--out FILE.json]
"""

import argparse
import http.server
import json
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
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "demo"))
sys.path.insert(0, os.path.join(HERE, "lib"))
from issuer import RsaKey  # noqa: E402  the one development issuer's key and token minting
import injected  # noqa: E402  what the operator injects, from the operator's and the chart's sources
import memcg  # noqa: E402

JDK17 = os.environ.get("JDK17_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")
JDK25 = os.environ.get("JDK25_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
# What every start gets: the injected JAVA_TOOL_OPTIONS and environment (set by configure()), and
# optionally a wrapper that puts the process into a memory cgroup.
INJECTED = []
ENV = {}
WRAP = None
# Size caps left out of training runs: dumping an archive needs more metaspace than running with
# it (helm/images/aot-cache.sh trains without them for the same reason).
TRAINING_DROPS = ("-Xmx", "-XX:MaxMetaspaceSize=", "-XX:ReservedCodeCacheSize=", "-XX:MaxDirectMemorySize=")
ISSUER = "https://idp.bench.invalid/realms/bench"


def configure(jvm_options, limit_bytes, wrap=None):
    """The flags and environment of the pod's sidecar container, and how to enter its cgroup."""
    global INJECTED, ENV, WRAP
    INJECTED = jvm_options.split()
    ENV = {"JAVA_TOOL_OPTIONS": jvm_options, "TOKENGATE_MEMORY_LIMIT_BYTES": str(limit_bytes)}
    WRAP = wrap


def log(msg):
    print(f"[startup] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(directory, key_directory, upstream_port):
    key = RsaKey.load_or_create(key_directory)
    jwk = key.jwk()
    with open(os.path.join(directory, "issuer.yaml"), "w") as f:
        f.write(
            f"""apiVersion: tokengate.io/v1alpha1
kind: TokenIssuer
metadata: {{name: bench-idp, namespace: bench}}
spec:
  issuer: {ISSUER}
  discovery: false
  jwks: {json.dumps({"keys": [jwk]})}
  audiences: [api://bench]
"""
        )
    with open(os.path.join(directory, "policy.yaml"), "w") as f:
        f.write(
            f"""apiVersion: tokengate.io/v1alpha1
kind: ApiPolicy
metadata: {{name: bench-api, namespace: bench}}
spec:
  selector: {{matchLabels: {{app: bench}}}}
  issuerRef: {{kind: TokenIssuer, name: bench-idp}}
  upstream: {{port: {upstream_port}}}
  rules:
    - paths: ["/healthz"]
      action: Allow
    - paths: ["/**"]
      require: {{scopes: [bench.read]}}
  forwardClaims: {{sub: X-Auth-Subject}}
"""
        )
    now = int(time.time())
    return key.token({"iss": ISSUER, "aud": "api://bench", "sub": "bench", "scope": "bench.read",
                      "iat": now, "nbf": now, "exp": now + 3600})


class Upstream(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def status(url, headers=None, timeout=2):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def java_pid(pid):
    """The JVM's pid: the process itself, or the last in its chain of only children (unshare)."""
    while True:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = f.read().split()
        except OSError:
            return pid
        if len(kids) != 1:
            return pid
        pid = int(kids[0])


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def start(java_home, opts, jar, config, training=False):
    port, admin = free_port(), free_port()
    env = dict(ENV)
    if training:
        env["JAVA_TOOL_OPTIONS"] = " ".join(o for o in INJECTED if not o.startswith(TRAINING_DROPS))
    if java_home.startswith("image:"):
        # The image's entrypoint in its own root filesystem, as a container runtime runs it.
        rootfs, entrypoint = java_home[len("image:"):], opts
        # A private /proc and the host's /dev (the JVM seeds SecureRandom from /dev/urandom; a
        # chroot without it falls back to a CPU-burning seed generator no container has).
        inner = (f'mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && '
                 f'exec /usr/sbin/chroot --userspec=65532:65532 "$0" "$@"')
        argv = ["unshare", "-m", "-p", "-f", "--kill-child", "sh", "-c", inner, rootfs, *entrypoint,
                "--config", "/etc/tokengate", "--listen-port", str(port), "--admin-port", str(admin),
                "--drain-seconds", "0"]
        env["PATH"] = "/opt/java/bin:/usr/bin:/bin"
    else:
        argv = [f"{java_home}/bin/java", *opts, "-jar", jar, "--config", config,
                "--listen-port", str(port), "--admin-port", str(admin), "--drain-seconds", "0"]
        env = {**os.environ, **env}
    if WRAP and not training:  # dumping an archive takes more memory than the pod's limit holds
        argv = WRAP(argv)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    ready_url = f"http://127.0.0.1:{admin}/healthz/ready"
    while status(ready_url) != 200:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.read()[-2000:]}")
        if time.monotonic() - t0 > 60:
            proc.kill()
            raise RuntimeError(f"not ready after 60 s: {' '.join(argv)}")
        time.sleep(0.005)
    return proc, time.monotonic() - t0, port


def stop(proc):
    # The JVM itself: unshare does not forward signals to the process it runs.
    os.kill(java_pid(proc.pid), signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return proc.stderr.read()


def exercise(port, token):
    base = f"http://127.0.0.1:{port}"
    for _ in range(50):
        assert status(f"{base}/items", {"Authorization": f"Bearer {token}"}, timeout=30) == 200
        assert status(f"{base}/items") == 401
        assert status(f"{base}/items", {"Authorization": f"Bearer {token[:-4]}AAAA"}) == 401
        assert status(f"{base}/healthz") == 200


def train(java_home, opts, jar, config, token):
    proc, _, port = start(java_home, opts, jar, config, training=True)
    exercise(port, token)
    err = stop(proc)
    archive = next((o.split("=", 1)[1] for o in opts if o.startswith(("-XX:ArchiveClassesAtExit=", "-XX:AOTCacheOutput="))), None)
    if archive and not os.path.exists(archive):
        raise RuntimeError(f"training wrote no archive at {archive}:\n{err[-2000:]}")
    return err


def measure(label, java_home, opts, jar, config, token, starts):
    times, rss, cpu, maps = [], [], [], []
    for _ in range(starts):
        proc, t, port = start(java_home, opts, jar, config)
        jvm = java_pid(proc.pid)
        cpu.append(cpu_ms(jvm))
        rss.append(rss_mib(jvm))
        with open(f"/proc/{jvm}/maps") as f:
            mapped = any(line.rstrip().endswith((".aot", ".jsa")) for line in f)
        maps.append(mapped)
        if any("AOTCache=" in o or "SharedArchiveFile=" in o for o in opts) and not mapped:
            err = stop(proc)
            raise RuntimeError(f"{label}: the JVM has not mapped its archive:\n{err[-2000:]}")
        # Ready must mean serving: one valid token through the proxy.
        ok = status(f"http://127.0.0.1:{port}/items", {"Authorization": f"Bearer {token}"}, timeout=30)
        err = stop(proc)
        if ok != 200:
            raise RuntimeError(f"{label}: valid token answered {ok}: {err[-2000:]}")
        if any(w in err for w in ("[warning][cds", "[warning][aot", "Unable to use shared archive")):
            raise RuntimeError(f"{label}: the archive was not used:\n{err[-2000:]}")
        times.append(t * 1000)
    result = {"label": label, "java": java_home, "opts": opts, "median_ms": round(statistics.median(times)),
              "all_ms": [round(t) for t in times], "cpu_ms_median": round(statistics.median(cpu)),
              "rss_at_ready_mib": round(statistics.median(rss), 1), "archive_mapped": all(maps)}
    log(f"{label}: median {result['median_ms']} ms of {result['all_ms']}, cpu {result['cpu_ms_median']} ms, "
        f"rss {result['rss_at_ready_mib']} MiB")
    return result


def host_variants(results, jar, config, token, n, work):
    results["runs"].append(measure("jdk17", JDK17, [], jar, config, token, n))
    jsa = os.path.join(work, "appcds17.jsa")
    train(JDK17, [f"-XX:ArchiveClassesAtExit={jsa}"], jar, config, token)
    results["runs"].append(measure("jdk17+appcds", JDK17, [f"-XX:SharedArchiveFile={jsa}"], jar, config, token, n))
    results["runs"].append(measure("jdk25", JDK25, [], jar, config, token, n))
    coh = ["-XX:+UseCompactObjectHeaders"]
    results["runs"].append(measure("jdk25+coh", JDK25, coh, jar, config, token, n))
    for label, extra in (("jdk25+aot", []), ("jdk25+aot+coh", coh)):
        aot = os.path.join(work, f"{label}.aot")
        train(JDK25, [*extra, f"-XX:AOTCacheOutput={aot}"], jar, config, token)
        results[f"{label}_cache_mib"] = round(os.path.getsize(aot) / 2**20, 1)
        results["runs"].append(measure(label, JDK25, [*extra, f"-XX:AOTCache={aot}"], jar, config, token, n))


def image_variants(results, tar, config, token, n, work):
    rootfs = os.path.join(work, "rootfs")
    os.makedirs(rootfs)
    members = os.path.join(work, "image")
    os.makedirs(members)
    subprocess.run(["tar", "xf", tar, "-C", members], check=True)
    with open(os.path.join(members, "manifest.json")) as f:
        manifest = json.load(f)[0]
    with open(os.path.join(members, manifest["Config"])) as f:
        entrypoint = json.load(f)["config"]["Entrypoint"]
    for layer in manifest["Layers"]:
        subprocess.run(["tar", "xf", os.path.join(members, layer), "-C", rootfs], check=True,
                       stderr=subprocess.DEVNULL)
    os.makedirs(os.path.join(rootfs, "proc"), exist_ok=True)
    os.makedirs(os.path.join(rootfs, "dev"), exist_ok=True)
    os.makedirs(os.path.join(rootfs, "tmp"), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    shutil.copytree(config, os.path.join(rootfs, "etc", "tokengate"))
    args_file = os.path.join(rootfs, "opt", "tokengate", "jvm.args")
    with open(args_file) as f:
        built = f.read()
    results["image"] = {"tar": os.path.abspath(tar), "entrypoint": entrypoint, "jvm_args": built.split()}
    results["runs"].append(measure("image", f"image:{rootfs}", entrypoint, None, config, token, n))
    if "-XX:AOTCache" in built and not results["runs"][-1]["archive_mapped"]:
        raise RuntimeError("the image's JVM did not map its AOT cache")
    with open(args_file, "w") as f:
        f.write("\n".join(a for a in built.split() if not a.startswith("-XX:AOTCache")) + "\n")
    results["runs"].append(measure("image-without-aot-cache", f"image:{rootfs}", entrypoint, None, config, token, n))


def prepare(work):
    """A running upstream, the sidecar's configuration in work/config and one valid token."""
    upstream_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", upstream_port), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = os.path.join(work, "config")
    os.mkdir(config)
    os.mkdir(os.path.join(work, "key"))
    token = write_config(config, os.path.join(work, "key"), upstream_port)
    return server, config, token


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jar", default="sidecar/target/tokengate-sidecar.jar")
    ap.add_argument("--starts", type=int, default=7)
    ap.add_argument("--out", default=None)
    ap.add_argument("--image", default=None, help="the sidecar's Jib tarball (needs root)")
    ap.add_argument("--only-image", action="store_true", help="measure only the image")
    ap.add_argument("--memory-cgroup", action="store_true",
                    help="every start in a memory cgroup at the chart's limit (root, cgroup v1)")
    args = ap.parse_args()
    jar = os.path.abspath(args.jar)
    pod = injected.defaults()
    cgroup = memcg.MemoryCgroup.create("startup", pod["limit_bytes"]) if args.memory_cgroup else None
    configure(pod["jvm_options"], pod["limit_bytes"], cgroup.wrap if cgroup else None)
    work = tempfile.mkdtemp(prefix="tokengate-startup-")
    try:
        server, config, token = prepare(work)
        results = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
                   "loadavg_before": os.getloadavg()[0], "injected_opts": INJECTED,
                   "memory_cgroup": cgroup.path if cgroup else None, "runs": []}
        n = args.starts
        if not args.only_image:
            host_variants(results, jar, config, token, n, work)
        if args.image:
            image_variants(results, args.image, config, token, n, work)
        results["loadavg_after"] = os.getloadavg()[0]
        if cgroup:
            results["memory_cgroup_stats"] = cgroup.stats()
        text = json.dumps(results, indent=2)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text + "\n")
        print(text)
        server.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if cgroup:
            cgroup.remove()


if __name__ == "__main__":
    main()
