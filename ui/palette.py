"""The colours the views speak in: the run's states here, the classes' colours from the model's ClassSet.

One table of state colours for the whole application, so "red" means the same everywhere: a NOK
cavity or a camera that does not answer, both reasons to look now. Green is kept for OK alone, which
is why a running line is blue and not green. Class colours are not repeated here: they come from
`inspector.classes` (re-exported below) and every view asks `ClassSet.colour(name)`.
"""

from __future__ import annotations

from inspector.classes import NOK_COLOURS, OK_COLOUR

__all__ = ["OK_COLOUR", "NOK_COLOUR", "NOK_COLOURS", "STATE_COLOURS", "PENDING_COLOUR", "IDLE_COLOUR",
           "LOST_COLOUR", "ALERT_COLOUR", "RECORDING_COLOUR", "NOT_RECORDING_COLOUR", "text_on"]

NOK_COLOUR = NOK_COLOURS[0]  # every NOK verdict's background, whatever its class (the class colours its edge)
IDLE_COLOUR = "#546e7a"  # nothing to say: stopped, or a cavity that has no verdict yet
LOST_COLOUR = NOK_COLOUR  # a line that inspects nothing is as urgent as a bad part
ALERT_COLOUR = NOK_COLOUR  # an error strip, a counter of errors: red as a NOK, look now
WAITING_COLOUR = "#f9a825"  # running, but no cavity came (yet): the line or its trigger is idle
RUNNING_COLOUR = "#1565c0"
PENDING_COLOUR = "#ffb300"  # an unacknowledged NOK: amber, seen on a green or red tile alike
RECORDING_COLOUR = "#6a1b9a"
NOT_RECORDING_COLOUR = "#78909c"

STATE_COLOURS = {
    "stopped": IDLE_COLOUR,
    "starting": WAITING_COLOUR,
    "waiting": WAITING_COLOUR,
    "running": RUNNING_COLOUR,
    "stopping": WAITING_COLOUR,
    "lost": LOST_COLOUR,
}

_DARK_TEXT = {WAITING_COLOUR, PENDING_COLOUR}


def text_on(background: str) -> str:
    """Text colour readable on `background` (the amber ones take black, the rest white)."""
    return "#000000" if background in _DARK_TEXT else "#ffffff"
