"""What the benchmarks share: servers in child processes, CPU accounting, loop lag, percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
TICKS = os.sysconf("SC_CLK_TCK")

# Every simulated client of a load benchmark comes from 127.0.0.1 and sends as fast as it can:
# the socket limits (CHATSVC_RATE_*) and the daily chats per address would measure themselves,
# not the service. bench/abuse.py alone keeps the shipped limits (it measures them).
NO_LIMITS_ENV = {
    "CHATSVC_CONNECTIONS_PER_ADDRESS": "1000000",
    "CHATSVC_CONVERSATIONS_PER_ADDRESS_PER_DAY": "1000000",
    "CHATSVC_RATE_ADDRESS_FACTOR": "1000000",
    **{
        f"CHATSVC_RATE_{kind}": "1000000,60000000"
        for kind in ("MESSAGE", "START", "RESUME", "TYPING", "READ", "AGENT")
    },
}


class ServerProcess:
    """A server in a child process, on a free port of 127.0.0.1; its stderr drained to a list."""

    def __init__(self, label: str, argv: list[str], env: dict[str, str]):
        self.label = label
        self.argv = argv
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""
        self.lines: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> str:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=REPO,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        CHILDREN.append(self.process)
        self.url = await asyncio.wait_for(self._wait_listening(), 30)
        self._drain = asyncio.create_task(self._read_rest())
        return self.url

    async def _wait_listening(self) -> str:
        assert self.process and self.process.stderr
        while line := (await self.process.stderr.readline()).decode(errors="replace"):
            self.lines.append(line)
            if match := LISTENING.search(line):
                return match.group(1)
        raise RuntimeError(f"{self.label} exited before listening:\n" + "".join(self.lines))

    async def _read_rest(self) -> None:
        assert self.process and self.process.stderr
        while line := (await self.process.stderr.readline()).decode(errors="replace"):
            self.lines.append(line)
            if len(self.lines) > 5000:
                del self.lines[:1000]

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 15 s; return the exit code."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._drain:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._drain, 5)
        return self.process.returncode

    def errors(self) -> list[str]:
        """The server's log lines at ERROR or above, tracebacks included."""
        return [line for line in self.problems() if " WARNING " not in line]

    def problems(self) -> list[str]:
        """The server's log lines at WARNING or above (tracebacks included)."""
        return [
            line.rstrip()
            for line in self.lines
            if " WARNING " in line
            or " ERROR " in line
            or " CRITICAL " in line
            or line.startswith("Traceback")
        ]


CHILDREN: list[asyncio.subprocess.Process] = []


def kill_leftover_children() -> None:
    """Last resort (e.g. the event loop itself died): no server outlives this script."""
    for process in CHILDREN:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def memory_kb(pid: int) -> dict[str, int]:
    """VmHWM (peak RSS) and VmRSS of a process, in kB."""
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
    return found


# ----------------------------------------------------------------------------------------------
# Measuring


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list (nan when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class LagMonitor:
    """Measures how late the benchmark's event loop wakes up a task that sleeps 5 ms."""

    PERIOD = 0.005

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.PERIOD)
            self.lags.append(max(0.0, time.perf_counter() - before - self.PERIOD))

    def __enter__(self) -> LagMonitor:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
