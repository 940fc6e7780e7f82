"""What the benches print about the machine: the CPU's name and how much of it other processes used."""

from __future__ import annotations

import os
import platform
import subprocess
import time


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


class LoadMeter:
    """CPU used by OTHER processes since construction, in cores (/proc/stat busy time minus this process's)."""

    def __init__(self, children: bool = False) -> None:
        self.children = children  # count this process's finished child processes as its own (a bench's runs)
        self.start = self._read()

    def _read(self) -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                parts = [float(x) for x in f.readline().split()[1:]]
        except OSError:
            return None
        busy = sum(parts) - parts[3] - (parts[4] if len(parts) > 4 else 0.0)  # minus idle and iowait
        me = os.times()
        mine = me.user + me.system + (me.children_user + me.children_system if self.children else 0.0)
        return busy / os.sysconf("SC_CLK_TCK"), mine, time.monotonic()

    def others(self) -> float | None:
        end = self._read()
        if self.start is None or end is None:
            return None
        busy, mine, wall = (e - s for e, s in zip(end, self.start))
        return max(0.0, (busy - mine) / max(wall, 1e-9))
