#!/usr/bin/env python3
"""Per-level identifier accuracy of ranked lists: does the top-ranked item share the target's first
identifier token, its first two, ...? A diagnostic for where a generative recommender loses the
target (docs/results.md): a model that ignores the history gets the first token right only as
often as the most popular first token is the target's.

  scripts/prefix_accuracy.py IDENTIFIERS.h5 NAME=CASES.jsonl [NAME=CASES.jsonl ...]
      [--protocol full] [--task rec]

CASES.jsonl are per-case records written by `gensar eval` (metrics/<name>/cases.jsonl), any system:
a baseline's ranked items are read through the same identifiers, so SASRec's and popularity's rows
say how predictable each level is for a ranker that does not generate identifiers. The identifier
kind follows the task: collaborative for rec, semantic for search (GENSAR.md). Needs only h5dump.
"""
import argparse
import json
import re
import subprocess
import sys


def read_ids(path, dataset):
    out = subprocess.run(["h5dump", "-y", "-w", "0", "-d", dataset, path], check=True,
                         capture_output=True, text=True).stdout
    m = re.search(r"DATASPACE\s+SIMPLE\s+\{\s*\(\s*(\d+),\s*(\d+)\s*\)", out)
    if not m:
        sys.exit(f"{path}: {dataset} is not a 2-d dataset")
    rows, cols = int(m.group(1)), int(m.group(2))
    body = out[out.index("DATA {") + len("DATA {"):]
    values = [int(v) for v in re.findall(r"-?\d+", body)]
    if len(values) != rows * cols:
        sys.exit(f"{path}: {dataset} has {len(values)} values, expected {rows} x {cols}")
    return [tuple(values[r * cols:(r + 1) * cols]) for r in range(rows)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("identifiers")
    ap.add_argument("runs", nargs="+", help="NAME=cases.jsonl")
    ap.add_argument("--protocol", default="full")
    ap.add_argument("--task", default="rec")
    a = ap.parse_args()
    ids = read_ids(a.identifiers, "/col_ids" if a.task == "rec" else "/sem_ids")
    levels = len(ids[0])
    print(f"{a.task}, {a.protocol} protocol; identifier levels {levels}")
    header = ["system", "cases"] + [f"top1 L{l + 1}" for l in range(levels)] + \
             ["L1 in top10", "distinct top1 L1", "top1 L1 share of commonest"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for spec in a.runs:
        name, _, path = spec.partition("=")
        n = 0
        hits = [0] * levels
        first_in_top10 = 0
        first_tokens = {}
        with open(path) as f:
            for line_no, line in enumerate(f, 1):
                try:
                    c = json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{line_no}: not JSON ({e})")
                if c.get("protocol") != a.protocol or c.get("task") != a.task or not c.get("items"):
                    continue
                n += 1
                target = ids[c["target"]]
                top = ids[c["items"][0]]
                for l in range(levels):
                    if top[:l + 1] == target[:l + 1]:
                        hits[l] += 1
                first_in_top10 += target[0] in {ids[i][0] for i in c["items"][:10]}
                first_tokens[top[0]] = first_tokens.get(top[0], 0) + 1
        if n == 0:
            print(f"| {name} | 0 | (no {a.protocol} {a.task} cases in {path}) |")
            continue
        cells = [name, str(n)] + [f"{h / n:.3f}" for h in hits] + \
                [f"{first_in_top10 / n:.3f}", str(len(first_tokens)),
                 f"{max(first_tokens.values()) / n:.3f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
