"""Plugin discovery: built-ins through their entry points, broken plugins isolated and shown."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from inspector.acquisition import Source
from inspector.plugins import IMPORT_FAILED, LOADED, START_FAILED, PluginError, PluginRegistry, make_entry_point


def test_builtins_register_through_entry_points():
    reg = PluginRegistry.discover()
    assert {"simulator", "folder", "video"} <= set(reg.names("sources"))
    assert "default" in reg.names("models") and "gradcam" in reg.names("explainers")
    for p in reg.load_all():
        assert p.status == LOADED, (p.name, p.error)
        assert p.distribution.startswith("inspector ") and p.builtin
    assert issubclass(reg.get("sources", "simulator"), Source)


def test_a_plugin_that_fails_to_import_is_recorded_and_skipped(tmp_path, monkeypatch):
    (tmp_path / "raising_plugin.py").write_text("raise RuntimeError('camera SDK not found')\n")
    (tmp_path / "exiting_plugin.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    extra = {
        "sources": [
            make_entry_point("missing", "no_such_module_for_inspector:Source", "sources"),
            make_entry_point("raising", "raising_plugin:Source", "sources"),
            make_entry_point("exiting", "exiting_plugin:Source", "sources"),
            make_entry_point("noattr", "inspector.acquisition:NoSuchClass", "sources"),
        ]
    }
    reg = PluginRegistry.discover(extra)
    plugins = {p.name: p for p in reg.load_all()}
    assert plugins["missing"].status == IMPORT_FAILED and "ModuleNotFoundError" in plugins["missing"].error
    assert plugins["raising"].status == IMPORT_FAILED and "camera SDK not found" in plugins["raising"].error
    assert plugins["exiting"].status == IMPORT_FAILED and "SystemExit" in plugins["exiting"].error
    assert plugins["noattr"].status == IMPORT_FAILED and "NoSuchClass" in plugins["noattr"].error
    assert "Traceback" in plugins["raising"].details
    assert plugins["simulator"].status == LOADED  # the others are untouched
    assert not plugins["missing"].builtin and set(reg.builtins("sources")) == {"simulator", "folder", "video", "genicam"}
    assert {p.name for p in reg.failures()} == {"missing", "raising", "exiting", "noattr"}
    with pytest.raises(PluginError, match="raising.*failed to import.*camera SDK not found"):
        reg.get("sources", "raising")
    with pytest.raises(PluginError, match=r"no source plugin named 'nope' \(installed: .*simulator"):
        reg.get("sources", "nope")


def test_a_plugin_that_fails_to_start_is_recorded(tmp_path, monkeypatch):
    (tmp_path / "bad_start_plugin.py").write_text(
        "class Camera:\n    def __init__(self, **options):\n        raise OSError('no camera on the bus')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = PluginRegistry.discover({"sources": [make_entry_point("gige", "bad_start_plugin:Camera", "sources")]})
    with pytest.raises(PluginError, match="'gige' failed to start: OSError: no camera on the bus"):
        reg.start("sources", "gige")
    p = reg.load("sources", "gige")
    assert p.status == START_FAILED and "no camera on the bus" in p.error
    with pytest.raises(PluginError, match="failed to start"):
        reg.get("sources", "gige")


def test_bad_options_pass_through_as_the_callers_error():
    from inspector.acquisition import SourceError

    reg = PluginRegistry.discover()
    with pytest.raises(SourceError, match="unknown option fps"):
        reg.start("sources", "simulator", fps="3")
    assert reg.load("sources", "simulator").status == LOADED  # a user's typo does not mark the plugin broken


def test_two_plugins_with_one_name_keep_the_first_and_say_so():
    extra = {"sources": [make_entry_point("simulator", "inspector.acquisition:Source", "sources")]}
    reg = PluginRegistry.discover(extra)
    assert reg.get("sources", "simulator").__name__ == "SimulatorSource"
    shadowed = [p for p in reg.failures() if p.status == "shadowed"]
    assert len(shadowed) == 1 and "another plugin named 'simulator'" in shadowed[0].error


def _install_third_party(root):
    """Two distributions installed the way pip leaves them (a .dist-info with entry_points.txt): one
    whose module fails to import, one that adds a working source. Nothing in this project changes."""
    for dist, module, body, ep in (
        ("brokenplug", "brokenplug_mod", "raise ImportError('vendor SDK libfoo.so not found')\n",
         "broken = brokenplug_mod:Source"),
        ("goodplug", "goodplug_mod", textwrap.dedent('''
            from dataclasses import dataclass, field
            import numpy as np
            from inspector.acquisition import FramePair, Source, EndOfSource

            class Planes(Source):
                """Grey views already on the plane, `n` of them."""
                name = "planes"
                raw = False

                @dataclass
                class Options:
                    n: int = field(default=3, metadata={"help": "pairs to give"})

                def _open(self):
                    self.i = 0

                def _read(self, timeout):
                    if self.i >= self.options.n:
                        raise EndOfSource("done")
                    self.i += 1
                    v = np.full((128, 128, 3), 60 + self.i, np.uint8)
                    return FramePair(v, v.copy(), cavity_id=self.i, frame_ids=(self.i, self.i))
            '''), "planes = goodplug_mod:Planes"),
    ):
        info = root / f"{dist}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[inspector.sources]\n{ep}\n")
        (root / f"{module}.py").write_text(body)


def _cli(root, *args):
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "inspector.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_installed_third_party_plugins_broken_and_working(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install_third_party(site)
    r = _cli(site, "plugins")
    assert r.returncode == 0, r.stderr
    broken = next(l for l in r.stdout.splitlines() if l.strip().startswith("broken "))
    assert "failed to import" in broken and "brokenplug 1.0" in broken
    assert "vendor SDK libfoo.so not found" in r.stdout
    assert re.search(r"planes\s+loaded\s+goodplug 1.0", r.stdout)
    assert re.search(r"simulator\s+loaded", r.stdout)

    r = _cli(site, "run", "--source", "broken")
    assert r.returncode == 2
    assert "source plugin 'broken' from brokenplug 1.0 failed to import" in r.stderr

    out = tmp_path / "planes.h5"
    r = _cli(site, "run", "--source", "planes", "--source-opt", "n=3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "inspected 3" in r.stdout and "written 3 records" in r.stdout

