import os
import tempfile

import pytest

from genicam_support import ALLOW_SKIP, REGISTRY, WHY_NOT, genicam_threads
from inspector.bench import fake_cameras
from waiting import wait_for

# Qt must never try to reach a display in tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Nor read or change the user's settings, also before a test's own file is set (module fixtures).
os.environ["INSPECTOR_SETTINGS"] = os.path.join(tempfile.mkdtemp(prefix="inspector-test-settings-"), "settings.ini")


@pytest.fixture(autouse=True)
def settings_of_this_test(tmp_path_factory, monkeypatch):
    """Every test's windows (and the commands it runs) keep their settings in a file of their own,
    never in the user's (ui/settings.py reads INSPECTOR_SETTINGS)."""
    path = tmp_path_factory.mktemp("settings") / "settings.ini"
    monkeypatch.setenv("INSPECTOR_SETTINGS", str(path))
    return path


@pytest.fixture(scope="session")
def line():
    from inspector.synth.line import SimulatedLine

    return SimulatedLine()


@pytest.fixture(scope="module")
def model():
    """The shipped model on the CPU (a module that needs another model defines its own `model`)."""
    import inspector

    return inspector.load_model(device="cpu")


@pytest.fixture(scope="module")
def samples(line):
    """Six simulated pairs, half of them hidden from one camera."""
    from inspector.synth import generate

    return generate(6, seed=31, hidden_share=0.5, line=line)


# -- Aravis's fake GigE cameras on loopback (the genicam tests) -------------------------------------
@pytest.fixture
def no_threads_left_behind():
    before = set(genicam_threads())
    yield
    # A grab thread ends with close(); one left inside a dead camera's register call is a daemon.
    assert wait_for(lambda: all(t.daemon for t in set(genicam_threads()) - before))


@pytest.fixture(scope="module")
def addresses():
    if WHY_NOT:
        if ALLOW_SKIP:
            pytest.skip(WHY_NOT)
        pytest.fail(f"{WHY_NOT}; bash .ci/system-packages installs it (INSPECTOR_ALLOW_NO_ARAVIS=1 skips)")
    with fake_cameras.LoopbackAddress("127.0.0.2"), fake_cameras.LoopbackAddress("127.0.0.3"):
        yield


@pytest.fixture
def cameras(addresses):
    """Starts fake cameras on demand and stops exactly those at the end."""
    started = []

    def start(address, serial, loss=0):
        cam = fake_cameras.FakeCamera(address, serial, REGISTRY, loss)
        started.append(cam)
        return cam.start()

    yield start
    for cam in started:
        cam.stop()


@pytest.fixture
def two(cameras):
    return cameras("127.0.0.1", "CAM1"), cameras("127.0.0.2", "CAM2")
