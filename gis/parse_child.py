"""The sandboxed child that parses one upload (``python -m gis.parse_child``; see ``gis.sandbox``).

It reads its request (JSON) on stdin (or is forked, request in hand, by ``gis.parse_server``),
then, before importing GDAL or anything that starts threads: asks to die with its parent, sets its
resource limits (CPU seconds, address space, file size, no core dumps) and enters a network
namespace of its own (a new user + network namespace, where the machine allows it: then not even
127.0.0.1 is reachable), and confines its file access with Landlock where the kernel has it
(``gis.landlock``: it may read Python, its packages, the system's libraries and data and the one
input file, write only in its private folder, and execute nothing). It then reads the file with
``gis.io._read_source`` into its private folder and writes the result there as plain JSON
(``gis.sandbox.encode_source``). Only then does the parent read anything back.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import sysconfig
from pathlib import Path
from typing import Any

from gis import landlock

_PR_SET_PDEATHSIG = 1
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
#: Exit status of a child that ran out of memory (RLIMIT_AS) in Python code.
EXIT_MEMORY = 3
#: Exit status of a child that failed in an unexpected way (its result file says how).
EXIT_CRASH = 1


def _die_with_parent(libc: ctypes.CDLL) -> None:
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the parent is already gone
        os._exit(EXIT_CRASH)


def _set_limits(limits: dict[str, int]) -> None:
    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    memory = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = int(limits["file_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _no_network(libc: ctypes.CDLL) -> str:
    """Enter a network namespace of its own; ``""`` when done, else why not."""
    unshare = getattr(os, "unshare", None)  # Python 3.12+
    reasons = []
    for flags in (_CLONE_NEWNET, _CLONE_NEWUSER | _CLONE_NEWNET):
        if unshare is not None:
            try:
                unshare(flags)
                return ""
            except OSError as exc:
                reasons.append(exc.strerror or str(exc))
                continue
        if libc.unshare(flags) == 0:
            return ""
        reasons.append(os.strerror(ctypes.get_errno()))
    return "; ".join(reasons)


#: System folders and files the child may read (libraries, their data, the dynamic loader's cache).
SYSTEM_READABLE = (
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/lib",
    "/lib64",
    "/usr/share/zoneinfo",
    "/etc/ld.so.cache",
    "/etc/localtime",
)


def readable_paths(request: dict[str, Any]) -> list[str]:
    """What the child may read: Python (its prefixes and standard library), its packages, the
    project's code (``gis``, ``solver``), the system's libraries and the one input file. The
    folder the input sits in, the project's other files and the rest of the system are not."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.update(sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib", "purelib"))
    paths.add(sysconfig.get_paths().get("platlib", ""))
    code = Path(__file__).resolve().parents[1]
    paths.update(str(code / package) for package in ("gis", "solver"))
    paths.update(SYSTEM_READABLE)
    paths.add(str(request["path"]))
    resolved = {os.path.realpath(p) for p in paths if p}
    return sorted(p for p in resolved if p != "/")


def confine_files(request: dict[str, Any]) -> int | str:
    """Landlock (``gis.landlock``): the ABI version in force, or why the files are not confined."""
    if not request.get("landlock", True):
        return "not asked"
    return landlock.restrict(readable_paths(request), [os.path.realpath(request["tmp"])])


def main() -> int:
    return confine_and_parse(json.loads(sys.stdin.read()))


def confine_and_parse(request: dict[str, Any]) -> int:
    """Confine this process (parent death, limits, network namespace, file access), then read
    the file.

    Called by ``main`` in a spawned child, and by ``gis.parse_server`` in a child forked from the
    preloaded server (which has not loaded GDAL: that happens here, under the limits, with the
    driver allow-list already in the environment). Returns the exit status.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    _die_with_parent(libc)
    _set_limits(request["limits"])
    refused = _no_network(libc) if request.get("netns", True) else "not asked"
    files = confine_files(request)
    result_path = os.path.join(request["tmp"], "result.json")
    try:
        # Importing GDAL, GEOS and numpy maps their libraries: under a small RLIMIT_AS that fails
        # as an ImportError or OSError, which is the memory limit too.
        from gis.sandbox import run_in_child
    except (MemoryError, ImportError, OSError):
        os._exit(EXIT_MEMORY)
    try:
        result: dict[str, Any] = run_in_child(request)
    except MemoryError:
        os._exit(EXIT_MEMORY)
    except Exception as exc:
        result = {"crash": type(exc).__name__}
    result["netns"] = refused or True
    result["landlock"] = files
    with open(result_path, "w", encoding="ascii") as fh:
        json.dump(result, fh, ensure_ascii=True)
    return EXIT_CRASH if "crash" in result else 0


if __name__ == "__main__":
    sys.exit(main())
