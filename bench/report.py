"""`python -m bench.report [bench/results.json]`: the figures of one run as the markdown tables of RESULTS.md."""

import json
import sys
from pathlib import Path
from typing import Any

READS = ("list", "list service", "show", "history")


def home_table(r: dict[str, Any]) -> list[str]:
    """App Home: `app_home_opened` → the server's `views.publish`, near-empty and at scale."""
    if "small home" not in r:
        return []
    lines = [
        "",
        "| App Home (`app_home_opened` → `views.publish`) | opens/s | ack p50 ms | ack p99 ms | answer p50 ms "
        "| answer p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, key in (("near-empty", "small home"), ("100k releases, 1M audit", "big home")):
        if key in r:
            s = r[key]
            lines.append(
                f"| {label} | {s['rps']:.0f} | {s['ack_p50']:.1f} | {s['ack_p99']:.1f} | {s['answer_p50']:.1f} "
                f"| {s['answer_p99']:.1f} |"
            )
    if "big home" in r:
        small, big = r["small home"], r["big home"]
        lines.append(
            f"| **100k ÷ near-empty** | | | | {big['answer_p50'] / small['answer_p50']:.2f}× "
            f"| {big['answer_p99'] / small['answer_p99']:.2f}× |"
        )
    return lines


def reminders_table(r: dict[str, Any]) -> list[str]:
    """Reminder engine: due jobs claimed and run until none is left, and the exactly-once check."""
    if "reminders" not in r:
        return []
    lines = [
        "",
        "| reminder engine | due jobs | processes (jobs each) | wall s | claims/s | jobs done | thread lines "
        "(distinct releases) | DMs | exactly once |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, run in r["reminders"].items():
        c = run["check"]
        each = ", ".join(str(n) for n in run["per_process"])
        lines.append(
            f"| {name} | {run['jobs']} | {run['processes']} ({each}) | {run['wall_s']:.2f} | {run['claims_per_s']:.0f} "
            f"| {c['done']} | {c['thread_rows']} ({c['thread_releases']}) | {c['dm_rows']} "
            f"| {'yes' if run['exactly_once'] else '**NO**'} |"
        )
    return lines


def metrics_table(r: dict[str, Any]) -> list[str]:
    """`/release metrics` at scale: the data path in-process, the chart alone, the command end to end."""
    if "metrics" not in r:
        return []
    m = r["metrics"]
    lines = [
        "",
        f"`/release metrics` over {m['releases']:,} releases, 1M audit events and {m['deployments']:,} deployments "
        f"(seeded in {m['seed_s']:.0f} s):",
        "",
        "| delivery metrics | runs | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("workspace 30d", "service 30d", "workspace 90d", "service 365d", "App Home summary 30d"):
        if name in m:
            s = m[name]
            lines.append(f"| data path: {name} | {s['runs']} | {s['p50']:.1f} | {s['p99']:.1f} | {s['max']:.1f} |")
    for name in ("chart 30d (5 bars)", "chart 365d (53 bars)"):
        if name in m:
            s = m[name]
            lines.append(f"| {name}, drawn alone | {s['runs']} | {s['p50']:.1f} | {s['p99']:.1f} | {s['max']:.1f} |")
    if "end to end" in m:
        s = m["end to end"]
        lines.append(
            f"| end to end, 1 connection: answer with the chart uploaded | {s['requests']} | {s['answer_p50']:.1f} "
            f"| {s['answer_p99']:.1f} | |"
        )
    return lines


def table(backend: str, r: dict[str, Any]) -> str:
    if "reference" not in r:  # a partial run (--only home,reminders,metrics)
        return "\n".join([f"### {backend}", *home_table(r), *reminders_table(r), *metrics_table(r)])
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
    lines += home_table(r) + reminders_table(r) + metrics_table(r)
    return "\n".join(lines)


def main() -> None:
    results = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json").read_text())
    later = "".join(f"; {k.removeprefix('when ')} run {v}" for k, v in results.items() if k.startswith("when "))
    print(
        "Machine: "
        + ", ".join(f"{k} {v}" for k, v in results["machine"].items())
        + f"; run {results['when']}{later}.\n"
    )
    for backend in ("sqlite", "postgresql"):
        if backend in results:
            print(table(backend, results[backend]) + "\n")


if __name__ == "__main__":
    main()
