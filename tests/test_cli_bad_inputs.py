"""Bad input on the command line: one line naming the input and the problem, exit status 2, nothing
written or lost, no traceback (that is for `inspector --debug`); interrupted commands leave no file."""

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from inspector.cli import main

INSPECTOR = [sys.executable, "-m", "inspector.cli"]


def run(*args, cwd=None, env=None):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    return subprocess.run(INSPECTOR + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def refused(r, *names, code=2, command=None):
    """The run ended with `code`, and its stderr is one line saying `inspector COMMAND: error:` and
    naming every one of `names`; no traceback anywhere."""
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    if command:
        assert lines[0].startswith(f"inspector {command}: error: "), lines[0]
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


def refused_by_argparse(r, option, text):
    """argparse's refusal: its usage lines, then one line naming the option and the problem; exit 2."""
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert f"error: argument {option}: " in last and text in last, last


def files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*"))


# -- any command: one line for a bug, the traceback with --debug ---------------------------------
def test_an_unexpected_error_is_one_line_and_its_traceback_needs_debug(monkeypatch, capsys):
    import inspector.cli as cli

    def broken(args):
        raise RuntimeError("the bug\nits second line")

    monkeypatch.setattr(cli, "cmd_plugins", broken)
    assert main(["plugins"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("inspector plugins: internal error: RuntimeError: the bug "
                           "(run with --debug for the traceback)")
    assert main(["--debug", "plugins"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "RuntimeError: the bug" in err


def test_an_interrupt_still_exits_130(monkeypatch, capsys):
    import inspector.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_plugins", interrupted)
    assert main(["plugins"]) == 130
    assert capsys.readouterr().err.strip() == "inspector plugins: interrupted"


def _broken_plugin(site):
    """A distribution, installed as pip leaves one, whose module fails on a library it cannot load."""
    info = site / "brokenplug-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[inspector.sources]\nbroken = brokenplug_mod:Source\n")
    (site / "brokenplug_mod.py").write_text(textwrap.dedent("""\
        try:
            import libfoo_for_inspector_tests
        except ImportError as exc:
            raise ImportError("vendor SDK libfoo.so not found\\nset FOO_HOME") from exc
    """))
    return {"PYTHONPATH": str(site) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_plugins_verbose_shows_the_error_and_debug_the_traceback(tmp_path):
    env = _broken_plugin(tmp_path / "site")
    r = run("plugins", env=env)
    assert r.returncode == 0, r.stderr
    assert "error: ImportError: vendor SDK libfoo.so not found …" in r.stdout
    r = run("plugins", "--verbose", env=env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "set FOO_HOME" in r.stdout
    assert "caused by: ModuleNotFoundError: No module named 'libfoo_for_inspector_tests'" in r.stdout
    r = run("--debug", "plugins", env=env)
    assert r.returncode == 0, r.stderr
    assert "Traceback (most recent call last)" in r.stdout and "brokenplug_mod.py" in r.stdout


# -- explain --out ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def views(tmp_path_factory, line):
    from inspector.images import write_image

    folder = tmp_path_factory.mktemp("views")
    s = line.render(line.draw(0, 5), 0)
    write_image(folder / "v1.png", s.view1)
    write_image(folder / "v2.png", s.view2)
    return folder / "v1.png", folder / "v2.png"


def test_explain_refuses_an_output_it_cannot_or_should_not_write(tmp_path, views):
    v1, v2 = views
    r = run("explain", v1, v2, "--out", tmp_path / "no" / "dir" / "fig.png")
    refused(r, "fig.png", f"folder {tmp_path / 'no' / 'dir'} does not exist", command="explain")
    existing = tmp_path / "fig.png"
    existing.write_bytes(b"an older figure")
    r = run("explain", v1, v2, "--out", existing)
    refused(r, existing, "already exists", "--overwrite", command="explain")
    assert existing.read_bytes() == b"an older figure"
    for overwrite in ((), ("--overwrite",)):
        r = run("explain", v1, v2, "--out", tmp_path, *overwrite)
        refused(r, tmp_path, "is a folder", command="explain")
        assert "wrote" not in r.stdout
    r = run("explain", v1, v2, "--out", tmp_path / "fig.txt")
    refused(r, "fig.txt", "cannot write a figure as .txt", command="explain")
    folder = tmp_path / "a.png"
    folder.mkdir()
    refused(run("explain", folder, v2), folder, "is a folder", command="explain")
    assert files(tmp_path) == ["a.png", "fig.png"]


def test_explain_overwrite_replaces_the_figure_whole(tmp_path, views):
    v1, v2 = views
    out = tmp_path / "fig.png"
    out.write_bytes(b"an older figure")
    r = run("explain", *views, "--out", out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files(tmp_path) == ["fig.png"]  # no temporary file left beside it
