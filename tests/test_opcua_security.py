"""Security of the OPC UA line server: `inspector opcua trust/add-user`, and a real asyncua server set
up by `inspector.opcua.security.configure` refusing untrusted certificates, wrong passwords and
method calls without the engineer role, while it goes on serving good clients."""

import asyncio
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import threading

import pytest
from asyncua import Client, Server, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from inspector.opcua.config_folder import ConfigFolder
from inspector.opcua.security import configure, engineer_only
from inspector.opcua.users import load_users
from cli_support import refused, run

PASSWORDS = {"eng": "engineer-pass", "op": "operator-pass"}
CLIENT_URI = "urn:inspector:test-client"


def make_client_cert(folder, name, pem=False):
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key, name, {"organizationName": "test"},
        [x509.UniformResourceIdentifier(CLIENT_URI), x509.DNSName(socket.gethostname())],
        extended=[ExtendedKeyUsageOID.CLIENT_AUTH])
    cert_path = folder / f"{name}.{'pem' if pem else 'der'}"
    cert_path.write_bytes(cert.public_bytes(Encoding.PEM if pem else Encoding.DER))
    key_path = folder / f"{name}_key.pem"
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return cert_path, key_path


def add_user(env, name, role, password, *extra):
    return subprocess.run([sys.executable, "-m", "inspector.cli", "opcua", "add-user", name, "--role", role,
                           "--password-stdin", *extra], input=password + "\n", capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


@pytest.fixture
def config(tmp_path):
    folder = tmp_path / "config"
    return folder, {"INSPECTOR_CONFIG_DIR": str(folder)}


def test_trust_copies_a_certificate_as_der_named_by_its_thumbprint(tmp_path, config):
    folder, env = config
    pem, _ = make_client_cert(tmp_path, "line-mes", pem=True)
    r = run("opcua", "trust", pem, env=env)
    assert r.returncode == 0, r.stderr
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    from cryptography.hazmat.primitives import hashes
    thumb = cert.fingerprint(hashes.SHA1()).hex()
    assert thumb in r.stdout
    (copy,) = (folder / "trusted").iterdir()
    assert copy.name == f"line-mes_{thumb}.der"
    assert x509.load_der_x509_certificate(copy.read_bytes()) == cert
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_trust_refuses_what_is_not_a_certificate(tmp_path, config):
    folder, env = config
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"\x30\x82 not a certificate")
    refused(run("opcua", "trust", junk, env=env), junk, "not an X.509 certificate", command="opcua trust")
    refused(run("opcua", "trust", tmp_path / "absent.pem", env=env), "absent.pem", command="opcua trust")
    assert not (folder / "trusted").exists() or not any((folder / "trusted").iterdir())


def test_add_user_stores_a_salted_hash_owner_only(config):
    folder, env = config
    assert add_user(env, "eng", "engineer", "same-password").returncode == 0
    assert add_user(env, "op", "operator", "same-password").returncode == 0
    users_file = folder / "users.json"
    text = users_file.read_text()
    assert "same-password" not in text
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    data = json.loads(text)["users"]
    assert data["eng"]["role"] == "engineer" and data["op"]["role"] == "operator"
    assert data["eng"]["salt"] != data["op"]["salt"] and data["eng"]["hash"] != data["op"]["hash"]
    users = load_users(users_file)
    assert users["eng"].verify("same-password") and not users["eng"].verify("same-passwore")


