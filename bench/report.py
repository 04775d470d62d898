"""`python -m bench.report [bench/results.json]`: RESULTS.md from one run's figures (`python -m bench` writes it
too). The verdicts are computed; what the profiles showed is `bench/profiles.md`, written by people, appended."""

import json
import sys
from pathlib import Path
from typing import Any

from bench.cpu_report import BACKENDS, LABELS, WRITES, cpu_table, delivery_table, floor_table, instruction_table

SCENARIOS = ("list", "list service", "show", "history", "propose", "approve", "home")
READS = ("list", "show")


def closed_table(r: dict[str, Any]) -> list[str]:
    ref = r["reference"]["rps"]
    lines = [
        "| closed loop (wrk, 20 connections) | req/s | vs reference | server CPU ms/req | p50 ms | p99 ms "
        '| answered in the ack | "Working on it…" | busy | non-200 |',
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        _row("reference (bare Bolt, ack only)", r["reference"], ref),
    ]
    for size, label in (("small", "near-empty"), ("big", "100k releases, 1M audit")):
        for name in SCENARIOS:
            if name in r.get(size, {}):
                lines.append(_row(f"{LABELS.get(name, name)} ({label})", r[size][name], ref))
    return lines


def _row(label: str, s: dict[str, Any], ref: float) -> str:
    return (
        f"| {label} | {s['rps']:.0f} | {s['rps'] / ref:.0%} | {s['cpu_ms']:.2f} | {s['p50_ms']:.1f} "
        f"| {s['p99_ms']:.1f} | {s['answered']} | {s['working']} | {s['busy']} | {s['non_200']} |"
    )


def flat_table(r: dict[str, Any]) -> list[str]:
    if "big" not in r or "small" not in r:
        return []
    lines = ["", "| read path | p50 100k ÷ near-empty | p99 100k ÷ near-empty |", "|---|---:|---:|"]
    for name in ("list", "list service", "show", "history", "home"):
        small, big = r["small"][name], r["big"][name]
        p50, p99 = big["p50_ms"] / small["p50_ms"], big["p99_ms"] / small["p99_ms"]
        lines.append(f"| {LABELS.get(name, name)} | {p50:.2f}× | {p99:.2f}× |")
    return lines


