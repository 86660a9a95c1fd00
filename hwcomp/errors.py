"""Errors a user can cause. The CLI prints these as one line and exits non-zero;
anything else is a bug in hwcomp and keeps its traceback."""


class HwcompError(Exception):
    """A problem with the user's input: model, data, options or output directory."""
