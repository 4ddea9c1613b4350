"""Filesystem confinement of the parse child with Landlock (Linux 5.13+), through its syscalls.

``restrict`` makes the calling process (and every process it starts) unable to open any file but:
read the files and folders named ``readable`` (Python, its packages, the system's libraries and
data, the one input file), read and write beneath ``writable`` (the parse's private folder) and
``/dev/null``; it can execute no program, and, where the kernel's Landlock knows TCP (ABI 4,
Linux 6.7), bind and connect no TCP socket. Files already open stay usable. The restriction cannot
be lifted by the process, only by its end.

Only ``ctypes`` and ``os`` are used (this runs before GDAL or numpy are imported). Where the kernel
lacks Landlock (older kernel, not enabled, a seccomp filter refusing the syscalls), ``restrict``
changes nothing and says why; the caller reports it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Iterable

# Syscall numbers: the same on every architecture (from the unified table, Linux 5.13).
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights (``LANDLOCK_ACCESS_FS_*``) and the ABI version that introduced them.
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
#: Rights that apply to a file (not a folder): the kernel refuses the others on a file's rule.
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
# TCP rights (``LANDLOCK_ACCESS_NET_*``), ABI 4.
_NET_BIND_TCP = 1 << 0
_NET_CONNECT_TCP = 1 << 1

READ = READ_FILE | READ_DIR
WRITE = READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | REFER | TRUNCATE


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi_version() -> int | str:
    """The kernel's Landlock ABI version (1, 2, …), or why there is none."""
    libc = _libc()
    version = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    if version > 0:
        return int(version)
    code = ctypes.get_errno()
    if code == errno.ENOSYS:
        return "the kernel has no Landlock (before Linux 5.13, or a filter refuses it)"
    if code == errno.EOPNOTSUPP:
        return "Landlock is not enabled in this kernel (boot option lsm=)"
    return f"Landlock is unavailable: {os.strerror(code)}"


def _fs_rights(abi: int) -> int:
    return _FS_BY_ABI[max(v for v in _FS_BY_ABI if v <= abi)]


def restrict(readable: Iterable[str], writable: Iterable[str]) -> int | str:
    """Confine this process as the module's doc says; returns the ABI version used, or why the
    process was left unconfined (nothing changed then). Paths that do not exist are skipped."""
    abi = abi_version()
    if isinstance(abi, str):
        return abi
    libc = _libc()
    handled_fs = _fs_rights(abi)
    attr = _RulesetAttr(handled_fs, (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 4 else ctypes.sizeof(ctypes.c_uint64)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        return f"Landlock refused the ruleset: {os.strerror(ctypes.get_errno())}"
    try:
        rules = [(p, READ) for p in readable] + [(p, WRITE) for p in writable]
        rules.append((os.devnull, READ_FILE | WRITE_FILE | TRUNCATE))
        for path, rights in rules:
            failed = _add_rule(libc, int(ruleset), path, rights & handled_fs)
            if failed:
                return failed
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"no_new_privs refused: {os.strerror(ctypes.get_errno())}"
        if libc.syscall(_SYS_RESTRICT_SELF, int(ruleset), 0) != 0:
            return f"Landlock refused to restrict: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(int(ruleset))
    return abi


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> str:
    """Allow ``rights`` beneath ``path``; ``""`` when done or the path does not exist."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"cannot open {path!r} for a Landlock rule: {exc.strerror}"
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        rule = _PathBeneathAttr(rights, fd)
        if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            return f"Landlock refused the rule for {path!r}: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(fd)
    return ""
