#!/usr/bin/env python3
"""Helpers of bench/run: reads kfp-iam's JSON reports and criterion's estimates, computes
medians and spreads, and writes bench/RESULTS.md.

  report.py calls REPORT.json                  -> "aws_reads aws_writes kube_reads kube_writes"
  report.py check-apply REPORT.json changed|unchanged   (exit 1 when it is not)
  report.py criterion CRITERION_DIR STAMP      -> TSV: id, median ns, low, high, throughput
  report.py render SAMPLES PENDING CRITERION META OUT
  report.py summary SAMPLES

The part of OUT from the line "## Analysis" on is written by hand and kept on regeneration.
"""

import json
import os
import statistics
import sys
from pathlib import Path

ANALYSIS = "## Analysis"
# Targets the numbers are held against.
SETUP_SPEEDUP_TARGET = 30.0
NOCHANGE_TARGET_MS = 100.0
SCALE_TARGET_N = 500
SCALE_COLD_TARGET_MS = 30_000.0
SCALE_MEMORY_TARGET_MB = 50.0

SCENARIOS = [
    # key, number, label
    ("classic", "1", "classic script: 8 `aws` + 1 `kubectl` processes, jq, base64"),
    ("setup", "1", "`kfp-iam apply`, from scratch"),
    ("nochange", "2", "`kfp-iam apply`, no change"),
    ("verify", "3", "`kfp-iam verify`"),
    ("startup", "-", "`kfp-iam spec validate` (process start-up, no network)"),
]


def calls(path):
    doc = json.loads(Path(path).read_text())
    c = doc["calls"]
    print(c["aws"]["reads"], c["aws"]["writes"], c["kubernetes"]["reads"], c["kubernetes"]["writes"])


def check_apply(path, want):
    doc = json.loads(Path(path).read_text())
    c = doc["calls"]
    writes = c["aws"]["writes"] + c["kubernetes"]["writes"]
    changes = doc.get("changes", [])
    if want == "changed":
        ok = bool(changes) and all(ch["outcome"]["status"] == "done" for ch in changes)
    else:
        ok = changes == [] and writes == 0
    if not ok:
        print(f"unexpected apply report ({want} expected): {len(changes)} changes, "
              f"{writes} writes", file=sys.stderr)
    return 0 if ok else 1


def criterion(directory, stamp):
    since = os.path.getmtime(stamp)
    for bench in sorted(Path(directory).glob("**/new/benchmark.json")):
        if bench.stat().st_mtime < since:
            continue
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        med = est["median"]
        ci = med["confidence_interval"]
        tput = ""
        if meta.get("throughput"):
            (unit, n), = meta["throughput"].items()
            tput = f"{unit}:{n}"
        print("\t".join([meta["full_id"], f"{med['point_estimate']:.3f}",
                         f"{ci['lower_bound']:.3f}", f"{ci['upper_bound']:.3f}", tput]))


def read_tsv(path):
    p = Path(path)
    if not p.exists():
        return []
    return [line.split("\t") for line in p.read_text().splitlines() if line.strip()]


def load_samples(path):
    """{scenario: [{run, wall, rss, calls}]} in run order."""
    out = {}
    for scenario, run, wall, rss, ar, aw, kr, kw in read_tsv(path):
        out.setdefault(scenario, []).append({
            "run": int(run), "wall": float(wall), "rss": int(rss),
            "calls": (int(ar), int(aw), int(kr), int(kw)),
        })
    return out


def ms(x):
    return f"{x:,.0f} ms" if x >= 100 else f"{x:.1f} ms"


def spread(values, fmt):
    return f"{fmt(min(values))} – {fmt(max(values))}"


def calls_cell(samples, which):
    idx = (0, 1) if which == "aws" else (2, 3)
    pairs = sorted({(s["calls"][idx[0]], s["calls"][idx[1]]) for s in samples})
    if len(pairs) == 1:
        r, w = pairs[0]
        return f"{r} / {w}"
    reads = [p[0] for p in pairs]
    writes = [p[1] for p in pairs]
    return f"{min(reads)}–{max(reads)} / {min(writes)}–{max(writes)}"


