"""The benchmarks' shared parts (wirewatch.devtools.bench): percentiles, result rows, report."""
from __future__ import annotations

import json
import statistics

import pytest

from wirewatch.devtools.bench import metric_rows, percentile, report
from wirewatch.output import Format


def test_percentile_interpolates_between_closest_ranks():
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5            # unsorted input
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == pytest.approx(3.85)
    assert percentile([10.0, 0.0], 1.0) == 10.0 and percentile([10.0, 0.0], 0.0) == 0.0
    values = [float(v) for v in range(1, 102)]
    assert percentile(values, 0.5) == statistics.median(values) == 51.0


def test_metric_rows_flattens_dicts_and_joins_lists():
    rows = metric_rows({"a": 1, "b": {"x": 2}, "c": [1, 2], "skip": 3}, skip=("skip",))
    assert rows == [{"metric": "a", "value": 1}, {"metric": "b.x", "value": 2}, {"metric": "c", "value": "1; 2"}]


def test_report_writes_the_result_and_prints_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = report("unit", {"a": 1}, Format.json, title="t")
    assert json.loads(path.read_text()) == {"a": 1} and json.loads(capsys.readouterr().out) == {"a": 1}
