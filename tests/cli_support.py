"""Running `inspector` in a child process as a user would, and reading how it refused: the command-line tests' tools."""

import os
import subprocess
import sys
from pathlib import Path

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
    """argparse's refusal: one line naming the option and the problem; exit 2."""
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"error: argument {option}: " in lines[0] and text in lines[0], lines[0]


def files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*"))
