"""The source chooser: every source plugin, broken ones shown disabled with their error, and a form
of the chosen source's options built from `option_help` (with a camera finder where the source
lists devices). Options a source marks `"engineer": True` are hidden outside engineer mode."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from inspector.acquisition import Source, engineer_options, option_help
from ui.camera_finder import CameraFinder


class SourceChooser(QtWidgets.QGroupBox):
    changed = QtCore.Signal(str)

    def __init__(self, registry, parent=None, preferred: str = "simulator"):
        super().__init__("Source", parent)
        self.registry = registry
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(8, 6, 8, 6)
        self.combo = QtWidgets.QComboBox()
        self.combo.setToolTip("Source plugins installed here (entry-point group inspector.sources)")
        col.addWidget(self.combo)
        # One form per plugin, swapped into a scroll area: a source with many options scrolls
        # instead of making the whole column taller than the window.
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        col.addWidget(self.scroll)
        self.pages: list[QtWidgets.QWidget] = []
        self.fields: dict[str, dict[str, tuple[QtWidgets.QLineEdit, str]]] = {}
        self.broken: dict[str, str] = {}
        self.finders: dict[str, CameraFinder] = {}
        self.engineer_rows: dict[str, list[tuple[QtWidgets.QFormLayout, QtWidgets.QWidget]]] = {}
        self.engineer_mode = True
        model = self.combo.model()
        for plugin in registry.plugins("sources"):
            p = registry.load("sources", plugin.name)  # imports it once; a failure is recorded, not raised
            usable = p.ok and isinstance(p.obj, type) and issubclass(p.obj, Source)
            self.combo.addItem(p.name if usable else f"{p.name} (unavailable)", p.name)
            i = self.combo.count() - 1
            page = QtWidgets.QWidget()
            form = QtWidgets.QFormLayout(page)
            form.setContentsMargins(0, 4, 0, 0)
            form.setVerticalSpacing(3)
            self.fields[p.name] = {}
            self.engineer_rows[p.name] = []
            if usable:
                hidden = engineer_options(p.obj)
                self.combo.setItemData(i, f"{p.value} from {p.distribution}", QtCore.Qt.ItemDataRole.ToolTipRole)
                for name, default, text in option_help(p.obj):
                    edit = QtWidgets.QLineEdit(default)
                    edit.setPlaceholderText("(none)" if default == "" else default)
                    edit.setToolTip(f"{text}\ndefault: {default or '(empty)'}")
                    label = QtWidgets.QLabel(name)
                    label.setToolTip(text)
                    form.addRow(label, edit)
                    self.fields[p.name][name] = (edit, default)
                    if name in hidden:
                        self.engineer_rows[p.name].append((form, edit))
                fields = self.fields[p.name]
                lists_devices = p.obj.devices.__func__ is not Source.devices.__func__
                if lists_devices and {"cam1", "cam2"} <= set(fields):
                    finder = CameraFinder(p.obj.devices, lambda key, value, fields=fields: fields[key][0].setText(value))
                    form.addRow(finder)
                    self.finders[p.name] = finder
            else:
                error = p.error or f"{p.value} is not a Source class"
                self.broken[p.name] = error
                model.item(i).setEnabled(False)
                self.combo.setItemData(i, f"{p.status}: {error}", QtCore.Qt.ItemDataRole.ToolTipRole)
                note = QtWidgets.QLabel(error)
                note.setWordWrap(True)
                form.addRow(note)
            self.pages.append(page)
        self.combo.currentIndexChanged.connect(self._switch)
        names = [self.combo.itemData(i) for i in range(self.combo.count())]
        start = preferred if preferred in names and preferred not in self.broken else next(
            (n for n in names if n not in self.broken), None)
        if start is not None:
            self.combo.setCurrentIndex(names.index(start))
        self._switch(self.combo.currentIndex())

    def _switch(self, index: int) -> None:
        if not self.pages:
            return
        self.scroll.takeWidget()  # keeps the page alive (self.pages holds it) for a later switch back
        page = self.pages[max(index, 0)]
        self.scroll.setWidget(page)
        self.scroll.setFixedHeight(min(200, page.sizeHint().height() + 4))
        self.changed.emit(self.name)

    def set_engineer_mode(self, on: bool) -> None:
        """Show (on) or hide the options the sources mark as the engineer's. A hidden option keeps
        its value: a run still uses what an engineer set."""
        self.engineer_mode = on
        for rows in self.engineer_rows.values():
            for form, edit in rows:
                form.setRowVisible(edit, on)
        if self.pages:
            page = self.pages[max(self.combo.currentIndex(), 0)]
            self.scroll.setFixedHeight(min(200, page.sizeHint().height() + 4))

    def all_options(self) -> dict[str, dict[str, str]]:
        """Each source's options changed from their defaults (what settings remember)."""
        return {source: {name: edit.text().strip() for name, (edit, default) in fields.items()
                         if edit.text().strip() != default}
                for source, fields in self.fields.items()}

    def set_all_options(self, options: dict) -> None:
        """Fill the forms from `all_options()`'s shape; options a source no longer has are left out."""
        for source, values in options.items():
            fields = self.fields.get(source, {})
            for name, value in (values or {}).items():
                if name in fields:
                    fields[name][0].setText(str(value))

    @property
    def name(self) -> str:
        return self.combo.currentData() or ""

    def is_enabled(self, name: str) -> bool:
        i = self.combo.findData(name)
        return i >= 0 and self.combo.model().item(i).isEnabled()

    def tooltip(self, name: str) -> str:
        return self.combo.itemData(self.combo.findData(name), QtCore.Qt.ItemDataRole.ToolTipRole) or ""

    def choose(self, name: str) -> None:
        i = self.combo.findData(name)
        if i < 0:
            raise KeyError(f"no source plugin {name!r}")
        self.combo.setCurrentIndex(i)

    def set_option(self, name: str, value) -> None:
        self.fields[self.name][name][0].setText(str(value))

    def options(self) -> dict[str, str]:
        """The options the operator changed from their defaults, as the strings typed (the source
        converts them and names a bad one)."""
        return {
            name: edit.text().strip()
            for name, (edit, default) in self.fields.get(self.name, {}).items()
            if edit.text().strip() != default
        }

    def set_editable(self, editable: bool) -> None:
        self.combo.setEnabled(editable)
        for page in self.pages:
            page.setEnabled(editable)
