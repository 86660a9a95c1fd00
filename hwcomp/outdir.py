"""Write a build directory all at once: into a temporary sibling first, then
swap it in, so a failed compile never leaves a half-written directory that
looks complete. A directory is only replaced if hwcomp wrote it (manifest).

An interrupted compile (Ctrl-C, SIGTERM) removes its temporary sibling; one
killed outright (SIGKILL) leaves it behind, hidden and named with its process
id, and the next compile into the same directory removes it once that process
is gone. Single files beside a build (sim.json) are replaced atomically."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from hwcomp.errors import HwcompError

MANIFEST = "hwcomp.json"


def check_writable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise HwcompError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise HwcompError(f"{out}: directory holds files hwcomp did not write; choose an empty or new directory")


@contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces `out`."""
    out = out.resolve()
    check_writable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}.", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _remove_abandoned(out: Path) -> None:
    """Temporary siblings of `out` left by compiles that were killed (their process is gone)."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(\d+)\.[a-z0-9_]{{8}}")
    for d in out.parent.glob(f".{out.name}.*"):
        m = pattern.fullmatch(d.name)
        if m and d.is_dir() and not _alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: readers see the old file or the new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(root: Path, info: dict) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)
    info = dict(info)
    info["files"] = {str(p.relative_to(root)): _sha256(p) for p in files}
    (root / MANIFEST).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")


def update_manifest(root: Path, names: list[str]) -> None:
    """Record the current hashes of files a later step rewrote (report.html after a
    simulation); the manifest is replaced atomically, the other entries kept."""
    info = read_manifest(root)
    files = dict(info.get("files", {}))
    for name in names:
        files[name] = _sha256(root / name)
    info["files"] = dict(sorted(files.items()))
    write_atomic(root / MANIFEST, json.dumps(info, indent=1, sort_keys=True) + "\n")


def read_manifest(root: Path) -> dict:
    path = root / MANIFEST
    if not path.is_file():
        raise HwcompError(f"{root}: not a hwcomp build directory (no {MANIFEST}); run `hwcomp compile` first")
    return json.loads(path.read_text())
