"""The group's practice by course week: an accessible SVG bar chart with its table,
drawn by homework's chart helpers."""

from homework.charts import Chart, bar_chart
from programs.selectors import GroupOverview


def _number(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def group_weeks_chart(overview: GroupOverview, *, chart_id: str = "group-weeks") -> Chart:
    weeks = overview.by_week
    planned = sum(a.planned for _, a in weeks)
    done = sum(a.done for _, a in weeks)
    if planned <= 0:
        summary = "No course week has started for this group yet."
    else:
        share = round(min(1.0, done / planned) * 100)
        summary = (
            f"Across {len(weeks)} course weeks so far, the group did {share}% "
            f"of the planned practice ({_number(done)} of {_number(planned)})."
        )
    return bar_chart(
        chart_id=chart_id,
        title="The group's practice by course week",
        summary=summary,
        labels=[f"W{number}" for number, _ in weeks],
        values=[None if a.ratio is None else a.ratio * 100 for _, a in weeks],
        columns=["Course week", "Planned", "Done", "Done as planned"],
        rows=[
            [
                f"Week {number}",
                _number(a.planned),
                _number(a.done),
                "no plan" if a.percent is None else f"{a.percent}%",
            ]
            for number, a in weeks
        ],
    )
