"""WebSub subscriptions: one row per source subscribed (or being subscribed) at a hub."""

from __future__ import annotations

from dataclasses import astuple, fields

from aggregator.models import Subscription
from aggregator.store.engine import StoreEngine, retried

_COLUMNS = tuple(f.name for f in fields(Subscription))


class WebSubscriptions(StoreEngine):
    """subscriptions, subscription, save_subscription, delete_subscription."""

    @retried
    def subscriptions(self) -> list[Subscription]:
        with self.transaction(write=False) as cur:
            cur.execute(f"SELECT {', '.join(_COLUMNS)} FROM websub_subscriptions ORDER BY source")
            return [Subscription(*row) for row in cur.fetchall()]

    @retried
    def subscription(self, sub_id: str) -> Subscription | None:
        with self.transaction(write=False) as cur:
            cur.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM websub_subscriptions WHERE sub_id = ?",
                (sub_id,),
            )
            row = cur.fetchone()
        return Subscription(*row) if row else None

    @retried
    def save_subscription(self, sub: Subscription) -> None:
        """Insert or replace the source's subscription (a source has at most one)."""
        updates = ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS if name != "source")
        with self.transaction() as cur:
            cur.execute(
                f"INSERT INTO websub_subscriptions ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _COLUMNS)}) "
                f"ON CONFLICT (source) DO UPDATE SET {updates}",
                astuple(sub),
            )

    @retried
    def delete_subscription(self, source: str) -> None:
        with self.transaction() as cur:
            cur.execute("DELETE FROM websub_subscriptions WHERE source = ?", (source,))
