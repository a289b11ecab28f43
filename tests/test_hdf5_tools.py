"""Logs and simulated datasets read by the HDF5 command-line tools of HDF5 1.10 (h5dump, h5ls).

What the files promise other programs is checked with a real client of the
oldest HDF5 they promise: every dataset dumps without error, and the values
printed are the values written.
"""

import h5py
import numpy as np

from hdf5_tools_support import assert_tools_read, dumped, run
from inspector.records import RecordReader
from inspector.synth.dataset import write_dataset
from records_support import LAYOUT
from writer_processes import close_log_command as close, killed_log, write_log

LOG_DATASETS = tuple(LAYOUT.fields()) + ("committed", "state")


def assert_dump_matches(path, f: h5py.File) -> None:
    """Values h5dump prints against what h5py reads: float32, float16, the bool enum, strings, and
    uint8 views written as ready-made gzip chunks."""
    np.testing.assert_allclose([float(v) for v in dumped(path, "/m")], f["m"][()], rtol=1e-5)
    np.testing.assert_allclose([float(v) for v in dumped(path, "/cam_stage1")],
                               f["cam_stage1"][()].astype(np.float64).ravel(), rtol=1e-5)
    assert dumped(path, "/has_images") == ["TRUE" if v else "FALSE" for v in f["has_images"][()]]
    assert dumped(path, "/source", strings=True) == [v.decode() for v in f["source"][()]]
    assert [int(v) for v in dumped(path, "/view2")] == f["view2"][()].ravel().tolist()
    assert [int(v) for v in dumped(path, "/committed")] == [len(f["m"])]


def test_a_fresh_log_reads_with_the_hdf5_tools(tmp_path):
    path = write_log(tmp_path / "log.h5", 3)
    assert_tools_read(path, LOG_DATASETS)
    with h5py.File(path, "r") as f:
        assert_dump_matches(path, f)


def test_a_log_of_a_killed_writer_reads_with_the_tools_once_closed(tmp_path):
    path = tmp_path / "log.h5"
    killed_log(path)
    refused = run("h5ls", "-r", path)  # what the tools make of it before: the reason for `log close`
    assert refused.returncode != 0 or "unable to open" in refused.stdout + refused.stderr
    closed = close(path)
    assert closed.returncode == 0, closed.stderr
    assert_tools_read(path, LOG_DATASETS)
    with RecordReader(path) as r:
        n = len(r)
    with h5py.File(path, "r") as f:  # a plain open: refused before closing
        assert len(f["m"]) == n >= 5
        assert_dump_matches(path, f)


def test_a_simulated_dataset_reads_with_the_hdf5_tools(tmp_path):
    path = write_dataset(tmp_path / "data.h5", 3, seed=4, hidden_share=0.5)
    with h5py.File(path, "r") as f:
        names = list(f.keys())
        assert_tools_read(path, names)
        assert [int(v) for v in dumped(path, "/label")] == f["label"][()].tolist()
        assert dumped(path, "/evidence", strings=True) == [v.decode() for v in f["evidence"][()]]
        np.testing.assert_allclose([float(v) for v in dumped(path, "/gap_mm")], f["gap_mm"][()], rtol=1e-5)
        assert [int(v) for v in dumped(path, "/view1")] == f["view1"][()].ravel().tolist()
