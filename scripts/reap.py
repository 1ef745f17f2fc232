#!/usr/bin/env python3
"""Runs a command and, when it ends, stops every process it left behind, by PID.

The tests start daemons (rkube, etcd, containerd and its shims, a registry). Each test stops its
own, but a test killed by a timeout cannot. This process becomes a child subreaper
(PR_SET_CHILD_SUBREAPER), so daemons that detach re-parent to it instead of to init and stay
findable as its descendants; once the command exits they get SIGTERM, then SIGKILL after a grace
period. Nothing is ever signalled by name.

Usage: reap.py COMMAND [ARGS...]  (exits with the command's status)
"""

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
GRACE_SECONDS = 10


def descendants(root):
    """PIDs whose parent chain leads to `root`, read from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is parenthesised and may hold spaces: fields follow the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    found = set()
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def reap_zombies():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_leftovers():
    me = os.getpid()
    left = descendants(me)
    if not left:
        return
    print(f"reap: stopping {len(left)} leftover process(es): {sorted(left)}", file=sys.stderr)
    for pid in left:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        reap_zombies()
        if not descendants(me):
            return
        time.sleep(0.2)
    for pid in descendants(me):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.5)
    reap_zombies()


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("reap: prctl(PR_SET_CHILD_SUBREAPER) failed", file=sys.stderr)
        return 1
    child = subprocess.Popen(sys.argv[1:])
    # Forward interrupts to the command; the cleanup below still runs.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _f: child.send_signal(s))
    # Wait for any child, not just the command, so orphans that exit meanwhile are reaped too.
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == child.pid:
            code = os.waitstatus_to_exitcode(status)
            break
    stop_leftovers()
    if code < 0:
        # Killed by a signal: exit as a shell would report it.
        code = 128 - code
    return code


if __name__ == "__main__":
    sys.exit(main())
