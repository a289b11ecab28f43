"""The audit: merged numbers on a 2-worker LocalCluster equal a direct computation; bad logs named."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import inspector
from calibration import load_default_rig
from inspector.audit import AuditError, audit, find_logs, write_report
from inspector.audit.tasks import M_BINS
from inspector.explain import GradCAM
from inspector.pipeline import Pipeline, PipelineConfig
from inspector.records import LabelStore, RecordReader, RecordWriter
from plugins.simulator_source import SimulatorSource


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """Three logs of real inspections (curves for non-correct only), labels on some records, a corrupt
    file, and a log still open for writing."""
    folder = tmp_path_factory.mktemp("logs")
    model = inspector.load_model(device="cpu")
    explainer = GradCAM(model, device="cpu")
    rig = load_default_rig()
    for k, n in enumerate((23, 17, 30)):
        Pipeline(SimulatorSource(rate=0, prerender=8, seed=k, hidden_share=0.3, cavities=2), model, rig=rig,
                 out=folder / f"line{k}.h5", explainer=explainer,
                 config=PipelineConfig(max_records=n, keep_all=True)).run()
    labels = LabelStore(folder / "line1.h5")
    with RecordReader(folder / "line1.h5") as r:
        predicted = r.scalars()["predicted"]
    for i in range(6):  # two wrong labels among six
        ok = model.classes[predicted[i]] == "correct"
        labels.add(i, ("OK" if ok else "NOK") if i >= 2 else ("NOK" if ok else "OK"))
    labels.add(6, "unsure")
    (folder / "broken.h5").write_bytes(os.urandom(4096))
    return folder


def _direct(paths):
    """The same figures computed straight from the logs, without the audit's tasks."""
    per_class, m_sum, m_n, hist, infl = {}, {}, {}, {}, {}
    for path in paths:
        with RecordReader(path) as r:
            classes = r.layout.classes
            s = r.scalars()
            for k, c in enumerate(classes):
                mine = s["predicted"] == k
                fin = mine & np.isfinite(s["m"])
                per_class[c] = per_class.get(c, 0) + int(mine.sum())
                m_sum[c] = m_sum.get(c, 0.0) + float(s["m"][fin].astype(np.float64).sum())
                m_n[c] = m_n.get(c, 0) + int(fin.sum())
                hist[c] = hist.get(c, 0) + np.histogram(s["m"][fin].astype(np.float64), bins=M_BINS)[0]
                for code, name in enumerate(("camera 1", "camera 2", "equal", "none")):
                    infl.setdefault(c, {}).setdefault(name, 0)
                    infl[c][name] += int((mine & (s["influence"] == code)).sum())
    return per_class, m_sum, m_n, hist, infl


def test_audit_on_two_workers_matches_a_direct_computation(logs, tmp_path):
    paths = [logs / f"line{k}.h5" for k in range(3)]
    result = audit([str(logs)], stored=True, scheduler="local", workers=2, chunk=8)
    assert result.workers == 2 and not result.failed_tasks
    s = result.summary
    per_class, m_sum, m_n, hist, infl = _direct(paths)
    assert s.records == 70 and s.per_class == per_class
    for c in s.classes:
        assert s.m_n[c] == m_n[c]
        assert s.m_sum[c] == pytest.approx(m_sum[c], abs=1e-9)
        np.testing.assert_array_equal(s.m_hist[c], hist[c])
        assert s.influence[c] == infl[c]
    assert s.labelled == 6 and s.label_agree == 4  # "unsure" does not count
    skipped = {os.path.basename(i.path): i.skipped for i in result.logs if i.skipped}
    assert list(skipped) == ["broken.h5"] and "broken.h5" in skipped["broken.h5"]

    local = audit([str(logs)], stored=True, scheduler="none", chunk=1000)
    assert local.summary.per_class == s.per_class and local.summary.label_agree == s.label_agree
    for c in s.classes:
        np.testing.assert_allclose(local.summary.curve_sum[c], s.curve_sum[c], atol=1e-9)


def test_recomputing_finds_exactly_the_tampered_records(logs, tmp_path):
    src = logs / "line0.h5"
    tampered = tmp_path / "tampered.h5"
    with RecordReader(src) as r:
        layout, attrs, recs = r.layout, r.attrs, [r[i] for i in range(len(r))]
    with RecordWriter(tampered, layout, provenance={"model_sha256": attrs["model_sha256"]}) as w:
        for i, rec in enumerate(recs):
            if i in (3, 11):
                rec.predicted = (rec.predicted + 1) % len(layout.classes)
            if i == 5:
                rec.has_images = False
            w.append(rec)
    two = audit([str(tampered)], scheduler="local", workers=2, chunk=6)
    one = audit([str(tampered)], scheduler="none")
    for result in (two, one):
        s = result.summary
        assert [d.record for d in s.disagreements] == [3, 11]
        assert s.compared == 22 and s.not_rerunnable == 1
        assert all(d.log == str(tampered) for d in s.disagreements)
    for c in one.summary.classes:
        assert one.summary.per_class[c] == two.summary.per_class[c]
        assert one.summary.m_sum[c] == pytest.approx(two.summary.m_sum[c], abs=1e-4)


