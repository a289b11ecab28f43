import numpy as np
import pytest

from inspector.synth.camera import PinholeCamera, plane_to_world


def cam(az=180.0, tilt=30.0):
    return PinholeCamera.looking_at_cavity(
        azimuth_deg=az, tilt_deg=tilt, distance_mm=220, focal_px=800, width=256, height=192
    )


@pytest.mark.parametrize("az", [0.0, 180.0, 63.0])
def test_rays_and_homography_agree(az):
    c = cam(az)
    pixels = c.pixel_grid()[::17, ::13].reshape(-1, 2)
    xy = c.plane_hits(c.ray_directions(pixels))
    np.testing.assert_allclose(c.project_plane(xy), pixels, atol=1e-7)


def test_camera_centre_projects_origin_to_image_centre():
    c = cam()
    np.testing.assert_allclose(c.project_plane(np.zeros(2)), [(256 - 1) / 2, (192 - 1) / 2], atol=1e-9)


def test_top_down_view_is_not_mirrored():
    # From above, plane x runs right and y runs down: a vertical camera must see the same.
    c = cam(tilt=0.0)
    origin, ex, ey = c.project_plane(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    a, b = ex - origin, ey - origin
    assert a[0] * b[1] - a[1] * b[0] > 0


def test_plane_to_world_keeps_plane_on_z0():
    w = plane_to_world(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(w, [[1.0, -2.0, 0.0]])


def test_bad_tilt_is_refused():
    with pytest.raises(ValueError, match="tilt"):
        cam(tilt=85)
