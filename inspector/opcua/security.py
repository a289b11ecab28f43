"""Who may do what on the OPC UA line server, and `configure(server, ...)` that sets it up.

Two securities (`--opcua-security`):

- `sign-and-encrypt` (default): only Basic256Sha256 SignAndEncrypt; the server's self-signed
  certificate is made on first start; a client must present a certificate copied into `trusted/`
  (`inspector opcua trust`) and log in with a user of `users.json` (`inspector opcua add-user`).
  An operator reads; an engineer reads and calls methods (Start, Stop, AcknowledgeNok).
- `none`: no signature, no encryption, anonymous read-only access; for a loopback address only
  (`check_insecure_endpoint`), since anyone on the network could read and spoof it.

Every refusal (unknown user, wrong password, untrusted certificate, a request the role does not
allow) is logged on `inspector.opcua.security` and answered with its OPC UA status; the server
goes on serving the other clients.
"""

from __future__ import annotations

import contextvars
import functools
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from asyncua import ua
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, User, UserRole
from asyncua.server.user_managers import UserManager

from inspector.opcua.certificates import ensure_server_certificate
from inspector.opcua.config_folder import ConfigFolder, SecurityConfigError
from inspector.opcua.users import load_users

log = logging.getLogger(__name__)

SECURITIES = ("sign-and-encrypt", "none")
ENGINEER, OPERATOR, ANONYMOUS = "engineer", "operator", "anonymous"

_CALL = ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary)
_WRITE = ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)
# Reading, browsing and subscribing: everything a session may ask except writing and calling.
_READ = frozenset(ua.NodeId(t) for t in USER_TYPES) - {_CALL, _WRITE}
# The user of the request being served: the ruleset sets it before the request runs, in the
# connection's task, where the (async) method handler then reads it.
_current_user: contextvars.ContextVar[User | None] = contextvars.ContextVar("opcua_user", default=None)


@dataclass
class LineUser(User):
    """asyncua's user (its `role` is User: no address-space changes) with the line's role."""
    line_role: str = ANONYMOUS


def role_of(user) -> str:
    """"engineer", "operator" or "anonymous" for a session's user (anything else is anonymous)."""
    role = getattr(user, "line_role", ANONYMOUS)
    return role if role in (ENGINEER, OPERATOR) else ANONYMOUS


def require_engineer(user=None) -> None:
    """Raise BadUserAccessDenied unless `user` (default: the user of the request being served) is an engineer."""
    user = _current_user.get() if user is None else user
    if role_of(user) != ENGINEER:
        log.warning("refused a method call by %s (%s): engineers only", getattr(user, "name", None) or "anonymous",
                    role_of(user))
        raise ua.uaerrors.BadUserAccessDenied()


def engineer_only(handler):
    """A method handler for `add_method` that answers BadUserAccessDenied to anyone but an engineer.

    The check runs in the server's loop before `handler` (sync or async) is called; asyncua would
    turn an exception raised inside a handler into BadUnexpectedError, hence the status returned."""
    @functools.wraps(handler)
    async def wrapped(parent, *args):
        try:
            require_engineer()
        except ua.uaerrors.BadUserAccessDenied:
            return ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)
        result = handler(parent, *args)
        if hasattr(result, "__await__"):
            result = await result
        return result
    return wrapped


class RoleRuleset(PermissionRuleset):
    """Which requests each role may make: reading for all, calling methods for engineers, writing for none."""

    def __init__(self, allow_anonymous: bool):
        self.allow_anonymous = allow_anonymous

    def check_validity(self, user, action_type_id, body) -> bool:
        _current_user.set(user)
        role = role_of(user)
        if action_type_id in _READ:
            ok = role != ANONYMOUS or self.allow_anonymous
        else:
            ok = action_type_id == _CALL and role == ENGINEER
        if not ok:
            log.warning("refused request %s of %s (%s)", action_type_id.Identifier,
                        getattr(user, "name", None) or "anonymous", role)
        return ok


class UserFileManager(UserManager):
    """Logs users in against `users.json`, read at each login so that `add-user` needs no restart."""

    def __init__(self, users_file: Path, allow_anonymous: bool):
        self.users_file = Path(users_file)
        self.allow_anonymous = allow_anonymous

    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username is None:
            if self.allow_anonymous:
                return LineUser(role=UserRole.User, name=None, line_role=ANONYMOUS)
            log.warning("refused an anonymous login: this server requires a user name and password")
            return None
        try:
            record = load_users(self.users_file).get(username)
        except SecurityConfigError as exc:
            log.error("refused login of %r: %s", username, exc)
            return None
        if record is None or password is None or not record.verify(password):
            log.warning("refused login of %r: %s", username, "unknown user" if record is None else "wrong password")
            return None
        log.info("user %r logged in as %s", username, record.role)
        return LineUser(role=UserRole.User, name=username, line_role=record.role)


def check_insecure_endpoint(url: str, allow_remote: bool = False) -> None:
    """Security `none` sends everything in the clear and lets anyone in: refuse it on an address
    other hosts reach unless the user says so explicitly (`--opcua-allow-insecure-remote`)."""
    host = urlparse(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise SecurityConfigError(f"{url}: security none only on a loopback address (127.0.0.1, ::1, localhost); "
                                  "use sign-and-encrypt, or pass --opcua-allow-insecure-remote on a closed network")


def _status_name(exc) -> str:
    code = getattr(exc, "code", None)
    return ua.StatusCode(code).name if isinstance(code, int) else repr(exc)


def _logged(validator, store):
    async def validate(cert, app_description):
        try:
            await store.load_trust()  # a certificate trusted while the server runs counts at once
            await validator(cert, app_description)
        except Exception as exc:
            log.warning("refused client certificate %s of %s: %s", cert.subject.rfc4514_string(),
                        app_description.ApplicationUri, _status_name(exc))
            raise
    return validate


async def configure(server, config_dir: Path | str | None = None, security: str = "sign-and-encrypt",
                    host_name: str | None = None) -> ConfigFolder:
    """Set up `server` (an asyncua Server, before `init()`/`start()`) for `security`.

    For sign-and-encrypt it needs the application URI already set (`set_application_uri`): the
    self-signed certificate names it. `config_dir` defaults to `default_config_dir()`."""
    from asyncua.crypto.truststore import TrustStore
    from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

    if security not in SECURITIES:
        raise SecurityConfigError(f"security {security!r}: expected one of {', '.join(SECURITIES)}")
    folder = ConfigFolder.at(config_dir)
    anonymous = security == "none"
    ruleset = RoleRuleset(allow_anonymous=anonymous)
    server.iserver.user_manager = UserFileManager(folder.users, allow_anonymous=anonymous)
    if anonymous:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity], permission_ruleset=ruleset)
        server.set_identity_tokens([ua.AnonymousIdentityToken])
        return folder
    folder.make()
    await ensure_server_certificate(folder, server.get_application_uri(), host_name)
    await server.load_certificate(str(folder.server_cert))
    await server.load_private_key(str(folder.server_key))
    server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt], permission_ruleset=ruleset)
    server.set_identity_tokens([ua.UserNameIdentityToken])
    store = TrustStore([folder.trusted], [])
    options = CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT
    server.set_certificate_validator(_logged(CertificateValidator(options, store), store))
    if not load_users(folder.users):
        log.warning("%s: no users yet; add one with `inspector opcua add-user NAME --role engineer`", folder.users)
    return folder
