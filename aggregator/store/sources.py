"""The sources table: registration, state and health, and the leases workers poll by."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aggregator import clock
from aggregator.models import IngestReport, PollOutcome, SourceState
from aggregator.store.engine import Cursor, StoreEngine, chunks, marks, retried

SEVEN_DAYS = 7 * 86400.0
SOURCE_COLUMNS = (
    "name, url, current_url, enabled, disabled_reason, etag, last_modified, last_attempt, "
    "last_success, last_status, last_http_status, consecutive_failures, last_error, "
    "last_problem, redirected_from, next_poll, poll_interval, fetch_count, fetch_seconds_total"
)


def _source_state(row: Sequence[Any], items_7d: int = 0) -> SourceState:
    (
        name,
        url,
        current_url,
        enabled,
        disabled_reason,
        etag,
        last_modified,
        last_attempt,
        last_success,
        last_status,
        last_http_status,
        failures,
        last_error,
        last_problem,
        redirected_from,
        next_poll,
        poll_interval,
        fetch_count,
        fetch_seconds,
    ) = row
    return SourceState(
        name=name,
        url=url,
        current_url=current_url,
        enabled=bool(enabled),
        disabled_reason=disabled_reason,
        etag=etag,
        last_modified=last_modified,
        last_attempt=last_attempt,
        last_success=last_success,
        last_status=last_status,
        last_http_status=last_http_status,
        consecutive_failures=failures,
        last_error=last_error,
        last_problem=last_problem,
        redirected_from=redirected_from,
        next_poll=next_poll,
        poll_interval=poll_interval,
        fetch_count=fetch_count,
        mean_fetch_seconds=(fetch_seconds / fetch_count) if fetch_count else None,
        items_last_7_days=items_7d,
    )


def _status_word(outcome: PollOutcome, report: IngestReport) -> str:
    if outcome.status == "not_modified":
        return "unchanged"
    if report.new:
        return "new"
    if report.updated:
        return "updated"
    return "unchanged"


class Sources(StoreEngine):
    """Sources and leases."""

    @retried
    def sync_sources(self, sources: Sequence[tuple[str, str]]) -> None:
        """Register configured (name, url) pairs; a changed URL resets validators."""
        with self.transaction() as cur:
            for name, url in sources:
                cur.execute(
                    "INSERT INTO sources (name, url, current_url) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET url = excluded.url, "
                    "current_url = excluded.url, etag = NULL, last_modified = NULL, "
                    "enabled = 1, disabled_reason = NULL, redirected_from = NULL, next_poll = 0 "
                    "WHERE sources.url <> excluded.url",
                    (name, url, url),
                )

    @retried
    def cap_schedules(self, ceilings: Sequence[tuple[str, float]]) -> None:
        """Bring forward healthy sources whose next poll lies past (name, ceiling seconds)
        after their last success: a poll scheduled under an older, laxer config (or the
        old default of stretching to 6 h) must not outlive the config that forbids it."""
        with self.transaction() as cur:
            cur.executemany(
                "UPDATE sources SET next_poll = last_success + ?, poll_interval = ? "
                "WHERE name = ? AND consecutive_failures = 0 AND last_success IS NOT NULL "
                "AND next_poll > last_success + ?",
                [(ceiling, ceiling, name, ceiling) for name, ceiling in ceilings],
            )

    @retried
    def source_states(self, names: Sequence[str] | None = None) -> list[SourceState]:
        """The state of the sources `names` (default: all), by name.

        Named sources are looked up by key: a worker polling a hundred of a hundred
        thousand configured sources reads a hundred rows, not the whole table.
        """
        week_ago = clock.now() - SEVEN_DAYS
        rows: list[Any] = []
        counts: dict[str, int] = {}
        with self.transaction(write=False) as cur:
            if names is None:
                cur.execute(f"SELECT {SOURCE_COLUMNS} FROM sources")
                rows = cur.fetchall()
                cur.execute(
                    "SELECT source, COUNT(*) FROM items WHERE first_seen >= ? GROUP BY source",
                    (week_ago,),
                )
                counts = dict(cur.fetchall())
            for chunk in chunks(sorted(set(names or ()))):
                cur.execute(
                    f"SELECT {SOURCE_COLUMNS} FROM sources WHERE name IN ({marks(chunk)})",
                    tuple(chunk),
                )
                rows += cur.fetchall()
                cur.execute(
                    "SELECT source, COUNT(*) FROM items WHERE first_seen >= ? "
                    f"AND source IN ({marks(chunk)}) GROUP BY source",
                    (week_ago, *chunk),
                )
                counts.update(cur.fetchall())
        return sorted(
            (_source_state(row, counts.get(row[0], 0)) for row in rows),
            key=lambda state: state.name,
        )

    def source_state(self, name: str) -> SourceState | None:
        states = self.source_states([name])
        return states[0] if states else None

    @retried
    def claim_due_sources(
        self, owner: str, now: float, lease_seconds: float, names: Sequence[str], limit: int
    ) -> list[str]:
        """Lease up to `limit` due sources among `names` to `owner` until now+lease.

        A source is due when enabled, its next poll time has come and nobody else holds
        a live lease on it. On PostgreSQL the row locks skip rows another worker is
        claiming at this moment, so two workers never claim the same source. Names go
        in chunks, so the most overdue come first within each chunk of the config.
        """
        claimed: list[str] = []
        with self.transaction() as cur:
            for chunk in chunks(names):
                if len(claimed) >= limit:
                    break
                cur.execute(
                    f"SELECT name FROM sources WHERE name IN ({marks(chunk)}) AND enabled = 1 "
                    "AND next_poll <= ? AND (lease_expires IS NULL OR lease_expires < ? "
                    "OR lease_owner = ?) ORDER BY next_poll, name LIMIT ?"
                    + self._claim_sql_suffix(),
                    (*chunk, now, now, owner, limit - len(claimed)),
                )
                due = [row[0] for row in cur.fetchall()]
                if due:
                    cur.execute(
                        "UPDATE sources SET lease_owner = ?, lease_expires = ? "
                        f"WHERE name IN ({marks(due)})",
                        (owner, now + lease_seconds, *due),
                    )
                    claimed += due
        return claimed

    @retried
    def renew_leases(self, owner: str, until: float) -> int:
        """Extend every lease `owner` still holds to `until`; return how many.

        A live worker renews while a long cycle runs so it never loses sources it is
        still polling; a dead one stops renewing and its leases lapse.
        """
        with self.transaction() as cur:
            cur.execute(
                "UPDATE sources SET lease_expires = ? WHERE lease_owner = ?", (until, owner)
            )
            return cur.rowcount

    @retried
    def release_leases(self, owner: str) -> None:
        with self.transaction() as cur:
            cur.execute(
                "UPDATE sources SET lease_owner = NULL, lease_expires = NULL WHERE lease_owner = ?",
                (owner,),
            )

    @retried
    def next_due_time(self, names: Sequence[str]) -> float | None:
        if not names:
            return None
        found: list[float] = []
        with self.transaction(write=False) as cur:
            for chunk in chunks(names):
                cur.execute(
                    "SELECT MIN(next_poll) FROM sources WHERE enabled = 1 "
                    f"AND name IN ({marks(chunk)})",
                    tuple(chunk),
                )
                row = cur.fetchone()
                if row and row[0] is not None:
                    found.append(row[0])
        return min(found, default=None)

    def _write_source(self, cur: Cursor, outcome: PollOutcome, report: IngestReport) -> None:
        ok = outcome.status in ("ok", "not_modified")
        if ok:
            cur.execute(
                "UPDATE sources SET last_attempt = ?, last_success = ?, last_status = ?, "
                "last_http_status = ?, consecutive_failures = 0, last_error = NULL, "
                "last_problem = ?, etag = ?, last_modified = ?, next_poll = ?, "
                "poll_interval = ?, fetch_count = fetch_count + 1, "
                "fetch_seconds_total = fetch_seconds_total + ?, lease_owner = NULL, "
                "lease_expires = NULL WHERE name = ?",
                (
                    outcome.attempted_at,
                    outcome.attempted_at,
                    _status_word(outcome, report),
                    outcome.http_status,
                    outcome.problem,
                    outcome.etag,
                    outcome.last_modified,
                    outcome.next_poll,
                    outcome.poll_interval,
                    outcome.elapsed,
                    outcome.source,
                ),
            )
        else:
            cur.execute(
                "UPDATE sources SET last_attempt = ?, last_status = ?, last_http_status = ?, "
                "consecutive_failures = consecutive_failures + 1, last_error = ?, "
                "next_poll = ?, poll_interval = ?, fetch_count = fetch_count + 1, "
                "fetch_seconds_total = fetch_seconds_total + ?, lease_owner = NULL, "
                "lease_expires = NULL WHERE name = ?",
                (
                    outcome.attempted_at,
                    outcome.status,
                    outcome.http_status,
                    outcome.error,
                    outcome.next_poll,
                    outcome.poll_interval,
                    outcome.elapsed,
                    outcome.source,
                ),
            )
        if outcome.new_url:
            cur.execute(
                "UPDATE sources SET redirected_from = current_url, current_url = ?, "
                "etag = CASE WHEN ? THEN etag ELSE NULL END WHERE name = ? "
                "AND current_url <> ?",
                (outcome.new_url, ok, outcome.source, outcome.new_url),
            )
        if outcome.disable_reason:
            cur.execute(
                "UPDATE sources SET enabled = 0, disabled_reason = ? WHERE name = ?",
                (outcome.disable_reason, outcome.source),
            )
