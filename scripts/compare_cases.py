#!/usr/bin/env python3
"""Paired comparison of two evaluations over the same cases (validation screens).

    python3 scripts/compare_cases.py BASE_DIR OTHER_DIR [--k 10 20]

Each directory holds the cases.jsonl that `gensar eval --out DIR` writes (one line per case:
case_id, protocol, task, rank; rank 0 = not in the list). For every protocol and task present in
both, prints HR@k and NDCG@k of each side and OTHER minus BASE with its 95% interval and the
two-sided p-value of the paired difference (normal approximation; with 8,317 cases per task the
per-case differences' mean is normal to well within the printed digits).
"""
import argparse
import json
import math
import os
import sys


def load(path):
    cases = {}
    with open(os.path.join(path, "cases.jsonl")) as f:
        for line_no, line in enumerate(f, 1):
            try:
                c = json.loads(line)
                cases[(c["protocol"], c["task"], c["case_id"])] = int(c["rank"])
            except (ValueError, KeyError) as e:
                sys.exit(f"{path}/cases.jsonl line {line_no}: {e}")
    return cases


def hr(rank, k):
    return 1.0 if 0 < rank <= k else 0.0


def ndcg(rank, k):
    return 1.0 / math.log2(rank + 1) if 0 < rank <= k else 0.0


def paired(a, b):
    n = len(a)
    d = [y - x for x, y in zip(a, b)]
    mean = sum(d) / n
    var = sum((x - mean) ** 2 for x in d) / max(n - 1, 1)
    se = math.sqrt(var / n)
    p = math.erfc(abs(mean) / (se * math.sqrt(2))) if se > 0 else (1.0 if mean == 0 else 0.0)
    return mean, 1.96 * se, p


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("other")
    ap.add_argument("--k", type=int, nargs="+", default=[10, 20])
    args = ap.parse_args()
    base, other = load(args.base), load(args.other)
    groups = sorted({(p, t) for p, t, _ in base} & {(p, t) for p, t, _ in other})
    print(f"{'protocol':<11} {'task':<7} {'metric':<8} {'cases':>6} {'base':>7} {'other':>7} "
          f"{'diff':>8} {'95%':>7} {'p':>8}")
    for protocol, task in groups:
        ids = sorted(k for k in base if k[:2] == (protocol, task) and k in other)
        for name, fn in [("hr", hr), ("ndcg", ndcg)]:
            for k in args.k:
                a = [fn(base[i], k) for i in ids]
                b = [fn(other[i], k) for i in ids]
                mean, ci, p = paired(a, b)
                print(f"{protocol:<11} {task:<7} {name + '@' + str(k):<8} {len(ids):>6} "
                      f"{sum(a) / len(a):>7.4f} {sum(b) / len(b):>7.4f} {mean:>+8.4f} {ci:>7.4f} {p:>8.2g}")


if __name__ == "__main__":
    main()