def test_add_user_refuses_short_passwords_odd_names_and_replacing_unasked(config):
    folder, env = config
    refused(add_user(env, "eng", "engineer", "short"), "password", "too short", command="opcua add-user")
    refused(add_user(env, "eng", "engineer", ""), "password", command="opcua add-user")
    refused(add_user(env, "../eng", "engineer", "long-enough"), "../eng", command="opcua add-user")
    assert not (folder / "users.json").exists()
    assert add_user(env, "eng", "operator", "first-password").returncode == 0
    refused(add_user(env, "eng", "engineer", "second-password"), "eng", "--overwrite", command="opcua add-user")
    assert load_users(folder / "users.json")["eng"].verify("first-password")
    assert add_user(env, "eng", "engineer", "second-password", "--overwrite").returncode == 0
    user = load_users(folder / "users.json")["eng"]
    assert user.role == "engineer" and user.verify("second-password")
    no_tty = subprocess.run([sys.executable, "-m", "inspector.cli", "opcua", "add-user", "newuser", "--role",
                             "operator"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=120)
    refused(no_tty, "--password-stdin", command="opcua add-user")  # no terminal to ask on: not a silent echo
    r = run("opcua", "add-user", "x", "--role", "admin", "--password-stdin", env=env)
    assert r.returncode == 2 and "--role" in r.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_server(folder, security, port):
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/inspector/")
    await server.set_application_uri("urn:inspector:test-server")
    await configure(server, folder, security)
    idx = await server.register_namespace("urn:inspector:machine-vision")
    obj = await server.nodes.objects.add_object(idx, "Inspector")
    state = await obj.add_variable(idx, "State", "Running")
    stops = []

    @engineer_only
    async def stop(parent):
        stops.append(parent)
        await state.write_value("Stopped")
        return []

    await obj.add_method(idx, "Stop", stop, [], [])
    await server.start()
    return server, stops


async def connect(url, folder, cert, key, user, password):
    client = Client(url, timeout=10)
    client.application_uri = CLIENT_URI
    await client.set_security(SecurityPolicyBasic256Sha256, str(cert), str(key),
                              server_certificate=str(ConfigFolder.at(folder).server_cert),
                              mode=ua.MessageSecurityMode.SignAndEncrypt)
    client.set_user(user)
    client.set_password(password)
    await client.connect()
    return client


async def inspector_node(client, name):
    idx = await client.get_namespace_index("urn:inspector:machine-vision")
    return await client.nodes.objects.get_child([f"{idx}:Inspector", f"{idx}:{name}"])


async def read_state(client):
    return await (await inspector_node(client, "State")).read_value()


def test_sign_and_encrypt_refuses_strangers_and_lets_engineers_stop(tmp_path, config, caplog):
    folder, env = config
    good_cert, good_key = make_client_cert(tmp_path, "good")
    bad_cert, bad_key = make_client_cert(tmp_path, "stranger")
    for name, role in (("eng", "engineer"), ("op", "operator")):
        assert add_user(env, name, role, PASSWORDS[name]).returncode == 0
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/inspector/"
    caplog.set_level(logging.WARNING, logger="inspector.opcua.security")
    threads_before = set(threading.enumerate())

    async def scenario():
        server, stops = await start_server(folder, "sign-and-encrypt", port)
        try:
            assert stat.S_IMODE((folder / "server" / "key.pem").stat().st_mode) == 0o600

            async def still_serves():
                client = await connect(url, folder, good_cert, good_key, "op", PASSWORDS["op"])
                try:
                    return await read_state(client)
                finally:
                    await client.disconnect()

            with pytest.raises(ua.uaerrors.BadCertificateUntrusted):  # nothing trusted yet
                await connect(url, folder, good_cert, good_key, "eng", PASSWORDS["eng"])
            # trusted while the server runs: counts from the next connection
            assert run("opcua", "trust", good_cert, env=env).returncode == 0
            with pytest.raises(ua.uaerrors.BadCertificateUntrusted):
                await connect(url, folder, bad_cert, bad_key, "eng", PASSWORDS["eng"])
            assert await still_serves() == "Running"

            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await connect(url, folder, good_cert, good_key, "eng", "wrong-password")
            assert await still_serves() == "Running"

            operator = await connect(url, folder, good_cert, good_key, "op", PASSWORDS["op"])
            try:
                stop = await inspector_node(operator, "Stop")
                with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                    await (await stop.get_parent()).call_method(stop)
                assert await read_state(operator) == "Running"  # reading is an operator's right
            finally:
                await operator.disconnect()
            assert stops == [] and await still_serves() == "Running"

            engineer = await connect(url, folder, good_cert, good_key, "eng", PASSWORDS["eng"])
            try:
                inspector = await (await inspector_node(engineer, "Stop")).get_parent()
                await inspector.call_method(await inspector_node(engineer, "Stop"))
                assert await read_state(engineer) == "Stopped"
            finally:
                await engineer.disconnect()
            assert len(stops) == 1
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 90))
    assert "refused client certificate O=test,CN=stranger" in caplog.text
    assert "BadCertificateUntrusted" in caplog.text
    assert "refused login of 'eng': wrong password" in caplog.text
    assert "refused CallRequest of op (operator)" in caplog.text
    with socket.socket() as s:  # the port is free again: the server stopped (TIME_WAIT aside, as a server binds)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    assert not [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]


def test_security_none_lets_anonymous_read_but_not_call(tmp_path, config):
    folder, env = config
    port = free_port()

    async def scenario():
        server, stops = await start_server(folder, "none", port)
        try:
            async with Client(f"opc.tcp://127.0.0.1:{port}/inspector/", timeout=10) as client:
                assert await read_state(client) == "Running"
                inspector = await (await inspector_node(client, "Stop")).get_parent()
                with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                    await inspector.call_method(await inspector_node(client, "Stop"))
                assert await read_state(client) == "Running"
        finally:
            await server.stop()
        return stops

    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == []
    assert not (folder / "server").exists()  # no certificate made for security none


def test_engineer_only_answers_access_denied_to_other_roles():
    from inspector.opcua.security import _current_user, line_user, require_engineer, role_of

    calls = []
    handler = engineer_only(lambda parent: calls.append(parent) or [])
    engineer, operator = line_user("eng", "engineer"), line_user("op", "operator")
    assert [role_of(u) for u in (engineer, operator, None)] == ["engineer", "operator", "anonymous"]
    require_engineer(engineer)
    with pytest.raises(ua.uaerrors.BadUserAccessDenied):
        require_engineer(operator)

    async def call_as(user):
        _current_user.set(user)
        return await handler("parent")

    assert asyncio.run(call_as(operator)) == ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)
    assert asyncio.run(call_as(None)) == ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)
    assert calls == []
    assert asyncio.run(call_as(engineer)) == [] and calls == ["parent"]
