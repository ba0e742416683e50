"""The overview's event histogram with a time axis and a brush (pick a time range, enter zooms to it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from mcp_blackbox.tui.messages import Brushed


def axis_labels(first: datetime, last: datetime, width: int, ticks: int = 4) -> str:
    """A one-line time axis `width` wide: tick times at evenly spaced positions (date shown when it changes)."""
    if width < 12:
        return ""
    span = last - first
    line = [" "] * width
    same_day = first.date() == last.date()
    fmt = "%H:%M:%S" if same_day and span < timedelta(days=1) else "%m-%d %H:%M"

    def show(at: datetime) -> str:
        text = at.strftime(fmt)
        return f"{text}.{at.microsecond // 1000:03d}" if span < timedelta(minutes=1) else text  # seconds apart

    for i in range(ticks + 1):
        at = first + span * (i / ticks)
        label = "┴" + show(at)
        pos = round((width - 1) * i / ticks)
        if i == ticks:
            label = show(at) + "┴"
            pos = width - len(label)
        elif pos + len(label) > width:
            pos = width - len(label)
        for j, ch in enumerate(label):
            if 0 <= pos + j < width:
                line[pos + j] = ch
    return "".join(line)


class TimeHistogram(Vertical, can_focus=True):
    """Events over time. left/right move the brush, shift+left/right widen it, enter zooms to it."""

    BINDINGS = [Binding("left", "move(-1)", "Brush ←", show=False), Binding("right", "move(1)", "Brush →", show=False),
                Binding("shift+left", "grow(-1)", show=False), Binding("shift+right", "grow(1)", show=False),
                Binding("left_square_bracket", "move(-1)", show=False),
                Binding("right_square_bracket", "move(1)", show=False),
                Binding("enter", "apply", "Zoom to brush", show=False)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buckets: list[float] = []
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.brush: tuple[int, int] | None = None

    def compose(self) -> ComposeResult:
        yield Sparkline([], id="histogram")
        yield Static("", id="histogram-axis")
        yield Static("", id="histogram-brush")

    def show(self, buckets: list[float], first: datetime | None, last: datetime | None) -> None:
        """New data: the brush is reset."""
        self.buckets = buckets or [0.0]
        self.first, self.last = first, last
        self.brush = None
        self.query_one(Sparkline).data = self.buckets
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def bucket_time(self, index: int) -> datetime | None:
        """The start of bucket `index` (the end of the last bucket is `last`)."""
        if self.first is None or self.last is None or not self.buckets:
            return None
        return self.first + (self.last - self.first) * (index / len(self.buckets))

    def brush_window(self) -> tuple[datetime, datetime] | None:
        """The brushed time range."""
        if self.brush is None:
            return None
        lo, hi = self.bucket_time(self.brush[0]), self.bucket_time(self.brush[1] + 1)
        return (lo, hi) if lo is not None and hi is not None else None

    def _draw(self) -> None:
        width = max(self.size.width, 1)
        axis = self.query_one("#histogram-axis", Static)
        brush = self.query_one("#histogram-brush", Static)
        if self.first is None or self.last is None:
            axis.update("")
            brush.update("")
            return
        axis.update(Text(axis_labels(self.first, self.last, width), style="dim"))
        if self.brush is None:
            brush.update(Text("focus the histogram: ←/→ brush a time range, enter zooms", style="dim"))
            return
        n = len(self.buckets)
        a = int(self.brush[0] * width / n)
        b = max(a + 1, int((self.brush[1] + 1) * width / n))
        window = self.brush_window()
        label = f" {window[0]:%H:%M:%S} → {window[1]:%H:%M:%S}" if window else ""
        text = Text(" " * a + "▔" * (b - a), style="bold yellow")
        text.append(label, style="yellow")
        brush.update(text)

    def action_move(self, step: int) -> None:
        n = len(self.buckets)
        if n == 0:
            return
        lo, hi = self.brush if self.brush is not None else (0 if step > 0 else n - 1, 0 if step > 0 else n - 1)
        if self.brush is not None:
            size = hi - lo
            lo = max(0, min(n - 1 - size, lo + step))
            hi = lo + size
        self.brush = (lo, hi)
        self._draw()

    def action_grow(self, step: int) -> None:
        n = len(self.buckets)
        if n == 0:
            return
        lo, hi = self.brush or (0, 0)
        hi = max(lo, min(n - 1, hi + step))
        self.brush = (lo, hi)
        self._draw()

    def action_apply(self) -> None:
        self.post_message(Brushed(self.brush_window()))
