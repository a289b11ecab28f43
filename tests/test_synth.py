from dataclasses import replace

import numpy as np
import pytest

from inspector.errors import InspectorError
from inspector.synth import CLASSES, EVIDENCE, generate
from inspector.synth.camera import plane_to_world
from inspector.synth.insert_geometry import intersect_insert
from inspector.synth.line import sample_rng
from inspector.synth.render import HIDE_MARGIN_MM
from inspector.synth.scene import InsertPose, clean_scene, draw_scene, insert_gap


def test_same_seed_same_bytes_and_samples_independent_of_n(line):
    a = generate(5, seed=3, hidden_share=0.5, line=line)
    b = generate(5, seed=3, hidden_share=0.5, line=line)
    c = generate(2, seed=3, hidden_share=0.5, line=line)
    for x, y in zip(a, b):
        for field in ("view1", "view2", "raw1", "raw2"):
            assert getattr(x, field).tobytes() == getattr(y, field).tobytes()
        assert (x.label, x.evidence) == (y.label, y.evidence)
    for x, y in zip(a, c):
        assert x.view1.tobytes() == y.view1.tobytes()
    d = generate(2, seed=4, hidden_share=0.5, line=line)
    assert d[0].view1.tobytes() != a[0].view1.tobytes()


def test_sample_contract(line):
    samples = generate(6, seed=1, line=line)
    assert [s.label for s in samples] == list(CLASSES) * 2
    for s in samples:
        assert s.view1.shape == s.view2.shape == (128, 128, 3)
        assert s.view1.dtype == np.uint8 and s.raw1.dtype == np.uint8
        assert s.raw1.shape == (192, 256, 3)
        assert s.evidence in EVIDENCE
        assert s.evidence == "both"  # nothing hidden by default


def test_hidden_share_one_hides_exactly_one_camera(line):
    samples = generate(12, seed=2, hidden_share=1.0, line=line)
    for s in samples:
        hidden = [i + 1 for i, c in enumerate(s.scene.cameras) if c.hide]
        assert len(hidden) == 1
        assert s.evidence == f"camera {3 - hidden[0]}"
    mechanisms = {c.hide for s in samples for c in s.scene.cameras if c.hide}
    assert mechanisms == {"glare", "fixture"}


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_bad_hidden_share_is_refused(line, share):
    with pytest.raises(InspectorError, match="hidden share"):
        generate(1, seed=0, hidden_share=share, line=line)


def test_class_geometry(line):
    d = line.design
    rng = np.random.default_rng(0)
    for _ in range(200):
        correct = draw_scene("correct", rng, d)
        skewed = draw_scene("skewed", rng, d)
        assert insert_gap(correct.insert, d) >= d.nominal_gap() - 0.7
        lo, hi = d.skewed_gap
        assert lo - 1e-9 <= insert_gap(skewed.insert, d) <= hi + 1e-9
        assert draw_scene("missing", rng, d).insert is None


def _affected_pixels(view, scene):
    """Every pixel of `view` that sees the insert or its cast shadow, by brute force over all rays."""
    design = view.design
    hits = intersect_insert(view.camera.C[None, :], view.dirs, scene.insert, scene, design)
    ground = np.flatnonzero(~hits.hit)
    shadow = intersect_insert(
        plane_to_world(view.xy[ground].astype(np.float64)), view.light(scene)[None, :].astype(np.float64),
        scene.insert, scene, design,
    ).hit
    affected = hits.hit.copy()
    affected[ground[shadow]] = True
    return affected


def test_decisive_zone_holds_every_insert_and_shadow_pixel(line):
    # The pixel-truth of the hidden samples rests on this: outside the zone no class changes a pixel.
    for i in range(40):
        rng = sample_rng(11, i)
        scene = draw_scene("skewed" if i % 4 else "correct", rng, line.design)
        for view in line.views:
            affected = _affected_pixels(view, scene)
            assert affected.any()
            dist = view.zone_distance(scene).reshape(-1)
            assert dist[affected].max() <= view.zone_radius - HIDE_MARGIN_MM
            assert view._near_insert(scene)[affected].all()  # the fast path skips no insert pixel


