"""Calibration rigs: chessboard → homography per camera, rig files, inverse perspective mapping."""

from calibration.chessboard import (
    DEFAULT_MAX_ERROR_PX,
    board_points,
    calibrate_camera,
    calibrate_rig,
    find_corners,
    parse_pattern,
)
from calibration.rig import DEFAULT_RIG_PATH, RIG_VERSION, CameraCalibration, Grid, Rig, load_default_rig

__all__ = [
    "DEFAULT_MAX_ERROR_PX",
    "DEFAULT_RIG_PATH",
    "RIG_VERSION",
    "CameraCalibration",
    "Grid",
    "Rig",
    "board_points",
    "calibrate_camera",
    "calibrate_rig",
    "find_corners",
    "load_default_rig",
    "parse_pattern",
]
