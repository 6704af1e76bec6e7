"""Turns bench/raw/results.json into bench/RESULTS.md and bench/results.png.

Run on its own to re-render after editing bench/analysis.md:
  $TOKENGATE_CACHE/venv/bin/python bench/lib/report.py
"""

import glob
import json
import os
import sys

LABELS = {
    "direct": "upstream directly",
    "nginx": "nginx reverse proxy",
    "oauth2-proxy": "oauth2-proxy v7.15.6 (JWT bearer)",
    "sidecar-one": "tokengate sidecar, one token",
    "sidecar-many": "tokengate sidecar, many tokens",
    "sidecar-c2": "tokengate sidecar, one token, C2 JIT back",
}
SHORT = {
    "direct": "direct",
    "nginx": "nginx",
    "oauth2-proxy": "oauth2-proxy",
    "sidecar-one": "sidecar\n1 token",
    "sidecar-many": "sidecar\nmany tokens",
    "sidecar-c2": "sidecar\nC2 JIT",
}
ORDER = ["direct", "nginx", "oauth2-proxy", "sidecar-one", "sidecar-many", "sidecar-c2"]
# The sidecar variants that run exactly what the operator injects (sidecar-c2 changes the JIT).
INJECTED_AS_IS = ("sidecar-one", "sidecar-many")


def ms(us):
    return "–" if us is None else f"{us / 1000:.2f}"


def verdict(ok):
    return "**not measured**" if ok is None else "**pass**" if ok else "**miss**"


def missing(r, name):
    """Why a scenario has no figures in this run."""
    if name not in r["config"].get("scenarios", []):
        return f"not measured: scenario `{name}` not selected (SCENARIOS)"
    fails = dict(r.get("failures") or {})
    for rnd in r.get("rounds", []):
        fails.update(rnd.get("failures", {}))
    for k, v in fails.items():
        if k.split(" ")[0] == name:
            return f"not measured: `{name}` failed ({v.strip().splitlines()[0][:160]}; see Run health)"
    return f"not measured: no `{name}` figures in this run"


