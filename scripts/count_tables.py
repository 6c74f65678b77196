#!/usr/bin/python3
"""What the training log itself says about each target, measured with count tables (seconds, no
model): the floor a generative model's per-level loss can reach from the prior alone, how much the
history's last click and the search query say about the target's first identifier codes, and how
far a plain lookup table of "what was clicked for this query" gets on the full catalogue.
docs/results.md (diagnostics points 2 and 10) quotes its output.

  /usr/bin/python3 scripts/count_tables.py WORKDIR

WORKDIR is a `gensar pipeline` work directory (WORKDIR/dataset, WORKDIR/identifiers.h5). Needs
Debian's python3-h5py. Tables are fitted on the training split and scored on the validation split.
"""
import argparse
import collections
import glob
import math
import os

import h5py


def load(workdir):
    shards = sorted(glob.glob(os.path.join(workdir, "dataset", "shard-*.h5")))
    if len(shards) != 1:
        raise SystemExit(f"{workdir}/dataset: expected one shard, found {len(shards)}")
    sh = h5py.File(shards[0], "r")
    sp = h5py.File(os.path.join(workdir, "dataset", "splits.h5"), "r")
    ids = h5py.File(os.path.join(workdir, "identifiers.h5"), "r")
    items = h5py.File(os.path.join(workdir, "dataset", "items.h5"), "r")
    return {
        "item": sh["item"][:], "kind": sh["kind"][:], "query": sh["query"][:],
        "offsets": sh["user_offsets"][:], "splits": sp, "col": ids["col_ids"][:],
        "sem": ids["sem_ids"][:], "popularity": items["popularity"][:],
    }


def examples(d, task, split):
    """(history rec clicks newest first, query, target item) per example of a split."""
    users = d["splits"][f"{task}/{split}/user"][:]
    events = d["splits"][f"{task}/{split}/event_index"][:]
    out = []
    for u, e in zip(users, events):
        base = d["offsets"][u]
        history = [d["item"][base + j] for j in range(e - 1, -1, -1) if d["kind"][base + j] == 0]
        if task == "search" and history and history[0] == d["item"][base + e]:
            history = history[1:]  # the rec click of the same review
        out.append((history, d["query"][base + e], d["item"][base + e]))
    return out


def prior_levels(train, ids):
    """Plug-in entropy of each identifier level given the levels before it (training targets)."""
    n = len(train)
    out = []
    for level in range(ids.shape[1]):
        joint = collections.Counter(tuple(ids[t][:level + 1]) for _, _, t in train)
        prefix = collections.Counter(tuple(ids[t][:level]) for _, _, t in train)
        out.append(-sum(c / n * math.log(c / prefix[k[:-1]]) for k, c in joint.items()))
    return out


def conditional_ce(train, valid, key, label, weight=5.0):
    """Held-out cross-entropy and top-1 accuracy of label(target), unigram vs given key(example):
    the conditional counts are interpolated with the add-one unigram by n / (n + weight)."""
    uni = collections.Counter(label(t) for _, _, t in train)
    vocab = len(uni) + 1
    cond = collections.defaultdict(collections.Counter)
    for ex in train:
        k = key(ex)
        if k is not None:
            cond[k][label(ex[2])] += 1
    top = uni.most_common(1)[0][0]
    ce_u = ce_c = acc_u = acc_c = 0.0
    for ex in valid:
        y = label(ex[2])
        pu = (uni[y] + 1) / (len(train) + vocab)
        c = cond.get(key(ex), collections.Counter())
        m = sum(c.values())
        lam = m / (m + weight)
        ce_u -= math.log(pu)
        ce_c -= math.log(lam * (c[y] / m if m else 0) + (1 - lam) * pu)
        acc_u += y == top
        acc_c += y == (c.most_common(1)[0][0] if m else top)
    n = len(valid)
    return ce_u / n, ce_c / n, acc_u / n, acc_c / n


def lookup_hr10(train, valid, key, popularity):
    """Full-catalogue HR@10 of ranking items by how often they were the target for the same key
    in training, then by popularity."""
    cond = collections.defaultdict(collections.Counter)
    for ex in train:
        cond[key(ex)][ex[2]] += 1
    by_pop = list((-popularity).argsort())
    hits = 0
    for ex in valid:
        top = [i for i, _ in cond.get(key(ex), collections.Counter()).most_common(10)]
        for i in by_pop:
            if len(top) >= 10:
                break
            if i not in top:
                top.append(i)
        hits += ex[2] in top
    return hits / len(valid)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workdir")
    d = load(ap.parse_args().workdir)
    for task, ids in (("rec", d["col"]), ("search", d["sem"])):
        train, valid = examples(d, task, "train"), examples(d, task, "valid")
        print(f"## {task} ({len(train)} training, {len(valid)} validation examples; "
              f"{'collaborative' if task == 'rec' else 'semantic'} identifiers)")
        print("prior entropy per level (nats): " +
              " ".join(f"{h:.3f}" for h in prior_levels(train, ids)))
        last = lambda ex: ex[0][0] if ex[0] else None
        # Interpolation weights picked by hand: the sparse code-to-code table needs more smoothing
        # than the query table. Cross-entropies move with them; top-1 accuracies do not.
        keys = [("last rec click", last, 20.0)]
        if task == "search":
            keys.append(("query", lambda ex: ex[1], 5.0))
        print("| predicts | target | CE unigram | CE given it | top-1 unigram | top-1 given it |")
        print("|---|---|---|---|---|---|")
        for name, fn, weight in keys:
            k = (lambda ex, fn=fn: None if fn(ex) is None else
                 tuple(ids[fn(ex)][:1]) if name == "last rec click" else fn(ex))
            for depth in (1, 2):
                r = conditional_ce(train, valid, k, lambda t, depth=depth: tuple(ids[t][:depth]),
                                   weight)
                print(f"| {name} | codes 1..{depth} | {r[0]:.3f} | {r[1]:.3f} | {r[2]:.3f} | "
                      f"{r[3]:.3f} |")
        print(f"lookup table, full-catalogue HR@10 on validation: item after the last click "
              f"{lookup_hr10(train, valid, last, d['popularity']):.3f}" +
              (f", items clicked for the query {lookup_hr10(train, valid, lambda ex: ex[1], d['popularity']):.3f}"
               if task == "search" else ""))
        if task == "search":
            pairs = collections.Counter((q, t) for _, q, t in train)
            seen = sum((q, t) in pairs for _, q, t in valid) / len(valid)
            print(f"distinct (query, item) training pairs {len(pairs)}; validation pairs seen in "
                  f"training {seen:.3f}")
        print()


if __name__ == "__main__":
    main()
