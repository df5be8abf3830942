"""Server-rendered SVG charts: no JavaScript, readable at 390px, and not only for the eyes.

Every chart carries a <title> and <desc> inside the SVG, a one-sentence summary
shown under it, and its numbers as a table (templates/charts/chart.html puts the
table in a <details> so screen-reader and keyboard users can read the exact
values). Text is escaped; colours meet WCAG AA contrast on white and the two
lines of the ratings chart differ in dash and marker shape, not only in colour.
"""

import math
from dataclasses import dataclass
from datetime import date
from html import escape

from django.utils.safestring import SafeString, mark_safe

from homework.selectors.progress import RatingSeries, WeekRow

WIDTH = 360
HEIGHT = 210
LEFT = 36
RIGHT = 8
TOP = 30
BOTTOM = 30
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM

INK = "#1f2933"
MUTED = "#4b5563"
GRID = "#d6d3cd"
ACCENT = "#1d5c63"  # 7.4:1 on white
WARM = "#8a3b12"  # 7.9:1 on white


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    summary: str
    columns: list[str]
    rows: list[list[str]]
    svg: SafeString

    @property
    def table_html(self) -> SafeString:
        """The numbers' <thead> and <tbody> rows, built here rather than cell by cell in the
        template: a page shows several charts of a dozen rows each (docs/benchmarks.md)."""
        head = "".join(f'<th scope="col">{escape(column)}</th>' for column in self.columns)
        body = "".join(
            f'<tr><th scope="row">{escape(row[0])}</th>'
            + "".join(f"<td>{escape(cell)}</td>" for cell in row[1:])
            + "</tr>"
            for row in self.rows
        )
        # Safe: every cell went through escape().
        return mark_safe(f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>")


def _attrs(**attributes: object) -> str:
    return " ".join(
        f'{name.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
        for name, value in attributes.items()
    )


def _element(tag: str, **attributes: object) -> str:
    return f"<{tag} {_attrs(**attributes)}/>"


def _text(x: float, y: float, content: str, **attributes: object) -> str:
    base = {"x": f"{x:.1f}", "y": f"{y:.1f}", "fill": INK, "font_size": 10}
    base.update(attributes)
    return f"<text {_attrs(**base)}>{escape(content)}</text>"


def _frame(chart_id: str, title: str, summary: str, body: list[str]) -> SafeString:
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'font-family="system-ui, sans-serif">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(summary)}</desc>'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>' + "".join(body) + "</svg>"
    )
    # Safe: every piece of text above went through escape().
    return mark_safe(svg)


def _label_step(count: int, room: int = 6) -> int:
    """Show every n-th x label so they do not overlap on a phone."""
    return max(1, math.ceil(count / room))


def short_date(day: date) -> str:
    return f"{day.day} {day:%b}"


def _y_axis(ticks: list[float], top_value: float, formatter) -> list[str]:
    parts = []
    for tick in ticks:
        y = TOP + PLOT_H - tick / top_value * PLOT_H
        parts.append(
            _element("line", x1=LEFT, x2=WIDTH - RIGHT, y1=f"{y:.1f}", y2=f"{y:.1f}", stroke=GRID)
        )
        parts.append(_text(LEFT - 4, y + 3.5, formatter(tick), text_anchor="end", fill=MUTED))
    return parts


def bar_chart(
    *,
    chart_id: str,
    title: str,
    summary: str,
    labels: list[str],
    values: list[float | None],
    highlight_last: bool = False,
    max_value: float = 100,
    columns: list[str],
    rows: list[list[str]],
) -> Chart:
    """Vertical bars from 0 to max_value; None is drawn as "no plan" (a dash, no bar)."""
    body = _y_axis([0, max_value / 2, max_value], max_value, lambda v: f"{v:.0f}%")
    count = max(1, len(values))
    slot = PLOT_W / count
    step = _label_step(count)
    for index, value in enumerate(values):
        x = LEFT + index * slot
        centre = x + slot / 2
        if value is None:
            body.append(_text(centre, TOP + PLOT_H - 4, "-", text_anchor="middle", fill=MUTED))
        else:
            height = max(0.0, min(value, max_value)) / max_value * PLOT_H
            current = highlight_last and index == count - 1
            body.append(
                _element(
                    "rect",
                    x=f"{x + slot * 0.15:.1f}",
                    y=f"{TOP + PLOT_H - height:.1f}",
                    width=f"{slot * 0.7:.1f}",
                    height=f"{height:.1f}",
                    fill="#ffffff" if current else ACCENT,
                    stroke=ACCENT,
                    stroke_width=2 if current else 0,
                )
            )
            if slot >= 22:
                body.append(
                    _text(
                        centre,
                        TOP + PLOT_H - height - 3,
                        f"{value:.0f}",
                        text_anchor="middle",
                        font_size=9,
                    )
                )
        if index % step == 0 and index < len(labels):
            body.append(
                _text(
                    centre, HEIGHT - BOTTOM + 14, labels[index], text_anchor="middle", font_size=9
                )
            )
    if highlight_last:
        body.append(
            _text(
                WIDTH - RIGHT,
                12,
                "Outlined bar: this week so far",
                text_anchor="end",
                fill=MUTED,
                font_size=9,
            )
        )
    return Chart(chart_id, title, summary, columns, rows, _frame(chart_id, title, summary, body))


