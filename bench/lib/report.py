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
    "sidecar-c1": "tokengate sidecar, one token, C1 JIT only",
}
SHORT = {
    "direct": "direct",
    "nginx": "nginx",
    "oauth2-proxy": "oauth2-proxy",
    "sidecar-one": "sidecar\n1 token",
    "sidecar-many": "sidecar\nmany tokens",
    "sidecar-c1": "sidecar\nC1 only",
}
ORDER = ["direct", "nginx", "oauth2-proxy", "sidecar-one", "sidecar-many", "sidecar-c1"]


def ms(us):
    return "–" if us is None else f"{us / 1000:.2f}"


def verdict(ok):
    return "**pass**" if ok else "**miss**"


def targets(r):
    s = r["scenarios"]
    rows = []
    sidecars = [k for k in ("sidecar-one", "sidecar-many") if k in s]
    for k in sidecars:
        rps = s[k]["fixed"]["rps"]
        if "oauth2-proxy" in s:
            ratio = rps / s["oauth2-proxy"]["fixed"]["rps"]
            rows.append((f"throughput ≥ 1.5× oauth2-proxy ({SHORT[k].replace(chr(10), ', ')})", f"{ratio:.2f}×", ratio >= 1.5))
        if "nginx" in s:
            ratio = rps / s["nginx"]["fixed"]["rps"]
            rows.append((f"throughput ≥ 0.7× nginx ({SHORT[k].replace(chr(10), ', ')})", f"{ratio:.2f}×", ratio >= 0.7))
    if "direct" in s:
        d = s["direct"]["rate"]["latency_us"]["p99"]
        for k in sidecars:
            added = s[k]["rate"]["latency_us"]["p99"] - d
            rows.append((f"added p99 at {r['config']['rate']} req/s ≤ 1 ms ({SHORT[k].replace(chr(10), ', ')})", f"{added / 1000:.2f} ms", added <= 1000))
    peaks = [s[k]["fixed"].get("peak_rss_mib", 0) for k in sidecars]
    if peaks:
        peak = max(peaks)
        rows.append((f"sidecar RSS under load ≤ 96 MiB (peak VmRSS at {r['config']['connections']} connections)", f"{peak:.1f} MiB", peak <= 96))
    hwm = [s[k]["vm_hwm_mib"] for k in sidecars if s[k].get("vm_hwm_mib")]
    if hwm:
        rows.append(("sidecar RSS ≤ 96 MiB over its whole life (VmHWM: start, both load shapes)", f"{max(hwm):.1f} MiB", max(hwm) <= 96))
    st = r.get("startup", {}).get("runs", {})
    if "default" in st:
        m = st["default"]["median_ms"]
        rows.append((f"start to ready ≤ 1 s (median of {len(st['default']['all_ms'])})", f"{m} ms", m <= 1000))
    if "appcds" in st:
        m = st["appcds"]["median_ms"]
        rows.append(("start to ready ≤ 1 s, with an AppCDS archive", f"{m} ms", m <= 1000))
    return rows


