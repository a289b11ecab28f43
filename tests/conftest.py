import os

import pytest

# Qt must never try to reach a display in tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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
