"""Helpers for the monitor tests: find a marked source line, collect monitor updates."""

from __future__ import annotations

from pathlib import Path

from core.monitor import MonitorUpdate


def line_of(path: str, marker: str) -> int:
    """The 1-based number of the only line of path that ends with the comment `# marker`."""
    text = Path(path).read_text(encoding="utf-8").splitlines()
    lines = [n for n, line in enumerate(text, 1) if line.rstrip().endswith(f"# {marker}")]
    assert len(lines) == 1, f"exactly one line of {path} must end with '# {marker}'"
    return lines[0]


class Updates:
    """A monitor listener that keeps every update.

    Attributes:
        all: every update received, oldest first.
    """

    def __init__(self) -> None:
        self.all: list[MonitorUpdate] = []

    def __call__(self, update: MonitorUpdate) -> None:
        self.all.append(update)

    def finished(self) -> list[str]:
        return [f"{t.name}:{t.outcome}:{t.detail}" for u in self.all for t in u.finished]
