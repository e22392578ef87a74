"""`aggregator run`: the service under uvicorn, with reload on SIGHUP or file change.

Stopping: SIGTERM or SIGINT marks the service as stopping at once (no new polls,
/readyz 503), then uvicorn stops accepting connections, lets open requests finish and
runs the app's lifespan shutdown, where `Service.stop` gives the poll in progress
`[server] shutdown_grace` seconds before cancelling it, releases this process's leases
and closes the store. Each source's poll is one transaction, so nothing is half-written,
and the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from types import FrameType

import uvicorn

from aggregator.config import config_file, load_config
from aggregator.logs import setup_logging
from aggregator.run.service import Service
from aggregator.web import create_app

log = logging.getLogger("aggregator.run")
WATCH_SECONDS = 2.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Server(uvicorn.Server):
    """uvicorn that tells the service to stop polling the moment a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, service: Service) -> None:
        super().__init__(config)
        self.service = service

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.service.begin_shutdown()
        super().handle_exit(sig, frame)


async def _watch_config(service: Service, path: Path) -> None:
    """Reload when the config file's modification time changes (or it first appears)."""
    try:
        last = path.stat().st_mtime_ns
    except OSError:
        last = None
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        try:
            current = path.stat().st_mtime_ns
        except OSError:
            continue
        if current != last:
            last = current
            log.info("config file changed: reloading")
            service.reload()


def run_service(
    config_path: Path, *, fall_back: bool = False, role: str = "all", host: str | None = None,
    port: int | None = None, watch: bool = False,
) -> int:
    """Serve (and for roles all/worker, poll) until SIGTERM or SIGINT; return the exit code.

    `config_path` is what SIGHUP and --watch re-read; with `fall_back`, a missing file
    starts the service on the built-in default until the file appears.
    """
    # --host and --port mean what AGGREGATOR_HOST and AGGREGATOR_PORT mean: the config's
    # [server] values for this process, so self links, OPML and every reload agree
    # with the address uvicorn listens on.
    if host:
        os.environ["AGGREGATOR_HOST"] = host
    if port is not None:
        os.environ["AGGREGATOR_PORT"] = str(port)
    config = load_config(config_file(config_path, fall_back=fall_back))
    setup_logging(config.logging.format, config.logging.level)
    service = Service(config, config_path, role=role)
    grace = config.server.shutdown_grace
    server = _Server(
        uvicorn.Config(
            create_app(service),
            host=config.server.host,
            port=config.server.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=max(1, round(grace)),
        ),
        service,
    )
    # Ours before uvicorn's: a signal during start-up still stops cleanly, and the
    # signal uvicorn re-raises after its graceful shutdown lands here instead of on the
    # default action, which would end the process with 143 (or KeyboardInterrupt).
    for sig in STOP_SIGNALS:
        signal.signal(sig, server.handle_exit)
    service.prepare()

    async def main() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, service.reload)
        watcher = asyncio.create_task(_watch_config(service, config_path)) if watch else None
        try:
            await server.serve()
        finally:
            if watcher:
                watcher.cancel()

    log.info("serving %s as %s (role %s)", config_path, config.server.public_base(), role)
    asyncio.run(main())
    log.info("stopped")
    return 0