def test_hidden_camera_pixels_carry_no_class_information(line):
    """Re-render hidden samples with every other class and the same nuisances: the hidden camera's
    raw image and view stay byte-identical, while the other camera's change."""
    samples = generate(9, seed=5, hidden_share=1.0, line=line)
    for s in samples:
        hidden = next(i for i, c in enumerate(s.scene.cameras) if c.hide)
        visible = 1 - hidden
        for other in CLASSES:
            if other == s.label:
                continue
            alt = line.render(s.scene.with_label(other, np.random.default_rng(99), line.design))
            raws, alt_raws = (s.raw1, s.raw2), (alt.raw1, alt.raw2)
            views, alt_views = (s.view1, s.view2), (alt.view1, alt.view2)
            assert raws[hidden].tobytes() == alt_raws[hidden].tobytes()
            assert views[hidden].tobytes() == alt_views[hidden].tobytes()
            assert np.abs(views[visible].astype(int) - alt_views[visible].astype(int)).mean() > 2.0


def test_visible_camera_changes_with_class(line):
    s = generate(1, seed=8, line=line)[0]  # correct, nothing hidden
    alt = line.render(s.scene.with_label("missing", np.random.default_rng(0), line.design))
    for a, b in ((s.view1, alt.view1), (s.view2, alt.view2)):
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 5.0


def _strip_mean(view, grid, x_from, x_to):
    """Mean grey level of the view over plane x in [x_from, x_to] mm, |y| < 4 mm."""
    xs, ys = grid.plane_coords()
    sel = (xs >= x_from) & (xs <= x_to) & (np.abs(ys) < 4)
    return view.mean(axis=2)[sel].mean()


def _centred_insert_scene(line):
    scene = clean_scene("correct", np.random.default_rng(0), line.design)
    return replace(scene, insert=InsertPose((0.0, 0.0), 0.0, 0.0, 0.0))


def test_blind_spot_shadow_lies_behind_the_insert_away_from_each_camera(line):
    s = line.render(_centred_insert_scene(line))
    d, grid = line.design, line.rig.grid
    # Past the insert's displaced top (r + h·tan 30°) and before its shadow ends (r + h·tan 55°).
    near, far = d.insert_radius + d.insert_height * np.tan(np.deg2rad(30)), d.bowl_radius
    # Camera 1 stands at −x: the black shadow falls at +x beyond the insert; camera 2's at −x.
    behind_1 = _strip_mean(s.view1, grid, near + 0.5, far - 0.5)
    front_1 = _strip_mean(s.view1, grid, -far + 0.5, -near - 0.5)
    behind_2 = _strip_mean(s.view2, grid, -far + 0.5, -near - 0.5)
    front_2 = _strip_mean(s.view2, grid, near + 0.5, far - 0.5)
    assert behind_1 < 20 and behind_2 < 20  # black
    assert front_1 > 50 and front_2 > 50  # the lit bowl floor


def _dark_centre(row):
    """Position of the dark centre hole of the insert's top in a grey profile across the view."""
    window = row[48:80]  # ±6 mm: the hole and its displacement, not the marker dot further out
    dark = window <= window.min() + 0.25 * (np.median(window) - window.min())
    return np.flatnonzero(dark).mean() + 48


def test_parallax_moves_insert_top_away_from_camera(line):
    s = line.render(_centred_insert_scene(line))
    row1, row2 = s.view1.mean(axis=2)[62:66].mean(0), s.view2.mean(axis=2)[62:66].mean(0)
    centre = (128 - 1) / 2
    # A point h = 5 mm high, seen 30° off vertical, lands h·tan 30° further away: about 7.7 px.
    expected = line.design.insert_height * np.tan(np.deg2rad(30.0)) / line.rig.grid.mm_per_px
    assert _dark_centre(row1) - centre == pytest.approx(expected, abs=1.0)
    assert centre - _dark_centre(row2) == pytest.approx(expected, abs=1.0)


def test_a_line_of_another_tilt_calibrates_its_own_rig():
    from inspector.synth.line import LineConfig, SimulatedLine

    steep = SimulatedLine(LineConfig(tilt_deg=40.0))
    assert steep.rig.sha256 != SimulatedLine().rig.sha256
    for name in ("1", "2"):
        assert steep.rig.camera(name).reprojection_rms_px <= 0.5
    scene = clean_scene("missing", np.random.default_rng(0), steep.design)
    s = steep.render(scene)
    for k, view in ((1, s.view1), (2, s.view2)):
        assert np.abs(view.astype(int) - steep.top_down(scene, k).astype(int)).mean() <= 3.0


def test_an_interrupted_dataset_leaves_nothing_behind(tmp_path, line):
    from inspector.synth.dataset import write_dataset

    out = tmp_path / "d.h5"

    def stop(done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dataset(out, 100, seed=0, line=line, progress=stop)
    assert not out.exists() and not list(tmp_path.iterdir())
