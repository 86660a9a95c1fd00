"""Progress of long steps on the terminal (rich): a spinner and the elapsed time
per step, each step left on screen as a line saying how it ended."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn


@contextmanager
def rich_steps(console: Console | None = None) -> Iterator:
    """Yield `step(label)`, a context manager that shows `label ...` while its body runs."""
    # Elapsed time first: a narrow terminal cuts the end of a line.
    bar = Progress(SpinnerColumn(), TextColumn("{task.elapsed:6.1f} s"), TextColumn("{task.description}"),
                   console=console or Console(stderr=True))

    @contextmanager
    def step(label: str) -> Iterator[None]:
        if not bar.live.is_started:  # started by the first step: an error before it prints nothing
            bar.start()
        task = bar.add_task(f"{label} ...", total=None)
        try:
            yield
        except BaseException:
            bar.update(task, description=f"{label}: stopped")
            raise
        finally:
            bar.stop_task(task)
        bar.update(task, description=f"{label}: done", total=1, completed=1)

    try:
        yield step
    finally:
        if bar.live.is_started:
            bar.stop()
