"""Compiler wrapper that caches Verilator's runtime objects across builds.

Verilator's makefile prefixes every compile with `$(OBJCACHE)`; the build
sets OBJCACHE to run this file. A cold build spends most of its time
compiling the same runtime sources (verilated.cpp, verilated_vpi.cpp, ...)
and cocotb's verilator.cpp, whatever the design. Those compiles are looked
up in a content-addressed store; every other compile (the design's own C++)
runs untouched.

Standalone on purpose (stdlib only, run as `python -I -S objcache.py`):
make starts it once per object, so it must start fast.

Environment (set by hwcomp.sim.build_cache):
    HWCOMP_OBJCACHE_DIR        store directory
    HWCOMP_OBJCACHE_SALT       compiler identity, Verilator and cocotb versions
    HWCOMP_OBJCACHE_RUNTIME    directory whose sources depend on nothing local
    HWCOMP_OBJCACHE_MODEL      directory whose sources include the model's
                               Vtop.h (cocotb's main), which joins their key
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

MODEL_HEADER = "Vtop.h"


def _arg_after(args: list[str], flag: str) -> str | None:
    for i, a in enumerate(args[:-1]):
        if a == flag:
            return args[i + 1]
    return None


def _cache_key(args: list[str], source: str, model_source: bool) -> str:
    h = hashlib.sha256()
    h.update(os.environ.get("HWCOMP_OBJCACHE_SALT", "").encode())
    h.update(b"\0".join(a.encode() for a in args))
    with open(source, "rb") as f:
        h.update(f.read())
    if model_source:
        with open(MODEL_HEADER, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:32]


def _publish(src: str, dst: str) -> None:
    """Copy into the store atomically: readers never see a partial file."""
    tmp = f"{dst}.{os.getpid()}.tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def main(argv: list[str]) -> int:
    compiler_args = argv[1:]
    store = os.environ.get("HWCOMP_OBJCACHE_DIR")
    runtime = os.environ.get("HWCOMP_OBJCACHE_RUNTIME", "\0")
    model = os.environ.get("HWCOMP_OBJCACHE_MODEL", "\0")
    out = _arg_after(compiler_args, "-o")
    source = os.path.realpath(compiler_args[-1]) if compiler_args else ""
    model_source = source.startswith(model + os.sep) and os.path.exists(MODEL_HEADER)
    cacheable = (
        store and "-c" in compiler_args and out and out.endswith(".o")
        and (source.startswith(runtime + os.sep) or model_source)
    )
    if not cacheable:
        os.execvp(compiler_args[0], compiler_args)

    key = _cache_key(compiler_args, compiler_args[-1], model_source)
    entry = os.path.join(store, key)
    dep_out = out[:-2] + ".d"
    if os.path.exists(entry + ".o"):
        shutil.copyfile(entry + ".o", out)
        if os.path.exists(entry + ".d"):
            shutil.copyfile(entry + ".d", dep_out)
        return 0

    rc = subprocess.call(compiler_args)
    if rc == 0:
        os.makedirs(store, exist_ok=True)
        if os.path.exists(dep_out):
            _publish(dep_out, entry + ".d")
        _publish(out, entry + ".o")  # last: its presence marks a complete entry
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
