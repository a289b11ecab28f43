import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from inspector.records import RecordReader, RecordWriter, RecordsError
from records_support import LAYOUT, assert_same, make_record
from writer_processes import HERE, start_writer, wait_for_records, write_log


def test_round_trip(tmp_path):
    path = write_log(tmp_path / "log.h5", 6)
    with RecordReader(path) as r:
        assert len(r) == 6 and r.closed_cleanly
        assert all(r._f[k].shape[0] == 6 for k in r.fields)  # closing trims the extents to the count
        assert r.attrs["model_sha256"] == "ab" * 32 and r.attrs["schema_version"] == 1
        for i in range(6):
            assert_same(make_record(i), r[i])
        full = r.cams(2)
        assert full.shape == (2, 4, 32, 32) and full.dtype == np.float32


def test_float16_maps_keep_three_significant_digits(tmp_path):
    path = write_log(tmp_path / "log.h5", 1)
    rec = make_record(0)
    with RecordReader(path) as r:
        for a, b in zip(rec.stage_maps[0], r[0].stage_maps[0]):
            assert np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-3)) < 1e-3


def test_filters_read_no_images(tmp_path):
    path = write_log(tmp_path / "log.h5", 40)
    recs = [make_record(i) for i in range(40)]
    with RecordReader(path) as r:
        skewed = r.select(classes=["skewed"])
        assert list(skewed) == [i for i, x in enumerate(recs) if x.predicted == 2]
        cam2 = r.select(influence=["camera 2"], m_range=(0.05, 1.0))
        assert list(cam2) == [i for i, x in enumerate(recs) if x.influence == "camera 2" and x.m >= 0.05]
        late = r.select(time_range=(1_790_000_030.0, 1e12))
        assert list(late) == list(range(30, 40))
        with pytest.raises(RecordsError, match="unknown class 'cracked'"):
            r.select(classes=["cracked"])


def test_retention_keeps_images_of_nok_only(tmp_path):
    path = write_log(tmp_path / "log.h5", 12, retention="nok-images")
    with RecordReader(path) as r:
        for i in range(12):
            rec = r[i]
            if LAYOUT.classes[rec.predicted] == "correct":
                assert not rec.has_images and rec.view1.max() == 0
            else:
                assert rec.has_images
                np.testing.assert_array_equal(rec.view1, make_record(i).view1)


def test_a_bad_record_is_refused_whole_and_the_log_goes_on(tmp_path):
    path = tmp_path / "log.h5"
    with RecordWriter(path, LAYOUT) as w:
        w.append(make_record(0))
        bad = make_record(1)
        bad.view2 = bad.view2[:16]
        with pytest.raises(RecordsError, match=r"field view2 has shape \(16, 32, 3\)"):
            w.append(bad)
        worse = make_record(1)
        worse.influence = "both"
        with pytest.raises(RecordsError, match="influence 'both'"):
            w.append(worse)
        w.append(make_record(1))
    with RecordReader(path) as r:
        assert len(r) == 2
        assert_same(make_record(1), r[1])


def test_writer_never_overwrites(tmp_path):
    path = write_log(tmp_path / "log.h5", 1)
    with pytest.raises(RecordsError, match="already exists"):
        RecordWriter(path, LAYOUT)
    with pytest.raises(RecordsError, match="does not exist"):
        RecordWriter(tmp_path / "no" / "log.h5", LAYOUT)


def test_sigkill_mid_run_loses_nothing_committed(tmp_path):
    path = tmp_path / "log.h5"
    proc = start_writer(path, 100_000, 0.001, end="")
    try:
        wait_for_records(path, 25)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with RecordReader(path) as r:
        n = len(r)
        assert n >= 25
        assert not r.closed_cleanly  # says it was never closed
        for i in range(n):  # every committed record intact, none half-written
            assert_same(make_record(i), r[i])
        # Extents grow in steps ahead of the count; what lies beyond the count is never counted.
        assert r._f["view1"].shape[0] >= n and r._f["view1"].shape[0] % 64 == 0


def test_reader_follows_a_growing_log(tmp_path):
    path = tmp_path / "log.h5"
    proc = start_writer(path, 40, 0.02)
    try:
        wait_for_records(path, 1)
        seen = []
        with RecordReader(path) as r:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                n = r.refresh()
                if not seen or n != seen[-1]:
                    seen.append(n)
                    if n:  # the newest record is whole the moment it is counted
                        assert_same(make_record(n - 1), r[n - 1])
                if n == 40:
                    break
                time.sleep(0.02)
            assert seen[-1] == 40 and len(seen) >= 3 and seen == sorted(seen)
            for i in (0, 20, 39):
                assert_same(make_record(i), r[i])
    finally:
        proc.wait(timeout=60)
    with RecordReader(path) as r:
        assert r.closed_cleanly


