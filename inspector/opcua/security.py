"""Who may do what on the OPC UA line server, and `configure(server, ...)` that sets it up.

Two securities (`--opcua-security`):

- `sign-and-encrypt` (default): only Basic256Sha256 SignAndEncrypt; the server's self-signed
  certificate is made on first start; a client must present a certificate copied into `trusted/`
  (`inspector opcua trust`) and log in with a user of `users.json` (`inspector opcua add-user`).
  An operator reads; an engineer reads and calls methods (Start, Stop, AcknowledgeNok).
- `none`: no signature, no encryption, anonymous read-only access; for a loopback address only
  (`inspector.opcua.endpoint.check_security`), since anyone on the network could read and forge it.

Every refusal (unknown user, wrong password, untrusted certificate, a request the role does not
allow) is logged on `inspector.opcua.security` and answered with its OPC UA status; the server
goes on serving the other clients.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, User, UserRole
from asyncua.server.user_managers import UserManager

from inspector.opcua.certificates import ensure_server_certificate
from inspector.opcua.config_folder import ConfigFolder, SecurityConfigError
from inspector.opcua.users import UserRecord, load_users

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
    """asyncua's user with the line's role. asyncua's own `role` is Admin for an engineer (what
    `inspector.opcua.server.may_call_methods` asks), User for an operator, Anonymous otherwise;
    the rulesets refuse every change of the address space to all of them alike."""
    line_role: str = ANONYMOUS


_ASYNCUA_ROLE = {ENGINEER: UserRole.Admin, OPERATOR: UserRole.User, ANONYMOUS: UserRole.Anonymous}


def line_user(name: str | None, role: str) -> LineUser:
    return LineUser(role=_ASYNCUA_ROLE[role], name=name, line_role=role)


def role_of(user) -> str:
    """"engineer", "operator" or "anonymous" for a session's user (one this module did not log in is anonymous)."""
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
    """Which requests each role may make: reading for all, calling methods for engineers, writing for
    none; and, when given, only what the `inner` ruleset (the server's own rules) allows as well."""

    def __init__(self, allow_anonymous: bool, inner: PermissionRuleset | None = None):
        self.allow_anonymous = allow_anonymous
        self.inner = inner

    def check_validity(self, user, action_type_id, body) -> bool:
        _current_user.set(user)
        role = role_of(user)
        if action_type_id in _READ:
            ok = role != ANONYMOUS or self.allow_anonymous
        else:
            ok = action_type_id == _CALL and role == ENGINEER
        if ok and self.inner is not None:
            ok = self.inner.check_validity(user, action_type_id, body)
        if not ok:
            log.warning("refused %s of %s (%s)", _request_name(action_type_id),
                        getattr(user, "name", None) or "anonymous", role)
        return ok


_DUMMY = UserRecord("-", OPERATOR, "00" * 16, "00" * 32)


def _request_name(type_id) -> str:
    name = ua.object_ids.ObjectIdNames.get(type_id.Identifier, str(type_id.Identifier))
    return name.removesuffix("_Encoding_DefaultBinary")


class UserFileManager(UserManager):
    """Logs users in against `users.json`, read at each login so that `add-user` needs no restart."""

    def __init__(self, users_file: Path, allow_anonymous: bool):
        self.users_file = Path(users_file)
        self.allow_anonymous = allow_anonymous

    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username is None:
            if self.allow_anonymous:
                return line_user(None, ANONYMOUS)
            log.warning("refused an anonymous login: this server requires a user name and password")
            return None
        try:
            record = load_users(self.users_file).get(username)
        except SecurityConfigError as exc:
            log.error("refused login of %r: %s", username, exc)
            return None
        if record is None:
            _DUMMY.verify(password or "")  # as slow as a wrong password: the timing does not tell who exists
        if record is None or password is None or not record.verify(password):
            log.warning("refused login of %r: %s", username, "unknown user" if record is None else "wrong password")
            return None
        log.info("user %r logged in as %s", username, record.role)
        return line_user(username, record.role)


def _status_name(exc) -> str:
    code = getattr(exc, "code", None)
    return ua.StatusCode(code).name if isinstance(code, int) else repr(exc)


def _logged(validator, store):
    async def validate(cert, app_description):
        try:
            if not any(store.trust_locations[0].iterdir()):  # cryptography refuses an empty store
                log.warning("no client certificate is trusted yet: `inspector opcua trust CERT`")
                raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)
            await store.load_trust()  # a certificate trusted while the server runs counts at once
            await validator(cert, app_description)
        except Exception as exc:
            log.warning("refused client certificate %s of %s: %s", cert.subject.rfc4514_string(),
                        app_description.ApplicationUri, _status_name(exc))
            raise
    return validate


async def configure(server, config_dir: Path | str | None = None, security: str = "sign-and-encrypt",
                    host_name: str | None = None, rules: PermissionRuleset | None = None) -> ConfigFolder:
    """Set up `server` (an asyncua Server, after `init()`, before `start()`) for `security`.

    For sign-and-encrypt it needs the application URI already set (`set_application_uri`): the
    self-signed certificate names it. `config_dir` defaults to `default_config_dir()`; `rules`, the
    server's own permission ruleset, is asked too (a request passes only if both allow it)."""
    from asyncua.crypto.truststore import TrustStore
    from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

    if security not in SECURITIES:
        raise SecurityConfigError(f"security {security!r}: expected one of {', '.join(SECURITIES)}")
    folder = ConfigFolder.at(config_dir)
    anonymous = security == "none"
    ruleset = RoleRuleset(allow_anonymous=anonymous, inner=rules)
    server.iserver.set_user_manager(UserFileManager(folder.users, allow_anonymous=anonymous))
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
