"""The one chart description: what the page draws, tabulates and offers as CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import unquote

import pytest

from gmc.common.charts import Chart, Series, format_value
from gmc.common.templating import get_templates


def _qc_chart() -> Chart:
    return Chart(key="qc titv", title="Ti/Tv", labels=["P1 (HG002)", "P2 (HG003)", "P3"], category="Sample",
                 series=[Series("", [2.1, 1.2, None])], unit="ratio", horizontal=True, band=(1.8, 2.4))


def test_table_csv_and_summary_carry_the_same_numbers() -> None:
    chart = _qc_chart()
    assert chart.header() == ["Sample", "ratio"]
    assert chart.rows() == [("P1 (HG002)", [2.1]), ("P2 (HG003)", [1.2]), ("P3", [None])]
    parsed = list(csv.reader(io.StringIO(chart.csv_text())))
    assert parsed == [["Sample", "ratio"], ["P1 (HG002)", "2.1"], ["P2 (HG003)", "1.2"], ["P3", ""]]
    assert unquote(chart.csv_href().removeprefix("data:text/csv;charset=utf-8,")) == chart.csv_text()
    assert chart.summary() == ("Ti/Tv: 3 categories; 1 outside the expected range 1.8 to 2.4. "
                               "The data table follows.")
    assert chart.element_id == "chart-qc-titv" and chart.csv_filename() == "qc-titv.csv"
    assert [format_value(v) for v in (3.0, 2.50, 1 / 3, None)] == ["3", "2.5", "0.333", "–"]


def test_several_series_get_a_column_and_a_colour_each() -> None:
    chart = Chart(key="types", title="Variants by type", labels=["A", "B"], stacked=True,
                  series=[Series("SNV", [10, 20]), Series("deletion", [1, 2], "#123456")])
    spec = chart.spec()
    assert chart.header() == ["Category", "SNV", "deletion"]
    assert [s["colour"] for s in spec["series"]][1] == "#123456" and spec["series"][0]["colour"].startswith("#")
    assert spec["stacked"] is True and spec["kind"] == "bar" and spec["labels"] == ["A", "B"]


def test_bad_descriptions_are_refused_with_the_chart_named() -> None:
    with pytest.raises(ValueError, match="chart 'x': series 'a' has 1 values for 2 labels"):
        Chart(key="x", title="X", labels=["p", "q"], series=[Series("a", [1])])
    with pytest.raises(ValueError, match="chart 'x': kind must be one of bar, line, not 'pie'"):
        Chart(key="x", title="X", labels=[], series=[], kind="pie")


def test_the_macro_renders_canvas_json_table_and_csv_without_inline_code() -> None:
    env = get_templates().env
    html = env.from_string('{% import "_chart.html" as c %}{{ c.chart(chart) }}').render(chart=_qc_chart())
    assert '<canvas data-chart="chart-qc-titv-data" role="img"' in html
    block = html.split('<script type="application/json" id="chart-qc-titv-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(block)["band"] == [1.8, 2.4]
    assert '<th scope="row">P2 (HG003)</th><td class="num">1.2</td>' in html
    assert 'download="qc-titv.csv" href="data:text/csv;charset=utf-8,Sample%2Cratio' in html
    assert "<script>" not in html and not re.search(r"\son[a-z]+=", html)
