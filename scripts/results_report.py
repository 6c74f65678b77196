#!/usr/bin/env python3
"""Tables with 95% confidence intervals and paired tests, and learning-curve pictures, for a
`gensar pipeline` work directory (docs/results.md). Standard library only.

  python3 scripts/results_report.py runs/results-scientific --svg-dir docs/results

Reads WORKDIR/metrics/<system>/cases.jsonl (per-case ranks as `gensar eval` writes them),
WORKDIR/run/metrics.jsonl and, with --compare NAME=PATH (repeatable), another run's cases.jsonl
as one more system; prints markdown; with --svg-dir also draws loss.svg (per task),
levels.svg (the first two identifier codes' losses, rec and search) and validation.svg. Per metric: mean +- 1.96 standard errors over the
cases; against GenSAR: the paired mean difference over the same cases, its 95% interval and the
two-sided p-value of the paired t statistic (normal approximation: n is in the thousands).
"""
import argparse
import json
import math
import os
from collections import defaultdict

METRICS = ["hr@1", "hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr"]


def metric(name, rank):
    if rank <= 0:
        return 0.0
    if name == "mrr":
        return 1.0 / rank
    kind, k = name.split("@")
    k = int(k)
    if rank > k:
        return 0.0
    return 1.0 if kind == "hr" else 1.0 / math.log2(rank + 1)


def load_cases(path):
    out = defaultdict(dict)  # (protocol, task) -> case_id -> rank
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            out[(r["protocol"], r["task"])][r["case_id"]] = r["rank"]
    return out


def mean_ci(values):
    n = len(values)
    m = sum(values) / n
    var = sum((v - m) ** 2 for v in values) / max(n - 1, 1)
    return m, 1.96 * math.sqrt(var / n), n


def p_two_sided(z):
    return math.erfc(abs(z) / math.sqrt(2))


def tables(workdir, compare=()):
    systems = {}
    mdir = os.path.join(workdir, "metrics")
    for name in sorted(os.listdir(mdir)):
        path = os.path.join(mdir, name, "cases.jsonl")
        if os.path.exists(path):
            systems[name] = load_cases(path)
    for spec in compare:  # NAME=PATH: another run's cases.jsonl, tested against GenSAR like a baseline
        name, sep, path = spec.partition("=")
        if not sep or not name or name in systems:
            raise SystemExit(f"--compare {spec!r}: want NAME=PATH with a NAME not already in {mdir}")
        systems[name] = load_cases(path)
    order = ["gensar"] + [s for s in systems if s != "gensar"]
    lines = []
    groups = sorted({g for s in systems.values() for g in s})
    for protocol, task in groups:
        lines.append(f"\n#### {protocol} protocol, {task}\n")
        lines.append("| system | cases | " + " | ".join(METRICS) + " |")
        lines.append("|---" * (len(METRICS) + 2) + "|")
        for s in order:
            cases = systems.get(s, {}).get((protocol, task))
            if not cases:
                continue
            cells = []
            for m in METRICS:
                mu, ci, n = mean_ci([metric(m, r) for r in cases.values()])
                cells.append(f"{mu:.4f} ± {ci:.4f}")
            lines.append(f"| {s} | {len(cases)} | " + " | ".join(cells) + " |")
        ref = systems.get("gensar", {}).get((protocol, task))
        if not ref:
            continue
        for s in order[1:]:
            cases = systems.get(s, {}).get((protocol, task))
            if not cases:
                continue
            common = sorted(set(ref) & set(cases))
            cells = []
            for m in ["hr@10", "ndcg@10", "mrr"]:
                d = [metric(m, ref[c]) - metric(m, cases[c]) for c in common]
                mu, ci, n = mean_ci(d)
                se = ci / 1.96
                p = p_two_sided(mu / se) if se > 0 else (1.0 if mu == 0 else 0.0)
                cells.append(f"{m} {mu:+.4f} ± {ci:.4f} (p={p:.2g})")
            lines.append(f"\nGenSAR − {s} (paired, {len(common)} cases): " + "; ".join(cells))
    return "\n".join(lines)


