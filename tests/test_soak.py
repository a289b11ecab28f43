"""The soak test of the issue: 2,000 simulated inspections through the pipeline into a log.

Slow (about a minute and a half on two cores), so it is marked and left out of the
default run: `python -m pytest -m slow tests/test_soak.py`; `inspector bench --only soak`
prints the same figures.
"""

import pytest

from inspector.bench.pipeline import soak


@pytest.mark.slow
def test_two_thousand_inspections_grow_no_memory_hooks_or_threads():
    r = soak(2000, warmup=300)
    assert r["inspected"] == r["written"] == 2000
    assert r["rss_growth_mb"] <= 50, r["rss_samples"]
    assert r["hooks_added"] == 0 and r["explainer_hooks"] == 0
    assert r["threads_left"] == []