def open_table(r: dict[str, Any]) -> list[str]:
    if "open" not in r:
        return []
    o, f = r["open"], r["flood"]
    lines = [
        "",
        "| open loop, 100k releases | rate /s | sent | answered (late) | told to retry | 5xx | ack p99 ms "
        "| answer p50 ms | answer p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cap = r["mix capacity"]
    for label, s, rate in (
        (f"steady: mixed reads and writes at {o['sent_rate']:.0f}/s", o, o["sent_rate"]),
        (f"flood: 3 × the mix's capacity ({cap['answered_rps']:.0f}/s closed loop)", f, f["rate"]),
    ):
        lines.append(
            f"| {label} | {rate:.0f} | {s['sent']} | {s['answered']} ({s['answered_late']}) | {s['told_busy']} "
            f"| {s['status_5xx']} | {s['ack_p99_ms']:.1f} | {s['answer_p50_ms']:.1f} | {s['answer_p99_ms']:.1f} |"
        )
    kinds = ", ".join(f"{kind} {v['p50_ms']:.0f}/{v['p99_ms']:.0f}" for kind, v in sorted(o["by_kind"].items()))
    c = f["checks"]
    same = "the same number" if c["slack_calls_match_outbox"] else "**NOT** the same number"
    lines += [
        "",
        f"Steady answer p50/p99 ms by command: {kinds}. Sent {o['sent_behind_schedule']} requests late "
        f"(the generator's own lag).",
        "",
        f"Flood: RSS {f['rss_before_mb']:.0f} MB before, {f['rss_after_mb']:.0f} MB after "
        f"(+{f['rss_after_mb'] - f['rss_before_mb']:.0f} MB; peak {f['rss_peak_mb']:.0f} MB). "
        f"Proposals: {c['proposals_accepted']} accepted, {c['proposals_refused']} told to retry, "
        f"{c['proposals_stored']} stored; lost {c['proposals_lost']}, stored though refused "
        f"{c['proposals_stored_though_refused']}, doubled {c['proposals_doubled']}; release cards missing "
        f"{c['cards_missing']}, doubled {c['cards_doubled']}. Approvals: {c['approvals_accepted']} accepted, "
        f"{c['approvals_refused']} refused, lost {c['approvals_lost']}, recorded though refused "
        f"{c['approvals_recorded_though_refused']}, doubled {c['approvals_doubled']}. Outbox after the flood: "
        f"{c['outbox_sent']} sent, {c['outbox_pending']} pending, {c['outbox_dead']} dead; Slack received "
        f"{c['slack_calls']} posts and updates ({same}).",
    ]
    return lines


def reminders_table(r: dict[str, Any]) -> list[str]:
    if "reminders" not in r:
        return []
    lines = [
        "",
        "| reminder engine | due jobs | processes (jobs each) | wall s | claims/s | exactly once |",
        "|---|---:|---|---:|---:|---|",
    ]
    for name, run in r["reminders"].items():
        each = ", ".join(str(n) for n in run["per_process"])
        lines.append(
            f"| {name} | {run['jobs']} | {run['processes']} ({each}) | {run['wall_s']:.2f} "
            f"| {run['claims_per_s']:.0f} | {'yes' if run['exactly_once'] else '**NO**'} |"
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
    names = ["workspace 30d", "service 30d", "workspace 90d", "service 365d", "App Home summary 30d"]
    rows = [(f"data path: {name}", m[name]) for name in names if name in m]
    rows += [(f"{name}, drawn alone", m[name]) for name in ("chart 30d (5 bars)", "chart 365d (53 bars)") if name in m]
    if "end to end" in m:
        rows.append(("end to end, one at a time: the answer with the chart uploaded", m["end to end"]))
    for label, s in rows:
        lines.append(f"| {label} | {s['runs']} | {s['p50']:.1f} | {s['p99']:.1f} | {s['max']:.1f} |")
    return lines


def gates_table(r: dict[str, Any]) -> list[str]:
    """Many pipelines waiting on `POST /api/v1/gate` at once, released by one approval."""
    if "gates" not in r:
        return []
    g = r["gates"]
    return [
        "",
        f"{g['waiters']:,} gate checks waiting at once (`wait_seconds`): {g['rss_extra_mb']:.1f} MB extra RSS "
        f"({g['rss_idle_mb']:.0f} → {g['rss_waiting_mb']:.0f} MB); {g['allowed']:,} allowed after the second approval, "
        f"released p50 {g['released_p50_s']} s, max {g['released_max_s']} s after the approving command was sent "
        f"(answers by status: {g['statuses']}).",
    ]


def backend_section(backend: str, r: dict[str, Any]) -> str:
    lines = [f"### {backend}", ""]
    if "reference" in r:
        lines += closed_table(r) + flat_table(r)
        lines += [
            "",
            f"Start to listening: {r['start_s']:.2f} s (near-empty), {r.get('start_big_s', float('nan')):.2f} s "
            f"(100k). Idle RSS {r['idle_rss_mb']:.0f} MB, after the closed loops {r['rss_after_load_mb']:.0f} MB. "
            f"Seeding 100k + 1M rows: {r.get('seed_s', float('nan')):.0f} s.",
        ]
    lines += open_table(r) + reminders_table(r) + metrics_table(r) + gates_table(r)
    return "\n".join(lines)


def verdicts(results: dict[str, Any]) -> list[str]:
    lines = ["| target | " + " | ".join(b for b in BACKENDS if b in results) + " | verdict |", "|---|---|---|---|"]
    rows: list[tuple[str, list[tuple[str, bool]]]] = []
    present = [results[b] for b in BACKENDS if b in results]

    def ratio(r: dict[str, Any], names: tuple[str, ...]) -> tuple[str, bool]:
        if "reference" not in r:
            return ("not run", False)
        ref = r["reference"]["rps"]
        values = [r[size][n]["rps"] / ref for size in ("small", "big") if size in r for n in names]
        return (f"{min(values):.0%}–{max(values):.0%}", min(values) >= (0.6 if names == READS else 0.35))

    rows.append(("reads (`list`, `show`) ≥ 60 % of the reference's req/s", [ratio(r, READS) for r in present]))
    rows.append(("writes (`propose`, `approve`) ≥ 35 %", [ratio(r, WRITES) for r in present]))

    def steady(r: dict[str, Any]) -> tuple[str, bool]:
        if "open" not in r:
            return ("not run", False)
        p99 = r["open"]["answer_p99_ms"]
        return (f"{p99:.0f} ms at {r['open']['sent_rate']:.0f}/s", p99 <= 50)

    rows.append(("answer p99 ≤ 50 ms at 100 commands/s open loop (100k, 1M)", [steady(r) for r in present]))

    def flood(r: dict[str, Any]) -> tuple[str, bool]:
        if "flood" not in r:
            return ("not run", False)
        f, c = r["flood"], r["flood"]["checks"]
        growth = f["rss_after_mb"] - f["rss_before_mb"]
        bad = sum(c[k] for k in c if k.endswith(("_lost", "_doubled", "_though_refused", "_missing")))
        bad += c["outbox_pending"] + c["outbox_dead"] + (0 if c["slack_calls_match_outbox"] else 1)
        ok = growth <= 50 and f["status_5xx"] == 0 and bad == 0 and f["ack_p99_ms"] <= 1000
        text = f"+{growth:.0f} MB, {f['status_5xx']} 5xx, {bad} lost/doubled, ack p99 {f['ack_p99_ms']:.0f} ms"
        return (text, ok)

    rows.append(("flood: RSS ≤ +50 MB, no 5xx, nothing lost or doubled, ack p99 ≤ 1 s", [flood(r) for r in present]))

    def home(r: dict[str, Any]) -> tuple[str, bool]:
        if "big" not in r:
            return ("not run", False)
        cpu = r["big"]["home"]["cpu_ms"]
        return (f"{cpu:.1f} ms CPU per open", cpu < 5)

    rows.append(("App Home < 5 ms of CPU per open at 100k", [home(r) for r in present]))

    def flat(r: dict[str, Any]) -> tuple[str, bool]:
        if "big" not in r or "small" not in r:
            return ("not run", False)
        worst = max(
            r["big"][n]["p50_ms"] / r["small"][n]["p50_ms"] for n in ("list", "list service", "show", "history")
        )
        return (f"≤ {worst:.2f}× p50", worst <= 1.5)

    rows.append(("100k read paths within 1.5× of near-empty", [flat(r) for r in present]))

    def claims(r: dict[str, Any]) -> tuple[str, bool]:
        if "reminders" not in r:
            return ("not run", False)
        best = max(run["claims_per_s"] for run in r["reminders"].values())
        once = all(run["exactly_once"] for run in r["reminders"].values())
        return (f"{best:.0f}/s, {'exactly once' if once else 'NOT exactly once'}", best >= 1000 and once)

    rows.append(("reminder claims ≥ 1,000/s (10k due), exactly once", [claims(r) for r in present]))

    def idle(r: dict[str, Any]) -> tuple[str, bool]:
        if "idle_rss_mb" not in r:
            return ("not run", False)
        return (
            f"{r['idle_rss_mb']:.0f} MB idle, start {r['start_s']:.2f} s",
            r["idle_rss_mb"] <= 120 and r["start_s"] <= 1.5,
        )

    rows.append(("idle RSS ≤ 120 MB, start-to-listening ≤ 1.5 s", [idle(r) for r in present]))

    def delivery_metrics(r: dict[str, Any]) -> tuple[str, bool]:
        if "metrics" not in r:
            return ("not run", False)
        worst = max(r["metrics"][n]["p99"] for n in ("workspace 30d", "service 30d") if n in r["metrics"])
        return (f"p99 {worst:.0f} ms (data path, 30 days)", worst <= 200)

    rows.append(("`/release metrics` p99 ≤ 200 ms at 100k releases, 1M events", [delivery_metrics(r) for r in present]))

    def gates(r: dict[str, Any]) -> tuple[str, bool]:
        if "gates" not in r:
            return ("not run", False)
        g = r["gates"]
        released = g["released_max_s"] if g["released_max_s"] is not None else float("inf")
        ok = g["rss_extra_mb"] <= 50 and g["allowed"] == g["waiters"] and released <= 1.0
        return (f"+{g['rss_extra_mb']:.0f} MB, all released within {released:.2f} s", ok)

    rows.append(("1,000 waiting gate checks ≤ +50 MB, released within 1 s", [gates(r) for r in present]))
    for target, cells in rows:
        verdict = (
            "met" if all(ok for _, ok in cells) else "**missed**" if not any(ok for _, ok in cells) else "partly met"
        )
        lines.append(f"| {target} | " + " | ".join(text for text, _ in cells) + f" | {verdict} |")
    return lines


def markdown(results: dict[str, Any]) -> str:
    settings = results.get("settings", {})
    later = "".join(f"; {k.removeprefix('when ')} run {v}" for k, v in results.items() if k.startswith("when "))
    took = f" in {results['took_s'] / 60:.1f} minutes" if "took_s" in results else ""
    parts = [
        "# Benchmark results",
        "",
        "Regenerate everything on this page with one command, on a quiet machine (it takes about 20 minutes on 2 "
        "cores): `python -m bench` (installs the Debian packages `wrk` and `valgrind` if they are missing and it "
        "runs as root). "
        "It writes `bench/results.json` and this file; `python -m bench.report` rebuilds this file from the JSON. "
        "The prose at the end is `bench/profiles.md`.",
        "",
        f"This run{took}: closed loops {settings.get('seconds', '?')} s each, open loop and flood "
        f"{settings.get('open_seconds', '?')} s each, open-loop rate {settings.get('rate', '?')}/s.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in results["machine"].items()) + f"; run {results['when']}{later}.",
        "",
        *([f"**{results['note']}**", ""] if results.get("note") else []),
        HOW,
        "",
        "## Against the targets (issue 20: a third of the CPU)",
        "",
        *cpu_table(results),
        "",
        *delivery_table(results),
        *floor_table(results),
        *instruction_table(results),
        "## Against the targets (issue 12)",
        "",
        *verdicts(results),
        "",
    ]
    for backend in BACKENDS:
        if backend in results:
            parts += [backend_section(backend, results[backend]), ""]
    profiles = Path(__file__).with_name("profiles.md")
    if profiles.exists():
        parts.append(profiles.read_text().strip())
    return "\n".join(parts) + "\n"


HOW = """How it measures:
- The server under test is the real thing in its own process: `python -m bot run --mode http` (migrations on start,
  the outbox dispatcher and the scheduler running, aiohttp's access log on). The reference is `python -m
  bench.reference`: a bare Bolt `AsyncApp` on aiohttp whose `/release` handler only acks, same signing secret.
- Closed loop: wrk, 2 threads, 20 connections, requests signed just before the run (`bench/wrk_script.lua`
  replays them; writes are unique across threads). A Shipmate answer is the ack's body when it is ready within the
  budget (1.5 s), so wrk's latency is the person's; the script counts acks that said "Working on it…" (the
  answer then went to response_url) or "busy". *server CPU ms/req* is the server process's user+system time over
  the run divided by its requests: the cost, independent of how busy the shared machine was, though not of how fast
  its CPU runs at the moment (on this shared host a fixed loop's CPU time moves by up to 1.7× within a minute). So
  the reference stays up for the whole closed loop and runs for 3 s right before and after each scenario; a
  scenario's ratio is to the mean of those two (the reference row pools its runs). For `propose` and
  `approve` the time runs until the outbox they filled is delivered: each write pays for its own Slack messages,
  and the next scenario for none of them.
- `approve` approves the releases the `propose` run just made, each by two approvers in turn, so every second
  approval meets the quorum (a status change).
- After each write's run the reference also runs asked to send, after its ack, as many Slack messages per request
  as the write sent (`deliver <n>`: `chat.postMessage` through slack_sdk on a pooled session, from a task): the
  second table divides by that. Then it runs once more asked for the write's floor (`floor <write> <n>`,
  `bench/floor.py`): before its ack, one transaction of only the statements the write cannot do without, on the
  driver itself (an asyncpg pool, or `sqlite3` on the event loop) in a database of its own; after it, the same
  messages. The third table shows that floor and what the command adds beyond it.
- Open loop (`bench/open_loop.py`, its own process): requests at fixed times whatever the server is doing,
  latency counted from the scheduled time; late answers are received on its own response_url. The mix: 8 reads
  (list, list service, show, history) to 2 writes (propose, approve).
- Flood: the same mix at 3× the capacity the mix reached in a closed loop, for the same time. Afterwards the bench
  reads the database and the fake Slack's counters: each proposal answered "Proposed" is stored once and its card
  posted once, none told to retry is stored, each approval answered is recorded once, the outbox has nothing
  pending or dead, and Slack received exactly as many posts and updates as the outbox marked sent.
- Datasets: near-empty (200 releases, 2,000 audit events) and 100,000 releases in 50 services with 1,000,000 audit
  events (bulk-seeded, `ANALYZE`d), plus 20 App Home users with releases, windows and action items."""


def main() -> None:
    results = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json").read_text())
    Path("bench/RESULTS.md").write_text(markdown(results))
    print("wrote bench/RESULTS.md")


if __name__ == "__main__":
    main()
