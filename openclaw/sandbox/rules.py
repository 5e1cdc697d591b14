"""The command blocklist. Each rule is data: a name (shown in denials and in docs/security.md),
what it stops, and a predicate over one unwrapped simple command (or over a whole script's text).

`check_blocklist` scans a command line (`openclaw.sandbox.scan`) and tries every rule, then the
user's own `sandbox.blocked_commands` entries, on everything it may run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from openclaw.sandbox.errors import deny
from openclaw.sandbox.scan import (
    DECLARE,
    MAX_COMMAND,
    SHELLS,
    Cmd,
    Scan,
    TooDeep,
    code_language,
    find_roots,
    normal_path,
)

_HOME_MARK = "/\x00home"
_TOP_LEVEL = "bin boot dev etc home lib lib32 lib64 libx32 opt proc root sbin srv sys usr var"
_SYSTEM_DIRS = frozenset(
    [f"/{name}" for name in _TOP_LEVEL.split()]
    + [f"/usr/{name}" for name in ("bin", "lib", "local", "sbin", "share")]
    + ["/var/lib", "/var/log"]
)
_DOWNLOAD_SUB = re.compile(r"(\$\(|<\(|`)\s*(\S*/)?(curl|wget|fetch|aria2c|nc|ncat)\b")
_DISK = re.compile(
    r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|md\d|dm-\d|loop\d|sr\d|nbd\d"
    r"|zram\d|disk/|mapper/|root$|mem$|kmem$|port$)"
)
_HARMLESS_DEVICES = ("/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/")
_ACCOUNT_FILES = frozenset({"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"})
_SYSTEM_WRITE_DIRS = ("/etc/", "/boot/", "/usr/", "/bin/", "/sbin/", "/lib", "/var/spool/cron")
_INTERPRETERS = SHELLS | {"perl", "ruby", "node", "nodejs", "php", "lua", "source", ".", "eval"}


def _target(word: str) -> Literal["root", "home", "system"] | None:
    """Whether a path argument means `/`, the home directory or a top-level system directory.

    A leading unknown variable may be empty, so `"$DIR"/*` counts as `/*`."""
    for prefix in ("${HOME}", "$HOME", "~"):
        if word == prefix or word.startswith(prefix + "/"):
            word = _HOME_MARK + word[len(prefix) :]
            break
    else:
        if re.match(r"~[\w.-]+(/|$)", word):
            word = _HOME_MARK + word[word.find("/") :] if "/" in word else _HOME_MARK
        elif match := re.match(r"\$\{?\w+\}?(?=/)", word):
            word = word[match.end() :]
    if not word.startswith("/"):
        return None
    while word.endswith(("/*", "/.", "/.*")) or (word.endswith("/") and len(word) > 1):
        word = word[: -2 if word.endswith(("/*", "/.")) else (-3 if word.endswith("/.*") else -1)]
    path = normal_path(word or "/")
    if path == "/":
        return "root"
    if path in (_HOME_MARK, str(Path.home())):
        return "home"
    return "system" if path in _SYSTEM_DIRS else None


def _recursive(cmd: Cmd) -> bool:
    return bool({"r", "R", "--recursive"} & cmd.flags)


def _deletes(kind: str) -> Callable[[Cmd], bool]:
    def match(cmd: Cmd) -> bool:
        if cmd.prog == "rm" and _recursive(cmd):
            if kind == "root" and "--no-preserve-root" in cmd.flags:
                return True
            return any(_target(operand) == kind for operand in cmd.operands)
        if cmd.prog == "rsync" and any(f.startswith("--delete") for f in cmd.flags):
            return bool(cmd.operands) and _target(cmd.operands[-1]) == kind
        return False

    return match


def _recursive_on_system(*progs: str) -> Callable[[Cmd], bool]:
    def match(cmd: Cmd) -> bool:
        return cmd.prog in progs and _recursive(cmd) and any(map(_target, cmd.operands))

    return match


def _kills_everything(cmd: Cmd) -> bool:
    if cmd.prog == "killall5":
        return True
    if cmd.prog != "kill":
        return False
    pids: list[str] = []
    signal_given = False
    i = 0
    while i < len(cmd.args):
        arg = cmd.args[i]
        if arg == "--":
            pids += cmd.args[i + 1 :]
            break
        if arg in ("-s", "-n", "--signal"):
            signal_given = True
            i += 2
            continue
        if arg.startswith("-") and not signal_given and not pids:
            signal_given = True
        else:
            pids.append(arg)
        i += 1
    return any(pid in ("-1", "1") for pid in pids)


def _wipes_history(cmd: Cmd) -> bool:
    assigned = cmd.assignments + (cmd.args if cmd.prog in DECLARE else [])
    if any(a.startswith("HISTFILE=") or a in ("HISTSIZE=0", "HISTFILESIZE=0") for a in assigned):
        return True
    if cmd.prog == "history" and "c" in cmd.flags:
        return True
    if cmd.prog == "unset" and "HISTFILE" in cmd.args:
        return True
    return any(target.endswith(("_history", ".history")) for target in cmd.writes)


def _systemctl(actions: str, units: str = "") -> Callable[[Cmd], bool]:
    """`systemctl ACTION [UNIT...]` (and `loginctl`) with one of `actions` and of `units`."""
    wanted_actions, wanted_units = actions.split(), units.split()

    def match(cmd: Cmd) -> bool:
        operands = cmd.operands
        if cmd.prog not in ("systemctl", "loginctl") or operands[:1] == []:
            return False
        if operands[0] not in wanted_actions:
            return False
        return not wanted_units or any(
            u.removesuffix(".service") in wanted_units for u in operands[1:]
        )

    return match


def _progs(names: str) -> Callable[[Cmd], bool]:
    programs = frozenset(names.split())
    return lambda cmd: cmd.prog in programs


def _writes_to(test: Callable[[str], bool]) -> Callable[[Cmd], bool]:
    return lambda cmd: any(test(target) for target in cmd.writes)


def _any(*predicates: Callable[[Cmd], bool]) -> Callable[[Cmd], bool]:
    return lambda cmd: any(predicate(cmd) for predicate in predicates)


def _fork_bomb(text: str) -> bool:
    """A function that calls itself twice, piped or in the background, or a fork loop."""
    flat = " ".join(text.split())
    definition = r"(?:^|(?<=[\s;&|(){}]))([^\s(){};|&]+)\s*\(\s*\)\s*\{([^}]*)\}"
    for match in re.finditer(definition, flat):
        name, body = re.escape(match.group(1)), match.group(2)
        if re.search(rf"(^|[\s;&|]){name}\s*[|&]\s*{name}($|[\s;&|])", body):
            return True
    return bool(
        re.search(r"\bfork\s+while\s+fork\b|\bwhile\b[^\n]*:\s*(os\.)?fork\(\)", text)
        or re.search(r"\bwhile\s+(true|:|1)\s*;\s*do\b[^;]*[^&]&\s*;?\s*done\b", flat)
    )


def _find_delete(cmd: Cmd) -> bool:
    return cmd.prog == "find" and "-delete" in cmd.args and any(map(_target, find_roots(cmd.args)))


def _wipes_disk(cmd: Cmd) -> bool:
    if cmd.prog in ("shred", "wipe"):
        return any(operand.startswith("/dev/") for operand in cmd.operands)
    if cmd.prog == "cryptsetup":
        return bool({"luksFormat", "erase", "luksErase"} & {*cmd.args})
    return cmd.prog in ("wipefs", "blkdiscard")


def _partitions(cmd: Cmd) -> bool:
    partitioners = ("fdisk", "sfdisk", "cfdisk", "gdisk", "sgdisk", "parted")
    return cmd.prog in partitioners and not {"l", "--list"} & cmd.flags


def _dd_to_device(cmd: Cmd) -> bool:
    return cmd.prog == "dd" and any(
        arg.startswith("of=/dev/") and not arg[3:].startswith(_HARMLESS_DEVICES) for arg in cmd.args
    )


def _setuid(cmd: Cmd) -> bool:
    mode = cmd.operands[0] if cmd.prog == "chmod" and cmd.operands else ""
    return bool(re.match(r"^([ugoa]*[+=][rwxXt]*s|0?[2467][0-7]{3}$)", mode))


def _is_interpreter(prog: str) -> bool:
    return prog in _INTERPRETERS or code_language(prog) is not None


def _download_piped(cmd: Cmd) -> bool:
    """An interpreter reading its program from stdin, downstream of a downloader."""
    if not _is_interpreter(cmd.prog) or not cmd.after_download:
        return False
    return not cmd.operands or "-" in cmd.args or (cmd.prog in SHELLS and "s" in cmd.flags)


def _download_executed(cmd: Cmd) -> bool:
    """`bash <(curl ..)`, `sh -c "$(curl ..)"`, `python -c "$(curl ..)"`."""
    if not _is_interpreter(cmd.prog):
        return False
    return any(
        _DOWNLOAD_SUB.search(arg)
        and (
            cmd.prog in _INTERPRETERS
            or arg.startswith("<(")
            or cmd.args[index - 1 : index] in (["-c"], ["-e"], ["-E"], ["-r"])
        )
        for index, arg in enumerate(cmd.args)
    )


def _account_file(target: str) -> bool:
    return target in _ACCOUNT_FILES or target.startswith("/etc/sudoers")


def _sysctl(cmd: Cmd) -> bool:
    if cmd.prog != "sysctl":
        return False
    return bool({"w", "p", "--write", "--load", "--system"} & cmd.flags) or any(
        "=" in operand for operand in cmd.operands
    )


def _crontab_remove(cmd: Cmd) -> bool:
    return cmd.prog == "crontab" and any(
        arg.startswith("-") and not arg.startswith("--") and "r" in arg for arg in cmd.args
    )


def _iptables_flush(cmd: Cmd) -> bool:
    if not cmd.prog.startswith(("iptables", "ip6tables")):
        return False
    return bool({"F", "X", "--flush", "--delete-chain"} & cmd.flags) or "ACCEPT" in cmd.args


def _network_down(cmd: Cmd) -> bool:
    if cmd.prog == "ip" and "link" in cmd.operands:
        return bool({"down", "delete", "del"} & {*cmd.args})
    if cmd.prog == "nmcli":
        return cmd.operands[:2] == ["networking", "off"]
    return cmd.prog == "ifdown" or (cmd.prog == "ifconfig" and "down" in cmd.operands)


def _mounts(cmd: Cmd) -> bool:
    if cmd.prog == "mount":
        remount = any("remount" in arg for arg in cmd.args)
        return remount or bool({"--bind", "--rbind", "--move", "a", "--all"} & cmd.flags)
    return cmd.prog == "umount"


def _reverse_shell(cmd: Cmd) -> bool:
    words = [*cmd.args, *(target for _, target in cmd.redirects)]
    if any("/dev/tcp/" in word or "/dev/udp/" in word for word in words):
        return True
    if cmd.prog in ("nc", "ncat", "netcat", "nc.traditional", "nc.openbsd"):
        return bool({"e", "c", "--exec", "--sh-exec", "--lua-exec"} & cmd.flags)
    return cmd.prog == "socat" and any(re.match(r"(?i)(exec|system):", a) for a in cmd.args)


def _container_escape(cmd: Cmd) -> bool:
    if cmd.prog in ("docker", "podman", "nerdctl"):
        return any(
            arg in ("--privileged", "--pid=host")
            or re.match(r"^(-v|--volume=?|--mount=.*source=)?/:", arg)
            for arg in cmd.args
        )
    return cmd.prog == "nsenter"


@dataclass(frozen=True, slots=True)
class CommandRule:
    """One blocklist entry: `command` tests one unwrapped simple command, `text` a whole script."""

    name: str
    description: str
    command: Callable[[Cmd], bool] | None = None
    text: Callable[[str], bool] | None = None


_R = CommandRule
# Order matters only for the name a denial shows: specific rules come before general ones.
COMMAND_RULES: tuple[CommandRule, ...] = (
    _R("recursive delete of /", "`rm -r` (any spelling, `--no-preserve-root`) or "
       "`rsync --delete` on `/`, `/*`, `//`, `\"$EMPTY\"/*`", _deletes("root")),
    _R("recursive delete of ~", "the same on `~`, `$HOME`, `${HOME}` or the real home",
       _deletes("home")),
    _R("recursive delete of a system directory", "the same on `/etc`, `/usr`, `/bin`, `/var`, "
       "`/home`, `/root` and the other top-level folders", _deletes("system")),
    _R("find -delete on / or ~", "`find` with `-delete` from `/`, `~` or a system directory "
       "(`find -exec` commands are checked as commands)", _find_delete),
    _R("move / or ~ away", "`mv` whose source is `/`, `~` or a system directory",
       lambda c: c.prog == "mv" and any(map(_target, c.operands[:-1]))),
    _R("make a filesystem", "`mkfs`, `mkfs.*`, `mke2fs`, `mkswap`, `mkdosfs`, `mkntfs`",
       _any(lambda c: c.prog.startswith("mkfs"), _progs("mke2fs mkswap mkdosfs mkntfs"))),
    _R("wipe a disk", "`wipefs`, `blkdiscard`, `shred` of a device, `cryptsetup luksFormat`",
       _wipes_disk),
    _R("partition a disk", "`fdisk`, `sfdisk`, `cfdisk`, `gdisk`, `sgdisk`, `parted` "
       "(listing with `-l` is allowed)", _partitions),
    _R("dd to a device", "`dd of=/dev/...` other than `/dev/null`, `/dev/zero`, `/dev/stdout`",
       _dd_to_device),
    _R("write to a block device", "a redirection, `tee`, `cp`... to a disk (`/dev/sda`, "
       "`/dev/nvme0n1`, ...) or `/dev/mem`", _writes_to(lambda t: bool(_DISK.match(t)))),
    _R("fork bomb", "a function running itself twice (`:(){ :|:& };:`), `fork while fork`, "
       "`while true; do ... & done`, a Python `os.fork()` loop", text=_fork_bomb),
    _R("shutdown or reboot", "`shutdown`, `reboot`, `halt`, `poweroff`",
       _progs("shutdown reboot halt poweroff")),
    _R("systemctl power action", "`systemctl`/`loginctl` poweroff, reboot, halt, kexec, suspend, "
       "hibernate, rescue, emergency, isolate", _systemctl(
           "poweroff reboot halt kexec suspend hibernate hybrid-sleep rescue emergency isolate")),
    _R("init runlevel change", "`init 0`, `init 6`, `telinit 1` and the like",
       lambda c: c.prog in ("init", "telinit") and c.operands[:1] in (["0"], ["1"], ["6"])),
    _R("recursive chmod of / or ~", "`chmod -R` on `/`, `~` or a system directory",
       _recursive_on_system("chmod")),
    _R("recursive chown of / or ~", "`chown -R`/`chgrp -R` on `/`, `~` or a system directory",
       _recursive_on_system("chown", "chgrp")),
    _R("set the setuid bit", "`chmod u+s`, `chmod 4755` and other setuid/setgid modes", _setuid),
    _R("download piped to a shell", "`curl`/`wget`/`nc` output piped into `sh`, `bash`, "
       "`python`, `perl`... that read their program from stdin", _download_piped),
    _R("download executed by a shell", "`bash <(curl ...)`, `sh -c \"$(wget -O- ...)\"`, "
       "`eval \"$(curl ...)\"`", _download_executed),
    _R("write to /etc/passwd, /etc/shadow, /etc/group or /etc/sudoers", "a redirection, `tee`, "
       "a `cp`/`mv`/`ln` target, `sed -i`, `truncate`, `chmod`, `rm`... of them",
       _writes_to(_account_file)),
    _R("change user accounts", "`passwd`, `chpasswd`, `useradd`, `usermod`, `userdel`, "
       "`visudo`, `vipw`, ...", _progs("passwd chpasswd useradd usermod userdel adduser "
       "deluser groupmod gpasswd visudo vipw vigr chage")),
    _R("write to ssh authorized_keys", "any write to `.ssh/authorized_keys` (a login for "
       "someone else)", _writes_to(lambda t: t.endswith((".ssh/authorized_keys", "_keys2")))),
    _R("magic SysRq trigger", "writes to `/proc/sysrq-trigger` (instant reboot, crash, kill)",
       _writes_to(lambda t: t == "/proc/sysrq-trigger")),
    _R("change kernel parameters", "`sysctl -w`/`-p`/`name=value`, writes under `/proc/sys` or "
       "`/sys`", _any(_sysctl, _writes_to(lambda t: t.startswith(("/proc/sys/", "/sys/"))))),
    _R("write to a system directory", "redirections, `tee`, `cp`/`mv` targets, `rm`, `chmod`... "
       "under `/etc`, `/boot`, `/usr`, `/bin`, `/sbin`, `/lib*`, `/var/spool/cron`",
       _writes_to(lambda t: t.startswith(_SYSTEM_WRITE_DIRS))),
    _R("kill every process", "`kill` of pid `-1` (every process) or `1` (init), `killall5`",
       _kills_everything),
    _R("remove all cron jobs", "`crontab -r`", _crontab_remove),
    _R("wipe shell history", "`history -c`, `unset HISTFILE`, `HISTFILE=`/`HISTSIZE=0`, writes "
       "to `*_history` files", _wipes_history),
    _R("flush firewall rules", "`iptables -F`/`-X`/`-P ... ACCEPT`, `nft flush`, "
       "`ufw disable`/`reset`, stopping firewalld", _any(
           _iptables_flush,
           lambda c: c.prog == "nft" and bool({"flush", "delete"} & {*c.operands}),
           lambda c: c.prog == "ufw" and c.operands[:1] in (["disable"], ["reset"]),
           _systemctl("stop disable mask", "firewalld ufw nftables"))),
    _R("disable SELinux or AppArmor", "`setenforce 0`, `aa-teardown`, `aa-disable`, stopping "
       "apparmor", _any(
           lambda c: c.prog == "setenforce" and c.operands[:1] in (["0"], ["Permissive"]),
           _progs("aa-teardown aa-disable aa-complain"),
           _systemctl("stop disable mask", "apparmor"))),
    _R("load or unload kernel modules", "`insmod`, `rmmod`, `modprobe`",
       _progs("insmod rmmod modprobe")),
    _R("take the network down", "`ifdown`, `ifconfig IF down`, `ip link set IF down`/`delete`, "
       "`nmcli networking off`", _network_down),
    _R("mount or unmount filesystems", "`umount`, `mount -o remount`, `mount --bind`/`--move`, "
       "`mount -a`", _mounts),
    _R("reverse shell", "`/dev/tcp/...` redirections, `nc -e`/`-c`, `socat ... EXEC:`",
       _reverse_shell),
    _R("container or namespace escape", "`nsenter`, `docker`/`podman` with `--privileged`, "
       "`--pid=host` or `/` mounted", _container_escape),
)  # fmt: skip


def user_rule(entry: str) -> Callable[[str], bool]:
    """`re:PATTERN` is a regular expression; anything else matches as whole words."""
    if entry.startswith("re:"):
        pattern = re.compile(entry[3:])
    else:
        pattern = re.compile(rf"(?<!\S){re.escape(' '.join(entry.split()))}(?!\S)")
    return lambda text: pattern.search(text) is not None


def check_blocklist(command: str, user_rules: Sequence[tuple[str, Callable[[str], bool]]]) -> None:
    """Raise SandboxDenied naming the rule when `command` matches the blocklist: a rule of
    `COMMAND_RULES`, else one of `user_rules` (an entry and its `user_rule` matcher)."""
    if len(command) > MAX_COMMAND:
        raise deny("command length", f"{len(command)} characters; write a script file instead")
    scan = Scan()
    try:
        scan.text(command, 0)
    except TooDeep:
        raise deny("nesting", "the command nests wrappers or substitutions too deeply") from None
    for rule in COMMAND_RULES:
        if rule.text is not None:
            for text in scan.texts:
                if rule.text(text):
                    raise deny(rule.name, " ".join(text.split())[:300])
        if rule.command is not None:
            for cmd in scan.commands:
                if rule.command(cmd):
                    raise deny(rule.name, cmd.display())
    candidates = [cmd.display() for cmd in scan.commands]
    candidates += [" ".join(text.split()) for text in scan.texts]
    for entry, matches in user_rules:
        for candidate in candidates:
            if matches(candidate):
                raise deny(f"sandbox.blocked_commands: {entry}", candidate[:300])
