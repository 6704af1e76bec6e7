#!/usr/bin/env python3
"""Runs an admitted Pod's injected tokengate sidecar the way a kubelet would, on this machine.

The demo's control plane has no kubelet, so Pods stay Pending. This runner reads the Pod the API
server stored (after the admission webhook injected the sidecar), lays out the ConfigMap volume
the sidecar mounts exactly as the kubelet's atomic writer does (a timestamped revision directory,
a `..data` link swapped with one rename, visible links into it), and starts the container's args
against the sidecar image's entrypoint, `java -jar sidecar/target/tokengate-sidecar.jar`, with
the container's environment. The application container is played by a stand-in app
(demo/upstream.py) on the policy's upstream port.

What it changes, and why: every "pod" here shares the host's loopback, so the listen and admin
ports in the args become free ports and the mount path becomes the laid-out directory. The
rendered configuration is not rewritten: the app gets the policy's exact upstream port.

Like a kubelet's periodic sync, it re-reads the ConfigMap every --sync-seconds and writes a new
revision when it changed, so a `kubectl apply` of the policy reaches the running sidecar, which
hot-reloads it.

Usage: podrunner.py --namespace NS --selector app=orders --jar JAR --app demo/upstream.py --dir DIR
Writes DIR/ready.env (LISTEN_PORT, ADMIN_PORT, UPSTREAM_PORT, SIDECAR_PID, APP_PID, POD) once the
sidecar is ready; logs in DIR/sidecar.log, DIR/app.log, DIR/runner.log (stdout). Stops both
processes on SIGTERM/SIGINT.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

SIDECAR = "tokengate-sidecar"


def log(msg):
    print(f"[podrunner {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def die(msg):
    log(f"ERROR: {msg}")
    sys.exit(1)


def kubectl_json(*args):
    out = subprocess.run(["kubectl", *args, "-o", "json"], capture_output=True, text=True)
    if out.returncode != 0:
        die(f"kubectl {' '.join(args)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_taken(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return False
        except OSError:
            return True


class ConfigMapVolume:
    """A ConfigMap volume laid out like the kubelet's atomic writer."""

    def __init__(self, path, items):
        self.dir = path
        self.items = items or []
        self.seq = 0

    def files(self, cm):
        import base64

        data = {k: v.encode() for k, v in (cm.get("data") or {}).items()}
        data.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
        if not self.items:
            return data
        selected = {}
        for item in self.items:
            if item["key"] not in data:
                die(f"ConfigMap {cm['metadata']['name']} has no key {item['key']} named by the volume's items")
            selected[item["path"]] = data[item["key"]]
        return selected

    def write(self, cm):
        files = self.files(cm)
        os.makedirs(self.dir, exist_ok=True)
        data_link = os.path.join(self.dir, "..data")
        old = os.path.join(self.dir, os.readlink(data_link)) if os.path.islink(data_link) else None
        self.seq += 1
        now = datetime.datetime.now(datetime.timezone.utc)
        name = now.strftime("..%Y_%m_%d_%H_%M_%S.") + f"{self.seq:09d}"
        revision = os.path.join(self.dir, name)
        os.mkdir(revision)
        for rel, content in files.items():
            target = os.path.join(revision, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(content)
        tmp = os.path.join(self.dir, "..data_tmp")
        if os.path.lexists(tmp):
            os.remove(tmp)
        os.symlink(name, tmp)
        os.rename(tmp, data_link)  # one atomic rename: readers see the old or the new revision
        visible = {rel.split("/", 1)[0] for rel in files}
        for top in visible:
            link = os.path.join(self.dir, top)
            if not os.path.lexists(link):
                os.symlink(os.path.join("..data", top), link)
        for entry in os.listdir(self.dir):
            if not entry.startswith("..") and entry not in visible:
                os.remove(os.path.join(self.dir, entry))
        if old and os.path.isdir(old):
            shutil.rmtree(old)


def find_sidecar(pod):
    spec = pod["spec"]
    for c in (spec.get("initContainers") or []) + spec["containers"]:
        if c["name"] == SIDECAR:
            return c
    die(f"pod {pod['metadata']['name']} has no {SIDECAR} container: was it created before the policy, or in a namespace without the injection label?")


def upstream_port(layout_dir, pod, namespace):
    """The policy's upstream port, read from the rendered policy in the volume."""
    text = ""
    for entry in sorted(os.listdir(layout_dir)):
        if entry.endswith((".yaml", ".yml")) and not entry.startswith(".."):
            with open(os.path.join(layout_dir, entry)) as f:
                text += f.read() + "\n---\n"
    try:
        import yaml  # PyYAML, when installed

        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict) and doc.get("kind") == "ApiPolicy":
                return int(doc["spec"]["upstream"]["port"])
    except ImportError:
        m = re.search(r"upstream:\s*\n\s+port:\s*(\d+)|upstream:\s*\{\s*port:\s*(\d+)", text)
        if m:
            return int(m.group(1) or m.group(2))
    # Fall back to the policy object the pod was injected for.
    policy = (pod["metadata"].get("annotations") or {}).get("tokengate.io/policy")
    if policy:
        return int(kubectl_json("get", "apipolicy", policy, "-n", namespace)["spec"]["upstream"]["port"])
    die(f"no ApiPolicy with spec.upstream.port in {layout_dir}")


