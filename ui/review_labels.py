"""The review's labels: the engineer's verdict and true class for the selected records, saved to the
log's `LabelStore`, and the labels file read back with every label checked against the log's classes.

`ReviewLabels` is a mixin of `ui.review_view.ReviewView`: it labels the view's selected records
(`selected_records`) in its `labels` store, updates its table (`model`) and label panel, and reports
on the view's error strip and `status_message`.
"""

from __future__ import annotations

from typing import Optional

from inspector.classes import ClassSet
from inspector.records import RecordsError
from inspector.records.labels import Label, true_class_error
from ui.label_panel import label_text


class ReviewLabels:
    @property
    def class_set(self) -> Optional[ClassSet]:
        return self.reader.layout.class_set if self.reader is not None else None

    def label_selected(self, verdict: str, comment: str = "", true_class: str = "") -> list[int]:
        """Save `verdict` (OK, NOK or unsure) with `comment` and `true_class` (one of the log's classes,
        or "") for the selected records. OK without a class means the OK class. A class the log lacks,
        or one that contradicts the verdict, is refused on the error strip and nothing is written."""
        if self.labels is None:
            return []
        classes = self.class_set
        if verdict == "OK" and not true_class:
            true_class = classes.ok
        why = true_class_error(verdict, true_class, classes.names, classes.ok)
        if why:
            self.error_strip.show_error(f"label not saved: {why}")
            return []
        records = self.selected_records()
        try:
            for i in records:
                self.labels.add(int(i), verdict, comment, true_class=true_class)
                self.model.set_label(int(i), verdict, comment, true_class)
        except (RecordsError, OSError) as exc:
            self.error_strip.show_error(f"label not saved: {exc}")
            return []
        if self.error_strip.message.startswith("label not saved"):
            self.error_strip.clear()  # the last refusal no longer stands
        if self.current_record in records:
            self.show_record(self.current_record)
        self.status_message.emit(f"labelled {len(records)} record(s) {label_text(verdict, true_class)} "
                                 f"in {self.labels.path.name}")
        return records

    def label_class(self, index: int) -> list[int]:
        """Label the selected records with the log's class number `index` (0-based); its verdict follows:
        OK for the OK class, NOK for any other. Nothing happens for a class the log does not have."""
        classes = self.class_set
        if classes is None or not 0 <= index < len(classes.names):
            return []
        name = classes.names[index]
        return self.label_selected("OK" if name == classes.ok else "NOK", self.label_panel.comment.text().strip(),
                                   name)

    def _read_labels(self) -> dict[int, Label]:
        """The newest acceptable label of each record. A label naming a class this log lacks (or one at
        odds with its verdict: a hand-edited file) is refused and named on the error strip; the record
        keeps its previous label, if any."""
        try:
            history = self.labels.history()
        except (RecordsError, OSError, UnicodeDecodeError) as exc:
            self.error_strip.show_error(f"labels of this log cannot be read: {exc}")
            return {}
        classes = self.class_set
        current, refused = {}, []
        for label in history:
            why = true_class_error(label.verdict, label.true_class, classes.names, classes.ok)
            if why:
                refused.append((label, why))
            else:
                current[label.record] = label
        if refused:
            label, why = refused[0]
            more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
            self.error_strip.show_error(f"{self.labels.path.name}: label of record {label.record} refused: {why}"
                                        f"{more}; the record keeps its previous label")
        return current
