"""Per-person heartbeat API keys: UUID-v4 shaped (the legacy WakaTime client refuses other
shapes), shown once, stored only as a hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from bot.store import Store


def issue_key(store: Store, slack_user_id: str, now: datetime, *, replace: bool = True) -> str:
    """Create a key for a person (revoking their older keys when `replace`); return it once."""
    key = str(uuid.uuid4())
    with store.transaction():
        if replace:
            store.revoke_api_keys(slack_user_id, now)
        store.add_api_key(key, slack_user_id, now)
    return key


def revoke_keys(store: Store, slack_user_id: str, now: datetime) -> int:
    """Revoke every active key of a person; their IDE plugins then get 401."""
    return store.revoke_api_keys(slack_user_id, now)
