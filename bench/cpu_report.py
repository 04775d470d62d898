"""Issue 20's tables in RESULTS.md: server CPU per request as a multiple of the bare-Bolt reference's measured beside
it, with the targets' verdicts and the run it replaces; the writes beside the reference that sends the same Slack
messages, and beside the floor of their transaction (`bench/floor.py`); and the same commands counted in
instructions (`bench/instructions.py`)."""

from typing import Any

BACKENDS = ("sqlite", "postgresql")
WRITES = ("propose", "approve")
LABELS = {"home": "App Home (`app_home_opened`)"}


def span(values: list[float]) -> str:
    return f"{min(values):.1f}×–{max(values):.1f}×" if values else "—"


# Issue 20: server CPU per request, as a multiple of the bare-Bolt reference's in the same run.
CPU_TARGETS = {"list": 4.0, "show": 4.0, "propose": 8.0, "approve": 10.0, "home": 10.0}


def cpu_ratios(results: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    """Backend → scenario → [near-empty, 100k] ratios of server CPU per request to the reference's."""
    ratios: dict[str, dict[str, list[float]]] = {}
    for backend in BACKENDS:
        r = results.get(backend, {})
        if "reference" not in r:
            continue
        ref = r["reference"]["cpu_ms"]  # older runs measured the reference once, before every scenario
        ratios[backend] = {
            name: [
                r[size][name]["cpu_ms"] / r[size][name].get("reference_cpu_ms", ref)
                for size in ("small", "big")
                if name in r.get(size, {})
            ]
            for name in CPU_TARGETS
        }
    return ratios


def cpu_table(results: dict[str, Any]) -> list[str]:
    """This run's ratios beside the last run's (kept in the results when a run replaces them), with verdicts."""
    now, last = cpu_ratios(results), results.get("last_run", {}).get("cpu_ratios", {})
    backends = [b for b in BACKENDS if b in now]
    if not backends:
        return []
    when = results.get("last_run", {}).get("when", "?")
    header = " | ".join(f"{b} | {b}, last run" for b in backends)
    lines = [
        "Server CPU per request ÷ the reference's, measured right before and after it in the same run (near-empty–"
        f"100k); last run: {when}.",
        "",
        f"| command | target | {header} | verdict |",
        "|---|---:|" + "---:|" * (2 * len(backends)) + "---|",
    ]

    for name, target in CPU_TARGETS.items():
        cells = " | ".join(f"{span(now[b][name])} | {span(last.get(b, {}).get(name, []))}" for b in backends)
        met = [max(now[b][name]) <= target for b in backends if now[b][name]]
        verdict = "met" if met and all(met) else "**missed**" if not any(met) else "partly met"
        lines.append(f"| {LABELS.get(name, f'`{name}`')} | ≤ {target:g}× | {cells} | {verdict} |")
    return lines


def delivery_table(results: dict[str, Any]) -> list[str]:
    """The writes beside a reference that also sends as many Slack messages per request (not issue 20's measure)."""
    rows = []
    for name in WRITES:
        cells, sent = [], []
        for backend in BACKENDS:
            beside = _write_runs(results, backend, name, "reference_delivering_cpu_ms")
            sent += [r["slack_calls_per_request"] for r in beside]
            yardstick = [r["reference_delivering_cpu_ms"] / r["reference_cpu_ms"] for r in beside]
            beyond = [r["cpu_ms"] / r["reference_delivering_cpu_ms"] for r in beside]
            cells.append(f"{span(yardstick)} | {span(beyond)}")
        if sent:
            rows.append(f"| {LABELS.get(name, f'`{name}`')} | {min(sent):.2f}–{max(sent):.2f} | {' | '.join(cells)} |")
    return _write_table(
        "Beside a reference that also sends, after its ack, as many Slack messages per request as the write did "
        "(each a `chat.postMessage` of about 600 bytes through slack_sdk, measured right after the write): what the "
        "messages a write owes cost by themselves, and what the write costs beyond them. Not the measure of the "
        "targets above.",
        ("Slack messages per request", "reference with them ÷ reference", "command ÷ reference with them"),
        rows,
    )


def floor_table(results: dict[str, Any]) -> list[str]:
    """The writes beside the floor of their transaction (`bench/floor.py`): what any implementation owes its
    database and Slack, and what the command adds beyond it, each in references (not issue 20's measure)."""
    rows = []
    for name in WRITES:
        cells = []
        for backend in BACKENDS:
            beside = _write_runs(results, backend, name, "floor_cpu_ms")
            floor = [r["floor_cpu_ms"] / r["reference_cpu_ms"] for r in beside]
            beyond = [(r["cpu_ms"] - r["floor_cpu_ms"]) / r["reference_cpu_ms"] for r in beside]
            cells.append(f"{span(floor)} | {span(beyond)}")
        if any(cell != "— | —" for cell in cells):
            rows.append(f"| {LABELS.get(name, f'`{name}`')} | ≤ {CPU_TARGETS[name]:g}× | {' | '.join(cells)} |")
    return _write_table(
        "Beside the floor of each write: the reference running, before its ack, only the statements the write cannot "
        "do without, on the driver itself, and then sending the same Slack messages (`bench/floor.py`). The floor is "
        "what any implementation in this stack pays; the line leaves the rest (the target less the floor) for "
        "everything else a write does. Not the measure of the targets above.",
        ("target", "floor ÷ reference", "command beyond the floor ÷ reference"),
        rows,
    )


def _write_runs(results: dict[str, Any], backend: str, name: str, measured: str) -> list[dict[str, Any]]:
    """A write's runs on `backend` (near-empty, 100k) that have `measured` beside them."""
    runs = [results.get(backend, {}).get(size, {}).get(name, {}) for size in ("small", "big")]
    return [run for run in runs if measured in run]


def _write_table(intro: str, columns: tuple[str, str, str], rows: list[str]) -> list[str]:
    """A table of the writes: the command, one column of its own, then two per backend."""
    if not rows:
        return []
    header = " | ".join(f"{b}: {columns[1]} | {b}: {columns[2]}" for b in BACKENDS)
    return [
        intro,
        "",
        f"| command | {columns[0]} | {header} |",
        "|---|---:|" + "---:|" * (2 * len(BACKENDS)),
        *rows,
        "",
    ]


def instruction_lines(out: dict[str, Any]) -> list[str]:
    """`python -m bench.instructions`'s summary of one backend: instructions a request and the ratios."""
    base = out["reference"]["instructions"]
    lines = [f"  reference: {base / 1e6:.2f} M instructions a request"]
    for kind, result in out.items():
        if kind == "reference":
            continue
        line = f"  {kind}: {result['instructions'] / 1e6:.2f} M, {result['instructions'] / base:.1f}× the reference"
        if "reference_delivering" in result:
            beside = result["reference_delivering"]["instructions"]
            line += f"; {result['instructions'] / beside:.1f}× the reference sending its messages"
        lines.append(line)
    return lines


def instruction_table(results: dict[str, Any]) -> list[str]:
    """The same commands counted in instructions under callgrind (`bench/instructions.py`, near-empty database):
    a measure the host's speed does not move, beside the CPU-time table that is the targets' measure."""
    counted = {b: results[b]["instructions"] for b in BACKENDS if "instructions" in results.get(b, {})}
    if not counted:
        return []
    header = " | ".join(f"{b}: M a request | {b}: ÷ reference | {b}: ÷ reference with its messages" for b in counted)
    lines = [
        "Instructions per request under callgrind (`python -m bench.instructions`, the near-empty database, the "
        "server and the reference each counted over the same requests): what the code executes, the same on any "
        "host; the kernel's work (system calls, the disk, the network) is not in it. Not the measure of the targets "
        "above; the target is shown for comparison.",
        "",
        f"| command | target | {header} |",
        "|---|---:|" + "---:|" * (3 * len(counted)),
        "| reference | | "
        + " | ".join(f"{c['reference']['instructions'] / 1e6:.2f} | 1× | —" for c in counted.values())
        + " |",
    ]
    for name, target in CPU_TARGETS.items():
        cells = []
        for c in counted.values():
            if name not in c:
                cells.append("— | — | —")
                continue
            count, base = c[name]["instructions"], c["reference"]["instructions"]
            beside = c[name].get("reference_delivering", {}).get("instructions")
            off_path = sum(n for answer, n in c[name].get("answers", {}).items() if answer != "answered")
            flag = f" ({off_path} not answered in the ack)" if off_path else ""
            cells.append(
                f"{count / 1e6:.2f}{flag} | {count / base:.1f}× | {f'{count / beside:.1f}×' if beside else ''}"
            )
        lines.append(f"| {LABELS.get(name, f'`{name}`')} | ≤ {target:g}× | {' | '.join(cells)} |")
    return [*lines, ""]
