"""The interactive surfaces of the fake Slack: modals (`views.open`, `views.push`,
`views.update`), link unfurls (`chat.unfurl`) and permalinks (`chat.getPermalink`).

A mixin of `FakeSlack` (tests/fakes/fake_slack.py), kept apart to keep that file readable.
It relies on its host for `self._lock`, `self._ids`, `self.team_id`, `self.bot_id`,
`self.channel()`, `self._find_message()` and `self._check_blocks()`.

Triggers, as Slack has them: every trigger_id opens (or pushes) one view, once, and within
3 seconds of the interaction that carried it. `fake.trigger_id()` mints one (put it in the
interactive payloads a test sends); a trigger the fake did not mint is accepted once if it
has Slack's shape (`12345.98765.abcd2358fdea`), with no expiry known. Errors as Slack's:
`invalid_trigger_id`, `exchanged_trigger_id`, `expired_trigger_id`. A view Slack would refuse
answers `invalid_arguments` with `response_metadata.messages` naming the field, as Slack's do.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

if TYPE_CHECKING:
    import itertools
    import threading

TRIGGER_TTL = 3.0  # seconds Slack gives an app to exchange a trigger_id
_TRIGGER = re.compile(r"\d+\.\d+\.[0-9a-f]+")
_TS = re.compile(r"\d+\.\d+")
MAX_VIEW_STACK = 3  # views.push: a modal stack holds at most three views
_UNFURL_SOURCES = ("composer", "conversations_history")


class Unfurl(NamedTuple):
    """One accepted chat.unfurl: `channel` and `ts` are None when the call named the link by
    `source` + `unfurl_id` instead (see `fake.calls("chat.unfurl")` for those)."""

    channel: str | None
    ts: str | None
    unfurls: dict[str, Any]


@dataclass
class _Trigger:
    minted_at: float | None  # None: not minted by the fake (no expiry known)
    view_id: str | None = None  # the modal whose interaction carried it (views.push)


def _invalid(*messages: str) -> dict:
    return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": list(messages)}}


def _plain_text_problem(obj: Any, pointer: str, limit: int, *, required: bool) -> str | None:
    if obj is None:
        return f"[ERROR] missing required field: {pointer.rsplit('/', 1)[-1]} [json-pointer:{pointer}]" if required else None
    if not isinstance(obj, dict) or obj.get("type") != "plain_text":
        return f"[ERROR] must be a plain_text text object [json-pointer:{pointer}]"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return f"[ERROR] missing required field: text [json-pointer:{pointer}]"
    if len(text) > limit:
        return f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}/text]"
    return None


class SlackSurfaces:
    """views.open / views.push / views.update, chat.unfurl and chat.getPermalink."""

    if TYPE_CHECKING:  # provided by FakeSlack
        _lock: threading.RLock
        _ids: itertools.count
        team_id: str
        bot_id: str
        channel: Callable[[str], Any]
        _find_message: Callable[[str, str], tuple[list, int] | None]
        _check_blocks: Callable[[Any, int], str | None]

    app_id = "A0BRIDGE"

    def _init_surfaces(self) -> None:
        self.views: dict[str, dict[str, Any]] = {}  # view id -> the view as Slack holds it now
        self.unfurls: list[Unfurl] = []
        self.trigger_ttl: float | None = TRIGGER_TTL  # None: triggers never expire
        self._triggers: dict[str, _Trigger] = {}  # minted, not yet exchanged
        self._exchanged: set[str] = set()

    def _reset_surfaces(self) -> None:
        with self._lock:
            self.views.clear()
            self.unfurls.clear()
            self.trigger_ttl = TRIGGER_TTL
            self._triggers.clear()
            self._exchanged.clear()

    # -- helpers for tests ---------------------------------------------------------------

    def trigger_id(self, view_id: str | None = None) -> str:
        """A fresh trigger_id, as Slack puts in slash-command and interaction payloads: it opens
        one view within `trigger_ttl` seconds. `view_id`: the modal the interaction happened in
        (so `views.push` stacks onto it)."""
        trigger = f"{int(time.time())}{next(self._ids):04d}.{secrets.randbelow(10**9)}.{secrets.token_hex(10)}"
        with self._lock:
            self._triggers[trigger] = _Trigger(time.monotonic(), view_id)
        return trigger

    def _surface_methods(self) -> dict[str, Callable[[dict], dict]]:
        return {
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "chat.unfurl": self._chat_unfurl,
            "chat.getPermalink": self._get_permalink,
        }

    # -- views ---------------------------------------------------------------------------

    def _exchange_trigger(self, body: dict) -> tuple[_Trigger | None, str | None]:
        """Check the trigger (or interactivity_pointer) of a views.open/push: (trigger, error)."""
        trigger_id = body.get("trigger_id") or body.get("interactivity_pointer") or ""
        if not isinstance(trigger_id, str) or not _TRIGGER.fullmatch(trigger_id):
            return None, "invalid_trigger_id"
        with self._lock:
            if trigger_id in self._exchanged:
                return None, "exchanged_trigger_id"
            trigger = self._triggers.get(trigger_id) or _Trigger(None)
            if (trigger.minted_at is not None and self.trigger_ttl is not None
                    and time.monotonic() - trigger.minted_at > self.trigger_ttl):
                return None, "expired_trigger_id"
        return trigger, None

    def _consume_trigger(self, body: dict) -> None:
        trigger_id = body.get("trigger_id") or body.get("interactivity_pointer")
        with self._lock:
            self._triggers.pop(trigger_id, None)
            self._exchanged.add(trigger_id)

    def _view_problems(self, view: Any, *, current_id: str | None = None) -> dict | None:
        """The answer Slack gives for a modal it refuses (None: acceptable)."""
        if not isinstance(view, dict):
            return _invalid("[ERROR] missing required field: view [json-pointer:/view]")
        if len(json.dumps(view)) > 250_000:
            return {"ok": False, "error": "view_too_large"}
        problems = []
        if view.get("type") != "modal":
            problems.append("[ERROR] must be a valid enum value [json-pointer:/view/type]")
        for name, required in (("title", True), ("submit", False), ("close", False)):
            if problem := _plain_text_problem(view.get(name), f"/view/{name}", 24, required=required):
                problems.append(problem)
        blocks = view.get("blocks")
        if not isinstance(blocks, list):
            problems.append("[ERROR] missing required field: blocks [json-pointer:/view/blocks]")
        elif problem := self._check_blocks(blocks, 100):
            problems.append(f"[ERROR] {problem} [json-pointer:/view/blocks]")
        elif any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
            problems.append("[ERROR] submit is required when an input block is within the blocks array "
                            "[json-pointer:/view/submit]")
        for name, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
            value = view.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                problems.append(f"[ERROR] must be a string of at most {limit} characters [json-pointer:/view/{name}]")
        if problems:
            return _invalid(*problems)
        external_id = view.get("external_id")
        if external_id and any(v.get("external_id") == external_id and vid != current_id
                               for vid, v in self.views.items()):
            return {"ok": False, "error": "duplicate_external_id"}
        return None

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _as_held(self, view: dict, view_id: str, root_view_id: str, previous_view_id: str | None) -> dict:
        """The view as Slack answers it: what the app sent plus what Slack keeps about it."""
        return {
            "id": view_id, "team_id": self.team_id, "type": view["type"], "title": view["title"],
            "submit": view.get("submit"), "close": view.get("close"), "blocks": view["blocks"],
            "private_metadata": view.get("private_metadata") or "", "callback_id": view.get("callback_id") or "",
            "external_id": view.get("external_id") or "", "state": {"values": {}}, "hash": self._new_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_view_id, "previous_view_id": previous_view_id,
            "app_id": self.app_id, "app_installed_team_id": self.team_id, "bot_id": self.bot_id,
        }

    def _open_view(self, body: dict, *, push: bool) -> dict:
        trigger, error = self._exchange_trigger(body)
        if trigger is None:
            return {"ok": False, "error": error}
        if refused := self._view_problems(body.get("view")):
            return refused
        with self._lock:
            view_id = f"V{next(self._ids):08d}"
            root, previous = view_id, None
            if push and trigger.view_id in self.views:
                previous = trigger.view_id
                root = self.views[previous]["root_view_id"]
                depth = sum(1 for v in self.views.values() if v["root_view_id"] == root)
                if depth >= MAX_VIEW_STACK:
                    return {"ok": False, "error": "push_limit_reached"}
            self._consume_trigger(body)
            held = self._as_held(body["view"], view_id, root, previous)
            self.views[view_id] = held
        return {"ok": True, "view": held}

    def _views_open(self, body: dict) -> dict:
        return self._open_view(body, push=False)

    def _views_push(self, body: dict) -> dict:
        return self._open_view(body, push=True)

    def _views_update(self, body: dict) -> dict:
        view_id, external_id = body.get("view_id"), body.get("external_id")
        if not view_id and not external_id:
            return _invalid("[ERROR] either view_id or external_id is required")
        with self._lock:
            if view_id:
                current = self.views.get(view_id)
            else:
                current = next((v for v in self.views.values() if v["external_id"] == external_id), None)
            if current is None:
                return {"ok": False, "error": "not_found"}
            if body.get("hash") and body["hash"] != current["hash"]:
                return {"ok": False, "error": "hash_conflict"}
            if refused := self._view_problems(body.get("view"), current_id=current["id"]):
                return refused
            view = {"external_id": current["external_id"], **body["view"]}
            held = self._as_held(view, current["id"], current["root_view_id"], current["previous_view_id"])
            held["state"] = current["state"]
            self.views[current["id"]] = held
        return {"ok": True, "view": held}

    # -- chat.unfurl, chat.getPermalink --------------------------------------------------

    def _chat_unfurl(self, body: dict) -> dict:
        channel, ts = body.get("channel"), body.get("ts")
        source, unfurl_id = body.get("source"), body.get("unfurl_id")
        if source or unfurl_id:
            if not (source and unfurl_id):
                return _invalid("[ERROR] source and unfurl_id must be provided together")
            if source not in _UNFURL_SOURCES:
                return _invalid("[ERROR] source must be one of composer, conversations_history")
            channel = ts = None
        elif not channel:
            return {"ok": False, "error": "missing_channel"}
        elif not ts:
            return {"ok": False, "error": "missing_ts"}
        elif (found := self.channel(channel)).private and not found.member:
            return {"ok": False, "error": "cannot_find_channel"}
        unfurls = body.get("unfurls")
        if unfurls is None or unfurls == "":
            if any(body.get(k) for k in ("user_auth_required", "user_auth_message", "user_auth_url",
                                         "user_auth_blocks")):
                return {"ok": True}  # only an invitation to authenticate
            return {"ok": False, "error": "missing_unfurls"}
        if isinstance(unfurls, str):
            try:
                unfurls = json.loads(unfurls)
            except ValueError:
                return {"ok": False, "error": "invalid_unfurls_format"}
        if not isinstance(unfurls, dict) or not unfurls:
            return {"ok": False, "error": "invalid_unfurls_format"}
        for url, attachment in unfurls.items():
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                return {"ok": False, "error": "cannot_unfurl_url"}
            if not isinstance(attachment, dict) or not attachment:
                return {"ok": False, "error": "cannot_parse_attachment"}
            if problem := self._check_blocks(attachment.get("blocks"), 50):
                return {"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": [
                    f"[ERROR] {problem} [json-pointer:/unfurls/{url}/blocks]"]}}
        with self._lock:
            self.unfurls.append(Unfurl(channel, ts, unfurls))
        return {"ok": True}

    def _get_permalink(self, body: dict) -> dict:
        channel_id, ts = body.get("channel") or "", body.get("message_ts") or ""
        if not channel_id:
            return {"ok": False, "error": "channel_not_found"}
        channel = self.channel(channel_id)
        if not channel_id.startswith("D") and channel.private and not channel.member:
            return {"ok": False, "error": "channel_not_found"}
        if not _TS.fullmatch(ts):
            return {"ok": False, "error": "message_not_found"}
        permalink = f"https://fake.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
        found = self._find_message(channel_id, ts)
        if found is not None:
            thread_ts = found[0][found[1]].get("thread_ts")
            if thread_ts and thread_ts != ts:
                permalink += f"?thread_ts={thread_ts}&cid={channel_id}"
        return {"ok": True, "channel": channel_id, "permalink": permalink}
