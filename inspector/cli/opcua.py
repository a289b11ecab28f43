"""`inspector opcua`: the OPC UA line server's security set-up (`trust` a client certificate, `add-user`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspector.cli.options import add_command, add_family, add_overwrite


def _folder(args):
    from inspector.opcua.config_folder import ConfigFolder

    return ConfigFolder.at(args.config_dir)


def cmd_opcua_trust(args: argparse.Namespace) -> int:
    from inspector.opcua.certificates import trust

    dest, thumb = trust(args.cert, _folder(args))
    print(f"trusted {thumb} ({dest})")
    return 0


def _read_password(args) -> str:
    from inspector.opcua.config_folder import SecurityConfigError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        if not sys.stdin.isatty():  # getpass would echo it, or fail at the end of a pipe
            raise SecurityConfigError("password: no terminal to ask it on; pass --password-stdin")
        try:
            password = getpass.getpass(f"password for {args.name}: ")
            if getpass.getpass("again: ") != password:
                raise SecurityConfigError("password: the two entries differ")
        except EOFError:
            raise SecurityConfigError("password: none given") from None
    if not password:
        raise SecurityConfigError("password: empty")
    return password


def cmd_opcua_add_user(args: argparse.Namespace) -> int:
    from inspector.opcua.users import add_user, check_new_user

    folder = _folder(args)
    check_new_user(folder.users, args.name, args.overwrite)  # before asking for a password
    password = _read_password(args)
    folder.make()
    add_user(folder.users, args.name, args.role, password, overwrite=args.overwrite)
    print(f"{args.name}: {args.role} ({folder.users})")
    return 0


def _add_config_dir(p) -> None:
    p.add_argument("--config-dir", type=Path, default=None,
                   help="the server's configuration folder (default: $INSPECTOR_CONFIG_DIR, else "
                   "$XDG_CONFIG_HOME/inspector/opcua, i.e. ~/.config/inspector/opcua)")


def add_opcua(sub) -> None:
    opcua_sub = add_family(
        sub, "opcua", help="security of the OPC UA line server: trusted clients and users",
        description="Set up who may connect to the OPC UA line server (`inspector run --opcua URL`): "
        "`trust` a client's certificate and `add-user` accounts with a role (operator: read; engineer: "
        "read and call Start/Stop/AcknowledgeNok). Everything lives in the configuration folder, which "
        "must be readable by the server's account only.",
    )
    p = add_command(
        opcua_sub, "trust", help="trust a client certificate (DER or PEM)",
        description="Copy a client's X.509 certificate (DER or PEM) into the trusted/ folder as DER, "
        "named by its subject and thumbprint, and print its SHA-1 thumbprint (compare it with the one "
        "the client shows). The server checks trust at every connection: no restart needed.",
    )
    p.add_argument("cert", type=Path, help="the client's certificate file")
    _add_config_dir(p)
    p.set_defaults(func=cmd_opcua_trust)
    p = add_command(
        opcua_sub, "add-user", help="add a user with a role; the password is stored as a salted hash",
        description="Add a user of the OPC UA server to users.json. The password is asked twice (or read "
        "as one line from standard input with --password-stdin) and stored only as a salted scrypt "
        "hash; the file is written whole, owner-only (0600).",
    )
    p.add_argument("name", help="user name: letters, digits, '.', '_' or '-'")
    p.add_argument("--role", required=True, choices=["operator", "engineer"],
                   help="operator: read; engineer: read and call methods")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add_overwrite(p, "replace an existing user of that name")
    _add_config_dir(p)
    p.set_defaults(func=cmd_opcua_add_user)


COMMANDS = {"opcua": add_opcua}
