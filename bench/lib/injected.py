#!/usr/bin/env python3
"""What the operator gives an injected sidecar with the chart's defaults, read from where the
operator and the chart define it, so the benchmark never keeps a second copy:

  * the memory limit and the decision log of allowed requests: helm/tokengate/values.yaml
    (sidecar.resources.limits.memory, sidecar.decisionLog.allowed);
  * the JVM's JAVA_TOOL_OPTIONS for that limit: the operator's own SidecarJvmOptions source,
    compiled with bench/lib/InjectedJvmOptions.java and run (about a second; cached by the
    sources' hash under $TOKENGATE_CACHE);
  * TOKENGATE_MEMORY_LIMIT_BYTES, which operator/src/main/resources/sidecar-template.yaml sets
    from limits.memory.

Standard library only (memory-burst.sh and startup.py run it with the system python3).

  injected.py json                      # everything, as JSON
  injected.py shell                     # LIMIT_BYTES=... JVM_FLAGS=... DECISION_LOG_ALLOWED=...
  injected.py jvm-options [--limit 512Mi]
"""

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

LIB = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(LIB))
VALUES = os.path.join(REPO, "helm", "tokengate", "values.yaml")
JVM_OPTIONS_SOURCE = os.path.join(
    REPO, "operator", "src", "main", "java", "io", "tokengate", "operator", "injection", "SidecarJvmOptions.java"
)
TEMPLATE = os.path.join(REPO, "operator", "src", "main", "resources", "sidecar-template.yaml")
MAIN_SOURCE = os.path.join(LIB, "InjectedJvmOptions.java")

_UNITS = {"": 1, "k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
          "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}


def quantity_bytes(text):
    """A Kubernetes memory quantity ("128Mi", "1G", "134217728") in bytes."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|M|G|T)?\s*", str(text))
    if not m:
        raise ValueError(f"'{text}' is not a memory quantity such as 128Mi")
    return int(float(m.group(1)) * _UNITS[m.group(2) or ""])


def yaml_scalar(path, dotted):
    """The scalar at a dotted key path of a block-style YAML mapping (values.yaml's shape: nested
    mappings, comments, no anchors). Enough for the chart's values; not a YAML parser."""
    want = dotted.split(".")
    stack = []  # (indent, key) of the mappings we are inside
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            stripped = line.lstrip(" ")
            if not stripped or stripped.startswith("#") or stripped.startswith("- "):
                continue
            m = re.match(r"([A-Za-z0-9_.-]+):(?:\s+(.*))?$", stripped)
            if not m:
                continue
            indent = len(line) - len(stripped)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            keys = [k for _, k in stack] + [m.group(1)]
            value = (m.group(2) or "").split(" #", 1)[0].strip()
            if keys == want:
                if not value:
                    raise ValueError(f"{path}: {dotted} is not a scalar")
                return value.strip("\"'")
            if not value:
                stack.append((indent, m.group(1)))
    raise ValueError(f"{path}: no {dotted}")


def java_home(java="java"):
    exe = shutil.which(java) or java
    return os.path.dirname(os.path.dirname(os.path.realpath(exe)))


def jvm_options(limit_bytes, java="java"):
    """The operator's JAVA_TOOL_OPTIONS for a sidecar limited to limit_bytes (None: no limit)."""
    javac = os.path.join(java_home(java), "bin", "javac")
    if not os.path.exists(javac):
        javac = shutil.which("javac") or "javac"
    digest = hashlib.sha256()
    for src in (JVM_OPTIONS_SOURCE, MAIN_SOURCE):
        with open(src, "rb") as f:
            digest.update(f.read())
    cache = os.environ.get("TOKENGATE_CACHE") or os.path.expanduser("~/.cache/tokengate")
    classes = os.path.join(cache, "injected-jvm-options", digest.hexdigest()[:16])
    if not os.path.exists(os.path.join(classes, "InjectedJvmOptions.class")):
        tmp = classes + f".tmp{os.getpid()}"
        os.makedirs(tmp, exist_ok=True)
        r = subprocess.run([javac, "-nowarn", "-d", tmp, JVM_OPTIONS_SOURCE, MAIN_SOURCE],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(
                f"compiling {os.path.relpath(JVM_OPTIONS_SOURCE, REPO)} for the injected JVM options failed "
                f"(set SIDECAR_JAVA_OPTS to run with flags of your own):\n{r.stdout}{r.stderr}"
            )
        os.makedirs(os.path.dirname(classes), exist_ok=True)
        try:
            os.rename(tmp, classes)
        except OSError:  # another run compiled it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    argv = [java, "-cp", classes, "InjectedJvmOptions"] + ([str(limit_bytes)] if limit_bytes else [])
    r = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "JAVA_TOOL_OPTIONS": ""})
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout.strip().splitlines()[-1]


def template_env_names():
    """The environment variable names the sidecar template sets (a check that the benchmark still
    sets what the template does)."""
    with open(TEMPLATE) as f:
        return re.findall(r"^\s*- name: ([A-Z_]+)\s*$", f.read(), re.M)


def defaults(limit=None, java="java"):
    """Everything an injected sidecar gets with the chart's defaults (or another limit)."""
    limit_text = limit or yaml_scalar(VALUES, "sidecar.resources.limits.memory")
    limit_bytes = quantity_bytes(limit_text)
    env = template_env_names()
    for name in ("JAVA_TOOL_OPTIONS", "TOKENGATE_MEMORY_LIMIT_BYTES"):
        if name not in env:
            raise RuntimeError(f"{os.path.relpath(TEMPLATE, REPO)} no longer sets {name}: update bench/lib/injected.py")
    return {
        "memory_limit": limit_text,
        "limit_bytes": limit_bytes,
        "jvm_options": jvm_options(limit_bytes, java),
        "decision_log_allowed": yaml_scalar(VALUES, "sidecar.decisionLog.allowed"),
        "drain_seconds": int(yaml_scalar(VALUES, "sidecar.drainSeconds")),
        "source": {
            "limit": f"helm/tokengate/values.yaml sidecar.resources.limits.memory" if not limit else "given",
            "jvm_options": os.path.relpath(JVM_OPTIONS_SOURCE, REPO) + ".forLimit",
            "decision_log_allowed": "helm/tokengate/values.yaml sidecar.decisionLog.allowed",
        },
    }


def main():
    ap = argparse.ArgumentParser(description="what the operator injects with the chart's defaults")
    ap.add_argument("what", choices=["json", "shell", "jvm-options"])
    ap.add_argument("--limit", help="a memory limit other than the chart's (e.g. 512Mi)")
    ap.add_argument("--java", default=os.environ.get("JAVA", "java"))
    args = ap.parse_args()
    d = defaults(args.limit, args.java)
    if args.what == "json":
        print(json.dumps(d, indent=2))
    elif args.what == "jvm-options":
        print(d["jvm_options"])
    else:
        print(f"LIMIT_BYTES={d['limit_bytes']}")
        print(f"JVM_FLAGS={shlex.quote(d['jvm_options'])}")
        print(f"DECISION_LOG_ALLOWED={shlex.quote(d['decision_log_allowed'])}")


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, ValueError, OSError) as e:
        print(f"injected.py: {e}", file=sys.stderr)
        sys.exit(1)