def rewrite_args(args, mount_path, directory, listen, admin):
    out, i, saw = [], 0, set()
    while i < len(args):
        a = args[i]
        if a in ("--listen-port", "--admin-port"):
            saw.add(a)
            out += [a, str(listen if a == "--listen-port" else admin)]
            i += 2
            continue
        if a.startswith("--listen-port="):
            saw.add("--listen-port")
            a = f"--listen-port={listen}"
        elif a.startswith("--admin-port="):
            saw.add("--admin-port")
            a = f"--admin-port={admin}"
        elif a == mount_path or a.startswith(mount_path + "/"):
            a = directory + a[len(mount_path):]
        else:
            a = a.replace("=" + mount_path, "=" + directory)
        out.append(a)
        i += 1
    if saw != {"--listen-port", "--admin-port"}:
        die(f"the sidecar's args {args} do not name --listen-port and --admin-port")
    return out


def quantity_to_jvm(q):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", q or "")
    if not m:
        return None
    return m.group(1) + {"Ki": "k", "Mi": "m", "Gi": "g", None: ""}[m.group(2)]


def container_env(container, pod):
    env = {}
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "fieldRef" in (var.get("valueFrom") or {}):
            field = var["valueFrom"]["fieldRef"]["fieldPath"]
            value = {
                "metadata.name": pod["metadata"]["name"],
                "metadata.namespace": pod["metadata"]["namespace"],
                "status.podIP": "127.0.0.1",
                "status.hostIP": "127.0.0.1",
                "spec.nodeName": "localhost",
            }.get(field)
            if value is not None:
                env[var["name"]] = value
    # In a container the JVM sizes itself from the cgroup memory limit; tell it the same here.
    limit = quantity_to_jvm(((container.get("resources") or {}).get("limits") or {}).get("memory"))
    if limit:
        env["JAVA_TOOL_OPTIONS"] = (env.get("JAVA_TOOL_OPTIONS", "") + f" -XX:MaxRAM={limit}").strip()
    return env


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--namespace", required=True)
    p.add_argument("--selector", required=True)
    p.add_argument("--jar", required=True)
    p.add_argument("--app", required=True, help="the stand-in application (python script taking a port)")
    p.add_argument("--dir", required=True)
    p.add_argument("--java", default=shutil.which("java") or "java")
    p.add_argument("--sync-seconds", type=float, default=5.0)
    p.add_argument("--ready-timeout", type=float, default=120.0)
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)

    pods = kubectl_json("get", "pods", "-n", a.namespace, "-l", a.selector)["items"]
    if not pods:
        die(f"no pod matches {a.selector} in namespace {a.namespace}")
    pod = pods[0]
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    sidecar = find_sidecar(pod)
    if sidecar.get("command"):
        die(f"the injected sidecar sets command {sidecar['command']}: the contract is args only")
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or [] if "configMap" in v}
    mount = next((m for m in sidecar.get("volumeMounts") or [] if m["name"] in volumes), None)
    if mount is None:
        die(f"the sidecar of {name} mounts no ConfigMap volume")
    volume = volumes[mount["name"]]
    cm_name = volume["configMap"]["name"]
    cm = kubectl_json("get", "configmap", cm_name, "-n", ns)
    layout = ConfigMapVolume(os.path.join(a.dir, "volumes", volume["name"]), volume["configMap"].get("items"))
    layout.write(cm)
    version = cm["metadata"]["resourceVersion"]
    log(f"pod {ns}/{name}: ConfigMap {cm_name} (resourceVersion {version}) laid out in {layout.dir}: {', '.join(sorted(os.listdir(layout.dir)))}")

    up = upstream_port(layout.dir, pod, ns)
    if port_taken(up):
        die(f"the policy's upstream port 127.0.0.1:{up} is taken on this machine: free it or give the demo another --app-port")
    listen, admin = free_port(), free_port()
    args = rewrite_args(sidecar.get("args") or [], mount["mountPath"], layout.dir, listen, admin)

    children = []

    def stop(*_):
        for proc in reversed(children):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.time() + 30
        for proc in children:
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
        log("stopped the sidecar and the app")
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    app_log = open(os.path.join(a.dir, "app.log"), "ab")
    app = subprocess.Popen([sys.executable, a.app, str(up)], stdout=app_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    children.append(app)
    env = dict(os.environ)
    env.update(container_env(sidecar, pod))
    command = [a.java, "-jar", a.jar, *args]
    log(f"app container: stand-in {os.path.basename(a.app)} on 127.0.0.1:{up} (the policy's upstream.port)")
    log(f"sidecar container: {' '.join(command)}")
    side_log = open(os.path.join(a.dir, "sidecar.log"), "ab")
    sidecar_proc = subprocess.Popen(command, env=env, stdout=side_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=a.dir)
    children.append(sidecar_proc)

    deadline = time.time() + a.ready_timeout
    while True:
        if sidecar_proc.poll() is not None:
            die(f"the sidecar exited with {sidecar_proc.returncode}; see {a.dir}/sidecar.log")
        if app.poll() is not None:
            die(f"the stand-in app exited with {app.returncode}; see {a.dir}/app.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin}/healthz/ready", timeout=2) as r:
                if r.status == 200:
                    break
        except Exception:
            pass
        if time.time() > deadline:
            die(f"the sidecar was not ready within {a.ready_timeout:.0f}s; see {a.dir}/sidecar.log")
        time.sleep(0.25)
    with open(os.path.join(a.dir, "ready.env.tmp"), "w") as f:
        f.write(f"POD={name}\nLISTEN_PORT={listen}\nADMIN_PORT={admin}\nUPSTREAM_PORT={up}\n"
                f"SIDECAR_PID={sidecar_proc.pid}\nAPP_PID={app.pid}\nCONFIG_DIR={layout.dir}\n")
    os.rename(os.path.join(a.dir, "ready.env.tmp"), os.path.join(a.dir, "ready.env"))
    log(f"sidecar ready: listen 127.0.0.1:{listen}, admin 127.0.0.1:{admin}")

    # The kubelet's periodic sync: a changed ConfigMap becomes a new revision of the volume.
    while True:
        time.sleep(a.sync_seconds)
        if sidecar_proc.poll() is not None:
            die(f"the sidecar exited with {sidecar_proc.returncode}; see {a.dir}/sidecar.log")
        out = subprocess.run(["kubectl", "get", "configmap", cm_name, "-n", ns, "-o", "json"], capture_output=True, text=True)
        if out.returncode != 0:
            continue  # API server briefly unreachable, or the ConfigMap is gone: keep the last revision
        cm = json.loads(out.stdout)
        if cm["metadata"]["resourceVersion"] != version:
            layout.write(cm)
            version = cm["metadata"]["resourceVersion"]
            log(f"ConfigMap {cm_name} changed (resourceVersion {version}): wrote a new revision")


if __name__ == "__main__":
    main()
