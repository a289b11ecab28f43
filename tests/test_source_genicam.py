"""The genicam source on Aravis's real fake GigE Vision cameras: pairing by software trigger, incomplete
frames, a camera lost and found, close during an outage, bad inputs, Aravis missing, `inspector cameras`.

The fake cameras run as processes of their own on loopback addresses (`inspector/bench/fake_cameras.py`).
A fake camera answers a software trigger at its next frame tick (25 fps), so the two cameras of one
shot can arrive up to 40 ms apart: the tests pair with a 100 ms window, and the shot tag keeps the
shots apart whatever the window.
"""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from inspector.acquisition import SourceError, option_help
from waiting import HANG_S, returns_within, wait_for

from genicam_support import (
    ROOT,
    WINDOW_MS,
    assert_same_triggers,
    needs_cameras,
    read_pairs,
    source,
)

pytestmark = pytest.mark.usefixtures("no_threads_left_behind")

# -- without cameras ---------------------------------------------------------------------------
def test_pairing_rules_without_cameras():
    from plugins.genicam_pairing import Frame, Pairer, id_gap

    image = np.zeros((2, 2, 3), np.uint8)
    p = Pairer(0.02, by_shot=True)
    p.add(Frame(0, image, 10, 100.000, shot=0))
    p.add(Frame(1, image, 7, 100.010, shot=0))
    a, b = p.pop_pair(100.02)
    assert (a.frame_id, b.frame_id) == (10, 7)
    # Shot 1 lost by camera 2; its frame for shot 1 turns up after shot 2 went out. Receive time would
    # hand it to shot 2; its frame id (7 + 1, not 7 + 2) says it is a straggler.
    p.add(Frame(0, image, 11, 100.100, shot=1))
    p.add(Frame(0, image, 12, 100.200, shot=2))
    p.add(Frame(1, image, 8, 100.205, shot=2))
    p.add(Frame(1, image, 9, 100.206, shot=2))
    a, b = p.pop_pair(100.21)
    assert (a.shot, a.frame_id, b.frame_id) == (2, 12, 9)
    assert p.stale == 1 and p.unpaired == 2  # the straggler, and camera 1's lone frame of shot 1
    # Free-run: by time only; a frame outside the window is never paired.
    q = Pairer(0.02, by_shot=False)
    q.add(Frame(0, image, 1, 200.00))
    q.add(Frame(1, image, 1, 200.05))
    assert q.pop_pair(200.05) is None and q.unpaired == 1
    assert q.pop_pair(201.0) is None and q.unpaired == 2
    assert id_gap(1, 0xFFFF) == 1 and id_gap(5, 3) == 2  # GigE Vision 1 block ids wrap and skip 0


def test_bayer_patterns_come_out_in_rgb():
    from plugins.genicam_pixels import to_rgb

    red = {"BayerRG8": (0, 0), "BayerGR8": (0, 1), "BayerGB8": (1, 0), "BayerBG8": (1, 1)}  # where R sits
    for name, (y, x) in red.items():
        mosaic = np.zeros((8, 8), np.uint8)
        mosaic[y::2, x::2] = 255
        rgb = to_rgb(mosaic.tobytes(), 8, 8, name)
        assert rgb.shape == (8, 8, 3) and tuple(rgb[4, 4]) == (255, 0, 0), name
    assert tuple(to_rgb(bytes([1, 2, 3]), 1, 1, "RGB8")[0, 0]) == (1, 2, 3)
    assert tuple(to_rgb(bytes([9]), 1, 1, "Mono8")[0, 0]) == (9, 9, 9)
    with pytest.raises(ValueError, match="needs 12"):
        to_rgb(bytes(4), 2, 2, "RGB8")


@needs_cameras
def test_options_are_checked_before_any_camera_is_touched():
    from plugins.genicam_source import GenICamSource

    with pytest.raises(SourceError, match="option cam2 is required.*inspector cameras"):
        GenICamSource(cam1="CAM1")
    with pytest.raises(SourceError, match="trigger='Line' is not free, software or LineN"):
        GenICamSource(cam1="a", cam2="b", trigger="Line")
    with pytest.raises(SourceError, match="pair_window_ms=0.0 must be a number > 0"):
        GenICamSource(cam1="a", cam2="b", pair_window_ms="0")
    names = [row[0] for row in option_help(GenICamSource)]
    assert {"cam1", "cam2", "pixel_format", "exposure_us", "gain_db", "frame_rate", "trigger", "pair_window_ms",
            "buffers", "packet_size", "resend", "timeout"} <= set(names)


# -- (a) software-triggered shots ----------------------------------------------------------------
@needs_cameras
def test_fifty_software_triggered_shots_give_fifty_pairs_of_one_trigger_each(two):
    with source() as src:
        pairs = read_pairs(src, 50)
        counters = src.counters
    assert counters.delivered == 50 and counters.incomplete == 0 and counters.lost == {}
    shots = [p.meta["shot"] for p in pairs]
    assert shots == sorted(set(shots))  # one pair per shot, in order
    assert_same_triggers([p.frame_ids for p in pairs])
    for p in pairs:
        assert p.camera_ids == ("CAM1", "CAM2")
        assert abs(p.timestamps[0] - p.timestamps[1]) <= WINDOW_MS / 1000
        assert abs(p.timestamps[0] - time.time()) < 60
        for image in (p.image1, p.image2):
            assert image.shape == (192, 256, 3) and image.dtype == np.uint8
    # Shots that did not pair within the window are counted, never delivered.
    assert counters.unpaired >= 0 and shots[-1] + 1 - 50 <= counters.unpaired


