"""Reading files with the HDF5 command-line tools, as other programs will.

The tools on PATH are what is tested against: Debian's hdf5-tools 1.10.8 in CI
(`.ci/run` installs them), the oldest HDF5 the logs promise to be readable by.
A missing tool fails the test; INSPECTOR_ALLOW_NO_H5TOOLS=1 skips it instead,
for machines where they cannot be installed.
"""

import os
import re
import shutil
import subprocess

import pytest

ALLOW_MISSING = "INSPECTOR_ALLOW_NO_H5TOOLS"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = (f"{name} not found on PATH: install Debian's hdf5-tools (apt-get install hdf5-tools), "
                   f"or set {ALLOW_MISSING}=1 to skip the tests that read logs with the HDF5 tools")
        if os.environ.get(ALLOW_MISSING) == "1":
            pytest.skip(message)
        pytest.fail(message)
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60).stdout
    major = re.search(r"Version (\d+)\.", version)
    if major and int(major.group(1)) >= 2:
        # HDF5 2.x reads its own newest format: such a tool cannot show that 1.x tools read the logs.
        pytest.fail(f"{name} is HDF5 {version.strip()}; these tests need the tools of HDF5 1.x (hdf5-tools 1.10)")
    return path


def run(name: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([tool(name), *map(str, args)], capture_output=True, text=True, timeout=300)


def assert_tools_read(path, datasets) -> None:
    """h5ls -r lists every dataset with its shape and h5dump dumps the whole file, with no error."""
    ls = run("h5ls", "-r", path)
    assert ls.returncode == 0 and "*ERROR*" not in ls.stdout, ls.stdout + ls.stderr
    listed = {line.split()[0].lstrip("/") for line in ls.stdout.splitlines() if "Dataset" in line}
    assert listed >= set(datasets), f"h5ls did not list {sorted(set(datasets) - listed)}"
    dump = run("h5dump", path)
    assert dump.returncode == 0, dump.stderr[-2000:] or dump.stdout[-2000:]
    assert "error" not in dump.stderr.lower() and "*ERROR*" not in dump.stdout, dump.stderr[-2000:]


def dumped(path, dataset: str, strings: bool = False) -> list[str]:
    """The values h5dump prints for one dataset, in storage order, as text (strings: without the
    quotes and the NUL padding)."""
    out = run("h5dump", "-d", dataset, "-y", "-w", "0", path)
    assert out.returncode == 0 and "error" not in out.stderr.lower(), out.stderr
    block = re.search(r"DATA \{\n(.*?)\n\s*\}", out.stdout, re.S)
    assert block, out.stdout
    if strings:
        return [v.replace("\\000", "") for v in re.findall(r'"((?:[^"\\]|\\.)*)"', block.group(1))]
    return [v for v in re.split(r"[,\s]+", block.group(1)) if v]