@dataclass(frozen=True)
class Line:
    name: str
    values: list[float | None]
    colour: str
    dashed: bool
    marker: str  # "circle" or "square"


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return _element(
            "rect", x=f"{x - 3.5:.1f}", y=f"{y - 3.5:.1f}", width=7, height=7, fill=colour
        )
    return _element("circle", cx=f"{x:.1f}", cy=f"{y:.1f}", r=3.5, fill=colour)


def line_chart(
    *,
    chart_id: str,
    title: str,
    summary: str,
    labels: list[str],
    lines: list[Line],
    max_value: float = 10,
    columns: list[str],
    rows: list[list[str]],
) -> Chart:
    """Lines over shared x positions; a None breaks the line rather than dropping to zero."""
    body = _y_axis([0, max_value / 2, max_value], max_value, lambda v: f"{v:.0f}")
    count = max(1, len(labels))
    slot = PLOT_W / count
    step = _label_step(count)
    for index, label in enumerate(labels):
        if index % step == 0:
            body.append(
                _text(
                    LEFT + index * slot + slot / 2,
                    HEIGHT - BOTTOM + 14,
                    label,
                    text_anchor="middle",
                    font_size=9,
                )
            )
    legend_x = LEFT
    for line in lines:
        dash = {"stroke_dasharray": "5 3"} if line.dashed else {}
        body.append(
            _element(
                "line",
                x1=legend_x,
                x2=legend_x + 18,
                y1=12,
                y2=12,
                stroke=line.colour,
                stroke_width=2,
                **dash,
            )
        )
        body.append(_marker(line.marker, legend_x + 9, 12, line.colour))
        body.append(_text(legend_x + 22, 15.5, line.name, font_size=10))
        legend_x += 30 + 6 * len(line.name)
        path = []
        pen_down = False
        points = []
        for index, value in enumerate(line.values):
            if value is None:
                pen_down = False
                continue
            x = LEFT + index * slot + slot / 2
            y = TOP + PLOT_H - max(0.0, min(value, max_value)) / max_value * PLOT_H
            path.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
            pen_down = True
            points.append((x, y))
        if path:
            body.append(
                _element(
                    "path",
                    d=" ".join(path),
                    fill="none",
                    stroke=line.colour,
                    stroke_width=2,
                    **dash,
                )
            )
        body.extend(_marker(line.marker, x, y, line.colour) for x, y in points)
    return Chart(chart_id, title, summary, columns, rows, _frame(chart_id, title, summary, body))


# --- The charts the pages show ---


def _percent(value: float | None) -> str:
    return "no plan" if value is None else f"{round(value * 100)}%"


def _number(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def adherence_chart(weeks: list[WeekRow], *, chart_id: str = "adherence") -> Chart:
    """Bars of done / planned per week, the current week outlined as "so far"."""
    planned = sum(w.adherence.planned for w in weeks)
    done = sum(w.adherence.done for w in weeks)
    overall = None if planned <= 0 else min(1.0, done / planned)
    if overall is None:
        summary = f"No practice was planned in the last {len(weeks)} weeks."
    else:
        summary = (
            f"Over the last {len(weeks)} weeks, {_percent(overall)} of the planned practice "
            f"was done ({_number(done)} of {_number(planned)})."
        )
    rows = [
        [
            f"Week of {short_date(w.monday)}" + (" (so far)" if w.is_current else ""),
            _number(w.adherence.planned),
            _number(w.adherence.done),
            _percent(w.adherence.ratio),
            str(w.practice_days),
            str(w.minutes),
        ]
        for w in weeks
    ]
    return bar_chart(
        chart_id=chart_id,
        title="Practice done as planned, by week",
        summary=summary,
        labels=[short_date(w.monday) for w in weeks],
        values=[None if w.adherence.ratio is None else w.adherence.ratio * 100 for w in weeks],
        highlight_last=bool(weeks) and weeks[-1].is_current,
        columns=["Week", "Planned", "Done", "Adherence", "Practice days", "Minutes"],
        rows=rows,
    )


def ratings_chart(series: RatingSeries, *, chart_id: str | None = None) -> Chart:
    """Weekly average of a rating before and after practice (0-10)."""
    befores = [w.before for w in series.weeks if w.before is not None]
    afters = [w.after for w in series.weeks if w.after is not None]
    logs = sum(w.logs for w in series.weeks)
    if befores and afters:
        summary = (
            f"{series.label} averaged {_number(sum(befores) / len(befores))} before practice "
            f"and {_number(sum(afters) / len(afters))} after, on a 0 to 10 scale, "
            f"over {logs} logs in the last {len(series.weeks)} weeks."
        )
    else:
        summary = f"{series.label} was rated in {logs} logs in the last {len(series.weeks)} weeks."

    def cell(value: float | None) -> str:
        return "no rating" if value is None else _number(value)

    return line_chart(
        chart_id=chart_id or f"ratings-{series.key}",
        title=f"{series.label} before and after practice, weekly average",
        summary=summary,
        labels=[short_date(w.monday) for w in series.weeks],
        lines=[
            Line("Before", [w.before for w in series.weeks], WARM, dashed=True, marker="square"),
            Line("After", [w.after for w in series.weeks], ACCENT, dashed=False, marker="circle"),
        ],
        columns=["Week", "Before", "After", "Logs"],
        rows=[
            [f"Week of {short_date(w.monday)}", cell(w.before), cell(w.after), str(w.logs)]
            for w in series.weeks
        ],
    )
