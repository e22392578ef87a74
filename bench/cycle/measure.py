"""Wall time, CPU time and peak memory of a process and every process it started.

Linux /proc only. CPU is user + system time summed over the process tree (worker
processes included). Peak memory is the sum over the tree of each process's own peak
resident set (VmHWM, reset when the measurement starts): an upper bound of the
tree's peak, since the processes need not peak at the same moment, and it cannot
miss a short spike the way sampling would.

RSS counts a page shared by the main process and its forked or spawned workers (the
interpreter, libraries) once per process; PSS (proportional set size, from
/proc/<pid>/smaps_rollup) splits it among them, so the tree's PSS is what it costs the
machine. The kernel keeps no PSS peak, so a thread samples it every half second;
reading smaps_rollup makes the kernel walk the page tables (a profile of the polling
process found the sampler at 12% of its CPU), so the thread's own CPU time is
subtracted from the tree's.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    family, index = [root], 0
    while index < len(family):
        for children in Path(f"/proc/{family[index]}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                family += [int(pid) for pid in children.read_text().split()]
        index += 1
    return family


def cpu_seconds(pid: int) -> float:
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    return 0.0


def _kilobytes(path: str, name: str) -> int:
    """The "name: N kB" line of a /proc file, in bytes; 0 once the process is gone."""
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss_bytes(pid: int) -> int:
    return _kilobytes(f"/proc/{pid}/status", "VmHWM:")


def rss_bytes(pid: int) -> int:
    return _kilobytes(f"/proc/{pid}/status", "VmRSS:")


def pss_bytes(pid: int) -> int:
    return _kilobytes(f"/proc/{pid}/smaps_rollup", "Pss:")


def role(pid: int, root: int) -> str:
    """What a process of the tree is, for the per-process memory split."""
    if pid == root:
        return "main process"
    with contextlib.suppress(OSError):
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"resource_tracker" in command:
            return "resource tracker"
        if b"multiprocessing" in command:
            return "worker process"
    return "other process"


def reset_peak(pid: int) -> None:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/clear_refs", "w") as clear:
        clear.write("5")


@dataclass
class Measurement:
    """Use as `with Measurement() as m: ...`; then m.wall, m.cpu, m.peak_rss."""

    root: int = field(default_factory=os.getpid)
    wall: float = 0.0
    cpu: float = 0.0
    peak_rss: int = 0
    peak_rss_by_role: dict[str, list[int]] = field(default_factory=dict)  # bytes, per process
    peak_pss: int = 0  # the highest sampled sum over the tree
    peak_pss_by_role: dict[str, list[int]] = field(default_factory=dict)  # each one's peak
    _started: float = 0.0
    _cpu_before: dict[int, float] = field(default_factory=dict)
    _pss_peaks: dict[int, int] = field(default_factory=dict)
    _sampler_cpu: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _sampler: threading.Thread | None = None

    def __enter__(self) -> Measurement:
        for pid in process_tree(self.root):
            reset_peak(pid)
            self._cpu_before[pid] = cpu_seconds(pid)
        self._started = time.perf_counter()
        self._sampler = threading.Thread(target=self._sample_pss, daemon=True)
        self._sampler.start()
        return self

    def _sample_pss(self) -> None:
        while True:
            total = 0
            for pid in process_tree(self.root):
                pss = pss_bytes(pid)
                total += pss
                self._pss_peaks[pid] = max(self._pss_peaks.get(pid, 0), pss)
            self.peak_pss = max(self.peak_pss, total)
            self._sampler_cpu = time.thread_time()  # user + system, this thread only
            if self._stop.wait(0.5):
                return

    def __exit__(self, *exc_info: object) -> None:
        self.wall = time.perf_counter() - self._started
        self._stop.set()
        assert self._sampler is not None
        self._sampler.join()
        tree = process_tree(self.root)
        spent = sum(cpu_seconds(pid) - self._cpu_before.get(pid, 0.0) for pid in tree)
        self.cpu = spent - self._sampler_cpu
        for pid in set(tree) | set(self._pss_peaks):
            name = role(pid, self.root)
            self.peak_pss_by_role.setdefault(name, []).append(self._pss_peaks.get(pid, 0))
            if pid in tree:
                self.peak_rss_by_role.setdefault(name, []).append(peak_rss_bytes(pid))
        self.peak_rss = sum(sum(peaks) for peaks in self.peak_rss_by_role.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "wall": self.wall,
            "cpu": self.cpu,
            "peak_rss_mb": self.peak_rss / 2**20,
            "peak_pss_mb": self.peak_pss / 2**20,
            "rss_split_mb": _split(self.peak_rss_by_role),
            "pss_split_mb": _split(self.peak_pss_by_role),
        }


def _split(by_role: dict[str, list[int]]) -> dict[str, list[int]]:
    """Bytes per process, by role, as whole MB."""
    return {name: [round(peak / 2**20) for peak in peaks] for name, peaks in by_role.items()}
