"""`inspector run --opcua` with the default security (Basic256Sha256, SignAndEncrypt): a client with a
trusted certificate and an engineer account stops the run, which ends cleanly with a valid log; an
untrusted certificate and a wrong password are refused while the run goes on. 127.0.0.1 only."""

import asyncio

import pytest
from asyncua import ua

from cli_support import run
from inspector.opcua.config_folder import ConfigFolder
from inspector.records import RecordReader
from test_opcua_line import child, free_port  # noqa: F401  (child: the fixture that stops what it started)
from test_opcua_security import PASSWORDS, add_user, connect, inspector_node, make_client_cert
from waiting import HANG_S


async def until_server_certificate(folder, proc):
    """The run makes its certificate when its server starts; a client needs it to encrypt."""
    cert = ConfigFolder.at(folder).server_cert
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_S
    while not cert.exists():
        assert proc.poll() is None, "the run ended before its server started"
        assert loop.time() < deadline, "no server certificate"
        await asyncio.sleep(0.1)


async def engineer(url, folder, cert, key, proc):
    """Connect as the engineer once the server answers (bounded), wait for results, try the refused
    clients, then call Stop."""
    await until_server_certificate(folder, proc)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_S
    while True:
        try:
            client = await connect(url, folder, cert, key, "eng", PASSWORDS["eng"])
            break
        except (OSError, asyncio.TimeoutError, ua.UaError):
            assert proc.poll() is None and loop.time() < deadline
            await asyncio.sleep(0.2)
    count = await inspector_node(client, "ResultCount")
    while await count.read_value() < 3:
        assert loop.time() < deadline, "no results published"
        await asyncio.sleep(0.1)
    return client


async def scenario(url, folder, certs, proc):
    (cert, key), (stranger, stranger_key) = certs
    client = await engineer(url, folder, cert, key, proc)
    with pytest.raises(ua.uaerrors.BadCertificateUntrusted):
        await connect(url, folder, stranger, stranger_key, "eng", PASSWORDS["eng"])
    with pytest.raises(ua.uaerrors.BadUserAccessDenied):
        await connect(url, folder, cert, key, "eng", "not-the-password")
    # Refused clients leave the run inspecting and the engineer's session served.
    count = await inspector_node(client, "ResultCount")
    before = await count.read_value()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_S
    while await count.read_value() <= before:
        assert loop.time() < deadline, "the run stopped publishing after the refusals"
        await asyncio.sleep(0.1)
    idx = await client.get_namespace_index("urn:inspector:machine-vision")
    inspector = await client.nodes.objects.get_child([f"{idx}:Inspector"])
    await inspector.call_method(f"{idx}:Stop")
    try:
        await client.disconnect()
    except (OSError, asyncio.TimeoutError, ua.UaError):
        pass  # the server may already be closing: the run was told to stop


def test_an_engineer_with_a_trusted_certificate_stops_a_secure_run(tmp_path, child, monkeypatch):  # noqa: F811
    folder = tmp_path / "config"
    env = {"INSPECTOR_CONFIG_DIR": str(folder)}
    r = add_user(env, "eng", "engineer", PASSWORDS["eng"])
    assert r.returncode == 0, r.stderr
    cert, key = make_client_cert(tmp_path, "line-plc")
    stranger = make_client_cert(tmp_path, "stranger")
    r = run("opcua", "trust", cert, env=env)
    assert r.returncode == 0, r.stderr

    url = f"opc.tcp://127.0.0.1:{free_port()}"
    log = tmp_path / "line.h5"
    monkeypatch.setenv("INSPECTOR_CONFIG_DIR", str(folder))  # the run's child takes its environment
    proc = child("run", "--source", "simulator", "--source-opt", "rate=10", "--curves", "none",
                 "--opcua", url, "--out", log, out=tmp_path)
    asyncio.run(scenario(url, folder, ((cert, key), stranger), proc))
    assert proc.wait(HANG_S) == 0, (tmp_path / "stderr").read_text()
    with RecordReader(log) as reader:
        assert len(reader) >= 3
