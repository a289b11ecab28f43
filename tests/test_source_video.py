"""The video source on real FFV1 files: replay pairing, live dropping, timeouts, reconnects, hangs.

Frame k of a test video is filled with BGR (10·k, tag, 200), so its RGB image is
(200, tag, 10·k): the blue channel says which frame it is, green which camera.
"""

import os
import threading
import time

import cv2
import numpy as np
import pytest

from inspector.acquisition import EndOfSource, FrameError, SourceError, option_help
from plugins.video_source import VideoSource
from waiting import HANG_S, returns_within, wait_for


def write_video(path, frames, *, tag=1, size=(64, 48), fps=30):
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), fps, (w, h))
    assert writer.isOpened()
    for k in range(frames):
        image = np.empty((h, w, 3), np.uint8)
        image[:] = ((10 * k) % 256, tag, 200)
        writer.write(image)
    writer.release()
    return str(path)


def frame_of(rgb, tag):
    """The frame index written into an RGB image, after checking its colour order and camera."""
    assert rgb[0, 0, 0] == 200 and rgb[0, 0, 1] == tag
    assert (rgb == rgb[0, 0]).all()
    return int(rgb[0, 0, 2]) // 10


def source_threads():
    return [t for t in threading.enumerate() if t.name.startswith("video-source")]


@pytest.fixture(autouse=True)
def no_threads_left_behind():
    before = set(source_threads())
    yield
    # Threads of a source end with close(); only a deliberately hung one may linger, and it is a daemon.
    assert wait_for(lambda: all(t.daemon for t in set(source_threads()) - before))


@pytest.fixture
def videos(tmp_path):
    return {
        "a12": write_video(tmp_path / "a12.avi", 12, tag=1),
        "b12": write_video(tmp_path / "b12.avi", 12, tag=2, size=(32, 24)),  # another size is fine
        "b9": write_video(tmp_path / "b9.avi", 9, tag=2),
    }


def read_all(src, timeout=30.0):
    pairs, errors = [], []
    while True:
        try:
            pair = src.read(timeout)
        except FrameError as exc:
            errors.append(exc)
            continue
        except EndOfSource as exc:
            return pairs, errors, exc
        assert pair is not None, "a replayed file should not time out"
        pairs.append(pair)


# -- replay ------------------------------------------------------------------------------------
def test_replay_pairs_every_frame_in_order(videos):
    with VideoSource(cam1=videos["a12"], cam2=videos["b12"], cavity_id="3") as src:
        assert not src.live
        pairs, errors, end = read_all(src)
        assert errors == []
        assert [p.frame_ids for p in pairs] == [(k, k) for k in range(12)]
        for k, p in enumerate(pairs):
            assert frame_of(p.image1, tag=1) == k and frame_of(p.image2, tag=2) == k
            assert p.image1.shape == (48, 64, 3) and p.image2.shape == (24, 32, 3)
            for image in (p.image1, p.image2):
                assert image.dtype == np.uint8 and image.flags.c_contiguous and image.flags.owndata
            assert p.camera_ids == ("1", "2") and p.cavity_id == 3
            assert p.meta == {"inputs": (videos["a12"], videos["b12"])}
            assert all(abs(t - time.time()) < 60 for t in p.timestamps)
        assert "both ended after 12 frames" in str(end)
        assert src.counters.delivered == 12 and src.counters.failed == 0 and src.counters.dropped == 0
        with pytest.raises(EndOfSource):
            src.read(0.1)


def test_replay_of_unequal_files_ends_at_the_shorter_and_says_what_was_left(videos):
    with VideoSource(cam1=videos["a12"], cam2=videos["b9"]) as src:
        pairs, errors, end = read_all(src)
    assert len(pairs) == 9 and errors == []
    message = str(end)
    assert "camera 2 ended at frame 9" in message
    assert "the last 3 frames of camera 1" in message and "cannot be paired" in message
    assert videos["b9"] in message and videos["a12"] in message


def test_replay_rate_paces_pairs_and_a_short_read_times_out(videos):
    with VideoSource(cam1=videos["a12"], cam2=videos["b12"], rate=20) as src:
        start = time.monotonic()
        for _ in range(6):
            assert src.read(30.0) is not None
        assert time.monotonic() - start >= 0.2  # six pairs at 20/s take at least five periods
    # At 0.1 pairs/s the next pair is 10 s away, however slowly this machine reaches the next read
    # (at 20/s, a read 50 ms late found the pair due and the test failed under load).
    with VideoSource(cam1=videos["a12"], cam2=videos["b12"], rate=0.1) as src:
        assert src.read(30.0) is not None
        assert src.read(0.0) is None
        assert src.counters.timeouts == 1


