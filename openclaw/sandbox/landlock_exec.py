"""The Landlock backend's wrapper: confine this process, then `exec` the command.

The gateway runs `python -I landlock_exec.py SPEC_JSON -- ARGV...` as the child of every isolated
command when bubblewrap is absent, so the restrictions land in the child before `exec` and the
gateway itself is never restricted (a separate process is safer than `preexec_fn`, which runs
Python between `fork` and `exec` in a threaded process). The file imports nothing from openclaw
and is run by path, so starting it costs an interpreter and two small bindings only.

What it applies (see docs/security.md, "Command isolation"):
- Landlock filesystem rules through the `landlock` binding: read and execute beneath the
  `read` paths, everything beneath the `write` paths, read and write on the `devices` files;
  nothing else is reachable (Landlock is an allow-list).
- Landlock network rules (ABI >= 4: no TCP bind or connect) and scoping (ABI >= 6: no abstract
  unix sockets and no signals outside the sandbox) through raw syscalls here, because the
  binding knows only filesystem rules.
- A seccomp filter through `pyseccomp`: `setsid` and `setpgid` fail, so every process stays in
  the process group the gateway kills; without network, `socket` fails for every family (a
  pathname unix socket is not governed by Landlock before ABI 8) and so does `io_uring_setup`
  (its operations bypass the filter); `socketpair` and pipes keep working.

On any failure it prints one line to stderr and exits 126 without running the command.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import sys
from typing import Any

EXIT_REFUSED = 126
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # same numbers on every arch
_VERSION = 1
_RULE_NET_PORT = 2
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2
_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_CAPABILITY_VERSION_3 = 0x20080522


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


def _syscall(*args: Any) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(*args)
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return int(result)


def abi_version() -> int:
    """The Landlock ABI the kernel offers; 0 when it has none (too old, or disabled at boot)."""
    try:
        return _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION))
    except OSError:
        return 0


def _restrict_net_and_scope(abi: int, network: bool) -> None:
    """A second Landlock layer for what the binding lacks: TCP rules and scoping."""
    net = 0 if network or abi < 4 else _NET_BIND_TCP | _NET_CONNECT_TCP
    scoped = (_SCOPE_SIGNAL | (0 if network else _SCOPE_ABSTRACT_UNIX)) if abi >= 6 else 0
    if not net and not scoped:
        return
    attr = _RulesetAttr(0, net, scoped)
    size = ctypes.sizeof(attr) if abi >= 6 else ctypes.sizeof(ctypes.c_uint64) * 2
    fd = _syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        _syscall(_RESTRICT_SELF, ctypes.c_int(fd), ctypes.c_uint32(0))
    finally:
        os.close(fd)


def _restrict_files(read: list[str], write: list[str], devices: list[str]) -> None:
    import landlock

    # the binding reads ctypes' errno to detect failures, even after a call that succeeded:
    # clear what an earlier call (a prctl past the last capability) left there
    ctypes.set_errno(0)
    access = landlock.FSAccess
    everything = access.all()
    reading = access.READ_FILE | access.READ_DIR | access.EXECUTE
    # no device nodes made in writable folders: a disk's node would read around every rule
    writing = everything & ~(access.MAKE_CHAR | access.MAKE_BLOCK | access.IOCTL_DEV)
    device = access.all_file() & ~access.EXECUTE
    ruleset = landlock.Ruleset(everything)  # every filesystem access the kernel knows
    for paths, rights in ((read, reading), (write, writing), (devices, device)):
        for path in paths:
            if os.path.isdir(path):
                ruleset.allow(path, rules=rights)
            elif os.path.exists(path):
                ruleset.allow(path, rules=rights & access.all_file())
    ruleset.apply()  # also sets no_new_privs: setuid programs cannot undo any of this


def _capabilities(field: str) -> int:
    """A capability set of this process (CapEff, CapInh...) from /proc/self/status."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1], 16)
    return 0


def _drop_capabilities() -> None:
    """Leave no capability to the command even when the gateway runs as root: an empty
    bounding set and inheritable set (so `exec` grants none) and no ambient ones. A process
    without capabilities (any ordinary gateway) has nothing to drop, and `no_new_privs` keeps
    file capabilities from granting any."""
    if not _capabilities("CapEff") and not _capabilities("CapInh"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            code = ctypes.get_errno()
            if code != errno.EINVAL:  # EINVAL: past the last capability this kernel has
                raise OSError(code, f"cannot drop capability {capability}")
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable; twice (64 bits)
    if libc.capget(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    data[2] = data[5] = 0
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "cannot clear the inheritable capabilities")


def _filter_syscalls(network: bool) -> None:
    import pyseccomp as seccomp

    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in ("setsid", "setpgid"):
        rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
    if not network:
        rules.add_rule(seccomp.ERRNO(errno.EACCES), "socket")
        rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "io_uring_setup")
    rules.load()


def confine(spec: dict[str, Any]) -> None:
    """Apply the whole sandbox of `spec` (keys read, write, devices, network) to this process."""
    abi = abi_version()
    if abi < 1:
        raise OSError(errno.ENOSYS, "this kernel offers no Landlock")
    network = bool(spec.get("network"))
    _drop_capabilities()
    _restrict_files(spec.get("read", []), spec.get("write", []), spec.get("devices", []))
    _restrict_net_and_scope(abi, network)
    _filter_syscalls(network)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: landlock_exec.py SPEC_JSON -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    spec, command = json.loads(argv[0]), argv[2:]
    try:
        import landlock  # noqa: F401 - loaded while the interpreter's files are still readable
        import pyseccomp  # noqa: F401

        confine(spec)
    except Exception as exc:
        print(f"openclaw sandbox: Landlock could not be applied: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"{command[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 127 if exc.errno == errno.ENOENT else EXIT_REFUSED
    return EXIT_REFUSED  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
