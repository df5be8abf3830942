"""homework.charts: SVG with a title, a description, a summary and a table of the same numbers."""

import re
from datetime import date, timedelta
from xml.etree import ElementTree

from django.template.loader import render_to_string

from homework import charts
from homework.schedule import Adherence
from homework.selectors.progress import RatingSeries, RatingWeek, WeekRow

MONDAY = date(2026, 3, 2)
SVG = "{http://www.w3.org/2000/svg}"


def weeks(*pairs: tuple[float, float]) -> list[WeekRow]:
    return [
        WeekRow(
            monday=MONDAY + timedelta(weeks=i),
            adherence=Adherence(planned, done),
            practice_days=int(done),
            minutes=int(done) * 5,
            is_current=i == len(pairs) - 1,
        )
        for i, (planned, done) in enumerate(pairs)
    ]


def parse(chart: charts.Chart) -> ElementTree.Element:
    return ElementTree.fromstring(str(chart.svg))  # noqa: S314 - our own SVG, not untrusted


def test_it_draws_an_accessible_svg_with_title_and_description():
    chart = charts.adherence_chart(weeks((7, 7), (7, 3), (3, 1)))
    root = parse(chart)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "adherence-title adherence-desc"
    assert root.find(f"{SVG}title").text == "Practice done as planned, by week"
    assert root.find(f"{SVG}desc").text == chart.summary
    assert root.get("viewBox") == "0 0 360 210"  # scales down to a 390px phone


def test_it_draws_one_bar_per_week_with_a_plan_and_heights_in_proportion():
    chart = charts.adherence_chart(weeks((7, 7), (0, 0), (4, 1)))
    bars = [
        rect
        for rect in parse(chart).iter(f"{SVG}rect")
        if rect.get("fill") in (charts.ACCENT, "#ffffff") and rect.get("width") != "360"
    ]
    assert len(bars) == 2  # the week with nothing planned has no bar
    full, quarter = (float(bar.get("height")) for bar in bars)
    assert full == charts.PLOT_H
    assert abs(quarter - charts.PLOT_H / 4) < 0.1


def test_it_puts_the_same_numbers_in_the_table_and_the_summary():
    chart = charts.adherence_chart(weeks((7, 7), (7, 3.5), (3, 1)))
    assert chart.columns == ["Week", "Planned", "Done", "Adherence", "Practice days", "Minutes"]
    assert chart.rows == [
        ["Week of 2 Mar", "7", "7", "100%", "7", "35"],
        ["Week of 9 Mar", "7", "3.5", "50%", "3", "15"],
        ["Week of 16 Mar (so far)", "3", "1", "33%", "1", "5"],
    ]
    assert chart.summary == (
        "Over the last 3 weeks, 68% of the planned practice was done (11.5 of 17)."
    )


def test_it_says_so_when_nothing_was_planned():
    chart = charts.adherence_chart(weeks((0, 0), (0, 0)))
    assert chart.summary == "No practice was planned in the last 2 weeks."
    assert [row[3] for row in chart.rows] == ["no plan", "no plan"]


def test_it_draws_before_and_after_lines_that_break_at_missing_weeks():
    series = RatingSeries(
        key="distress",
        label="Distress",
        weeks=[
            RatingWeek(MONDAY, 8.0, 5.0, 2),
            RatingWeek(MONDAY + timedelta(weeks=1), None, None, 0),
            RatingWeek(MONDAY + timedelta(weeks=2), 6.0, 2.5, 3),
        ],
    )
    chart = charts.ratings_chart(series)
    root = parse(chart)
    paths = [path.get("d") for path in root.iter(f"{SVG}path")]
    assert len(paths) == 2
    assert all(d.count("M") == 2 and "L" not in d for d in paths)  # no line across the gap
    assert chart.rows == [
        ["Week of 2 Mar", "8", "5", "2"],
        ["Week of 9 Mar", "no rating", "no rating", "0"],
        ["Week of 16 Mar", "6", "2.5", "3"],
    ]
    assert chart.summary.startswith("Distress averaged 7 before practice and 3.8 after")
    assert root.find(f"{SVG}title").text == "Distress before and after practice, weekly average"


def test_it_tells_the_lines_apart_by_dash_and_marker_not_only_colour():
    series = RatingSeries(key="distress", label="Distress", weeks=[RatingWeek(MONDAY, 8.0, 5.0, 1)])
    root = parse(charts.ratings_chart(series))
    dashed = [p for p in root.iter(f"{SVG}path") if p.get("stroke-dasharray")]
    assert len(dashed) == 1
    assert root.findall(f"{SVG}circle") and [
        r for r in root.iter(f"{SVG}rect") if r.get("width") == "7"
    ]


def test_it_escapes_text_in_the_svg():
    chart = charts.bar_chart(
        chart_id="x",
        title='Tom & "Jerry" <script>',
        summary="a < b",
        labels=["<b>"],
        values=[50],
        columns=["a"],
        rows=[],
    )
    assert "<script>" not in str(chart.svg)
    assert parse(chart).find(f"{SVG}title").text == 'Tom & "Jerry" <script>'


def test_it_renders_the_chart_with_its_summary_and_a_table_for_screen_readers():
    chart = charts.adherence_chart(weeks((7, 7), (7, 3)))
    page = render_to_string("charts/chart.html", {"chart": chart})
    assert "<svg" in page
    assert "<figcaption><strong>Practice done as planned, by week.</strong>" in page
    assert "<summary>Show the numbers</summary>" in page
    assert '<th scope="col">Adherence</th>' in page
    assert '<th scope="row">Week of 2 Mar</th>' in page
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert cells == ["7", "7", "100%", "7", "35", "7", "3", "43%", "3", "15"]
