"""The measure trend chart: a questionnaire's total by week over minutes of practice.

Built from homework.charts' pieces so it looks, reads and is tested like the other
charts (SVG title and desc, a one-sentence summary, the numbers as a table). Two
scales share one week axis: bars of minutes on the left axis, the total as a
connected line on the right axis (the instrument's own range). Totals are joined
across weeks without an answer, since a questionnaire every few weeks would
otherwise show only dots; the table says which weeks had answers.
"""

import math

from accounts.models import User
from homework.charts import (
    GRID,
    HEIGHT,
    INK,
    MUTED,
    TOP,
    WARM,
    WIDTH,
    Chart,
    _element,
    _frame,
    _label_step,
    _marker,
    _number,
    _text,
    short_date,
)
from measures.selectors import ScoredResponse, Trend, measure_trends

LEFT = 36
RIGHT = 30
BOTTOM = 30
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM
BAR = "#6b7785"  # 4.6:1 on white


def _nice_ceiling(value: int) -> int:
    """A round top for the minutes axis: 30, 60, 120, 180, ..."""
    if value <= 30:
        return 30
    step = 30 if value <= 180 else 60 if value <= 600 else 300
    return int(math.ceil(value / step) * step)


def measure_trend_chart(trend: Trend, *, chart_id: str = "measure-trend") -> Chart:
    instrument = trend.instrument
    # A summed total (PHQ-9: 0-27) is drawn on its own range, not the answers' 0-3.
    low, high = instrument.total_range or (instrument.scale_min, instrument.scale_max)
    weeks = trend.weeks
    count = max(1, len(weeks))
    slot = PLOT_W / count
    step = _label_step(count)
    top_minutes = _nice_ceiling(max((w.minutes for w in weeks), default=0))

    def y_minutes(value: float) -> float:
        return TOP + PLOT_H - value / top_minutes * PLOT_H

    def y_score(value: float) -> float:
        return TOP + PLOT_H - (value - low) / (high - low) * PLOT_H

    body: list[str] = []
    for fraction in (0, 0.5, 1):
        y = TOP + PLOT_H - fraction * PLOT_H
        body.append(
            _element("line", x1=LEFT, x2=WIDTH - RIGHT, y1=f"{y:.1f}", y2=f"{y:.1f}", stroke=GRID)
        )
        body.append(
            _text(LEFT - 4, y + 3.5, f"{top_minutes * fraction:.0f}", text_anchor="end", fill=MUTED)
        )
        body.append(
            _text(
                WIDTH - RIGHT + 4,
                y + 3.5,
                _number(low + (high - low) * fraction),
                text_anchor="start",
                fill=WARM,
            )
        )
    # Band boundaries as dashed lines with their names, so a trend reads against them.
    for band in instrument.bands:
        if low < band.low <= high:
            y = y_score(band.low)
            body.append(
                _element(
                    "line",
                    x1=LEFT,
                    x2=WIDTH - RIGHT,
                    y1=f"{y:.1f}",
                    y2=f"{y:.1f}",
                    stroke=WARM,
                    stroke_dasharray="3 3",
                    stroke_opacity="0.5",
                )
            )
            body.append(_text(WIDTH - RIGHT - 2, y - 2, band.label, text_anchor="end", font_size=8))
    # Legend: what each mark means, not only by colour (bars vs. line with squares).
    body.append(_element("rect", x=LEFT, y=6, width=10, height=10, fill=BAR))
    body.append(_text(LEFT + 14, 15, "Minutes practised (left)", font_size=9))
    body.append(
        _element("line", x1=LEFT + 130, x2=LEFT + 148, y1=11, y2=11, stroke=WARM, stroke_width=2)
    )
    body.append(_marker("square", LEFT + 139, 11, WARM))
    body.append(
        _text(LEFT + 152, 15, f"{instrument.code} total (right, {low}-{high})", font_size=9)
    )

    points = []
    for index, week in enumerate(weeks):
        x = LEFT + index * slot
        centre = x + slot / 2
        if week.minutes:
            height = min(week.minutes, top_minutes) / top_minutes * PLOT_H
            body.append(
                _element(
                    "rect",
                    x=f"{x + slot * 0.2:.1f}",
                    y=f"{y_minutes(min(week.minutes, top_minutes)):.1f}",
                    width=f"{slot * 0.6:.1f}",
                    height=f"{height:.1f}",
                    fill=BAR,
                )
            )
        if week.total is not None:
            points.append((centre, y_score(max(low, min(high, week.total)))))
        if index % step == 0:
            body.append(
                _text(
                    centre,
                    HEIGHT - BOTTOM + 14,
                    short_date(week.monday),
                    text_anchor="middle",
                    font_size=9,
                    fill=INK,
                )
            )
    if points:
        path = " ".join(f"{'L' if i else 'M'}{x:.1f} {y:.1f}" for i, (x, y) in enumerate(points))
        # A white halo keeps the line readable where it crosses a bar.
        body.append(_element("path", d=path, fill="none", stroke="#ffffff", stroke_width=5))
        body.append(_element("path", d=path, fill="none", stroke=WARM, stroke_width=2))
        body.extend(_marker("square", x, y, WARM) for x, y in points)

    history = [item for item in trend.history if item.scores.total is not None]
    minutes = sum(w.minutes for w in weeks)
    span = f"{len(weeks)} week{'s' if len(weeks) != 1 else ''}"
    practice = f"{minutes} minute{'s' if minutes != 1 else ''} of practice over the {span} shown"
    scale = f"on a {low} to {high} scale"
    if len(history) >= 2:
        first, last = history[0], history[-1]
        summary = (
            f"The {instrument.code} total was {_number(round(first.scores.total.value, 1))} on "
            f"{short_date(first.response.local_date)} and "
            f"{_number(round(last.scores.total.value, 1))} on "
            f"{short_date(last.response.local_date)} ({scale}, {len(history)} answers); "
            f"{practice}."
        )
    elif history:
        only = history[0]
        summary = (
            f"One {instrument.code} answer so far: total "
            f"{_number(round(only.scores.total.value, 1))} on "
            f"{short_date(only.response.local_date)} ({scale}); {practice}."
        )
    else:
        summary = f"No {instrument.code} answers yet; {practice}."
    rows = [
        [
            f"Week of {short_date(w.monday)}" + (" (so far)" if w.is_current else ""),
            str(w.minutes),
            "no answer" if w.total is None else _number(round(w.total, 2)),
            str(w.responses),
        ]
        for w in weeks
    ]
    title = f"{instrument.code} total and minutes of practice, by week"
    return Chart(
        chart_id,
        title,
        summary,
        ["Week", "Minutes practised", f"{instrument.code} total", "Answers"],
        rows,
        _frame(chart_id, title, summary, body),
    )


def trend_chart_id(trend: Trend) -> str:
    return f"measure-trend-{trend.instrument.code.lower()}"


def measure_trend_charts(
    *, client: User, history: list[ScoredResponse] | None = None
) -> list[Chart]:
    """One trend chart per instrument with a total the client has answered; at most two
    queries. A scale of subscales only has no single line to draw."""
    return [
        measure_trend_chart(trend, chart_id=trend_chart_id(trend))
        for trend in measure_trends(client=client, history=history)
        if trend.instrument.total_rule is not None
    ]