class Faulty:
    """A real capture whose reads can be spoiled: `spoil(index, frame)` returns what read() gives."""

    def __init__(self, cap, spoil):
        self.cap, self.spoil, self.index = cap, spoil, 0

    def read(self):
        ok, frame = self.cap.read()
        if ok:
            ok, frame = self.spoil(self.index, frame)
            self.index += 1
        return ok, frame

    def __getattr__(self, name):
        return getattr(self.cap, name)


def spoil_camera(src, slot, spoil):
    real = src._create_capture

    def create(inp):
        cap = real(inp)
        return Faulty(cap, spoil) if cap is not None and inp.slot == slot else cap

    src._create_capture = create


def test_replay_frame_that_fails_to_decode_is_a_frame_error_and_reading_goes_on(videos):
    src = VideoSource(cam1=videos["a12"], cam2=videos["b12"])
    spoil_camera(src, 1, lambda k, frame: (False, None) if k == 5 else (True, frame))
    with src:
        pairs, errors, end = read_all(src)
    assert [p.frame_ids[0] for p in pairs] == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert all(frame_of(p.image1, 1) == frame_of(p.image2, 2) == p.frame_ids[0] for p in pairs)
    assert len(errors) == 1 and errors[0].frame_ids == (5, 5)
    assert "camera 1" in str(errors[0]) and "frame 5" in str(errors[0]) and "decoded" in str(errors[0])
    assert "both ended after 12" in str(end)
    assert src.counters.failed == 1 and src.failed_reads == 1


def test_frame_that_is_not_three_channel_uint8_is_a_frame_error(videos):
    src = VideoSource(cam1=videos["a12"], cam2=videos["b12"])
    spoil_camera(src, 2, lambda k, f: (True, cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) if k == 3 else f))
    with src:
        pairs, errors, _ = read_all(src)
    assert len(pairs) == 11 and len(errors) == 1
    assert errors[0].frame_ids == (3, 3)
    assert "camera 2" in str(errors[0]) and "frame 3" in str(errors[0]) and "3-channel uint8" in str(errors[0])


# -- opening and options -----------------------------------------------------------------------
def test_missing_file_is_refused_at_open(videos, tmp_path):
    missing = str(tmp_path / "nowhere.avi")
    for mode in ("replay", "live"):
        src = VideoSource(cam1=videos["a12"], cam2=missing, mode=mode)
        with pytest.raises(SourceError, match="camera 2: video file .*nowhere.avi does not exist"):
            src.open()
        assert not src.is_open


def test_file_that_is_not_a_video_is_refused_at_open(videos, tmp_path):
    junk = tmp_path / "x.avi"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    for mode in ("replay", "live"):
        src = VideoSource(cam1=str(junk), cam2=videos["b12"], mode=mode)
        with pytest.raises(SourceError, match="camera 1: video file .*x.avi cannot be opened"):
            src.open()


@pytest.mark.parametrize("options, match", [
    ({"cam1": "a", "cam2": "b", "colour": "red"}, "unknown option colour"),
    ({"cam1": "a", "cam2": "b", "rate": "fast"}, "rate='fast' is not a valid float"),
    ({"cam1": "a", "cam2": ""}, "option cam2 is required"),
    ({"cam2": "b"}, "option cam1 is required"),
    ({"cam1": "a", "cam2": "b", "mode": "stream"}, "mode='stream' is not one of auto, replay, live"),
    ({"cam1": "a", "cam2": "b", "rate": "-1"}, "rate=-1.0 must be"),
    ({"cam1": "a", "cam2": "b", "backoff": "2", "backoff_max": "1"}, "backoff_max=1 is shorter"),
    ({"cam1": "0", "cam2": "b", "mode": "replay"}, "camera 1: video device 0 is not a file"),
])
def test_bad_options_are_refused(options, match):
    with pytest.raises(SourceError, match=match):
        VideoSource(**options)


