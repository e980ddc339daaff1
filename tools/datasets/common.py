"""What every generator here shares: the command line, the JSONL writing and the summary."""

import argparse
import json
import sys
from collections import Counter


def summary(rows, keys=("split", "label", "format", "group")):
    """Row counts per value of each of `keys`, and per span type."""
    lines = [f"rows: {len(rows)}"]
    for key in keys:
        counts = Counter(r[key] for r in rows)
        lines.append(f"{key}: " + ", ".join(f"{k}={counts[k]}" for k in sorted(counts, key=str)))
    types = Counter(s["type"] for r in rows for s in r["spans"])
    if types:
        lines.append("span types: " + ", ".join(f"{k}={types[k]}" for k in sorted(types)))
    return "\n".join(lines)


def main(doc, build_rows, describe=summary):
    """`--seed N --out FILE [--quiet]`: writes `build_rows(seed)` as JSONL, one row a line."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True, help="output JSONL file")
    parser.add_argument("--quiet", action="store_true", help="do not print the summary")
    args = parser.parse_args()
    rows = build_rows(args.seed)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    if not args.quiet:
        print(describe(rows), file=sys.stderr)