def test_open_logs_are_skipped_unless_asked(logs, tmp_path):
    with RecordReader(logs / "line2.h5") as r:
        layout, rec = r.layout, r[0]
    path = tmp_path / "open.h5"
    w = RecordWriter(path, layout)
    try:
        w.append(rec)
        result = audit([str(path)], stored=True, scheduler="none")
        assert result.summary is None and "still open for writing" in result.logs[0].skipped
        result = audit([str(path)], stored=True, scheduler="none", include_open=True)
        assert result.summary.records == 1
    finally:
        w.close()


def test_a_log_whose_writer_died_is_skipped_with_the_command_that_closes_it(tmp_path, capsys):
    from writer_processes import killed_log

    path = tmp_path / "killed.h5"
    killed_log(path)
    result = audit([str(path)], stored=True, scheduler="none")
    reason = result.logs[0].skipped
    assert result.summary is None and "still open for writing" not in reason
    assert f"its writer stopped without closing it; `inspector log close {path}` makes it readable" in reason
    report = write_report(result, tmp_path / "report").read_text()
    assert f"inspector log close {path}" in report
    assert audit([str(path)], stored=True, scheduler="none", include_open=True).summary.records >= 5


def test_bad_audit_inputs_are_named(tmp_path):
    with pytest.raises(AuditError, match="nowhere: no such log file or folder"):
        find_logs([str(tmp_path / "nowhere")])
    with pytest.raises(AuditError, match="no .h5 logs found"):
        find_logs([str(tmp_path)])
    (tmp_path / "a.h5").write_bytes(b"x")
    with pytest.raises(AuditError, match="nope.pt: no such model file"):
        audit([str(tmp_path)], model_path=str(tmp_path / "nope.pt"), scheduler="none")


def test_the_command_writes_a_report_that_shows_every_figure(logs, tmp_path):
    out = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "inspector.cli", "audit", str(logs), "--stored", "--scheduler", "none",
                        "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stdout and "broken.h5" in r.stdout and "70 records from 3 logs" in r.stdout
    html = (out / "report.html").read_text()
    assert html.count("src='data:image/png;base64,") == 3 and not (out / "figures").exists()  # embedded
    assert "http" not in html.replace("http-equiv", "")  # nothing to fetch: it opens offline
    summary = json.loads((out / "summary.json").read_text())
    assert summary["records"] == 70 and summary["labels"]["labelled"] == 6
    again = subprocess.run([sys.executable, "-m", "inspector.cli", "audit", str(logs), "--stored", "--scheduler",
                            "none", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "already holds a report" in again.stderr
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser:  # look at it as a person would: the page renders with its figures
        shot = tmp_path / "report.png"
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000",
                        f"--screenshot={shot}", (out / "report.html").as_uri()], capture_output=True, timeout=120)
        from inspector.images import read_image

        image = read_image(shot)
        assert image.shape[:2] == (2000, 1280) and image.std() > 20  # figures, not a blank page


def test_without_dask_the_command_says_how_to_install_it(logs, tmp_path):
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from inspector.cli import main\n"
            f"sys.exit(main(['audit', {str(logs)!r}, '--stored', '--out', {str(tmp_path / 'r')!r}, '--quiet']))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "pip install 'inspector[audit]'" in r.stderr


def test_the_report_names_the_explainer_each_log_was_made_with(logs, tmp_path):
    result = audit([str(logs)], stored=True, scheduler="none")
    assert {i.explainer for i in result.logs if not i.skipped} == {"gradcam"}
    html = write_report(result, tmp_path / "r").read_text()
    assert "one model, one rig and one explainer throughout" in html and "<td>gradcam</td>" in html


def test_an_existing_cluster_is_used_by_its_address(logs):
    """`--scheduler tcp://…`: the audit connects to a running scheduler and leaves it running."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster:
        result = audit([str(logs)], stored=True, scheduler=cluster.scheduler_address, chunk=10)
        assert result.workers == 2 and result.summary.records == 70
        assert result.scheduler == cluster.scheduler_address
        with Client(cluster) as client:  # still there for its other users
            assert len(client.scheduler_info()["workers"]) == 2
    with pytest.raises(AuditError, match="cannot reach the Dask scheduler"):
        audit([str(logs)], stored=True, scheduler="tcp://127.0.0.1:9")