def test_options_modes_and_help():
    assert VideoSource(cam1="a.avi", cam2="b.avi").live is False
    assert VideoSource(cam1="0", cam2="1").live is True
    assert VideoSource(cam1="0", cam2="b.avi").live is True
    assert VideoSource(cam1="a.avi", cam2="b.avi", mode="live").live is True
    assert VideoSource(cam1="a", cam2="b").raw is True
    assert VideoSource(cam1="a", cam2="b", raw="false").raw is False
    assert all(text for _, _, text in option_help(VideoSource))


# -- timeouts and cameras that are not there ---------------------------------------------------
def test_absent_device_waits_with_backoff_and_reads_time_out():
    src = VideoSource(cam1="97", cam2="98", backoff=0.1, backoff_max=0.4)
    with src:  # no such cameras: open does not fail, the workers keep trying
        # The read gives up after its timeout rather than waiting for a camera (the bound only catches a hang).
        assert returns_within(lambda: src.read(0.3)) is None
        assert src.counters.timeouts == 1
        assert wait_for(lambda: src.connect_attempts >= 8)  # four or more per camera
        waits = [s for cam, s in list(src.backoff_waits) if cam == "1"]
        assert waits[:3] == pytest.approx([0.1, 0.2, 0.4])
        assert max(waits) == pytest.approx(0.4)
        assert src.counters.reconnects == 0 and src.counters.delivered == 0
        # Both are reported lost, by name and why, for the run to show.
        assert wait_for(lambda: len(src.counters.lost_cameras()) == 2)
        assert src.counters.lost_cameras() == {"camera 1": "video device 97 cannot be opened",
                                               "camera 2": "video device 98 cannot be opened"}


def test_absent_device_without_reconnect_is_refused_at_open():
    with pytest.raises(SourceError, match="camera 1: video device 97 cannot be opened"):
        VideoSource(cam1="97", cam2="98", reconnect="false").open()


def test_a_device_that_hangs_while_opening_is_lost_and_holds_up_neither_open_nor_close():
    # open_timeout far beyond the hang bound: open() and close() returning at all shows they did not wait for it.
    src = VideoSource(cam1="97", cam2="98", read_timeout=0.3, open_timeout=600)
    gate = threading.Event()

    def create(inp):  # like a driver that never returns from opening
        gate.wait()
        return None

    src._create_capture = create
    try:
        returns_within(src.open)
        assert wait_for(lambda: len(src.counters.lost_cameras()) == 2)
        assert src.counters.lost_cameras()["camera 1"] == "video device 97 has not answered for 0.3 s"
        assert returns_within(lambda: src.read(0.1)) is None
        returns_within(src.close)
        assert len(src.stalled_threads) == 2 and all(t.daemon for t in src.stalled_threads)
    finally:
        gate.set()
    for thread in src.stalled_threads:
        thread.join(HANG_S)
        assert not thread.is_alive()


class Hanging:
    """A capture whose read() never returns until released, like a camera pulled mid-read."""

    def __init__(self):
        self.go, self.released = threading.Event(), threading.Event()

    def read(self):
        self.go.wait()
        return False, None

    def get(self, prop):
        return 0.0

    def release(self):
        self.released.set()


def test_hung_read_is_abandoned_and_a_new_capture_takes_over(videos):
    src = VideoSource(cam1=videos["a12"], cam2=videos["b12"], mode="live", rate=50,
                      read_timeout=0.3, backoff=0.05)
    real, hung = src._create_capture, Hanging()
    calls = []

    def create(inp):
        calls.append(inp.slot)
        return hung if inp.slot == 1 and calls.count(1) == 1 else real(inp)

    src._create_capture = create
    try:
        with src:
            # Camera 1 is stuck inside read(); the consumer is not: its read returns (the bound only catches a hang).
            assert returns_within(lambda: src.read(0.2)) is None
            assert wait_for(lambda: "camera 1" in src.counters.lost_cameras())  # silent past the read timeout
            assert src.counters.lost_cameras()["camera 1"].startswith(f"video file {videos['a12']} ")
            pair = src.read(30.0)
            assert pair is not None and frame_of(pair.image1, 1) == pair.frame_ids[0] % 12
            assert src.counters.lost_cameras() == {}  # the new capture's frame found it again
            assert src.stalls == 1 and src.failed_reads >= 1 and src.counters.reconnects >= 1
        stuck = src.stalled_threads
        assert len(stuck) == 1 and stuck[0].daemon and stuck[0].is_alive()
        assert not [t for t in source_threads() if t.is_alive() and t not in stuck]
    finally:
        hung.go.set()
    assert hung.released.wait(HANG_S)  # once cv2 returns, the abandoned worker releases its capture
    stuck[0].join(HANG_S)
    assert not stuck[0].is_alive()