def targets(r):
    """Issue 9's targets, one row each, always present: (target, figure, verdict, context).
    The verdict is None when the figure could not be measured (the figure says why)."""
    s = r["scenarios"]
    c = r["config"]
    rate = c["rate"]
    rows = []

    def need(*names):
        for n in names:
            if n not in s:
                return missing(r, n)
        return None

    variants = (("sidecar-one", "one token"), ("sidecar-many", "many tokens"))
    for k, label in variants:
        why = need(k, "nginx")
        name = f"throughput ≥ 0.8× nginx, same cores ({label}, {c['connections']} connections)"
        if why:
            rows.append((name, why, None, ""))
        else:
            a, b = s[k]["fixed"]["rps"], s["nginx"]["fixed"]["rps"]
            rows.append((name, f"{a / b:.2f}×", a / b >= 0.8, f"{a:,.0f} vs {b:,.0f} req/s"))
    for k, label in variants:
        why = need(k, "nginx")
        name = f"CPU per request ≤ 1.5× nginx's ({label})"
        a = s.get(k, {}).get("fixed", {}).get("target_cpu_us_per_req")
        b = s.get("nginx", {}).get("fixed", {}).get("target_cpu_us_per_req")
        if why or not a or not b:
            rows.append((name, why or "not measured: no CPU figure", None, ""))
        else:
            rows.append((name, f"{a / b:.2f}×", a / b <= 1.5, f"{a:.0f} vs {b:.0f} µs of CPU per request"))
    for k, label in (("sidecar-one", "one token"), ("sidecar-many", "a new token per request")):
        why = need(k)
        name = f"RSS ≤ 64 MiB at {rate:,} req/s steady ({label}; peak VmRSS of the phase)"
        if why:
            rows.append((name, why, None, ""))
        else:
            q = s[k]["rate"]
            ctx = f"peak anonymous {q['peak_rss_anon_mib']:.1f} MiB (the rest is mapped files: libjvm, the jar, the CDS archive); at the end {q['last_rss_mib']:.1f} MiB"
            mem = q.get("memory")
            if mem:
                ctx += (f" = {mem['rss_anon']:.0f} anonymous + {mem['rss_file']:.0f} file-backed, while the JVM had committed "
                        f"heap {mem['heap_committed']:.0f} ({mem['heap_used']:.0f} used), metaspace {mem['metaspace_committed']:.0f}, "
                        f"code cache {mem['code_cache_committed']:.0f}, JDK direct buffers {mem['jdk_direct_buffers']:.0f} MiB; {mem['threads']} threads")
            rows.append((name, f"{q['peak_rss_mib']:.1f} MiB", q["peak_rss_mib"] <= 64, ctx))
    b = r.get("memory_burst")
    name_peak = f"peak RSS ≤ 96 MiB under the burst ({c.get('memory_limit', '128Mi')} memory cgroup, 10,000 connections; VmHWM)"
    name_kill = "never killed: the burst in the memory cgroup, the chart's limit and injected flags"
    if not b or "error" in (b or {}):
        why = (b or {}).get("error") or missing(r, "memory-burst")
        why = why if why.startswith("not measured") else "not measured: " + why.splitlines()[0][:200]
        rows.append((name_peak, why, None, ""))
        rows.append((name_kill, why, None, ""))
    else:
        peak = b.get("peak_rss_mib")
        rows.append((name_peak, f"{peak:.1f} MiB" if peak else "– (process gone)", bool(peak) and peak <= 96,
                     f"anonymous peak {b.get('peak_rss_anon_mib', 0):.1f} MiB; cgroup peak {b['peak_cgroup_mib']:.0f} of {b['limit_mib']:.0f} MiB; "
                     f"{b['idle_rss_mib']:.1f} MiB when ready"))
        cl = b["clients"]
        served = {k[len('status_'):]: v for k, v in cl.items() if k.startswith("status_") and k != "status_503_retry_after"}
        killed = b["oom_kill"] > 0 or not b["alive"]
        rows.append((name_kill, "killed: " + ("**yes**" if killed else "no"),
                     not killed and b["valid_request_after"] == "200",
                     f"{b['connections']:,} connections + {b['slow_heads']:,} slow heads: answered {json.dumps(served)}, "
                     f"{cl.get('status_503_retry_after', 0):,} of the 503s with Retry-After, {cl['connect_failed']} connects refused or failed, "
                     f"{cl['reset_or_timeout']} reset or timed out; slow heads closed by the sidecar {cl['slow_closed']:,}; "
                     f"connection budget {b.get('max_connections') or '?'}; OOM kills {b['oom_kill']}, limit hits {b['limit_hits']}; "
                     f"a request afterwards → {b['valid_request_after']}"))
    # Every process that ran the injected flags, at every load of this page.
    lives = []
    for i, rnd in enumerate(r.get("rounds", [])):
        for k, life in rnd.get("lives", {}).items():
            if k in INJECTED_AS_IS:
                lives.append((f"{k} (round {i + 1})" if len(r.get("rounds", [])) > 1 else k, life))
    name_any = f"never killed at any load: every sidecar with the injected flags ({c['connections']} connections, {rate:,} req/s, burst, starts)"
    if not c.get("memory_cgroup"):
        rows.append((name_any, f"not measured: no memory cgroup ({c.get('memory_cgroup_unavailable')})", None,
                     "the JVM was told the limit with -XX:MaxRAM; nothing enforced it"))
    elif not lives:
        rows.append((name_any, missing(r, "sidecar-one"), None, ""))
    else:
        dead = [k for k, life in lives if life["ended_before_stop"] is not None or (life["memory_cgroup"] or {}).get("oom_kill")]
        st = (r.get("startup") or {}).get("memory_cgroup") or {}
        if st.get("oom_kill"):
            dead.append("startup")
        if b and "error" not in b and (b["oom_kill"] or not b["alive"]):
            dead.append("memory-burst")
        peaks = [life["memory_cgroup"]["peak_mib"] for _, life in lives if life["memory_cgroup"]]
        ctx = f"{len(lives)} load-test process{'es' if len(lives) != 1 else ''}, each in its own {c['memory_limit']} memory cgroup (highest cgroup peak {max(peaks):.0f} MiB, OOM kills 0 unless named)"
        if st:
            ctx += f"; the starts' cgroup: peak {st['peak_mib']:.0f} MiB, OOM kills {st['oom_kill']}"
        if b and "error" not in b:
            ctx += f"; the burst: OOM kills {b['oom_kill']}"
        rows.append((name_any, "killed: " + (", ".join(dead) if dead else "none"), not dead, ctx))
    why = need("sidecar-many", "direct")
    name = f"added p99 ≤ 2 ms at {rate:,} req/s, a never-seen token on every request"
    if why:
        rows.append((name, why, None, ""))
    else:
        q = s["sidecar-many"]["rate"]
        d = s["direct"]["rate"]["latency_us"]["p99"]
        added = q["latency_us"]["p99"] - d
        tc = q.get("token_cache", {})
        fresh = tc.get("miss") == q["requests"] and not tc.get("hit")
        rows.append((name, f"{added / 1000:.2f} ms", added <= 2000 and fresh,
                     f"p99 {ms(q['latency_us']['p99'])} ms vs the upstream's {ms(d)} ms; {q['distinct_tokens']:,} distinct tokens for "
                     f"{q['requests']:,} requests, token cache {tc.get('miss', '?'):,} misses and {tc.get('hit', '?')} hits in the phase"
                     + ("" if fresh else " — **not every request carried a new token**")))
    st = r.get("startup") or {}
    runs = {x["label"]: x for x in st.get("runs", [])}
    name = "start to ready ≤ 0.5 s as the image starts it (median)"
    if "image" in runs:
        m = runs["image"]
        ctx = f"CPU to ready {m['cpu_ms_median']} ms, RSS at ready {m['rss_at_ready_mib']} MiB, AOT cache mapped: {'yes' if m['archive_mapped'] else 'no'}"
        if "image-without-aot-cache" in runs:
            ctx += f"; without the AOT cache {runs['image-without-aot-cache']['median_ms']} ms"
        jar = next((x for x in st["runs"] if x["label"].startswith("jar")), None)
        if jar:
            ctx += f"; the jar on this machine's JDK {jar['median_ms']} ms"
        rows.append((name, f"{m['median_ms']} ms", m["median_ms"] <= 500, ctx))
    else:
        why = st.get("image_error") if st else None
        rows.append((name, f"not measured: {why}" if why else missing(r, "startup"), None, ""))
    # Decision log: refusals always, allowed requests sampled by default, and the volume at load.
    for k in INJECTED_AS_IS:
        if k in s:
            break
    else:
        k = None
    name = "decision log: every refused request logged"
    if k is None:
        rows.append((name, missing(r, "sidecar-one"), None, ""))
    else:
        e = s[k].get("enforced", {})
        refused = sum(1 for x in ("no_token", "bad_signature") if e.get(x) in (401, 403))
        rows.append((name, f"{e.get('denied_lines', 0)} lines for {refused} refused requests",
                     refused == 2 and e.get("denied_lines") == refused,
                     f"no token → {e.get('no_token')}, bad signature → {e.get('bad_signature')} ({LABELS[k]})"))
    name = f"decision log: allowed requests sampled by default (chart: `{c.get('decision_log_allowed')}`); volume at load"
    vols = []
    ok = k is not None and c.get("decision_log_allowed") == "Sampled"
    for k2 in INJECTED_AS_IS:
        if k2 not in s:
            continue
        for shape, label in (("fixed", f"{c['connections']} conns"), ("rate", f"{rate:,}/s")):
            d = s[k2][shape].get("decision_log")
            if not d:
                continue
            reqs = s[k2][shape]["requests"]
            # The sampler lets one line a second through, with a one-second burst.
            ok = ok and d["allowed"] <= d["seconds"] + 2
            vols.append(f"{SHORT[k2].replace(chr(10), ', ')} @ {label}: {d['lines_per_s']:.1f} lines/s, {d['bytes_per_s']:,.0f} B/s "
                        f"({d['allowed']} allowed lines for {reqs:,} requests)")
    if not vols:
        rows.append((name, missing(r, "sidecar-one"), None, ""))
    else:
        first = s[k]["fixed"]["decision_log"]
        rows.append((name, f"{first['lines_per_s']:.1f} lines/s, {first['bytes_per_s']:,.0f} B/s", ok, "; ".join(vols)))
    # The peer comparison of the project's first benchmark, kept beside issue 9's targets.
    for k, label in variants:
        if k in s and "oauth2-proxy" in s:
            ratio = s[k]["fixed"]["rps"] / s["oauth2-proxy"]["fixed"]["rps"]
            rows.append((f"throughput ≥ 1.5× oauth2-proxy ({label}; the first benchmark's target)", f"{ratio:.2f}×", ratio >= 1.5, ""))
    return rows