def human_ns(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def ratios(samples):
    classic = {s["run"]: s["wall"] for s in samples.get("classic", [])}
    return [classic[s["run"]] / s["wall"] for s in samples.get("setup", []) if s["run"] in classic]


def scale_order(key):
    """Sorts scale scenario keys by size, then cold, no-change, classic."""
    parts = key.split("-")
    if parts[0] != "scale":
        return (0, 0, key)
    kind = {"cold": 0, "nochange": 1, "classic": 2}.get(parts[1], 3)
    return (int(parts[2]), kind, key)


def row(num, label, s):
    walls = [x["wall"] for x in s]
    rss = statistics.median(x["rss"] for x in s) / 1024
    return (f"| {num} | {label} | **{ms(statistics.median(walls))}** | {spread(walls, ms)} | "
            f"{rss:.1f} MiB | {calls_cell(s, 'aws')} | {calls_cell(s, 'kube')} |")


def scale_rows(samples, meta):
    """Scenario 4: kfp-iam at each size, the classic loop where it ran, and ratios; classic
    times at sizes it did not run are extrapolated per namespace and said to be."""
    sizes = [int(n) for n in meta.get("scale", "").split()]
    classic_sizes = [int(n) for n in meta.get("scale_classic", "").split()]
    if not sizes and not classic_sizes:
        return ["| 4 | scale: profile namespaces, IRSA mode | not measured (see --scale) "
                "| | | | |"]
    out = []
    per_ns = []
    for n in classic_sizes:
        c = samples.get(f"scale-classic-{n}")
        if c:
            per_ns += [x["wall"] / n for x in c]
    for n in sorted(set(sizes) | set(classic_sizes)):
        cold = samples.get(f"scale-cold-{n}")
        same = samples.get(f"scale-nochange-{n}")
        classic = samples.get(f"scale-classic-{n}")
        if cold:
            out.append(row("4", f"{n} profiles, IRSA per namespace: `kfp-iam apply`, cold", cold))
        if same:
            out.append(row("4", f"{n} profiles: `kfp-iam apply`, no change", same))
        if classic:
            out.append(row("4", f"{n} profiles: classic loop (`bench/classic-irsa.sh`: "
                                f"{2 * n + 2} `aws` + {n} `kubectl` processes)", classic))
        if cold and classic:
            by_run = {x["run"]: x["wall"] for x in classic}
            r = [by_run[x["run"]] / x["wall"] for x in cold if x["run"] in by_run]
            if r:
                out.append(f"| 4 | {n} profiles: speed-up, classic loop / kfp-iam cold apply, "
                           f"same run | **{statistics.median(r):.1f}×** | "
                           f"{spread(r, lambda x: f'{x:.1f}×')} | | | |")
        elif cold and per_ns:
            est = statistics.median(per_ns) * n
            ratio = est / statistics.median(x["wall"] for x in cold)
            out.append(f"| 4 | {n} profiles: classic loop, **extrapolated** from the measured "
                       f"loop's median time per namespace ({ms(statistics.median(per_ns))}) "
                       f"× {n}, not run | ≈ {ms(est)} (≈ {ratio:.0f}× the kfp-iam cold apply) "
                       "| | | | |")
    return out


def render(samples_path, pending_path, criterion_path, meta_path, out_path):
    samples = load_samples(samples_path)
    pending = dict(read_tsv(pending_path))
    crit = read_tsv(criterion_path)
    meta = dict(read_tsv(meta_path))
    out = Path(out_path)
    analysis = None
    if out.exists():
        text = out.read_text()
        at = text.find("\n" + ANALYSIS)
        if at >= 0:
            analysis = text[at + 1:]
    if analysis is None:
        analysis = (f"{ANALYSIS}\n\nNot written yet: where the time goes, and what to change, "
                    "belongs here (kept when bench/run rewrites the sections above).\n")

    L = []
    L.append("# Benchmark results\n")
    L.append("Written by `bench/run`; everything above **Analysis** is regenerated on each run.\n")
    L.append("Reproduce (from the repository root; installs its tools, starts and stops its own "
             "testenv):\n")
    L.append("```sh\nbench/run   # --runs N (5), --warmup N (1), --scale \"10 100 500\", "
             "--scale-classic \"10\"\n```\n")
    L.append(f"Measured {meta.get('date', '?')}: {meta.get('runs')} runs per scenario after "
             f"{meta.get('warmup')} warm-up run(s) that are not counted. Wall time is taken "
             "around the whole process (start to exit), peak memory is GNU time's maximum "
             "resident set size (for the classic script: its largest single process). The "
             "local servers (moto, etcd, kube-apiserver) share the machine with the measured "
             "processes.\n")
    L.append("## Machine and versions\n")
    L.append("| | |\n|---|---|")
    for key, label in [("cpu", "CPU"), ("nproc", "cores (nproc)"), ("memory", "memory"),
                       ("kernel", "kernel"), ("load", "load average"), ("commit", "kfp-iam commit"), ("rustc", "rustc"),
                       ("awscli", "aws-cli"), ("kubectl", "kubectl"), ("jq", "jq"),
                       ("moto", "moto (AWS)"), ("kube-apiserver", "kube-apiserver"),
                       ("etcd", "etcd")]:
        L.append(f"| {label} | {meta.get(key, '?')} |")
    L.append("")

    L.append("## Results\n")
    L.append("Median and min – max over the runs. Calls are reads / writes as counted by "
             "kfp-iam's `-o json` `calls`; for the classic script, AWS calls are its `aws` "
             "commands (one request each) and Kubernetes calls the requests in `kubectl -v=6` "
             "logs.\n")
    L.append("| # | scenario | wall time (median) | min – max | peak RSS (median) "
             "| AWS calls r / w | Kubernetes calls r / w |")
    L.append("|---|---|---:|---:|---:|---:|---:|")
    for key, num, label in SCENARIOS:
        s = samples.get(key)
        if not s:
            L.append(f"| {num} | {label} | not measured | | | | |")
            continue
        walls = [x["wall"] for x in s]
        rss = statistics.median(x["rss"] for x in s) / 1024
        L.append(f"| {num} | {label} | **{ms(statistics.median(walls))}** | "
                 f"{spread(walls, ms)} | {rss:.1f} MiB | {calls_cell(s, 'aws')} | "
                 f"{calls_cell(s, 'kube')} |")
        if key == "setup" and ratios(samples):
            r = ratios(samples)
            L.append(f"| 1 | speed-up: classic time / kfp-iam apply time, same run | "
                     f"**{statistics.median(r):.1f}×** | {spread(r, lambda x: f'{x:.1f}×')} "
                     "| | | |")
    L.extend(scale_rows(samples, meta))
    if crit:
        for full_id, med, lo, hi, tput in crit:
            med, lo, hi = float(med), float(lo), float(hi)
            figure = human_ns(med) + " per iteration"
            if tput:
                unit, n = tput.split(":")
                per_s = float(n) / (med * 1e-9)
                figure += f" ({per_s:,.0f} {unit.lower()}/s)"
            L.append(f"| 5 | policy evaluation: `{full_id}` (criterion) | **{figure}** | "
                     f"{human_ns(lo)} – {human_ns(hi)} (95% CI) | | | |")
    else:
        L.append(f"| 5 | policy evaluation throughput | "
                 f"{pending.get('policy-eval', 'not yet measured')} | | | | |")
    L.append("")

    L.append("## Targets\n")
    r = ratios(samples)
    if r:
        med = statistics.median(r)
        verdict = "**met**" if med >= SETUP_SPEEDUP_TARGET else "**missed**"
        L.append(f"- Setup from scratch at least {SETUP_SPEEDUP_TARGET:.0f}× faster than the "
                 f"classic script: {verdict}, median {med:.1f}× (runs {min(r):.1f}× – "
                 f"{max(r):.1f}×).")
    nc = samples.get("nochange")
    if nc:
        walls = [x["wall"] for x in nc]
        med = statistics.median(walls)
        verdict = "**met**" if med < NOCHANGE_TARGET_MS else "**missed**"
        L.append(f"- No-change apply under {NOCHANGE_TARGET_MS:.0f} ms against local servers: "
                 f"{verdict}, median {ms(med)} (max {ms(max(walls))}).")
    cold = samples.get(f"scale-cold-{SCALE_TARGET_N}")
    if cold:
        walls = [x["wall"] for x in cold]
        med = statistics.median(walls)
        verdict = "**met**" if max(walls) < SCALE_COLD_TARGET_MS else "**missed**"
        L.append(f"- {SCALE_TARGET_N} profiles cold in under {SCALE_COLD_TARGET_MS / 1000:.0f} s: "
                 f"{verdict}, median {ms(med)} (max {ms(max(walls))}).")
        both = cold + samples.get(f"scale-nochange-{SCALE_TARGET_N}", [])
        peak = max(x["rss"] for x in both) * 1024 / 1e6
        verdict = "**met**" if peak < SCALE_MEMORY_TARGET_MB else "**missed**"
        L.append(f"- Memory under {SCALE_MEMORY_TARGET_MB:.0f} MB at {SCALE_TARGET_N} profiles: "
                 f"{verdict}, highest peak RSS of any cold or no-change run {peak:.1f} MB.")
    else:
        L.append(f"- {SCALE_TARGET_N} profiles cold in under {SCALE_COLD_TARGET_MS / 1000:.0f} s, "
                 f"memory under {SCALE_MEMORY_TARGET_MB:.0f} MB: not measured in this run "
                 "(see --scale).")
    L.append("")

    L.append("## Runs\n")
    keys = [k for k, _, _ in SCENARIOS if k in samples]
    L.append("| run | " + " | ".join(keys) + " | classic / apply |")
    L.append("|---:|" + "---:|" * (len(keys) + 1))
    runs = sorted({x["run"] for k in keys for x in samples[k]})
    for run in runs:
        cells = []
        for k in keys:
            v = [x["wall"] for x in samples[k] if x["run"] == run]
            cells.append(ms(v[0]) if v else "")
        c = [x["wall"] for x in samples.get("classic", []) if x["run"] == run]
        a = [x["wall"] for x in samples.get("setup", []) if x["run"] == run]
        cells.append(f"{c[0] / a[0]:.1f}×" if c and a else "")
        L.append(f"| {run} | " + " | ".join(cells) + " |")
    L.append("")

    scale_keys = [k for k in sorted(samples, key=scale_order) if k.startswith("scale-")]
    if scale_keys:
        L.append("### Scale runs\n")
        L.append("| run | " + " | ".join(f"`{k}`" for k in scale_keys) + " |")
        L.append("|---:|" + "---:|" * len(scale_keys))
        for run in sorted({x["run"] for k in scale_keys for x in samples[k]}):
            cells = []
            for k in scale_keys:
                v = [x["wall"] for x in samples[k] if x["run"] == run]
                cells.append(ms(v[0]) if v else "")
            L.append(f"| {run} | " + " | ".join(cells) + " |")
        L.append("")

    out.write_text("\n".join(L) + "\n" + analysis)


def summary(samples_path):
    samples = load_samples(samples_path)
    for key, num, label in SCENARIOS:
        s = samples.get(key)
        if s:
            walls = [x["wall"] for x in s]
            print(f"{num} {key:9} median {ms(statistics.median(walls)):>10}  "
                  f"({spread(walls, ms)})")
    for key in sorted((k for k in samples if k.startswith("scale-")), key=scale_order):
        walls = [x["wall"] for x in samples[key]]
        peak = max(x["rss"] for x in samples[key]) / 1024
        print(f"4 {key:18} median {ms(statistics.median(walls)):>10}  "
              f"({spread(walls, ms)}), peak {peak:.1f} MiB")
    r = ratios(samples)
    if r:
        print(f"  classic / kfp-iam apply: median {statistics.median(r):.1f}x")


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "calls":
        calls(*args)
    elif cmd == "check-apply":
        return check_apply(*args)
    elif cmd == "criterion":
        criterion(*args)
    elif cmd == "render":
        render(*args)
    elif cmd == "summary":
        summary(*args)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
