"""The audit report's rough edges (issue 17): a per-log table (records, OK/NOK by the log's OK class, per-class
counts, first and last record time in ISO 8601 UTC, skipped or failed with the reason) in report.html and
summary.json; figures embedded so report.html stands alone; an empty class drawn as "no records"; Cancel
keeps finished tasks and calls a result cancelled only when a task was left undone."""

import base64
import dataclasses
import json
import os
import re
import shutil
import threading

import numpy as np
import pytest

from inspector.audit import audit, write_report
from inspector.audit.per_log import iso_utc
from inspector.records import RecordReader, RecordWriter

T0 = 1_772_431_200.0  # 2026-03-02T06:00:00Z


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """Two logs with known record times (one a record every 10 s from T0, one from T0 + 1 h, a record every
    2.5 s) and a damaged file."""
    from inspector.bench.records import simulated_inspections

    folder = tmp_path_factory.mktemp("report_logs")
    layout, recs = simulated_inspections(8)
    for k, (n, start, step) in enumerate(((12, T0, 10.0), (9, T0 + 3600, 2.5))):
        with RecordWriter(folder / f"shift{k}.h5", layout, provenance={"model_sha256": "test"}) as w:
            for i in range(n):
                w.append(dataclasses.replace(recs[(i + k) % len(recs)], timestamp=start + step * i))
    (folder / "damaged.h5").write_bytes(os.urandom(2048))
    return folder


def _expected(path):
    with RecordReader(path) as r:
        s, cs = r.scalars(), r.layout.class_set
        per_class = {c: int((s["predicted"] == k).sum()) for k, c in enumerate(cs.names)}
        return per_class, per_class[cs.ok], len(r)