def table(r):
    s = r["scenarios"]
    c = r["config"]
    direct_p99 = s.get("direct", {}).get("rate", {}).get("latency_us", {}).get("p99")
    direct_p99_fixed = s.get("direct", {}).get("fixed", {}).get("latency_us", {}).get("p99")
    out = [
        f"| target | req/s @ {c['connections']} conns | p50 | p99 | p99.9 | added p99 | "
        f"p50 @ {c['rate']}/s | p99 @ {c['rate']}/s | p99.9 @ {c['rate']}/s | added p99 @ {c['rate']}/s | RSS @ {c['rate']}/s | peak RSS @ {c['connections']} conns | CPU µs/req |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def rss(shape, k):
        if not shape.get("peak_rss_mib"):
            return "–"
        text = f"{shape['peak_rss_mib']:.0f} MiB"
        if shape.get("peak_rss_anon_mib") and k.startswith("sidecar"):
            text += f" ({shape['peak_rss_anon_mib']:.0f} anon)"
        return text

    for k in ORDER:
        if k not in s:
            continue
        f, q = s[k]["fixed"], s[k]["rate"]
        fl, ql = f["latency_us"], q["latency_us"]
        add_f = "–" if k == "direct" or direct_p99_fixed is None else ms(fl["p99"] - direct_p99_fixed)
        add_q = "–" if k == "direct" or direct_p99 is None else ms(ql["p99"] - direct_p99)
        cpu = f"{f['target_cpu_us_per_req']:.0f}" if f.get("target_cpu_us_per_req") is not None else "–"
        out.append(
            f"| {LABELS[k]} | {f['rps']:,.0f} | {ms(fl['p50'])} | {ms(fl['p99'])} | {ms(fl['p99.9'])} | {add_f} | "
            f"{ms(ql['p50'])} | {ms(ql['p99'])} | {ms(ql['p99.9'])} | {add_q} | {rss(q, k)} | {rss(f, k)} | {cpu} |"
        )
    return "\n".join(out)


def decision_log_table(r):
    s, c = r["scenarios"], r["config"]
    out = [
        "| sidecar | phase | requests/s | decision lines/s | of them allowed | refused | all lines/s | bytes/s | drop reports |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for k in ORDER:
        if not k.startswith("sidecar") or k not in s:
            continue
        for shape, label in (("rate", f"{c['rate']:,} req/s"), ("fixed", f"{c['connections']} connections")):
            d = s[k][shape].get("decision_log")
            if not d:
                continue
            sec = d["seconds"] or 1
            rps = s[k][shape]["rps"] if shape == "fixed" else s[k][shape]["achieved_rate"] or 0
            out.append(
                f"| {LABELS[k]} | {label} | {rps:,.0f} | {d['decisions'] / sec:.2f} | {d['allowed']} | {d['denied']} | "
                f"{d['lines_per_s']:.2f} | {d['bytes_per_s']:,.0f} | {d['dropped_reports']} |"
            )
    return "\n".join(out) if len(out) > 2 else "(no sidecar scenario in this run)"


def burst_section(r):
    b = r.get("memory_burst")
    if not b:
        return "(scenario `memory-burst` not run)"
    if "error" in b:
        return f"Not measured: {b['error'].strip()[:1500]}"
    cl = b["clients"]
    return (
        f"`bench/memory-burst.sh`: the jar in a cgroup-v1 memory cgroup limited to {b['limit_mib']:.0f} MiB, with the flags "
        f"the operator injects for that limit and `--decision-log-allowed {b.get('decision_log_allowed', '?')}`, behind a Python "
        f"upstream, `Allow` rule; {b['slow_heads']:,} slow heads (60 KiB trickled 1 KiB per 50 ms, never finished) opened "
        f"first, then {b['connections']:,} concurrent connections each sending a complete request and holding the connection "
        f"5 s. Raw: [`raw/memory-burst.json`](raw/memory-burst.json).\n\n"
        "| connection budget | RSS when ready | peak RSS (VmHWM) | peak anon RSS | peak cgroup | kernel | OOM kills | limit hits | alive | request after | burst took |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |\n"
        f"| {b.get('max_connections') or '?'} | {b['idle_rss_mib']:.1f} MiB | {b['peak_rss_mib'] or 0:.1f} MiB | "
        f"{b.get('peak_rss_anon_mib', 0):.1f} MiB | {b['peak_cgroup_mib']:.1f} MiB | {b['peak_kernel_mib']:.1f} MiB | {b['oom_kill']} | "
        f"{b['limit_hits']} | {'yes' if b['alive'] else '**no**'} | {b['valid_request_after']} | {b.get('burst_seconds', '?')} s |\n\n"
        f"Clients: {json.dumps(cl, sort_keys=True)} (`status_N`: answered N; `connect_failed`: refused or failed to connect — "
        "TCP backpressure; `slow_closed`: slow heads the sidecar closed)."
    )


def startup_section(r):
    st = r.get("startup")
    if not st:
        return "(scenario `startup` not run)"
    lines = [
        f"Time from process start to the first `200` of the admin port's `/healthz/ready`, {st.get('starts', '?')} fresh starts each "
        "(`bench/startup.py`: static keys, so no IdP round trip; after each start one valid token must pass the proxy). "
        "\"image\" is the Jib tarball's own entrypoint in its own root filesystem (private `/proc`, the host's `/dev`, user 65532, "
        "the injected `JAVA_TOOL_OPTIONS`), as a container runtime starts it"
        + (f", each start in a {r['config'].get('memory_limit')} memory cgroup" if st.get("memory_cgroup") else "")
        + ".",
        "",
        "| variant | median | all starts | CPU to ready | RSS at ready | archive mapped |",
        "| --- | ---: | --- | ---: | ---: | --- |",
    ]
    for run in st.get("runs", []):
        lines.append(f"| {run['label']} | **{run['median_ms']} ms** | {run['all_ms']} | {run['cpu_ms_median']} ms | "
                     f"{run['rss_at_ready_mib']} MiB | {'yes' if run['archive_mapped'] else 'no'} |")
    img = st.get("image") or {}
    if img.get("entrypoint"):
        lines.append(f"\nImage entrypoint `{' '.join(img['entrypoint'])}`, `jvm.args`: `{' '.join(img.get('jvm_args', []))}`.")
    for key in ("image_error", "jar_error"):
        if st.get(key):
            lines.append(f"\n{key.replace('_', ' ')}: {st[key][:1500]}")
    return "\n".join(lines)


def health(r):
    lines = []
    for k in ORDER:
        if k not in r["scenarios"]:
            continue
        sc = r["scenarios"][k]
        f, q = sc["fixed"], sc["rate"]
        e = f["errors"]
        bad = sum(e.values())
        codes = ", ".join(f"{n}× {c}" for c, n in sorted(q["codes"].items()))
        extra = ""
        if "distinct_tokens" in f:
            extra = f"; fixed concurrency rotated {f['distinct_tokens']:,} distinct tokens over {f['requests']:,} requests"
        if sc.get("ready_ms"):
            extra += f"; ready {sc['ready_ms']} ms after start"
        if k == "sidecar-many":
            extra += f"; the fixed-rate run sent {q['distinct_tokens']:,} tokens never seen before, each once"
        if q.get("token_cache"):
            extra += f"; token cache during the fixed rate: {q['token_cache'].get('hit', 0):,} hits, {q['token_cache'].get('miss', 0):,} misses"
        tc = sc.get("token_cache")
        if tc:
            extra += f"; over the process's life: {tc.get('hit', 0):,} hits, {tc.get('miss', 0):,} misses"
        hits = sc.get("issuer_requests_during")
        if hits is not None:
            extra += f"; requests to the issuer while measured: {json.dumps(hits) if hits else 'none'}"
        enf = sc.get("enforced")
        if enf:
            extra += f"; no token → {enf['no_token']}, bad signature → {enf['bad_signature']}"
        life = sc.get("life")
        if life:
            cg = life.get("memory_cgroup")
            extra += "; " + ("ended by itself before it was stopped (exit " + str(life["ended_before_stop"]) + ")" if life["ended_before_stop"] is not None else "alive until stopped")
            if cg:
                extra += f", memory cgroup peak {cg['peak_mib']:.0f} of {cg['limit_mib']:.0f} MiB, OOM kills {cg['oom_kill']}, limit hits {cg['limit_hits']}"
        if sc.get("vm_hwm_mib"):
            extra += f"; VmHWM over its life {sc['vm_hwm_mib']} MiB"
        lines.append(
            f"- {LABELS[k]}: {f['requests']:,} requests, {bad} wrk errors/non-2xx "
            f"({json.dumps(e)}); at {r['config']['rate']}/s achieved {q['achieved_rate']:.0f}/s, codes {codes}; "
            f"CPU used by other processes meanwhile {f['other_cpu_cores']} cores at fixed concurrency, {q['other_cpu_cores']} at the fixed rate (which leaves most of the CPU idle for them); "
            f"load average {f['loadavg_during']}{extra}"
        )
    return "\n".join(lines)


def others(bench):
    parts = []
    for pattern in ("introspection*", "webhook-latency*", "operator-heap*"):
        for path in sorted(glob.glob(os.path.join(bench, pattern))):
            rel = os.path.relpath(path, bench)
            if os.path.isdir(path):
                mds = sorted(glob.glob(os.path.join(path, "*.md")))
                for md in mds:
                    parts.append(f"### {os.path.relpath(md, bench)}\n\n" + open(md).read().strip())
                if not mds:
                    parts.append(f"- see [`{rel}/`]({rel}/)")
            elif path.endswith(".md"):
                parts.append(f"### {rel}\n\n" + open(path).read().strip())
            elif path.endswith((".png", ".txt", ".json", ".csv")):
                parts.append(f"- see [`{rel}`]({rel})")
    return "\n\n".join(parts)


def chart(r, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = r["scenarios"]
    keys = [k for k in ORDER if k in s]
    names = [SHORT[k] for k in keys]
    colors = ["#8c8c8c" if k == "direct" else "#4c72b0" if k == "nginx" else "#dd8452" if k == "oauth2-proxy" else "#55a868" for k in keys]
    c = r["config"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2))
    panels = [
        ([s[k]["fixed"]["rps"] for k in keys], f"throughput, req/s (wrk -c {c['connections']}, {c['duration']} s)", "{:,.0f}"),
        ([s[k]["fixed"]["latency_us"]["p99"] / 1000 for k in keys], f"p99 latency, ms, at {c['connections']} connections", "{:.1f}"),
        ([s[k]["rate"]["latency_us"]["p99"] / 1000 for k in keys], f"p99 latency, ms, at {c['rate']} req/s (vegeta, open loop)", "{:.2f}"),
    ]
    for ax, (vals, title, fmt) in zip(axes, panels):
        bars = ax.bar(range(len(vals)), vals, color=colors)
        ax.set_xticks(range(len(vals)))
        ax.set_xticklabels(names, fontsize=9)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        top = max(vals) if vals else 1
        ax.set_ylim(0, top * 1.15)
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, v + top * 0.01, fmt.format(v), ha="center", va="bottom", fontsize=9)
    m = r["machine"]
    fig.suptitle(
        f"tokengate benchmark, {r['date']}: {m['nproc']} cores ({m['cpu']}), load average {r['loadavg_start'][0]} at start"
        + (f", benchmark at nice {c['nice']}" if c.get("nice") else ""),
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def flags_note(r):
    c = r["config"]
    java = " / ".join(r["machine"]["java"]) if isinstance(r["machine"]["java"], list) else r["machine"]["java"]
    src = c.get("injected_source") or {}
    text = (
        f"Every sidecar process of this run gets what the operator injects with the chart's defaults: `JAVA_TOOL_OPTIONS` = "
        f"`{c['java_opts']}` (from `{src.get('jvm_options', 'SidecarJvmOptions')}` for the {c.get('memory_limit', '?')} limit of "
        f"`{src.get('limit', 'values.yaml')}`), `TOKENGATE_MEMORY_LIMIT_BYTES`={c.get('limit_bytes')}, "
        f"`--decision-log-allowed {c.get('decision_log_allowed')}`; "
        + (f"each in its own {c.get('memory_limit')} memory cgroup (cgroup v1), so the JVM sees the limit the kubelet would set and a kill is recorded"
           if c.get("memory_cgroup") else
           f"no memory cgroup ({c.get('memory_cgroup_unavailable')}): the JVM is told the limit with `-XX:MaxRAM` instead")
        + f". Load tests run the jar on {java}. The \"C2 JIT back\" row adds `{c.get('alt_java_opts', '')}`."
    )
    if c.get("injected_java_opts") and c["java_opts"] != c["injected_java_opts"]:
        text += f"\n\n**These flags were overridden (SIDECAR_JAVA_OPTS): the operator injects `{c['injected_java_opts']}`.**"
    return text


def write_all(r, out, bench=None):
    bench = bench or out
    c, m = r["config"], r["machine"]
    rows = targets(r)
    trows = "\n".join(f"| {name} | {fig} | {verdict(ok)} | {ctx} |" for name, fig, ok, ctx in rows)
    analysis_path = os.path.join(bench, "analysis.md")
    analysis = open(analysis_path).read().strip() if os.path.exists(analysis_path) else "(none written)"
    other = others(bench)
    notes = "\n".join(f"- {n}" for n in r.get("notes", []))
    fails = dict(r.get("failures") or {})
    for rnd in r.get("rounds", []):
        for k, v in rnd.get("failures", {}).items():
            fails.setdefault(k, v)
    if fails:
        notes += "\n\n**Failures in this run:**\n" + "\n".join(
            f"- {k}:\n```\n{v.strip()[:1500]}\n```" for k, v in fails.items()
        )
    java = " / ".join(m["java"]) if isinstance(m["java"], list) else m["java"]
    n_rounds = c.get("rounds", 1)
    if n_rounds > 1 and r.get("aggregate") == "quietest":
        used = ", ".join(f"{k}: round {v['round_used']}" for k, v in r["scenarios"].items() if "round_used" in v)
        rounds_note = (
            f" ({n_rounds} rounds over the load tests, interleaved; each target's figures come whole from"
            f" the round in which other processes took the least CPU during its fixed-concurrency"
            f" run — {used}; every round is in raw/results.json)"
        )
    elif n_rounds > 1:
        rounds_note = (
            f" ({n_rounds} rounds over the load tests, interleaved; each figure is the median of the rounds, RSS the peak)"
        )
    else:
        rounds_note = ""
    md = f"""# tokengate benchmark results

Generated by `bench/run.sh` on {r['date']} (commit `{m['git_commit']}`); {r['elapsed_s']} s for the whole run.
Every figure below comes from that one run on one machine{rounds_note}; compare the ratios, not the
absolute numbers (see [README.md](README.md) for what is measured and how).

## Targets (issue 9; ratios from this run)

| target | this run | verdict | measured alongside |
| --- | ---: | --- | --- |
{trows}

A target that could not be measured here says why instead of a figure; the analysis below
says what limits each miss.

![throughput and p99 latency](results.png)

## Results

{table(r)}

Latency in milliseconds. "Added p99" is the target's p99 minus the upstream's own p99 in
the same load shape. Each target first runs {c.get('rate_warmup', '?')} s at {c['rate']:,} req/s (warm-up), then the
fixed rate ({c['rate_duration']} s), then {c['warmup']} s at {c['connections']} connections (warm-up), then fixed
concurrency ({c['duration']} s): "RSS @ {c['rate']}/s" is the highest VmRSS sampled every 100 ms during the
fixed rate, before the process has seen anything heavier; "peak RSS @ {c['connections']} conns" the same
during fixed concurrency. "CPU µs/req" is the CPU time (user + system) the target's own
processes spent per request at fixed concurrency (for "upstream directly": the upstream's);
unlike throughput it hardly moves when other processes compete for the cores, so it is the
figure to trust on a busy machine.

{flags_note(r)}

## Decision log at load

What the sidecar wrote to stdout (one JSON line per decision; refusals always, allowed
requests as `--decision-log-allowed` says) during each measured phase, counted from its stdout
pipe:

{decision_log_table(r)}

## Memory-cgroup burst

{burst_section(r)}

## Sidecar start to ready

{startup_section(r)}

## Analysis

{analysis}

## Run health

{health(r)}
{notes}

## Machine

- {m['nproc']} CPUs: {m['cpu']}; memory {m['memory']}; kernel {m['kernel']}; {m['os']}
- Java: {java}
- {m['nginx']}; oauth2-proxy: {m['oauth2_proxy']}; {m['wrk']}; vegeta {m['vegeta']}
- load average at start {r['loadavg_start']}, at end {r['loadavg_end']} (1, 5, 15 min). The machine is
  shared: the per-scenario CPU used by *other* processes is listed under "Run health".
  Benchmark processes ran at nice {c.get('nice', 0)}{' (ahead of the other processes on the machine)' if c.get('nice', 0) < 0 else ''}.
- busiest processes at start:
```
{m['top_cpu_at_start']}
```

## Command

```
{c['command']}
```
with `DURATION={c['duration']} WARMUP={c['warmup']} CONNECTIONS={c['connections']} THREADS={c['threads']} BENCH_NICE={c.get('nice', 0)} MAX_IN_FLIGHT={c.get('max_in_flight')} ROUNDS={c.get('rounds', 1)} RATE={c['rate']} RATE_WARMUP={c.get('rate_warmup')} RATE_DURATION={c['rate_duration']} TOKENS={c['tokens']} STARTS={c['starts']} SCENARIOS={','.join(c['scenarios'])}`.
Sidecar jar: `{c.get('jar')}` (built {c.get('jar_built', '?')}, sha256 {c.get('jar_sha256', '?')}…){f"; image: `{c['image']}` (built {c.get('image_built', '?')}, sha256 {c.get('image_sha256', '?')}…)" if c.get('image_sha256') else ''}. Upstream: {r.get('upstream', '')}. Raw outputs: [`raw/`](raw/).
"""
    if other:
        md += f"\n## Other measurements (their own scripts, not this run)\n\n{other}\n"
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "RESULTS.md"), "w") as f:
        f.write(md)
    if r["scenarios"]:
        chart(r, os.path.join(out, "results.png"))


if __name__ == "__main__":
    bench = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = os.environ.get("BENCH_OUT") or bench
    with open(os.path.join(out, "raw", "results.json")) as f:
        write_all(json.load(f), out, bench)
