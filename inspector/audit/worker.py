"""What runs on a Dask worker: the model cache plugin and the task wrapper.

Imported only when an audit runs on Dask (it imports `distributed`); importing
it has no side effects, since workers re-import it to unpickle the plugin.
"""

from __future__ import annotations

from distributed import WorkerPlugin, get_worker

from inspector.audit.tasks import AuditTask, Summary, run_task

PLUGIN_NAME = "inspector-models"


class ModelCache(WorkerPlugin):
    """The models (as prepared explainers) this worker has loaded, kept across tasks."""

    name = PLUGIN_NAME

    def __init__(self, torch_threads: int = 1):
        self.torch_threads = torch_threads
        self.models: dict = {}

    def setup(self, worker=None):
        import torch

        # Workers share the machine's cores: each gets its share, not all of them.
        torch.set_num_threads(max(1, self.torch_threads))

    def teardown(self, worker=None):
        self.models.clear()


def task_on_worker(task: AuditTask) -> Summary:
    """One task with this worker's model cache."""
    cache = get_worker().plugins.get(PLUGIN_NAME)
    return run_task(task, cache.models if cache is not None else None)
