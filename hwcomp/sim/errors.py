"""Failures of an RTL simulation, reported as one clear message."""
from hwcomp.errors import HwcompError


class SimulationError(HwcompError):
    """The simulator could not be built or did not finish normally."""


class DeadlockError(SimulationError):
    """The design stopped making progress before all outputs arrived."""

    def __init__(self, message: str, beats_in: int, beats_out: int, cycles: int):
        super().__init__(message)
        self.beats_in = beats_in
        self.beats_out = beats_out
        self.cycles = cycles
