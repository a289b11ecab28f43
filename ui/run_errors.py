"""When the operator's error strip shows and clears during a run: a lost camera shows while it is lost
and goes when it answers again; a source error or bad frame shows at once, and the strip clears when
results flow again, unless the run ended on the error."""

from __future__ import annotations

from ui.error_strip import ErrorStrip
from ui.live_run import LiveRun


class RunErrorState:
    def __init__(self, strip: ErrorStrip):
        self.strip = strip
        self.reset()

    def reset(self) -> None:
        """A new run: nothing seen yet."""
        self._errors_seen = 0
        self._source_errors_seen = 0
        self._inspected_at_error = 0
        self._clears = True
        self._lost = False  # the strip shows lost cameras

    def hold(self, message: str) -> None:
        """Show the error the run ended on: results that flow do not clear it."""
        self._clears = False
        self.strip.show_error(message)

    def update(self, s, live: LiveRun) -> None:
        """Show what the stats `s` count that is new, or clear the strip when results flow again."""
        if s.lost:
            # Above everything else: while a camera is lost nothing is inspected, whatever else went wrong.
            self._lost = True
            self.strip.show_error(lost_message(s.lost))
            return
        if self._lost:
            self._lost = False
            if self._clears:
                self.strip.clear()
        troubles = s.source_errors + s.bad_frames
        if troubles > self._errors_seen:
            new_source_errors = s.source_errors > self._source_errors_seen
            self._source_errors_seen = s.source_errors
            self._errors_seen = troubles
            self._inspected_at_error = s.inspected
            if new_source_errors and s.last_error:
                text = f"source error ({s.source_errors} so far): {s.last_error}"
            else:
                bads = live.pipeline.bad_frames
                reason = bads[-1].reason if bads else "unusable image"
                text = f"bad frame skipped ({s.bad_frames} so far): {reason}"
            self.strip.show_error(text)
        elif self.strip.active and self._clears and s.inspected > self._inspected_at_error:
            self.strip.clear()


def lost_message(lost: dict) -> str:
    """"camera 1 lost: why; camera 2 lost: why", as the strip says it."""
    return "; ".join(f"{name} lost: {why}" for name, why in sorted(lost.items()))
