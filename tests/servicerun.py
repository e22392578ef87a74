"""`aggregator run` as a real process on a loopback port, for the deployment tests.

The process is started the way a container starts it (a command line and AGGREGATOR_*
variables), spoken to over HTTP on 127.0.0.1, signalled, and read through its stderr,
which a thread collects line by line so a test can wait for a given log event.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

START_SECONDS = 30.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**overrides: str) -> dict[str, str]:
    """This environment without any AGGREGATOR_* the caller's shell may carry, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    return {**env, "PYTHONPATH": str(ROOT), **overrides}


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until(check: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class ServiceProcess:
    """A running `aggregator run` and everything it has written to stderr so far."""

    def __init__(self, command: Sequence[str], port: int, env: dict[str, str],
                 cwd: Path = ROOT) -> None:
        self.port = port
        self.proc = subprocess.Popen(
            list(command), env=env, cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self._lines.append(line.rstrip("\n"))

    @property
    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def events(self) -> list[dict[str, Any]]:
        """stderr parsed as JSON logs, one object per line (fails on any other line)."""
        return [json.loads(line) for line in self.lines]

    def log_text(self) -> str:
        return "\n".join(self.lines)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        return http_get(self.url(path), timeout)

    def get_json(self, path: str) -> tuple[int, dict[str, Any]]:
        status, body = self.get(path)
        return status, json.loads(body)

    def wait_for_log(self, check: Callable[[str], bool], timeout: float, what: str) -> str:
        """The first stderr line for which `check` holds, waiting up to `timeout`."""
        def found() -> str | None:
            self._fail_if_exited(what)
            return next((line for line in self.lines if check(line)), None)
        return wait_until(found, timeout, what)

    def wait_for_event(self, check: Callable[[dict[str, Any]], bool], timeout: float,
                       what: str) -> dict[str, Any]:
        """The first JSON log event for which `check` holds."""
        line = self.wait_for_log(lambda text: check(json.loads(text)), timeout, what)
        return json.loads(line)

    def poll_events(self) -> list[dict[str, Any]]:
        return [event for event in self.events() if event.get("event") == "poll"]

    def wait_healthy(self, timeout: float = START_SECONDS) -> None:
        def healthy() -> bool:
            self._fail_if_exited("/healthz")
            try:
                return self.get("/healthz", timeout=1)[0] == 200
            except OSError:
                return False
        wait_until(healthy, timeout, "/healthz to answer 200", interval=0.2)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not go; for clean-up after a failed test."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)

    def _fail_if_exited(self, what: str) -> None:
        if self.proc.poll() is not None:
            self._reader.join(timeout=5)
            raise AssertionError(
                f"the service exited with {self.proc.returncode} while waiting for {what}:\n"
                + self.log_text()
            )


@contextmanager
def running_service(config: Path | None, *args: str, env: dict[str, str] | None = None,
                    healthy: bool = True) -> Iterator[ServiceProcess]:
    """Run `python -m aggregator run` on a free port with JSON logs until the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "aggregator", "run", "--port", str(port), *args]
    if config is not None:
        command += ["--config", str(config)]
    service = ServiceProcess(
        command, port, clean_env(AGGREGATOR_LOG_FORMAT="json", **(env or {}))
    )
    try:
        if healthy:
            service.wait_healthy()
        yield service
    finally:
        service.stop()
