#!/usr/bin/env python3
"""A cgroup-v1 memory cgroup for one sidecar process: the pod's memory limit on a machine
without a kubelet. Needs root and the v1 memory controller at /sys/fs/cgroup/memory (the
hybrid layout of these machines). Standard library only.

  memcg.py create NAME LIMIT_BYTES    # prints the cgroup's path
  memcg.py exec PATH -- CMD ARGS...   # runs CMD inside it (exec: same pid)
  memcg.py stats PATH                 # JSON: limit, peak, anonymous memory, OOM kills, limit hits
  memcg.py remove PATH

From Python: MemoryCgroup.create(name, limit) -> cg; cg.wrap(argv); cg.stats(); cg.remove().
"""

import json
import os
import sys

ROOT = "/sys/fs/cgroup/memory"
MIB = 1024 * 1024


def unavailable_reason():
    """None when a memory cgroup can be made here, else why not."""
    if os.geteuid() != 0:
        return "not root"
    if not os.path.exists(os.path.join(ROOT, "memory.limit_in_bytes")):
        return f"no cgroup-v1 memory controller at {ROOT}"
    return None


class MemoryCgroup:
    def __init__(self, path):
        self.path = path

    @classmethod
    def create(cls, name, limit_bytes):
        why = unavailable_reason()
        if why:
            raise RuntimeError(f"cannot make a memory cgroup: {why}")
        path = os.path.join(ROOT, f"tokengate-{name}-{os.getpid()}")
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "memory.limit_in_bytes"), "w") as f:
            f.write(str(limit_bytes))
        try:  # memory + swap too, where swap accounting is on: no escaping to swap
            with open(os.path.join(path, "memory.memsw.limit_in_bytes"), "w") as f:
                f.write(str(limit_bytes))
        except OSError:
            pass
        return cls(path)

    def wrap(self, argv):
        """argv run inside this cgroup: the shell moves itself in, then execs (same pid)."""
        return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', self.path, *argv]

    def _read(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()

    def _stat(self, key):
        for line in self._read("memory.stat").splitlines():
            k, _, v = line.partition(" ")
            if k == key:
                return int(v)
        return 0

    def stats(self):
        oom = {}
        for line in self._read("memory.oom_control").splitlines():
            k, _, v = line.partition(" ")
            oom[k] = int(v)
        try:
            kmem = int(self._read("memory.kmem.max_usage_in_bytes"))
        except OSError:
            kmem = 0
        return {
            "limit_mib": round(int(self._read("memory.limit_in_bytes")) / MIB, 1),
            "peak_mib": round(int(self._read("memory.max_usage_in_bytes")) / MIB, 1),
            "peak_kernel_mib": round(kmem / MIB, 1),
            "anon_now_mib": round(self._stat("total_rss") / MIB, 1),
            "oom_kill": oom.get("oom_kill", 0),
            "under_oom": oom.get("under_oom", 0),
            "limit_hits": int(self._read("memory.failcnt")),
        }

    def remove(self):
        try:
            os.rmdir(self.path)
        except OSError:
            pass  # a process still inside: left for the next run's cleanup


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "create" and len(argv) == 4:
        print(MemoryCgroup.create(argv[2], int(argv[3])).path)
    elif cmd == "exec" and len(argv) > 4 and argv[3] == "--":
        path = argv[2]
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
        os.execvp(argv[4], argv[4:])
    elif cmd == "stats" and len(argv) == 3:
        print(json.dumps(MemoryCgroup(argv[2]).stats()))
    elif cmd == "remove" and len(argv) == 3:
        MemoryCgroup(argv[2]).remove()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (RuntimeError, OSError) as e:
        print(f"memcg.py: {e}", file=sys.stderr)
        sys.exit(1)
