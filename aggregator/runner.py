"""`aggregator run`: the service under uvicorn, with reload on SIGHUP or file change.

uvicorn owns SIGTERM and SIGINT: it stops accepting connections and runs the app's
lifespan shutdown, where `Service.stop` lets the current poll finish (bounded) and
releases this process's leases, so the process exits 0 with nothing half-written.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import uvicorn

from aggregator.config import load_config
from aggregator.logs import setup_logging
from aggregator.service import Service
from aggregator.web import create_app

log = logging.getLogger("aggregator.run")
WATCH_SECONDS = 2.0


async def _watch_config(service: Service, path: Path) -> None:
    """Reload when the config file's modification time changes."""
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
    config_path: Path, *, role: str = "all", host: str | None = None, port: int | None = None,
    watch: bool = False,
) -> int:
    config = load_config(config_path)
    setup_logging(config.logging.format, config.logging.level)
    service = Service(config, config_path, role=role)
    service.prepare()
    app = create_app(service)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host or config.server.host,
            port=port if port is not None else config.server.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=15,
        )
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, service.reload)
        watcher = asyncio.create_task(_watch_config(service, config_path)) if watch else None
        try:
            await server.serve()
        finally:
            if watcher:
                watcher.cancel()

    log.info("serving %s as %s (role %s)", config_path, config.server.public_base(), role)
    asyncio.run(main())
    return 0