@needs_cameras
def test_free_run_pairs_by_receive_time_within_the_window(two):
    with source(trigger="free") as src:
        pairs = read_pairs(src, 10)
    for p in pairs:
        assert p.meta["shot"] == -1 and abs(p.timestamps[0] - p.timestamps[1]) <= WINDOW_MS / 1000


@needs_cameras
def test_exposure_gain_and_region_reach_the_camera(two):
    from plugins.genicam_commands import camera_features

    with source(exposure_us="5000", gain_db="3", pixel_format="Mono8", width=128, height=96) as src:
        pair = read_pairs(src, 1)[0]
    assert pair.image1.shape == (96, 128, 3) and (pair.image1[..., 0] == pair.image1[..., 2]).all()  # grey
    features = camera_features("CAM1")  # the fake camera keeps what it was set to
    assert (features["exposure_us"], features["gain_db"]) == (5000.0, 3.0)  # (its gain steps by whole dB)
    assert (features["width"], features["height"], features["pixel_format"]) == (128, 96, "Mono8")
    assert features["trigger_mode"] == "On" and features["trigger_source"] == "Software"


# -- (b) incomplete frames -----------------------------------------------------------------------
@needs_cameras
def test_incomplete_frames_are_counted_and_never_delivered(cameras):
    cameras("127.0.0.1", "CAM1")
    cameras("127.0.0.3", "CAM3", loss=50)  # 5% of its packets lost, and no resend asked for
    src = source(cam2="CAM3", resend=False, width=64, height=64)
    usable_images, incomplete = [], []
    report = src.frame

    def spy(worker, frame, usable):
        if worker.index == 1:
            (usable_images.append(frame.image) if usable else incomplete.append(frame))
        report(worker, frame, usable)

    src.frame = spy
    pairs = []
    with src:
        deadline = time.monotonic() + HANG_S
        while (len(pairs) < 10 or src.counters.incomplete < 3) and time.monotonic() < deadline:
            pair = src.read(0.5)
            if pair is not None:
                pairs.append(pair)
        counters, stats = src.counters, src.camera_stats()
    assert len(pairs) >= 10 and counters.incomplete >= 3
    assert counters.reconnects == 0 and counters.lost == {}  # a camera that lost a frame is not a lost camera
    assert stats[1]["incomplete"] == counters.incomplete and stats[0]["incomplete"] == 0
    # An incomplete frame carries no image, and every image delivered is one a complete frame brought.
    assert len(incomplete) == counters.incomplete and all(f.image is None for f in incomplete)
    assert all(any(p.image2 is image for image in usable_images) for p in pairs)
    assert_same_triggers([p.frame_ids for p in pairs])


# -- (c, d) lost and found -------------------------------------------------------------------------
@needs_cameras
def test_a_killed_camera_is_named_lost_within_the_timeout_and_found_again(two):
    _, cam2 = two
    with source(timeout=1.0) as src:
        read_pairs(src, 5)
        cam2.kill()
        killed = time.monotonic()
        longest = 0.0
        while "camera 2" not in src.counters.lost_cameras() and time.monotonic() - killed < HANG_S:
            t = time.monotonic()
            src.read(0.3)
            longest = max(longest, time.monotonic() - t)
        noticed = time.monotonic() - killed
        lost = src.counters.lost_cameras()
        assert set(lost) == {"camera 2"} and lost["camera 2"].startswith("CAM2: ")
        assert noticed < 1.0 + 1.0, f"lost noticed after {noticed:.1f} s with timeout=1.0"
        for _ in range(5):  # while it is lost, reads come back on time with nothing
            t = time.monotonic()
            assert src.read(0.3) is None
            longest = max(longest, time.monotonic() - t)
        assert longest < 0.3 + 0.25, f"a read(0.3) took {longest:.2f} s"
        cam2.start()
        after = read_pairs(src, 5)
        assert src.counters.reconnects == 1 and src.counters.lost == {}
        assert src.camera_stats()[1]["reconnects"] == 1
    assert_same_triggers([p.frame_ids for p in after])


@needs_cameras
def test_close_during_an_outage_returns_within_two_seconds(two):
    _, cam2 = two
    src = source(timeout=0.5).open()
    read_pairs(src, 2)
    cam2.kill()
    assert wait_for(lambda: (src.read(0.1), "camera 2" in src.counters.lost_cameras())[1])
    t = time.monotonic()
    returns_within(src.close)
    assert time.monotonic() - t < 2.0


