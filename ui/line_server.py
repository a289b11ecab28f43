"""The line server (OPC UA) from the application: an engineer-mode setting, and the server a run of the
operator view serves its verdicts on, as `inspector run --opcua` does (inspector.opcua.run_publisher)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from PySide6 import QtWidgets

SECURITIES = ("sign-and-encrypt", "none")


@dataclass(frozen=True)
class LineServerSetting:
    """Where runs serve their verdicts; an empty url: no line server."""

    url: str = ""
    security: str = "sign-and-encrypt"

    @property
    def on(self) -> bool:
        return bool(self.url.strip())


class LineServerRun:
    """The server of one run: checked before the source opens, serving from the run's start, closed
    at its end (after its last results are published)."""

    def __init__(self, setting: LineServerSetting):
        from inspector.opcua.run_publisher import check_line_server

        self.setting = setting
        self.endpoint = check_line_server(setting.url.strip(), setting.security)
        self.server = self.publisher = None

    def serve(self, pipeline) -> None:
        from inspector.opcua.run_publisher import serve_run

        self.server, self.publisher = serve_run(self.endpoint, self.setting.security, pipeline)

    def close(self, stats) -> list[str]:
        """Ends the server; what it could not deliver (the server's own drops, each client's), one line each."""
        if self.publisher is not None:
            self.publisher.finish(stats)
        if self.server is None:
            return []
        self.server.close()
        return self.server.drop_report()


class LineServerDialog(QtWidgets.QDialog):
    """The address and security of the line server (engineer mode)."""

    def __init__(self, setting: LineServerSetting, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Line server (OPC UA)")
        form = QtWidgets.QFormLayout(self)
        self.url = QtWidgets.QLineEdit(setting.url)
        self.url.setPlaceholderText("opc.tcp://0.0.0.0:4840 (empty: no line server)")
        self.url.setToolTip("Each run publishes its verdicts here for the machine's controller and the MES")
        self.security = QtWidgets.QComboBox()
        self.security.addItems(SECURITIES)
        self.security.setCurrentText(setting.security)
        self.security.setToolTip("none: no encryption, anonymous read-only clients, loopback addresses only")
        form.addRow("address", self.url)
        form.addRow("security", self.security)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def setting(self) -> LineServerSetting:
        return LineServerSetting(self.url.text().strip(), self.security.currentText())


def ask_line_server(setting: LineServerSetting, parent=None) -> Optional[LineServerSetting]:
    dialog = LineServerDialog(setting, parent)
    return dialog.setting() if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted else None