# -- files from elsewhere -------------------------------------------------------------------------


def _tamper(path, fn):
    with h5py.File(path, "a") as f:
        fn(f)
    return path


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda f: f.attrs.__setitem__("schema_version", 2), "schema version 2 is unknown; this inspector reads version 1"),
        (lambda f: f.attrs.__setitem__("format", "something"), "not an inspector inspection log"),
        (lambda f: (f.__delitem__("m"), f.create_dataset("m", shape=(3,), maxshape=(None,), dtype="f8")),
         "dataset 'm' is float64, the schema says float32"),
        (lambda f: f.__setitem__("elsewhere", h5py.ExternalLink("other.h5", "/data")), "'elsewhere' is a ExternalLink"),
        (lambda f: f.__setitem__("alias", h5py.SoftLink("/m")), "'alias' is a SoftLink"),
        (lambda f: f.create_dataset("notes", data=np.zeros(3)), "unexpected object 'notes'"),
        (lambda f: f.__delitem__("curves"), "missing dataset 'curves'"),
        (lambda f: f["committed"].__setitem__(0, 10**12), "record count 1000000000000 is out of bounds"),
    ],
)
def test_tampered_logs_are_refused(tmp_path, tamper, message):
    path = _tamper(write_log(tmp_path / "log.h5", 3), tamper)
    with pytest.raises(RecordsError, match=r"log\.h5: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        RecordReader(path)


def test_virtual_dataset_is_refused(tmp_path):
    path = write_log(tmp_path / "log.h5", 3)

    def make_virtual(f):
        src = tmp_path / "src.h5"
        with h5py.File(src, "w") as s:
            s["m"] = np.zeros(3, np.float32)
        layout = h5py.VirtualLayout(shape=(3,), dtype=np.float32, maxshape=(None,))
        layout[:] = h5py.VirtualSource(str(src), "m", shape=(3,))
        del f["m"]
        f.create_virtual_dataset("m", layout)

    _tamper(path, make_virtual)
    with pytest.raises(RecordsError, match="dataset 'm' is virtual"):
        RecordReader(path)


def test_truncated_and_foreign_files(tmp_path):
    good = write_log(tmp_path / "log.h5", 20)
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(RecordsError, match=r"cut\.h5: (the file is truncated|corrupt)"):
        RecordReader(cut)
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(RecordsError, match=r"notes\.h5: not an HDF5 file"):
        RecordReader(text)
    with pytest.raises(RecordsError, match=r"gone\.h5: no such log file"):
        RecordReader(tmp_path / "gone.h5")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(RecordsError, match=r"other\.h5: not an inspector inspection log"):
        RecordReader(other)


# -- labels, exports, rotation, Ctrl-C --------------------------------------------------------------


def test_labels_are_appended_beside_the_log_and_never_touch_it(tmp_path):
    from inspector.records import LabelStore

    path = write_log(tmp_path / "log.h5", 4)
    before = path.read_bytes()
    store = LabelStore(path)
    store.add(1, "NOK", "insert tilted", who="qe")
    store.add(1, "unsure", "second look", who="qe2")
    store.add(3, "OK", who="qe")
    assert path.read_bytes() == before
    current = store.current()
    assert current[1].verdict == "unsure" and current[1].who == "qe2" and current[3].verdict == "OK"
    assert [l.verdict for l in store.history()] == ["NOK", "unsure", "OK"]
    with pytest.raises(RecordsError, match="label 'maybe' is not one of OK, NOK, unsure"):
        store.add(0, "maybe")
    with open(store.path, "a") as f:
        f.write('{"record": 2, "verdict": "O')  # a crash mid-line
    assert len(store.history()) == 3


def test_exports(tmp_path):
    import csv
    import json

    from inspector.evaluation.record_export import export_record
    from inspector.records import LabelStore, export_csv

    path = write_log(tmp_path / "log.h5", 5)
    LabelStore(path).add(2, "NOK", "gap", who="qe")
    with RecordReader(path) as r:
        export_record(r, 2, png=tmp_path / "r2.png", json_path=tmp_path / "r2.json")
        assert export_csv(r, tmp_path / "all.csv") == 5
    doc = json.loads((tmp_path / "r2.json").read_text())
    rec = make_record(2)
    assert doc["record"] == 2 and doc["label"]["verdict"] == "NOK" and doc["influence"] == rec.influence
    assert doc["curves"]["a1"] == pytest.approx(rec.curves[0].tolist(), abs=1e-6)
    assert (tmp_path / "r2.png").stat().st_size > 10_000
    rows = list(csv.DictReader(open(tmp_path / "all.csv")))
    assert len(rows) == 5 and rows[2]["label"] == "NOK" and rows[4]["influence"] == make_record(4).influence
    # Times a person reads first (ISO 8601, UTC), then epoch seconds for arithmetic.
    assert next(csv.reader(open(tmp_path / "all.csv")))[1:3] == ["time_utc", "timestamp"]
    assert make_record(2).timestamp == 1_790_000_002.0 and rows[2]["time_utc"] == "2026-09-21T14:13:22.000Z"
    assert float(rows[2]["timestamp"]) == 1_790_000_002.0


def test_rotation_by_count_shift_and_provenance(tmp_path):
    from inspector.records import RotatingWriter

    with RotatingWriter(tmp_path, "line", LAYOUT, provenance={"model_sha256": "a"}, max_records=5) as w:
        for i in range(12):
            w.append(make_record(i))
        w.set_provenance({"model_sha256": "b"})
        w.append(make_record(12))
    assert [RecordReader(p).__len__() for p in w.files] == [5, 5, 2, 1]
    with RecordReader(w.files[-1]) as r:
        assert r.attrs["model_sha256"] == "b" and r.closed_cleanly
    shifts = tmp_path / "shifts"
    shifts.mkdir()
    with RotatingWriter(shifts, "line", LAYOUT, shift_hours=8 / 3600) as w:  # an 8-second "shift"
        for i in range(20):
            w.append(make_record(i))  # timestamps one second apart
    assert len(w.files) >= 3


def test_ctrl_c_leaves_a_cleanly_closed_log(tmp_path):
    path = tmp_path / "log.h5"
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(HERE)!r})
        from inspector.records import RecordWriter
        from records_support import LAYOUT, make_record
        with RecordWriter({str(path)!r}, LAYOUT) as w:
            for i in range(100_000):
                w.append(make_record(i))
                time.sleep(0.001)
        """)
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    wait_for_records(path, 10)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the writer hung after Ctrl-C") from None
    with RecordReader(path) as r:
        assert r.closed_cleanly and len(r) >= 10
        assert_same(make_record(len(r) - 1), r[len(r) - 1])


def test_malformed_commit_count(tmp_path):
    def shrink(f):
        del f["committed"]
        f.create_dataset("committed", data=np.zeros(0, np.int64))

    path = _tamper(write_log(tmp_path / "log.h5", 2), shrink)
    with pytest.raises(RecordsError, match=r"log\.h5: (corrupt log|missing or malformed dataset 'committed')"):
        RecordReader(path)


def test_fsync_and_size_rotation(tmp_path):
    from inspector.records import RotatingWriter

    path = write_log(tmp_path / "log.h5", 3, fsync=True)
    with RecordReader(path) as r:
        assert len(r) == 3 and r.closed_cleanly
    folder = tmp_path / "sized"
    folder.mkdir()
    with RotatingWriter(folder, "line", LAYOUT, max_bytes=1) as w:  # every record fills a file
        for i in range(3):
            w.append(make_record(i))
    assert len(w.files) == 3 and all(len(RecordReader(p)) == 1 for p in w.files)
    with pytest.raises(RecordsError, match="max_records must be positive"):
        RotatingWriter(folder, "line", LAYOUT, max_records=0)


def test_opening_reads_no_image_and_damaged_data_is_reported(tmp_path):
    path = write_log(tmp_path / "log.h5", 5)
    with h5py.File(path, "r") as f:
        chunks = [f["view1"].id.get_chunk_info(i) for i in range(5)]
    with open(path, "r+b") as raw:  # scramble every stored chunk of view1
        for c in chunks:
            raw.seek(c.byte_offset)
            raw.write(b"\xff" * c.size)
    with RecordReader(path) as r:  # opening, counting and filtering never touch the images
        assert len(r) == 5
        assert len(r.select(classes=["correct", "missing", "skewed"])) == 5
        with pytest.raises(RecordsError, match=r"log\.h5: record 3 is unreadable, the file is damaged"):
            r[3]
