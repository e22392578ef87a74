"""/healthz and /readyz of a real process, including a store that goes away and comes back.

/healthz says the process answers; /readyz says it can do its job: the store answers,
and for roles that poll, the scheduler runs and a cycle finished recently. Losing the
store must turn /readyz to 503 while the process keeps running, and never show the
store's password.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer
from tests.servicerun import clean_env, free_port, running_service, wait_until
from tests.tcpproxy import TCPProxy

PASSWORD = "pw-never-printed-7"


def test_a_polling_process_is_ready_after_its_first_cycle(feed_server: FeedServer,
                                                          tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", serve_e2e_feeds(feed_server))
    with running_service(config) as service:
        assert service.get_json("/healthz") == (200, {"status": "ok"})
        wait_until(lambda: service.get("/readyz")[0] == 200, 15, "/readyz 200")
        status, checks = service.get_json("/readyz")

    assert status == 200
    assert checks["store"] == "ok" and checks["scheduler"] == "running"
    assert checks["cycle_recent"] is True and checks["ready"] is True
    assert checks["last_cycle"].endswith("s ago")


def test_a_web_process_is_ready_with_its_store_and_polls_nothing(feed_server: FeedServer,
                                                                 tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", serve_e2e_feeds(feed_server))
    with running_service(config, "--role", "web") as service:
        status, checks = service.get_json("/readyz")

    assert (status, checks) == (200, {"store": "ok", "ready": True})
    # Over the process's whole life: a polling role ticks as it starts, before it
    # serves, and lets that poll finish before it exits.
    assert feed_server.log == []


def with_netloc(url: str, netloc: str) -> str:
    return urlsplit(url)._replace(netloc=netloc).geturl()


def test_readyz_turns_503_while_postgresql_is_unreachable_and_recovers(
    postgres_url: str, tmp_path: Path
) -> None:
    user = urlsplit(postgres_url).username
    proxy = TCPProxy("127.0.0.1", urlsplit(postgres_url).port or 5432)
    url = with_netloc(postgres_url, f"{user}:{PASSWORD}@127.0.0.1:{proxy.port}")
    config = write_config(tmp_path / "config.toml", {})
    env = {"AGGREGATOR_STORAGE_URL": url}
    try:
        with running_service(config, env=env) as service:
            wait_until(lambda: service.get("/readyz")[0] == 200, 15, "/readyz 200")

            proxy.refuse()  # the server is gone: open connections dropped, new ones refused
            down = wait_until(lambda: (r := service.get("/readyz", 15))[0] == 503 and r, 30,
                              "/readyz 503")
            assert service.get("/healthz")[0] == 200
            assert service.proc.poll() is None

            proxy.restore()
            wait_until(lambda: service.get("/readyz", 15)[0] == 200, 30, "/readyz 200 again")
            log = service.log_text()
    finally:
        proxy.close()

    body = down[1].decode()
    assert '"store":"unreachable: ' in body and '"ready":false' in body
    assert f"127.0.0.1:{proxy.port}" in body and ":***@" in body
    assert PASSWORD not in body and PASSWORD not in log


def test_an_unreachable_store_at_start_fails_fast_without_the_password(tmp_path: Path) -> None:
    """Nothing to serve without a store: exit 2 (a store error) within the retry budget,
    so the supervisor retries; a run that hangs fails on the 60 s subprocess bound."""
    url = f"postgresql://aggregator:{PASSWORD}@127.0.0.1:{free_port()}/aggregator"
    config = write_config(tmp_path / "config.toml", {})
    result = run_cli("run", "--config", str(config), "--port", str(free_port()),
                     env=clean_env(AGGREGATOR_STORAGE_URL=url), check=False, timeout=60)

    assert result.returncode == 2, result.stderr
    assert "store error: PostgreSQL at postgresql://aggregator:***@127.0.0.1:" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr, sys.version
