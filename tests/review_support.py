"""The review view as the review tests use it: shown at a size, shut down after the test, and its table read
by column name."""

from ui.record_table import COLUMNS
from ui.review_view import ReviewView


def shown_review_view(qtbot, context=None, size=(1280, 760)):
    """A generator for a fixture: the view, shown, then shut down (its follow timer and re-run thread)."""
    view = ReviewView(context)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    yield view
    view.shutdown()


def column(view, name):
    """The displayed values of the table's column `name`, in row order."""
    col = COLUMNS.index(name)
    return [view.model.data(view.model.index(r, col)) for r in range(view.model.rowCount())]
