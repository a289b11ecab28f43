"""The folder source: pairing, order, bad pairs, options, and watching a folder being written."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from inspector.acquisition import EndOfSource, FrameError, SourceError
from inspector.images import write_image
from plugins.folder_source import FolderSource, natural_key

FAST = dict(poll=0.02, settle=0.1, partner_wait=0.3)  # watch-mode timings small enough for a quick test


def image(value: int, cam: int, size=(12, 16)) -> np.ndarray:
    """An image whose pixels say which pair (value) and which camera it is."""
    img = np.zeros((*size, 3), np.uint8)
    img[..., 0] = value
    img[..., 1] = cam
    return img


def write_pair(folder, key, value, cams=(1, 2)):
    for cam in cams:
        write_image(folder / f"{key}_cam{cam}.png", image(value, cam))


def read_all(src, timeout=0.0):
    """Everything until EndOfSource: pairs, and the FrameErrors in between, in order."""
    out = []
    while True:
        try:
            out.append(src.read(timeout))
        except FrameError as exc:
            out.append(exc)
        except EndOfSource:
            return out


def wait_for_pair(src, reads=600):
    """The next pair. A bound on reads, not on seconds, catches a source that never delivers: 600
    reads of 0.1 s are a minute of the source's clock, however long the machine takes for them."""
    for _ in range(reads):
        pair = src.read(0.1)
        if pair is not None:
            return pair
    raise AssertionError(f"no pair in {reads} reads")