# -- live --------------------------------------------------------------------------------------
def test_live_keeps_the_newest_frames_and_counts_the_dropped(videos):
    src = VideoSource(cam1=videos["a12"], cam2=videos["b12"], mode="live", rate=50, backoff=0.05)
    with src:
        first = src.read(30.0)
        assert first is not None
        # Two more frames per camera arrive while nobody reads: one of them is overwritten unread.
        # Counted in frames, not waited for as 0.4 s, which a loaded machine may spend on two frames.
        assert wait_for(lambda: all(c.next_index >= f + 3 for c, f in zip(src._cams, first.frame_ids)))
        second = src.read(30.0)
        assert second is not None
        assert src.counters.dropped > 0
        assert second.frame_ids[0] > first.frame_ids[0] + 1 and second.frame_ids[1] > first.frame_ids[1] + 1
        for p in (first, second):  # frame ids count across passes of the file; the pixels agree
            assert frame_of(p.image1, 1) == p.frame_ids[0] % 12
            assert frame_of(p.image2, 2) == p.frame_ids[1] % 12
        threads = source_threads()
        assert threads
    assert not [t for t in threads if t.is_alive()]
    assert src.stalled_threads == []


def test_live_reconnects_with_growing_backoff_and_resumes(videos, tmp_path):
    path = videos["a12"]
    away = str(tmp_path / "away.avi")
    long = write_video(tmp_path / "long.avi", 600, tag=2)  # camera 2 does not loop during the test
    src = VideoSource(cam1=path, cam2=long, mode="live", rate=100, backoff=0.05, backoff_max=0.4)
    with src:
        # A file read live ends like a camera that goes away, and is reopened: it loops.
        assert wait_for(lambda: src.counters.reconnects >= 2)
        assert src.read(30.0) is not None
        assert src.counters.lost_cameras() == {}  # a live file's end is no loss
        os.rename(path, away)  # the input disappears; the open capture still reads to its end
        assert wait_for(lambda: 0.4 in [s for c, s in list(src.backoff_waits) if c == "1"])
        waits = [s for c, s in list(src.backoff_waits) if c == "1"]
        run = waits[len(waits) - 1 - waits[::-1].index(0.05):]  # since the last fresh start
        assert run[:4] == pytest.approx([0.05, 0.1, 0.2, 0.4])
        reconnects, attempts = src.counters.reconnects, src.connect_attempts
        assert wait_for(lambda: src.connect_attempts > attempts)  # still trying, at the cap
        assert src.counters.reconnects == reconnects
        while src.read(0.0) is not None:  # whatever camera 1 sent before it went away
            pass
        assert src.read(0.3) is None
        assert src.counters.lost_cameras() == {"camera 1": f"video file {path} cannot be opened"}
        last = src._cams[0].next_index
        os.rename(away, path)  # back again: the next attempt succeeds and frames flow
        pair = src.read(30.0)
        assert pair is not None and pair.frame_ids[0] >= last
        assert frame_of(pair.image1, 1) == pair.frame_ids[0] % 12
        assert src.counters.reconnects > reconnects
        assert src.counters.lost_cameras() == {}


def test_live_file_without_reconnect_plays_once_then_ends(videos):
    with VideoSource(cam1=videos["a12"], cam2=videos["b12"], mode="live", rate=200, reconnect="no") as src:
        with pytest.raises(EndOfSource, match="camera [12]: video file .* ended and reconnect is off"):
            for _ in range(200):
                src.read(1.0)
        assert src.counters.reconnects == 0


# -- closing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["replay", "live"])
def test_close_twice_is_safe_and_read_after_close_is_refused(videos, mode):
    src = VideoSource(cam1=videos["a12"], cam2=videos["b12"], mode=mode, rate=100).open()
    assert src.read(30.0) is not None
    src.close()
    src.close()
    with pytest.raises(SourceError, match="read before open"):
        src.read(0.1)
    assert src.stalled_threads == []
