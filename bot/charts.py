"""Charts as PNG bytes, drawn with matplotlib's Agg canvas (no display, no pyplot state shared between threads).
Drawing is CPU work: call these from a worker thread (`asyncio.to_thread`), never on the event loop."""

import math
from collections.abc import Sequence
from io import BytesIO

from bot.domain.delivery_report import Week

GOOD = "#2a9d8f"
FAILED = "#e63946"
LINE = "#1d3557"


def delivery_chart(title: str, weeks: Sequence[Week]) -> bytes:
    """Weekly production deployments as bars, the failed ones stacked on top in red, and the median lead time as a
    line on its own axis."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # imported here: it costs startup time
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    bars = figure.add_subplot()
    x = list(range(len(weeks)))
    failed = [week.facts.failures for week in weeks]
    good = [week.facts.deployments - week.facts.failures for week in weeks]
    bars.bar(x, good, color=GOOD, label="deployments")
    bars.bar(x, failed, bottom=good, color=FAILED, hatch="//", label="rolled back or failed verification")
    bars.set_ylabel("deployments a week")
    bars.yaxis.set_major_locator(MaxNLocator(integer=True))
    bars.set_ylim(0, max([1, *(g + f for g, f in zip(good, failed, strict=True))]) * 1.15)
    step = max(1, math.ceil(len(weeks) / 12))
    bars.set_xticks(x[::step], [week.label for week in weeks][::step], fontsize=8)

    leads = [week.facts.lead_median for week in weeks]
    known = [lead for lead in leads if lead is not None]
    in_days = bool(known) and max(known) >= 72 * 3600
    unit, divisor = ("days", 86400) if in_days else ("hours", 3600)
    line = bars.twinx()
    line.plot(x, [math.nan if lead is None else lead / divisor for lead in leads], color=LINE, marker="o",
              label=f"median lead time ({unit})")  # fmt: skip
    line.set_ylabel(f"median lead time ({unit})")
    line.set_ylim(bottom=0)
    handles = bars.get_legend_handles_labels()[0] + line.get_legend_handles_labels()[0]
    figure.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    bars.set_title(title, fontsize=11)
    out = BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
