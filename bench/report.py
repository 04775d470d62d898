"""`python -m bench.report [bench/results.json]`: the figures of one run as the markdown tables of RESULTS.md."""

import json
import sys
from pathlib import Path
from typing import Any

READS = ("list", "list service", "show", "history")


def table(backend: str, r: dict[str, Any]) -> str:
    ref = r["reference"]["rps"]
    lines = [
        f"### {backend}",
        "",
        "| scenario | req/s | vs reference | ack p50 ms | ack p99 ms | answer p50 ms | answer p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [("reference (bare Bolt, ack only)", r["reference"])]
    rows += [(f"{name} (near-empty)", r[f"small {name}"]) for name in READS]
    rows += [("propose (write)", r["write propose"])]
    rows += [(f"{name} (100k releases, 1M audit)", r[f"big {name}"]) for name in READS if f"big {name}" in r]
    for name, s in rows:
        lines.append(
            f"| {name} | {s['rps']:.0f} | {s['rps'] / ref:.0%} | {s['ack_p50']:.1f} | {s['ack_p99']:.1f} "
            f"| {s['answer_p50']:.1f} | {s['answer_p99']:.1f} |"
        )
    if "big list" in r:
        lines += ["", "| read path | p50 100k ÷ near-empty | p99 100k ÷ near-empty |", "|---|---:|---:|"]
        for name in READS:
            small, big = r[f"small {name}"], r[f"big {name}"]
            lines.append(
                f"| {name} | {big['answer_p50'] / small['answer_p50']:.2f}× "
                f"| {big['answer_p99'] / small['answer_p99']:.2f}× |"
            )
    lines += [
        "",
        f"Start to listening: {r['start_s']:.2f} s (near-empty), {r.get('start_big_s', float('nan')):.2f} s (100k). "
        f"Idle RSS {r['idle_rss_mb']:.0f} MB, after the load {r['rss_after_load_mb']:.0f} MB. "
        f"Seeding 100k + 1M rows: {r.get('seed_s', float('nan')):.0f} s.",
    ]
    return "\n".join(lines)


def main() -> None:
    results = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json").read_text())
    print("Machine: " + ", ".join(f"{k} {v}" for k, v in results["machine"].items()) + f"; run {results['when']}.\n")
    for backend in ("sqlite", "postgresql"):
        if backend in results:
            print(table(backend, results[backend]) + "\n")


if __name__ == "__main__":
    main()