class VirtualClock:
    """The folder source's clock, moved on only by the source's own sleeps. Settle, partner_wait and
    read timeouts are then measured in the source's seconds, so what the tests assert about them
    holds however loaded the machine is (a real clock let a slow step overrun partner_wait)."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        # A nanosecond per look, as a real clock moves on between two looks: the source computes its
        # wake-up times as sums and rescans until the clock is past one; a clock that stood still
        # between looks would keep it rescanning at a wake-up time rounding put a hair ahead.
        self.now += 1e-9
        return self.now

    def sleep(self, seconds):
        self.now += max(0.0, seconds)


@pytest.fixture
def clock(monkeypatch):
    import plugins.folder_source

    virtual = VirtualClock()
    monkeypatch.setattr(plugins.folder_source, "time", virtual)
    return virtual


# -- a finished folder --------------------------------------------------------------------------
def test_pairs_in_natural_order_with_their_content(tmp_path):
    for i in (10, 2, 1, 33, 3):
        write_pair(tmp_path, f"img{i}", i)
    (tmp_path / "notes.txt").write_text("not an image")
    with FolderSource(path=str(tmp_path)) as src:
        pairs = read_all(src)
    assert [p.meta["key"] for p in pairs] == ["img1", "img2", "img3", "img10", "img33"]
    for n, (p, i) in enumerate(zip(pairs, (1, 2, 3, 10, 33))):
        assert p.image1.shape == (12, 16, 3) and p.image1.dtype == np.uint8
        assert (p.image1[..., 0] == i).all() and (p.image1[..., 1] == 1).all()
        assert (p.image2[..., 0] == i).all() and (p.image2[..., 1] == 2).all()
        assert p.frame_ids == (n, n) and p.camera_ids == ("1", "2") and p.cavity_id == 0
        assert p.meta["files"] == (str(tmp_path / f"img{i}_cam1.png"), str(tmp_path / f"img{i}_cam2.png"))
        assert p.timestamps[0] == pytest.approx((tmp_path / f"img{i}_cam1.png").stat().st_mtime)
    assert src.counters.delivered == 5 and src.counters.failed == 0 and src.counters.timeouts == 0
    assert src.raw is True


def test_end_of_source_and_it_stays_ended(tmp_path):
    write_pair(tmp_path, "a", 1)
    with FolderSource(path=str(tmp_path)) as src:
        assert src.read(0).meta["key"] == "a"
        write_pair(tmp_path, "b", 2)  # without watch the folder is taken as it was at open
        for _ in range(2):
            with pytest.raises(EndOfSource):
                src.read(0)


def test_empty_folder_ends_at_once(tmp_path):
    with FolderSource(path=str(tmp_path)) as src:
        with pytest.raises(EndOfSource):
            src.read(1.0)


def test_missing_partner_is_reported_then_reading_goes_on(tmp_path):
    write_pair(tmp_path, "p1", 1)
    write_pair(tmp_path, "p2", 2, cams=(1,))
    write_pair(tmp_path, "p3", 3, cams=(2,))
    write_pair(tmp_path, "p4", 4)
    with FolderSource(path=str(tmp_path)) as src:
        out = read_all(src)
    assert [type(x).__name__ for x in out] == ["FramePair", "FrameError", "FrameError", "FramePair"]
    assert "p2_cam1.png" in str(out[1]) and "p2_cam2.png" in str(out[1])
    assert "p3_cam2.png" in str(out[2]) and "p3_cam1.png" in str(out[2])
    assert out[1].frame_ids == (1, 1) and out[2].frame_ids == (2, 2)
    assert (out[3].image1[..., 0] == 4).all() and out[3].frame_ids == (3, 3)
    assert src.counters.delivered == 2 and src.counters.failed == 2


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4], ids=["empty", "garbage"])
def test_unreadable_file_is_reported_then_reading_goes_on(tmp_path, content):
    write_pair(tmp_path, "a1", 1)
    write_pair(tmp_path, "a2", 2)
    (tmp_path / "a2_cam2.png").write_bytes(content)
    write_pair(tmp_path, "a3", 3)
    with FolderSource(path=str(tmp_path)) as src:
        out = read_all(src)
    assert isinstance(out[1], FrameError)
    assert "a2_cam2.png" in str(out[1]) and out[1].frame_ids == (1, 1)
    assert [p.meta["key"] for p in (out[0], out[2])] == ["a1", "a3"]
    assert src.counters.delivered == 2 and src.counters.failed == 1


def test_truncated_png_is_reported(tmp_path):
    write_pair(tmp_path, "t", 1)
    data = (tmp_path / "t_cam1.png").read_bytes()
    (tmp_path / "t_cam1.png").write_bytes(data[: len(data) // 2])
    with FolderSource(path=str(tmp_path)) as src:
        with pytest.raises(FrameError, match="t_cam1.png"):
            src.read(0)


def test_file_deleted_after_open_is_reported(tmp_path):
    write_pair(tmp_path, "d1", 1)
    write_pair(tmp_path, "d2", 2)
    with FolderSource(path=str(tmp_path)) as src:
        (tmp_path / "d1_cam2.png").unlink()
        with pytest.raises(FrameError, match="d1_cam2.png"):
            src.read(0)
        assert src.read(0).meta["key"] == "d2"


def test_images_of_two_sizes_are_not_the_source_s_problem(tmp_path):
    write_image(tmp_path / "s_cam1.png", image(1, 1, (10, 10)))
    write_image(tmp_path / "s_cam2.png", image(1, 2, (20, 30)))
    with FolderSource(path=str(tmp_path)) as src:
        pair = src.read(0)
    assert pair.image1.shape == (10, 10, 3) and pair.image2.shape == (20, 30, 3)


def test_other_patterns_and_the_more_specific_one_wins(tmp_path):
    # "*.png" also matches the IR images; they belong to the more specific pattern.
    for i in (1, 2):
        write_image(tmp_path / f"shot{i}.png", image(i, 1))
        write_image(tmp_path / f"shot{i}_ir.png", image(i, 2))
    with FolderSource(path=str(tmp_path), cam1="*.png", cam2="*_ir.png", raw="false") as src:
        out = read_all(src)
    assert [p.meta["key"] for p in out] == ["shot1", "shot2"]
    assert (out[1].image2[..., 1] == 2).all()
    assert src.raw is False


def test_cavity_ids_from_the_key(tmp_path):
    write_pair(tmp_path, "shot1_c3", 1)
    write_pair(tmp_path, "shot1_c12", 2)
    write_pair(tmp_path, "shot2_nocavity", 3)
    write_pair(tmp_path, "shot3_c1", 4, cams=(1,))
    with FolderSource(path=str(tmp_path), cavity=r"_c(\d+)$") as src:
        out = read_all(src)
    assert [x.cavity_id for x in out[:2]] == [3, 12]
    assert [x.meta["key"] for x in out[:2]] == ["shot1_c3", "shot1_c12"]
    assert isinstance(out[2], FrameError) and "shot2_nocavity_cam1.png" in str(out[2])
    assert isinstance(out[3], FrameError) and out[3].cavity_id == 1 and "shot3_c1_cam2.png" in str(out[3])
    assert src.counters.delivered == 2 and src.counters.failed == 2


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(colour="red"), "unknown option colour"),
        (dict(cam1="cam1.png"), "exactly one"),
        (dict(cam1="**_cam1.png"), "exactly one"),
        (dict(cam2="*_cam?.png"), "only"),
        (dict(cam1="sub/*_cam1.png"), "folder"),
        (dict(cam1="*.png", cam2="*.png"), "same pattern"),
        (dict(cavity="c(\\d+"), "not a regular expression"),
        (dict(cavity="c\\d+"), "needs a group"),
        (dict(poll="0"), "poll"),
        (dict(settle="-1"), "settle"),
        (dict(watch="maybe"), "watch"),
    ],
)
def test_bad_options(tmp_path, options, message):
    with pytest.raises(SourceError, match=message):
        FolderSource(path=str(tmp_path), **options)


def test_bad_folder(tmp_path):
    with pytest.raises(SourceError, match="path is required"):
        FolderSource()
    missing = tmp_path / "nowhere"
    with pytest.raises(SourceError, match="nowhere"):
        FolderSource(path=str(missing)).open()
    (tmp_path / "file").write_text("x")
    with pytest.raises(SourceError, match="not a folder"):
        FolderSource(path=str(tmp_path / "file")).open()


def test_options_have_help():
    from inspector.acquisition import option_help

    rows = option_help(FolderSource)
    assert {r[0] for r in rows} >= {"path", "cam1", "cam2", "watch", "poll", "settle", "partner_wait", "raw", "cavity"}
    assert all(r[2] for r in rows)


def test_natural_key():
    keys = ["img10", "img2", "IMG3", "img1b", "img1a", "a", "img"]
    assert sorted(keys, key=natural_key) == ["a", "img", "img1a", "img1b", "img2", "IMG3", "img10"]


def test_reopen_resumes(tmp_path):
    for i in range(3):
        write_pair(tmp_path, f"r{i}", i)
    src = FolderSource(path=str(tmp_path))
    with src:
        assert src.read(0).meta["key"] == "r0"
    with src:
        assert [p.meta["key"] for p in read_all(src)] == ["r1", "r2"]


# -- watching ----------------------------------------------------------------------------------
def test_watch_delivers_existing_and_new_pairs_and_times_out(tmp_path, clock):
    write_pair(tmp_path, "w1", 1)
    with FolderSource(path=str(tmp_path), watch="yes", **FAST) as src:
        assert wait_for_pair(src).meta["key"] == "w1"
        t0 = clock.now
        assert src.read(0.3) is None
        assert clock.now - t0 == pytest.approx(0.3, abs=1e-3)  # it waits out its timeout, no less, no more
        assert src.read(0) is None
        assert src.counters.timeouts == 2
        write_pair(tmp_path, "w10", 10)
        write_pair(tmp_path, "w2", 2)
        a, b = wait_for_pair(src), wait_for_pair(src)
        assert [a.meta["key"], b.meta["key"]] == ["w2", "w10"]  # ready at the same scan: natural order
        assert (b.image1[..., 0] == 10).all() and b.frame_ids == (2, 2)
        assert src.read(0.2) is None  # never EndOfSource, and nothing read twice
    assert src.counters.delivered == 3


def test_watch_lone_image_is_reported_after_partner_wait(tmp_path, clock):
    with FolderSource(path=str(tmp_path), watch=True, **FAST) as src:
        write_pair(tmp_path, "lone", 1, cams=(1,))
        t0 = clock.now
        with pytest.raises(FrameError) as err:
            for _ in range(100):  # 5 s of the source's clock
                assert src.read(0.05) is None
        took = clock.now - t0
        assert "lone_cam1.png" in str(err.value) and "lone_cam2.png" in str(err.value)
        # Reported once it has waited partner_wait from the scan that first listed it (≤ one poll away).
        assert FAST["partner_wait"] <= took <= FAST["partner_wait"] + FAST["poll"] + 1e-6
        write_pair(tmp_path, "lone", 1, cams=(2,))  # too late: the key was reported, it is not read again
        write_pair(tmp_path, "next", 2)
        assert wait_for_pair(src).meta["key"] == "next"
        assert src.read(0.4) is None
    assert src.counters.failed == 1 and src.counters.delivered == 1


def test_watch_partner_arriving_within_partner_wait_pairs(tmp_path, clock):
    with FolderSource(path=str(tmp_path), watch=True, **FAST) as src:
        write_pair(tmp_path, "late", 1, cams=(1,))
        assert src.read(0.15) is None
        write_pair(tmp_path, "late", 1, cams=(2,))
        assert wait_for_pair(src).meta["key"] == "late"
    assert src.counters.failed == 0


def test_watch_does_not_read_a_file_still_being_written(tmp_path, clock):
    rng = np.random.default_rng(0)
    full = rng.integers(0, 256, (200, 200, 3), np.uint8)  # noise: a PNG big enough to write in two halves
    ok, buf = cv2.imencode(".png", cv2.cvtColor(full, cv2.COLOR_RGB2BGR))
    data = buf.tobytes()
    settle = 0.5
    with FolderSource(path=str(tmp_path), watch=True, poll=0.02, settle=settle, partner_wait=2.0) as src:
        write_image(tmp_path / "g_cam2.png", image(1, 2))
        target = tmp_path / "g_cam1.png"
        with open(target, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            got = src.read(settle * 0.4)  # the half file is listed, and must not be read yet
            assert got is None
            f.write(data[len(data) // 2:])
        pair = wait_for_pair(src)
    assert np.array_equal(pair.image1, full)
    assert src.counters.failed == 0


def test_watch_writer_thread_pairs_all_arrive_once(tmp_path):
    def writer():
        for i in range(6):
            write_pair(tmp_path, f"t{i}", i)
            time.sleep(0.03)

    with FolderSource(path=str(tmp_path), watch=True, **FAST) as src:
        thread = threading.Thread(target=writer)
        thread.start()
        keys = []
        for _ in range(600):  # a bound on reads (a minute), not on this machine's speed
            if len(keys) == 6:
                break
            pair = src.read(0.1)
            if pair is not None:
                keys.append(pair.meta["key"])
        thread.join()
        assert src.read(0.3) is None
    assert keys == [f"t{i}" for i in range(6)]


def test_watch_folder_that_disappears_is_a_source_error(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    with FolderSource(path=str(folder), watch=True, **FAST) as src:
        assert src.read(0.05) is None
        folder.rmdir()
        with pytest.raises(SourceError, match="incoming"):
            src.read(0.5)


def test_watch_file_deleted_before_it_settles_is_forgotten(tmp_path, clock):
    with FolderSource(path=str(tmp_path), watch=True, poll=0.02, settle=0.3, partner_wait=0.3) as src:
        write_pair(tmp_path, "gone", 1)
        assert src.read(0.05) is None
        for cam in (1, 2):
            (tmp_path / f"gone_cam{cam}.png").unlink()
        assert src.read(0.8) is None
    assert src.counters.failed == 0
