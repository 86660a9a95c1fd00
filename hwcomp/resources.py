"""Locate files shipped with hwcomp (templates/, packaged as hwcomp.templates)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def templates_dir() -> Path:
    return Path(str(resources.files("hwcomp.templates")))