def test_the_report_and_summary_have_a_per_log_table_with_counts_and_time_ranges(logs, tmp_path):
    result = audit([str(logs)], stored=True, scheduler="none", chunk=5)
    out = tmp_path / "report"
    html = write_report(result, out).read_text()
    rows = {os.path.basename(r["log"]): r for r in json.loads((out / "summary.json").read_text())["per_log"]}
    assert set(rows) == {"shift0.h5", "shift1.h5", "damaged.h5"}
    for name, first, last in (("shift0.h5", "2026-03-02T06:00:00.000Z", "2026-03-02T06:01:50.000Z"),
                              ("shift1.h5", "2026-03-02T07:00:00.000Z", "2026-03-02T07:00:20.000Z")):
        per_class, ok, n = _expected(logs / name)
        row = rows[name]
        assert row["records"] == row["records_in_log"] == n  # merged over its 5-record ranges
        assert row["per_class"] == per_class and row["ok"] == ok and row["nok"] == n - ok
        assert (row["first_time"], row["last_time"]) == (first, last)
        assert row["status"] == "audited" and row["reason"] == ""
        assert first in html and last in html
    assert rows["damaged.h5"]["status"] == "skipped" and rows["damaged.h5"]["reason"]
    assert rows["damaged.h5"]["records"] == 0 and rows["damaged.h5"]["first_time"] == ""
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["first_time"], summary["last_time"]) == ("2026-03-02T06:00:00.000Z", "2026-03-02T07:00:20.000Z")
    table = html[html.index("<h2>Per log</h2>"):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 4  # the header and a row per log
    assert "<th>first record</th><th>last record</th><th>status</th>" in table and "skipped: " in table


def test_a_failed_range_is_named_in_its_logs_row(logs, monkeypatch, tmp_path):
    import inspector.audit.engine as engine

    real = engine.run_task

    def flaky(task, *args, **kwargs):
        if task.path.endswith("shift1.h5") and task.start == 5:
            raise OSError("disk read error")
        return real(task, *args, **kwargs)

    monkeypatch.setattr(engine, "run_task", flaky)
    result = audit([str(logs / "shift1.h5")], stored=True, scheduler="none", chunk=5)
    row = json.loads((write_report(result, tmp_path / "r").parent / "summary.json").read_text())["per_log"][0]
    assert row["status"] == "partly audited" and row["records"] == 5
    assert row["reason"] == "records 5–8: OSError: disk read error"
    assert row["last_time"] == iso_utc(T0 + 3600 + 2.5 * 4)


def test_iso_utc():
    assert iso_utc(T0 + 0.25) == "2026-03-02T06:00:00.250Z" and iso_utc(float("nan")) == ""


def test_report_html_stands_alone_with_its_figures_embedded(logs, tmp_path):
    result = audit([str(logs)], stored=True, scheduler="none")
    report = write_report(result, tmp_path / "report")
    assert sorted(p.name for p in report.parent.iterdir()) == ["report.html", "summary.json"]  # no figures/
    alone = tmp_path / "mailed" / "report.html"
    alone.parent.mkdir()
    shutil.copy(report, alone)  # moved or mailed alone
    html = alone.read_text()
    sources = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]*)['"]""", html)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "url(" not in html and "<script" not in html and "<link" not in html  # nothing else to fetch
    from inspector.images import read_image

    for k, uri in enumerate(sources):
        png = base64.b64decode(uri.split(",", 1)[1], validate=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        (tmp_path / f"f{k}.png").write_bytes(png)
        image = read_image(tmp_path / f"f{k}.png")
        assert image.shape[0] > 100 and image.shape[1] > 300 and image.std() > 10  # a figure, not blank


def test_an_empty_class_is_drawn_as_no_records_on_a_0_to_1_axis(monkeypatch):
    import inspector.audit.report as report
    from inspector.audit.tasks import Summary

    s = Summary.empty(("correct", "missing", "skewed"), (0.0, 0.5, 1.0), "correct")
    s.records = s.per_class["correct"] = s.m_n["correct"] = 3
    s.m_hist["correct"][20] = 3
    s.curve_sum["correct"] = np.full((3, 3), 1.5)
    figures = []
    monkeypatch.setattr(report, "png_bytes", lambda fig: figures.append(fig) or b"")
    report.figure_m_histograms(s)
    report.figure_mean_curves(s)
    hist, curves = (f.axes for f in figures)
    for axes in (hist, curves):
        texts = [[t.get_text() for t in ax.texts] for ax in axes[:3]]
        assert texts == [[], ["no records"], ["no records"]]
    assert [ax.get_ylim() for ax in hist[1:3]] == [(0, 1), (0, 1)]
    from matplotlib.colors import to_hex

    colours = {to_hex(p.get_facecolor()) for p in hist[0].containers[0]}  # the bars
    assert colours == {s.class_set.colour("correct")}  # the ClassSet's colour, as in every view


def test_cancel_keeps_finished_tasks_and_is_cancelled_only_with_work_left(logs, monkeypatch):
    import inspector.audit.engine as engine

    real, cancel, calls = engine.run_task, threading.Event(), []

    def cancelling_during(n):
        def run(task, *args, **kwargs):
            calls.append(task)
            if len(calls) == n:
                cancel.set()  # pressed while this task runs
            return real(task, *args, **kwargs)
        return run

    paths = [str(logs / "shift0.h5")]
    monkeypatch.setattr(engine, "run_task", cancelling_during(1))
    partial = audit(paths, stored=True, scheduler="none", chunk=5, cancel=cancel)
    assert partial.cancelled and partial.summary.records == 5 and len(calls) == 1
    assert partial.per_log[paths[0]].records == 5
    calls.clear()
    cancel.clear()
    monkeypatch.setattr(engine, "run_task", cancelling_during(3))  # the last of three ranges
    whole = audit(paths, stored=True, scheduler="none", chunk=5, cancel=cancel)
    assert not whole.cancelled and whole.summary.records == 12


def test_the_audit_counts_unsure_verdicts_per_class(tmp_path):
    from inspector.explain.influence_interval import m_interval
    from records_support import LAYOUT, make_record

    d = np.zeros(11)
    d[7:] = 0.1  # an unsure +0.036
    unsure = np.stack([np.full(11, 0.5), np.full(11, 0.9), 0.9 - d]).astype(np.float32)
    recs = [make_record(i) for i in range(12)]
    for i in (0, 3, 5):
        recs[i] = dataclasses.replace(recs[i], curves=unsure, m=float(np.mean(d)), influence="camera 2")
    with RecordWriter(tmp_path / "log.h5", LAYOUT) as w:
        for rec in recs:
            w.append(rec)
    flags = m_interval(np.stack([r.curves for r in recs])).unsure
    expected = {c: int(sum(flags[i] for i, r in enumerate(recs) if r.predicted == k))
                for k, c in enumerate(LAYOUT.classes)}
    assert sum(expected.values()) >= 3
    result = audit([str(tmp_path / "log.h5")], stored=True, scheduler="none", chunk=5)
    assert result.summary.unsure == expected
    html = write_report(result, tmp_path / "report").read_text()
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    for c, n in expected.items():
        assert summary["unsure"][c]["records"] == n
        with_curves = result.summary.m_n[c]
        assert summary["unsure"][c]["share"] == pytest.approx(n / with_curves)
    assert "<th>unsure</th>" in html and "bootstrap-over-p interval" in html
    assert summary["fills"] == ["zero"] and "<th>fill</th>" in html
