import os

import pytest

# Qt must never try to reach a display in tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def line():
    from inspector.synth.line import SimulatedLine

    return SimulatedLine()