def table(r):
    s = r["scenarios"]
    c = r["config"]
    direct_p99 = s.get("direct", {}).get("rate", {}).get("latency_us", {}).get("p99")
    direct_p99_fixed = s.get("direct", {}).get("fixed", {}).get("latency_us", {}).get("p99")
    out = [
        f"| target | req/s @ {c['connections']} conns | p50 | p99 | p99.9 | added p99 | "
        f"p50 @ {c['rate']}/s | p99 @ {c['rate']}/s | p99.9 @ {c['rate']}/s | added p99 @ {c['rate']}/s | peak RSS | CPU µs/req |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for k in ORDER:
        if k not in s:
            continue
        f, q = s[k]["fixed"], s[k]["rate"]
        fl, ql = f["latency_us"], q["latency_us"]
        add_f = "–" if k == "direct" or direct_p99_fixed is None else ms(fl["p99"] - direct_p99_fixed)
        add_q = "–" if k == "direct" or direct_p99 is None else ms(ql["p99"] - direct_p99)
        rss = f"{f['peak_rss_mib']:.0f} MiB" if f.get("peak_rss_mib") else "–"
        if f.get("peak_rss_anon_mib") and k.startswith("sidecar"):
            rss += f" ({f['peak_rss_anon_mib']:.0f} anon)"
        cpu = f"{f['target_cpu_us_per_req']:.0f}" if f.get("target_cpu_us_per_req") is not None else "–"
        out.append(
            f"| {LABELS[k]} | {f['rps']:,.0f} | {ms(fl['p50'])} | {ms(fl['p99'])} | {ms(fl['p99.9'])} | {add_f} | "
            f"{ms(ql['p50'])} | {ms(ql['p99'])} | {ms(ql['p99.9'])} | {add_q} | {rss} | {cpu} |"
        )
    return "\n".join(out)


def health(r):
    lines = []
    for k in ORDER:
        if k not in r["scenarios"]:
            continue
        f, q = r["scenarios"][k]["fixed"], r["scenarios"][k]["rate"]
        e = f["errors"]
        bad = sum(e.values())
        codes = ", ".join(f"{n}× {c}" for c, n in sorted(q["codes"].items()))
        extra = ""
        if "distinct_tokens" in f:
            extra = f"; fixed concurrency rotated {f['distinct_tokens']:,} distinct tokens over {f['requests']:,} requests"
        if r["scenarios"][k].get("ready_ms"):
            extra += f"; ready {r['scenarios'][k]['ready_ms']} ms after start"
        if k == "sidecar-many":
            extra += f"; the fixed-rate run sent {q['distinct_tokens']:,} tokens never seen before, each once"
        tc = r["scenarios"][k].get("token_cache")
        if tc:
            extra += f"; verified-token cache over the process's life: {tc.get('hit', 0):,} hits, {tc.get('miss', 0):,} misses"
        hits = r["scenarios"][k].get("issuer_requests_during")
        if hits is not None:
            extra += f"; requests to the issuer while measured: {json.dumps(hits) if hits else 'none'}"
        enf = r["scenarios"][k].get("enforced")
        if enf:
            extra += f"; no token → {enf['no_token']}, bad signature → {enf['bad_signature']}"
        lines.append(
            f"- {LABELS[k]}: {f['requests']:,} requests, {bad} wrk errors/non-2xx "
            f"({json.dumps(e)}); at {r['config']['rate']}/s achieved {q['achieved_rate']:.0f}/s, codes {codes}; "
            f"CPU used by other processes meanwhile {f['other_cpu_cores']} cores at fixed concurrency, {q['other_cpu_cores']} at the fixed rate (which leaves most of the CPU idle for them); "
            f"load average {f['loadavg_during']}{extra}"
        )
    return "\n".join(lines)


def others(bench):
    parts = []
    for pattern in ("webhook-latency*", "operator-heap*"):
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


def write_all(r, out, bench=None):
    bench = bench or out
    c, m = r["config"], r["machine"]
    st = r.get("startup", {})
    rows = targets(r)
    trows = "\n".join(f"| {name} | {fig} | {verdict(ok)} |" for name, fig, ok in rows)
    startup = ""
    for label, run in st.get("runs", {}).items():
        startup += (
            f"- {label}: median **{run['median_ms']} ms** of {run['all_ms']} ms (CPU time used by then: "
            f"{run.get('cpu_ms_median', '?')} ms; load average {run.get('load_during', '?')}); RSS when ready "
            f"{run['rss_at_ready_mib']} MiB; extra flags {' '.join(run['extra_opts']) or '(none)'}\n"
        )
    if st.get("appcds_archive_mib"):
        startup += f"- AppCDS archive: {st['appcds_archive_mib']} MiB, made by one start with `-XX:ArchiveClassesAtExit` that served 100 requests\n"
    if st.get("appcds_error"):
        startup += f"- AppCDS: {st['appcds_error']}\n"
    analysis_path = os.path.join(bench, "analysis.md")
    analysis = open(analysis_path).read().strip() if os.path.exists(analysis_path) else "(none written)"
    other = others(bench)
    notes = "\n".join(f"- {n}" for n in r.get("notes", []))
    fails = r.get("failures") or {}
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
            f" ({n_rounds} rounds over all targets, interleaved; each target's figures come whole from"
            f" the round in which other processes took the least CPU during its fixed-concurrency"
            f" run — {used}; every round is in raw/results.json)"
        )
    elif n_rounds > 1:
        rounds_note = (
            f" ({n_rounds} rounds over all targets, interleaved; each figure is the median of the rounds, RSS the peak)"
        )
    else:
        rounds_note = ""
    md = f"""# tokengate benchmark results

Generated by `bench/run.sh` on {r['date']} (commit `{m['git_commit']}`); {r['elapsed_s']} s for the whole run.
Every figure below comes from that one run on one machine{rounds_note}; compare the ratios, not the
absolute numbers (see [README.md](README.md) for what is measured and how).

![throughput and p99 latency](results.png)

## Results

{table(r)}

Latency in milliseconds. "Added p99" is the target's p99 minus the upstream's own p99 in
the same load shape. Peak RSS is the highest VmRSS of the proxy's processes sampled every
100 ms during the fixed-concurrency run. "CPU µs/req" is the CPU time (user + system) the
target's own processes spent per request at fixed concurrency (for "upstream directly":
the upstream's); unlike throughput it hardly moves when other processes compete for the
cores, so it is the figure to trust on a busy machine.

## Targets (ratios from this run)

| target | this run | verdict |
| --- | ---: | --- |
{trows}

## Sidecar start to ready

Time from process start to the first `200` from the admin port's `/healthz/ready` (keys
loaded from the local issuer), {c['starts']} fresh starts each:

{startup}
JVM flags of every sidecar start in this run (what the operator would set):
`{c['java_opts']}`, on {java}. The "C1 JIT only" row adds `{c.get('alt_java_opts', '')}`.

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
with `DURATION={c['duration']} WARMUP={c['warmup']} CONNECTIONS={c['connections']} THREADS={c['threads']} BENCH_NICE={c.get('nice', 0)} MAX_IN_FLIGHT={c.get('max_in_flight')} ROUNDS={c.get('rounds', 1)} RATE={c['rate']} RATE_DURATION={c['rate_duration']} TOKENS={c['tokens']} STARTS={c['starts']}`.
Sidecar jar: `{c.get('jar')}` (built {c.get('jar_built', '?')}, sha256 {c.get('jar_sha256', '?')}…). Upstream: {r.get('upstream', '')}. Raw outputs: [`raw/`](raw/).
"""
    if other:
        md += f"\n## Other measurements (operator)\n\n{other}\n"
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
