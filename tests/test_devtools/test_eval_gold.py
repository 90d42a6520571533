"""Enrichment quality on the gold sets: runs the real enrichment (spaCy, gazetteer) over
``tests/gold`` and ``../shared/seeds`` and checks the scores against thresholds.

Thresholds are issue 4's targets where enrichment meets them; elsewhere they are the figure
measured when the threshold was set minus a margin of about 0.03-0.05, so that a regression
fails CI while the open gap to the target stays written down beside each figure. Raise them
as enrichment improves (``wirewatch eval tests/gold`` prints the figures).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from wirewatch.devtools.evaluation import TARGETS, EvalReport, evaluate, load_gold_dir

GOLD_DIR = Path(__file__).resolve().parents[1] / "gold"

#: Thresholds for tests/gold (24 invented articles, then 33 with 101-109, written to stress places
#: and topics before the geoparser and topic rules were tuned on them).
GOLD_THRESHOLDS: dict[str, float] = {
    # issue target 0.90; measured 0.807, then 0.821 (71 tp, 20 fp, 11 fn) when set; then 0.991 on
    # 33 files -> target
    "persons_f1": 0.90,
    # issue target 0.80; measured 0.784, then 0.817 -> target
    "organizations_f1": TARGETS["organizations_f1"],
    # issue target 0.88; measured 0.873, then 0.898 -> target; then 0.972 on 33 files (259 tp, 4 fp,
    # 11 fn; 0.963 on the first 24, 0.989 on 101-109) -> 0.93
    "locations_f1": 0.93,
    # issue target 0.90; measured 0.955 (matched places) -> target; then 0.996 (258/259) -> 0.95
    "within_161km": 0.95,
    # issue target 0.92; measured 0.993 -> target
    "quotes_f1": TARGETS["quotes_f1"],
    # issue target 0.90; measured 0.813 (109/134), then 0.806 (108/134) when set; then 0.988 on
    # 33 files -> target
    "speaker_accuracy": 0.90,
    # no issue target for all labels; measured 0.620 (22 tp, 3 fp, 24 fn) when set; then 0.992 on
    # 33 files (59 tp, 0 fp, 1 fn) -> 0.94; then 0.988 on 36 files with each article's finer word
    # (subtopic) labelled as eval-dev does (issue 12)
    "topics_f1": 0.94,
    # issue target 0.90; measured 0.222 when set; then 1.000 on 33 files (10 tp) -> target
    "topic_migration_f1": TARGETS["topic_migration_f1"],
    # issue target 0.90; measured 0.000 when set; then 1.000 on 33 files (7 tp) -> target
    "topic_border-crossing_f1": TARGETS["topic_border-crossing_f1"],
}

#: Thresholds for the reference seed (../shared/seeds): every target is met there.
SEED_THRESHOLDS: dict[str, float] = {k: v for k, v in TARGETS.items()}


def _run(directory: Path, settings) -> EvalReport:
    from pipeline.enrich import enrich_text

    records = load_gold_dir(directory)
    return evaluate(records, lambda rec: enrich_text(rec.text, title=rec.title, settings=settings))


def _check(report: EvalReport, thresholds: dict[str, float]) -> None:
    figs = report.figures
    failed = {k: (round(figs[k], 4), t) for k, t in thresholds.items() if figs[k] < t}
    assert not failed, f"below threshold (measured, threshold): {failed}; misses: {len(report.misses)}"


@pytest.fixture(scope="module")
def gold_report(settings) -> EvalReport:
    """Enrichment of tests/gold scored once for the module."""
    return _run(GOLD_DIR, settings)


def test_gold_set_meets_thresholds(gold_report):
    assert gold_report.documents >= 24
    _check(gold_report, GOLD_THRESHOLDS)


def test_gold_set_covers_every_field(gold_report):
    # the gold set must exercise every field the scorer reports, or a threshold is vacuous
    for field in ("persons", "organizations", "locations", "quotes", "topics"):
        c = gold_report.fields[field]
        assert c.tp + c.fn >= 20, field
    assert gold_report.speaker.total >= 100
    assert gold_report.within.total >= 100
    assert gold_report.topic_labels["migration"].tp + gold_report.topic_labels["migration"].fn >= 8
    assert gold_report.topic_labels["border-crossing"].tp + gold_report.topic_labels["border-crossing"].fn >= 6


def test_reference_seed_meets_targets(shared_dir, settings):
    seeds = shared_dir / "seeds"
    if not any(seeds.glob("*.gold.json")):
        pytest.skip(f"no gold files in {seeds}")
    report = _run(seeds, settings)
    _check(report, SEED_THRESHOLDS)
