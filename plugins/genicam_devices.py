"""Aravis, imported once and guarded, and the GenICam cameras it can see: listed as plain dicts, found by
serial, device id or address, and described by their main features.

Why it is built this way:

* Aravis comes from the system (GObject introspection data, `gir1.2-aravis-0.8`
  on Debian) and from PyGObject, neither of which `pip install inspector` brings.
  Without them this module raises ImportError with what to install, so the plugin
  registry lists the `genicam` source as failed to import, with the reason, and
  every other source goes on working.
* Discovery (`update_device_list`) is process-wide state in Aravis and takes
  about a second (it waits for answers to a broadcast). One lock serialises it
  with opening a camera, so two reconnecting cameras never rebuild the list
  under each other.
"""

from __future__ import annotations

import threading

from inspector.acquisition import SourceError

INSTALL_HINT = (
    "GenICam cameras need Aravis 0.8 and PyGObject: pip install -e '.[genicam]' and, on Debian or Ubuntu, "
    "apt install gir1.2-aravis-0.8 libgirepository1.0-dev libcairo2-dev pkg-config"
)

try:
    import gi

    gi.require_version("Aravis", "0.8")
    from gi.repository import Aravis
except (ImportError, ValueError) as exc:  # ValueError: gi is there, the Aravis typelib is not
    raise ImportError(f"{INSTALL_HINT} ({type(exc).__name__}: {exc})") from exc

ARAVIS_LOCK = threading.Lock()


def list_devices() -> list[dict]:
    """Every camera Aravis finds now, as plain dicts: id, vendor, model, serial, address (IP, or the USB
    id), protocol. Takes about a second (discovery waits for answers)."""
    with ARAVIS_LOCK:
        Aravis.update_device_list()
        return [_device(i) for i in range(Aravis.get_n_devices())]


def _device(i: int) -> dict:
    protocol = Aravis.get_device_protocol(i) or ""
    address = Aravis.get_device_address(i) or ""
    if not address or protocol.lower().startswith("usb"):
        address = Aravis.get_device_physical_id(i) or address
    return {
        "id": Aravis.get_device_id(i) or "",
        "vendor": Aravis.get_device_vendor(i) or "",
        "model": Aravis.get_device_model(i) or "",
        "serial": Aravis.get_device_serial_nbr(i) or "",
        "address": address,
        "protocol": protocol,
    }


def found_line(devices: list[dict]) -> str:
    """What was found, for messages: "found: Aravis-Fake-CAM1 (127.0.0.1), …" or "no GenICam camera found"."""
    if not devices:
        return "no GenICam camera found"
    return "found: " + ", ".join(f"{d['id']} ({d['address']})" for d in devices)


def match(devices: list[dict], spec: str) -> dict | None:
    """The device whose serial, id or address is `spec`, or None."""
    for d in devices:
        if spec in (d["serial"], d["id"], d["address"]):
            return d
    return None


def find_device(spec: str, devices: list[dict] | None = None) -> dict:
    """The one device named by serial, id or address, or SourceError listing what was found."""
    devices = list_devices() if devices is None else devices
    device = match(devices, spec)
    if device is None:
        raise SourceError(f"no GenICam camera with serial, id or address {spec!r}; {found_line(devices)}")
    return device


def open_camera(device_id: str):
    """An `Aravis.Camera` on the device with this id; GLib's error is raised as SourceError."""
    with ARAVIS_LOCK:
        try:
            return Aravis.Camera.new(device_id)
        except Exception as exc:  # GLib.GError: the camera went away between discovery and open
            raise SourceError(f"camera {device_id} cannot be opened: {exc}") from None


def pixel_formats(camera) -> list[str]:
    return list(camera.dup_available_pixel_formats_as_strings() or [])


def trigger_sources(camera) -> list[str]:
    try:
        return list(camera.dup_available_trigger_sources() or [])
    except Exception:  # a camera without triggers
        return []


def features(camera) -> dict:
    """The main features of an open camera, as plain values ("" where the camera lacks one)."""
    device = camera.get_device()

    def value(read, available=True):
        if not available:
            return ""
        try:
            return read()
        except Exception:
            return ""

    def enum(name):
        return value(lambda: device.get_string_feature_value(name), device.is_feature_available(name))

    region = value(camera.get_region)
    return {
        "width": region.width if region != "" else "",
        "height": region.height if region != "" else "",
        "pixel_format": value(camera.get_pixel_format_as_string),
        "pixel_formats": pixel_formats(camera),
        "exposure_us": value(camera.get_exposure_time, camera.is_exposure_time_available()),
        "gain_db": value(camera.get_gain, camera.is_gain_available()),
        "frame_rate": value(camera.get_frame_rate, camera.is_frame_rate_available()),
        "trigger_mode": enum("TriggerMode"),
        "trigger_source": enum("TriggerSource"),
        "trigger_sources": trigger_sources(camera),
        "packet_size": value(camera.gv_get_packet_size, camera.is_gv_device()),
    }