# -- (e) bad inputs ---------------------------------------------------------------------------------
@needs_cameras
def test_an_unknown_camera_lists_the_cameras_found(two):
    from plugins.genicam_devices import found_line

    with pytest.raises(SourceError) as err:
        source(cam2="CAM9").open()
    message = str(err.value)
    assert "\n" not in message and "'CAM9'" in message
    assert "found: Aravis-Fake-CAM1 (127.0.0.1)" in message and "Aravis-Fake-CAM2 (127.0.0.2)" in message
    assert found_line([]) == "no GenICam camera found"


@needs_cameras
def test_a_pixel_format_or_trigger_line_the_camera_lacks_is_refused_with_what_it_has(two):
    with pytest.raises(SourceError, match=r"camera 1 \(CAM1\) has no pixel format BayerXY8; it has: BayerBG8, .*Mono8"):
        source(pixel_format="BayerXY8").open()
    with pytest.raises(SourceError, match=r"delivers Mono16, which the source cannot convert; choose pixel_format "
                                          r"from: BayerBG8, BayerGB8, BayerGR8, BayerRG8, Mono8, RGB8$"):
        source(pixel_format="Mono16").open()
    with pytest.raises(SourceError, match=r"has no trigger source Line3; TriggerSource values: Line0, Software$"):
        source(trigger="Line3").open()
    with source(trigger="Line0") as src:  # a line that exists: opens, and no line fires, so no pair
        assert src.read(0.2) is None


SHADOWS = {
    "no PyGObject": "raise ImportError('No module named gi (shadowed by the test)')\n",
    "no Aravis typelib": "def require_version(name, version):\n"
                         "    raise ValueError(f'Namespace {name} not available (shadowed by the test)')\n",
}


@pytest.mark.parametrize("missing", sorted(SHADOWS))
def test_without_aravis_the_plugin_fails_to_import_with_the_hint_and_the_command_says_why(tmp_path, missing):
    shadow = tmp_path / "gi"
    shadow.mkdir()
    (shadow / "__init__.py").write_text(SHADOWS[missing])
    script = textwrap.dedent("""
        import sys
        from inspector.plugins import PluginRegistry, make_entry_point
        from inspector.cli import program
        reg = PluginRegistry.discover(extra={
            "sources": [make_entry_point("genicam", "plugins.genicam_source:GenICamSource", "sources")],
            "commands": [make_entry_point("cameras", "plugins.genicam_commands:CAMERAS", "commands")]})
        plugin = reg.load("sources", "genicam")
        print("STATUS", plugin.status)
        print("ERROR", plugin.error)
        parser = program.build_parser(reg)
        program.build_parser = lambda registry=None: parser
        sys.exit(program.main(["cameras"]))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT])}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=HANG_S)
    assert "STATUS failed to import" in r.stdout, r.stdout + r.stderr
    error = next(line for line in r.stdout.splitlines() if line.startswith("ERROR"))
    for needed in ("pip install -e '.[genicam]'", "gir1.2-aravis-0.8", "libgirepository1.0-dev", "libcairo2-dev",
                   "pkg-config", "shadowed by the test"):
        assert needed in error
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inspector cameras: error: cannot list cameras: GenICam cameras need")


# -- (f) inspector cameras ---------------------------------------------------------------------------
@needs_cameras
def test_inspector_cameras_lists_both_fake_cameras_and_one_cameras_features(two, capsys):
    from inspector.cli.program import build_parser
    from inspector.plugins import PluginRegistry, make_entry_point

    reg = PluginRegistry.discover(extra={"commands": [make_entry_point("cameras", "plugins.genicam_commands:CAMERAS",
                                                                       "commands")]})
    parser = build_parser(reg)
    args = parser.parse_args(["cameras"])
    assert args.func(args) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0][:6] == ["id", "vendor", "model", "serial", "address", "protocol"]
    listed = {row[3]: row for row in rows[1:]}
    for serial, address in (("CAM1", "127.0.0.1"), ("CAM2", "127.0.0.2")):
        assert listed[serial][:6] == [f"Aravis-Fake-{serial}", "Aravis", "Fake", serial, address, "GigEVision"]
        assert "BayerRG8," in listed[serial] and "Mono8," in listed[serial]
    args = parser.parse_args(["cameras", "--features", "127.0.0.2"])
    assert args.func(args) == 0
    features = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert features["serial"] == "CAM2" and features["width"] == "512" and features["height"] == "512"
    assert features["trigger_sources"] == "Line0, Software" and features["packet_size"].isdigit()
    for key in ("pixel_format", "exposure_us", "gain_db", "frame_rate", "trigger_mode", "trigger_source"):
        assert features[key]


@needs_cameras
def test_the_options_list_the_devices_as_plain_data_for_a_form(two):
    from plugins.genicam_source import GenICamSource

    devices = {d["serial"]: d for d in GenICamSource.devices()}
    assert devices["CAM2"] == {"id": "Aravis-Fake-CAM2", "vendor": "Aravis", "model": "Fake", "serial": "CAM2",
                               "address": "127.0.0.2", "protocol": "GigEVision",
                               "label": "Aravis Fake (CAM2, 127.0.0.2)"}
