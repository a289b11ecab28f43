"""`inspector grab`: N raw pairs of a source saved as PNG, read back as pairs by the folder source."""

import numpy as np

from calibration import load_default_rig
from inspector.acquisition import EndOfSource
from inspector.images import read_image
from inspector.plugins import PluginRegistry

from cli_support import refused, run


def test_grab_saves_raw_pairs_that_the_folder_source_reads_back(tmp_path):
    out = tmp_path / "pairs"
    r = run("grab", "--source", "simulator", "--source-opt", "rate=0", "--source-opt", "seed=3", "--n", "3",
            "--out", out)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"{i:04d}_cam{c}.png" for i in range(3) for c in (1, 2)]
    rig = load_default_rig()
    for c in ("1", "2"):
        image = read_image(out / f"0000_cam{c}.png")
        assert image.shape[:2][::-1] == tuple(rig.cameras[c].image_size)  # raw camera images, as delivered
    assert "inspector calibrate --camera 1" in r.stdout

    source = PluginRegistry.discover().start("sources", "folder", path=str(out))
    pairs = []
    with source:
        try:
            while (pair := source.read(1.0)) is not None:
                pairs.append(pair)
        except EndOfSource:
            pass
    assert len(pairs) == 3
    np.testing.assert_array_equal(pairs[0].image1, read_image(out / "0000_cam1.png"))


def test_grab_refuses_to_replace_images_and_a_file_as_its_folder(tmp_path):
    out = tmp_path / "pairs"
    assert run("grab", "--source", "simulator", "--source-opt", "rate=0", "--n", "1", "--out", out).returncode == 0
    before = (out / "0000_cam1.png").read_bytes()
    refused(run("grab", "--source", "simulator", "--n", "1", "--out", out), "0000_cam1.png", "--overwrite",
            command="grab")
    assert (out / "0000_cam1.png").read_bytes() == before
    again = run("grab", "--source", "simulator", "--source-opt", "rate=0", "--source-opt", "seed=9", "--n", "1",
                "--out", out, "--overwrite")
    assert again.returncode == 0 and (out / "0000_cam1.png").read_bytes() != before
    (tmp_path / "file").write_text("x")
    refused(run("grab", "--source", "simulator", "--n", "1", "--out", tmp_path / "file"), "not a folder",
            command="grab")
    refused(run("grab", "--source", "nope", "--n", "1", "--out", tmp_path / "x"), "nope", command="grab")


def test_grab_says_when_the_source_gives_nothing_or_too_little(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    silent = run("grab", "--source", "folder", "--source-opt", f"path={empty}", "--source-opt", "watch=true",
                 "--n", "2", "--timeout", "1", "--out", tmp_path / "a")
    refused(silent, "no pair within 1 s", command="grab")

    out = tmp_path / "one"
    assert run("grab", "--source", "simulator", "--source-opt", "rate=0", "--n", "1", "--out", out).returncode == 0
    short = run("grab", "--source", "folder", "--source-opt", f"path={out}", "--n", "3", "--out", tmp_path / "b")
    assert short.returncode == 1 and "1 of 3 pair(s) saved" in short.stderr and "Traceback" not in short.stderr
    assert len(list((tmp_path / "b").iterdir())) == 2