def polyline_svg(series, title, xlabel, ylabel, path, width=640, height=320):
    """series: {name: [(x, y), ...]} -> a small standalone SVG line chart."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    L, R, T, B = 60, 150, 30, 40
    sx = lambda x: L + (x - x0) / (x1 - x0) * (width - L - R)
    sy = lambda y: height - B - (y - y0) / (y1 - y0) * (height - T - B)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">{title}</text>',
           f'<line x1="{L}" y1="{height - B}" x2="{width - R}" y2="{height - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{height - B}" stroke="black"/>',
           f'<text x="{(L + width - R) / 2}" y="{height - 8}" text-anchor="middle">{xlabel}</text>',
           f'<text x="14" y="{(T + height - B) / 2}" text-anchor="middle" '
           f'transform="rotate(-90 14 {(T + height - B) / 2})">{ylabel}</text>']
    for i in range(5):
        y = y0 + (y1 - y0) * i / 4
        x = x0 + (x1 - x0) * i / 4
        out.append(f'<text x="{L - 4}" y="{sy(y) + 4}" text-anchor="end">{y:.3g}</text>')
        out.append(f'<text x="{sx(x)}" y="{height - B + 14}" text-anchor="middle">{x:.3g}</text>')
    for i, (name, s) in enumerate(series.items()):
        c = colours[i % len(colours)]
        path_pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{path_pts}"/>')
        out.append(f'<text x="{width - R + 8}" y="{T + 14 * i + 8}" fill="{c}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def curves(workdir, svg_dir):
    path = os.path.join(workdir, "run", "metrics.jsonl")
    if not os.path.exists(path):
        return ""
    loss = defaultdict(list)
    valid = defaultdict(list)
    window = defaultdict(list)
    level_window = defaultdict(list)  # "rec code 1" -> [(x, loss)]: the first two identifier levels
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            x = r.get("consumed_samples", 0)
            if "validation" in r:
                v = r["validation"]
                for key in ["rec.hr@10", "search.hr@10", "rec.ndcg@5", "search.ndcg@5"]:
                    if key in v:
                        valid[key].append((x, v[key]))
            elif "task_loss" in r:
                for task, value in r["task_loss"].items():
                    window[task].append((x, value))
                for task, levels in r.get("id_level_loss", {}).items():
                    for level, value in enumerate(levels[:2]):
                        level_window[f"{task} code {level + 1}"].append((x, value))
    levels = defaultdict(list)
    for source, target in ((window, loss), (level_window, levels)):
        for name, pts in source.items():  # smoothed: mean of 20-step blocks
            for i in range(0, len(pts), 20):
                block = pts[i:i + 20]
                target[name].append((block[-1][0], sum(p[1] for p in block) / len(block)))
    os.makedirs(svg_dir, exist_ok=True)
    polyline_svg(loss, "training loss per task (20-step means)", "samples seen",
                 "token cross-entropy", os.path.join(svg_dir, "loss.svg"))
    polyline_svg(valid, "validation (candidates protocol)", "samples seen", "metric",
                 os.path.join(svg_dir, "validation.svg"))
    polyline_svg(dict(sorted(levels.items())),
                 "loss of the first two identifier codes (20-step means)", "samples seen",
                 "cross-entropy (nats)", os.path.join(svg_dir, "levels.svg"))
    rows = ["| samples seen | " + " | ".join(valid) + " |", "|---" * (len(valid) + 1) + "|"]
    xs = sorted({x for s in valid.values() for x, _ in s})
    for x in xs:
        cells = []
        for s in valid.values():
            v = [y for xx, y in s if xx == x]
            cells.append(f"{v[0]:.4f}" if v else "")
        rows.append(f"| {x} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workdir")
    ap.add_argument("--svg-dir", default=None)
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=CASES.jsonl",
                    help="another run's per-case ranks (e.g. an earlier results run), in the tables "
                         "and the paired tests")
    a = ap.parse_args()
    print(tables(a.workdir, a.compare))
    if a.svg_dir:
        print("\n#### Validation during training\n")
        print(curves(a.workdir, a.svg_dir))


if __name__ == "__main__":
    main()
