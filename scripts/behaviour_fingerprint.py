#!/usr/bin/env python3
"""Fingerprint of a pipeline workdir's results, blind to timing: for checking that a refactoring
left behaviour unchanged (same seeds, same metrics, same per-case rankings, same training curve).

    gensar pipeline --config configs/tiny.ini --workdir /tmp/a
    python3 scripts/behaviour_fingerprint.py /tmp/a > a.txt      # again after the change, then diff

Prints one line per results file (metrics, per-case records, the training curve, the identifier
report, the dataset manifest) with a digest of its content after dropping fields that measure time
or depend on the workdir path."""
import hashlib
import json
import pathlib
import sys

VOLATILE = {"seconds", "samples_per_s", "config_hash", "wall_s", "elapsed_s", "cases_per_s",
            "time", "timestamp", "started", "finished", "path", "workdir", "host"}


def scrub(value):
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def digest(path):
    text = path.read_text()
    if path.suffix == ".jsonl":
        rows = [scrub(json.loads(line)) for line in text.splitlines() if line.strip()]
    else:
        rows = [scrub(json.loads(text))]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16], len(rows)


def main():
    root = pathlib.Path(sys.argv[1])
    files = sorted(p for p in root.rglob("*") if p.suffix in (".json", ".jsonl")
                   and "checkpoints" not in p.parts and ".stamps" not in p.parts)
    for p in files:
        h, n = digest(p)
        print(f"{h}  {n:6d}  {p.relative_to(root)}")


if __name__ == "__main__":
    main()
