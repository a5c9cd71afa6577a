"""A fake Slack Web API: a real HTTP server on loopback that answers like Slack.

The app reaches it through `SLACK_API_URL` (`fake.api_url`, ends with `/api/`). Every
request is recorded (method, parsed body, headers) so a test asserts exactly what reached
Slack. It also serves `response_url` targets (`fake.response_url()`) and the upload URLs
handed out by `files.getUploadURLExternal`.

Faithful where it matters to the app: bearer-token check (`not_authed` / `invalid_auth`),
form or JSON bodies (and GET query strings, as slack_sdk sends for read methods), Block Kit
limits on what is posted (50 blocks per message, 100 per view, section text <= 3000, header
<= 150 -> `invalid_blocks`), channels (membership: `not_in_channel` for history and file
shares, `channel_not_found` for private channels the bot is not in, `is_archived`; with
`chat:write.public` a public channel accepts posts without membership), history with message
metadata (`conversations.history`, `include_all_metadata`), and fault injection (429 with
Retry-After, 500, a reply lost after the work was done, slow methods).

Messages are kept as Slack keeps them: `chat.postMessage` lands in the channel
(`fake.messages(channel)`, or `fake.replies(channel)` with `thread_ts`); `chat.update` finds the
message by ts (`message_not_found` if the fake never saw it, `cant_update_message` if the bot did
not post it) and replaces it as Slack does (blocks given: replaced; only text given: blocks
dropped; neither: kept), so `fake.message(channel, ts)` is the card as a reader sees it now.

Interactive surfaces (tests/fakes/fake_slack_surfaces.py): `views.open` / `views.push` /
`views.update` (modal checks, `fake.views`, one-use `fake.trigger_id()` expiring after 3 s,
`hash_conflict`), `chat.unfurl` (`fake.unfurls`) and `chat.getPermalink`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.fake_slack_surfaces import SlackSurfaces, Unfurl
from tests.fakes.loopback import LoopbackServer

__all__ = ["Call", "FakeChannel", "FakeSlack", "FakeUser", "Unfurl"]

_JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")


@dataclass
class Call:
    """One request that reached the fake."""

    method: str  # API method ("chat.postMessage"), "response_url" or "upload"
    body: dict[str, Any]
    headers: dict[str, str]
    path: str
    raw: bytes = b""
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeUser:
    id: str
    name: str
    real_name: str
    email: str | None = None
    tz: str = "UTC"
    tz_offset: int = 0
    team_id: str = "T0TEAM"

    def as_slack(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": False,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": self.tz_offset,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                **({"email": self.email} if self.email else {}),
            },
        }


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after: int
    after_success: bool = False  # do the work, then answer `status` (a reply lost on the way)


@dataclass
class FakeChannel:
    """A conversation the fake knows. Unknown channel IDs act as public channels the bot is in."""

    id: str
    member: bool = True
    private: bool = False
    archived: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)  # top-level, oldest first
    replies: list[dict[str, Any]] = field(default_factory=list)  # thread replies and file shares


class FakeSlack(SlackSurfaces, LoopbackServer):
    """Start with `FakeSlack().start()` (or as a context manager); `stop()` when done."""

    def __init__(self, tokens: tuple[str, ...] = ("xoxb-test-token",), team_id: str = "T0TEAM") -> None:
        self.tokens = set(tokens)
        self.team_id = team_id
        self.bot_user_id = "U0BOT"
        self.bot_id = "B0BOT"
        self.users: dict[str, FakeUser] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}  # id -> {"handle", "name", "users"}
        self._calls: list[Call] = []
        self._cond = threading.Condition()
        self._faults: dict[str, _Fault] = {}
        self._ids = itertools.count(1)
        self._responses: dict[str, int] = {}  # response_url id -> posts so far
        self._uploads: dict[str, bytes | None] = {}  # file id -> content once uploaded
        self.channels: dict[str, FakeChannel] = {}
        self.public_posting = True  # the token has chat:write.public
        self.delays: dict[str, float] = {}  # method -> seconds to wait before answering
        self._lock = threading.RLock()
        self._init_surfaces()  # views, unfurls, triggers

    # -- lifecycle (start/stop/with: LoopbackServer) -----------------------------------

    def _handler_class(self) -> type:
        return _Handler

    @property
    def base_url(self) -> str:
        return self.url

    @property
    def api_url(self) -> str:
        """Base URL for `WebClient(base_url=...)` / SLACK_API_URL."""
        return f"{self.base_url}/api/"

    # -- configuration -------------------------------------------------------------------

    def add_user(self, user_id: str, name: str, *, email: str | None = None, tz: str = "UTC",
                 real_name: str | None = None, tz_offset: int = 0) -> FakeUser:
        user = FakeUser(user_id, name, real_name or name, email, tz, tz_offset, self.team_id)
        self.users[user_id] = user
        return user

    def add_usergroup(self, group_id: str, handle: str, users: list[str], name: str | None = None) -> None:
        self.usergroups[group_id] = {"handle": handle, "name": name or handle, "users": list(users)}

    def response_url(self) -> str:
        """A fresh response_url, as Slack puts in slash-command and interaction payloads."""
        rid = f"R{next(self._ids):06d}"
        self._responses[rid] = 0
        return f"{self.base_url}/response/{rid}"

    def fail_next(self, method: str, count: int = 1, *, status: int = 429, retry_after: int = 1,
                  after_success: bool = False) -> None:
        """The next `count` calls to `method` answer `status` (429 carries Retry-After). With
        `after_success` the call takes effect first (e.g. the message is posted) and only the
        answer is lost, as when Slack times out after doing the work."""
        self._faults[method] = _Fault(status, count, retry_after, after_success)

    def add_channel(self, channel_id: str, *, member: bool = True, private: bool = False,
                    archived: bool = False) -> FakeChannel:
        channel = FakeChannel(channel_id, member, private, archived)
        self.channels[channel_id] = channel
        return channel

    def channel(self, channel_id: str) -> FakeChannel:
        """The channel (created as a public one the bot is in on first use)."""
        with self._lock:
            if channel_id not in self.channels:
                self.channels[channel_id] = FakeChannel(channel_id)
            return self.channels[channel_id]

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Top-level messages in a channel, oldest first."""
        return list(self.channel(channel_id).messages)

    def replies(self, channel_id: str) -> list[dict[str, Any]]:
        return list(self.channel(channel_id).replies)

    def message(self, channel_id: str, ts: str) -> dict[str, Any]:
        """The message (top-level or a thread reply) as it stands now, after any chat.update."""
        with self._lock:
            found = self._find_message(channel_id, ts)
            if found is None:
                known = [m["ts"] for m in self.channel(channel_id).messages + self.channel(channel_id).replies]
                raise KeyError(f"no message {ts} in {channel_id}; it has {known}")
            return dict(found[0][found[1]])

    def _find_message(self, channel_id: str, ts: str) -> tuple[list[dict[str, Any]], int] | None:
        """(the list holding it, its index) of the message `ts` in a channel, or None."""
        channel = self.channel(channel_id)
        for held in (channel.messages, channel.replies):
            for i, m in enumerate(held):
                if m.get("ts") == ts:
                    return held, i
        return None

    # -- inspection ----------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5) -> list[Call]:
        """Block until `count` calls to `method` arrived; return them (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self._calls if c.method == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({c.method for c in self._calls})
                    raise AssertionError(f"{len(found)}/{count} {method} calls after {timeout}s; seen: {seen}")
                self._cond.wait(left)

    def response_to(self, url: str, count: int = 1, timeout: float = 5) -> Call:
        """Wait for the `count`-th post to one response_url; return that post."""
        path = urlsplit(url).path
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self._calls if c.method == "response_url" and c.path == path]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)}/{count} posts to {path} after {timeout}s")
                self._cond.wait(left)

    def reset(self) -> None:
        """Forget recorded calls, pending faults, delays, channels' contents, views, unfurls and
        triggers."""
        with self._cond:
            self._calls.clear()
            self._faults.clear()
            self.delays.clear()
            self.channels.clear()
            self.public_posting = True
            self._reset_surfaces()

    # -- request handling ----------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        headers = {k: v for k, v in req.headers.items()}
        body = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path.startswith("/upload/"):
            pass  # raw file bytes, kept in Call.raw
        elif raw and (headers.get("Content-Type") or "").startswith("application/json"):
            try:
                body.update(json.loads(raw))
            except ValueError:
                return _send(req, 400, {"ok": False, "error": "invalid_json"})
        elif raw and "form-urlencoded" in (headers.get("Content-Type") or ""):
            body.update(parse_qsl(raw.decode(), keep_blank_values=True))
        for key in _JSON_FIELDS:
            if isinstance(body.get(key), str) and body[key][:1] in "[{":
                try:
                    body[key] = json.loads(body[key])
                except ValueError:
                    pass

        if parts.path.startswith("/api/"):
            method = parts.path[len("/api/"):]
        elif parts.path.startswith("/response/"):
            method = "response_url"
        elif parts.path.startswith("/upload/"):
            method = "upload"
        else:
            return _send(req, 404, {"ok": False, "error": "unknown_path"})
        self._record(Call(method, body, headers, parts.path, raw))

        if self.delays.get(method):
            time.sleep(self.delays[method])
        fault = self._faults.get(method)
        if fault and fault.remaining > 0:
            fault.remaining -= 1
            if fault.after_success and method in self._methods():
                self._methods()[method](body)
            if fault.status == 429:
                return _send(req, 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(fault.retry_after)})
            return _send(req, fault.status, {"ok": False, "error": "fatal_error"})

        if method == "response_url":
            return self._answer_response_url(req, parts.path.rsplit("/", 1)[-1], body)
        if method == "upload":
            return self._answer_upload(req, parts.path.rsplit("/", 1)[-1], raw)
        handler = self._methods().get(method)
        if handler is None:
            return _send(req, 404, {"ok": False, "error": "unknown_method"})
        if method != "apps.connections.open":
            token = _token(headers, body)
            if not token:
                return _send(req, 200, {"ok": False, "error": "not_authed"})
            if token not in self.tokens:
                return _send(req, 200, {"ok": False, "error": "invalid_auth"})
        _send(req, 200, handler(body))

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _answer_response_url(self, req: BaseHTTPRequestHandler, rid: str, body: dict) -> None:
        if rid not in self._responses:
            return _send(req, 404, {"ok": False, "error": "expired_url"})
        if self._responses[rid] >= 5:  # Slack allows five responses within 30 minutes
            return _send(req, 404, {"ok": False, "error": "used_url"})
        problem = _blocks_problem(body.get("blocks"), 50)
        if problem:
            return _send(req, 400, {"ok": False, "error": "invalid_blocks", "detail": problem})
        if not body.get("text") and not body.get("blocks") and not body.get("delete_original"):
            return _send(req, 400, {"ok": False, "error": "no_text"})
        self._responses[rid] += 1
        _send(req, 200, {"ok": True})

    def _answer_upload(self, req: BaseHTTPRequestHandler, file_id: str, raw: bytes) -> None:
        if file_id not in self._uploads:
            return _send_text(req, 404, "not found")
        self._uploads[file_id] = raw
        _send_text(req, 200, f"OK - {len(raw)}")

    # -- API methods ---------------------------------------------------------------------

    def _methods(self) -> dict[str, Callable[[dict], dict]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "users.lookupByEmail": self._lookup_by_email,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.info": self._conversations_info,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            **self._surface_methods(),
        }

    def _auth_test(self, body: dict) -> dict:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake Org",
            "user": "research-bridge",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids):06d}"

    def _message_problem(self, body: dict) -> str | None:
        if not body.get("channel"):
            return "channel_not_found"
        if not body.get("text") and not body.get("blocks") and not body.get("attachments"):
            return "no_text"
        if _blocks_problem(body.get("blocks"), 50):
            return "invalid_blocks"
        return None

    def _channel_problem(self, channel_id: str, *, posting: bool) -> str | None:
        """What Slack answers for a conversation the bot may not use (DMs always work)."""
        if channel_id.startswith("D"):
            return None
        channel = self.channel(channel_id)
        if channel.private and not channel.member:
            return "channel_not_found"
        if channel.archived and posting:
            return "is_archived"
        if not channel.member and not (posting and self.public_posting):
            return "not_in_channel"
        return None

    def _post_message(self, body: dict) -> dict:
        if problem := self._message_problem(body):
            return {"ok": False, "error": problem}
        if problem := self._channel_problem(body["channel"], posting=True):
            return {"ok": False, "error": problem}
        ts = self._ts()
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "ts": ts,
                   "text": body.get("text", ""), "blocks": body.get("blocks", [])}
        if isinstance(body.get("metadata"), dict):
            message["metadata"] = body["metadata"]
        channel = self.channel(body["channel"])
        with self._lock:
            if body.get("thread_ts"):
                channel.replies.append({**message, "thread_ts": body["thread_ts"]})
            else:
                channel.messages.append(message)
        return {"ok": True, "channel": body["channel"], "ts": ts, "message": message}

    def _conversations_info(self, body: dict) -> dict:
        channel_id = body.get("channel") or ""
        channel = self.channel(channel_id) if channel_id else None
        if channel is None or (channel.private and not channel.member):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {"id": channel.id, "name": channel.id.lower(), "is_channel": not channel.private,
                                        "is_private": channel.private, "is_archived": channel.archived,
                                        "is_member": channel.member}}

    def _conversations_history(self, body: dict) -> dict:
        """Newest first; `oldest`/`latest` bounds (exclusive), `limit`, cursor paging; metadata
        only with include_all_metadata, as Slack does."""
        channel_id = body.get("channel") or ""
        if not channel_id:
            return {"ok": False, "error": "channel_not_found"}
        if problem := self._channel_problem(channel_id, posting=False):
            return {"ok": False, "error": problem}
        oldest = float(body.get("oldest") or 0)
        latest = float(body.get("latest") or 9e12)
        limit = min(int(body.get("limit") or 100), 999)
        start = int(body.get("cursor") or 0)
        with_meta = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [m for m in reversed(self.channel(channel_id).messages) if oldest < float(m["ts"]) < latest]
        page = found[start:start + limit]
        more = start + limit < len(found)
        messages = [m if with_meta else {k: v for k, v in m.items() if k != "metadata"} for m in page]
        return {"ok": True, "messages": messages, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _conversations_replies(self, body: dict) -> dict:
        """A thread, oldest first: its parent (when the fake has it) and the replies whose
        `thread_ts` is `ts`, within `oldest`/`latest`; metadata only with include_all_metadata."""
        channel_id, ts = body.get("channel") or "", str(body.get("ts") or "")
        if not channel_id:
            return {"ok": False, "error": "channel_not_found"}
        if problem := self._channel_problem(channel_id, posting=False):
            return {"ok": False, "error": problem}
        channel = self.channel(channel_id)
        parent = [m for m in channel.messages if m["ts"] == ts]
        if not ts or (not parent and not any(r.get("thread_ts") == ts for r in channel.replies)):
            return {"ok": False, "error": "thread_not_found"}
        oldest, latest = float(body.get("oldest") or 0), float(body.get("latest") or 9e12)
        with_meta = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        found = parent + [r for r in channel.replies if r.get("thread_ts") == ts and oldest < float(r["ts"]) < latest]
        messages = [m if with_meta else {k: v for k, v in m.items() if k != "metadata"} for m in found]
        return {"ok": True, "messages": messages, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _post_ephemeral(self, body: dict) -> dict:
        if not body.get("user"):
            return {"ok": False, "error": "user_not_found"}
        if problem := self._message_problem(body):
            return {"ok": False, "error": problem}
        return {"ok": True, "message_ts": self._ts()}

    def _update(self, body: dict) -> dict:
        """Replace a message the bot posted, as Slack does: `blocks` given replace the old ones,
        `text` alone drops them (Slack renders the text), neither keeps them; the same for
        attachments and metadata (kept unless given)."""
        if not body.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        if problem := self._message_problem(body):
            return {"ok": False, "error": problem}
        channel_id, ts = body["channel"], body["ts"]
        channel = self.channel(channel_id)
        if not channel_id.startswith("D") and channel.private and not channel.member:
            return {"ok": False, "error": "channel_not_found"}
        if channel.archived:
            return {"ok": False, "error": "is_archived"}
        with self._lock:
            found = self._find_message(channel_id, ts)
            if found is None:
                return {"ok": False, "error": "message_not_found"}
            held, index = found
            message = dict(held[index])
            if message.get("bot_id") != self.bot_id:
                return {"ok": False, "error": "cant_update_message"}
            if "blocks" in body:
                message["blocks"] = body["blocks"]
            elif "text" in body:
                message["blocks"] = []
            if "text" in body:
                message["text"] = body["text"]
            for key in ("attachments", "metadata"):
                if key in body:
                    message[key] = body[key]
            held[index] = message  # a new dict: what a test read before stays as it was
        return {"ok": True, "channel": channel_id, "ts": ts, "text": message.get("text", ""), "message": message}

    def _views_publish(self, body: dict) -> dict:
        view = body.get("view")
        if not body.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        if _blocks_problem(view.get("blocks"), 100):
            return {"ok": False, "error": "invalid_blocks"}
        return {"ok": True, "view": {"id": f"V{next(self._ids):06d}", "team_id": self.team_id, **view}}

    def _users_info(self, body: dict) -> dict:
        user = self.users.get(body.get("user", ""))
        return {"ok": True, "user": user.as_slack()} if user else {"ok": False, "error": "user_not_found"}

    def _lookup_by_email(self, body: dict) -> dict:
        wanted = (body.get("email") or "").lower()
        user = next((u for u in self.users.values() if u.email and u.email.lower() == wanted), None)
        return {"ok": True, "user": user.as_slack()} if user else {"ok": False, "error": "users_not_found"}

    def _usergroups_list(self, body: dict) -> dict:
        include = str(body.get("include_users", "")).lower() in ("1", "true")
        groups = []
        for gid, g in self.usergroups.items():
            entry = {"id": gid, "team_id": self.team_id, "handle": g["handle"], "name": g["name"],
                     "user_count": len(g["users"])}
            if include:
                entry["users"] = list(g["users"])
            groups.append(entry)
        return {"ok": True, "usergroups": groups}

    def _usergroups_users(self, body: dict) -> dict:
        group = self.usergroups.get(body.get("usergroup", ""))
        return {"ok": True, "users": list(group["users"])} if group else {"ok": False, "error": "no_such_subteam"}

    def _conversations_open(self, body: dict) -> dict:
        users = body.get("users") or ""
        if isinstance(users, list):
            users = ",".join(users)
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users.replace(",", "")[1:].upper()}}

    def _get_upload_url(self, body: dict) -> dict:
        if not body.get("filename") or not str(body.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):06d}"
        self._uploads[file_id] = None
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, body: dict) -> dict:
        files = body.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        for f in files:
            if self._uploads.get(f.get("id")) is None:
                return {"ok": False, "error": "file_not_found"}
        channel_id = body.get("channel_id")
        if channel_id:
            channel = self.channel(channel_id)
            if not channel_id.startswith("D") and not channel.member:
                return {"ok": False, "error": "not_in_channel"}
            share = {"type": "message", "subtype": "file_share", "ts": self._ts(), "bot_id": self.bot_id,
                     "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
            with self._lock:
                if body.get("thread_ts"):
                    channel.replies.append({**share, "thread_ts": body["thread_ts"]})
                else:
                    channel.messages.append(share)
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}

    def _check_blocks(self, blocks: Any, max_blocks: int) -> str | None:
        """The Block Kit check, for the surfaces mixin."""
        return _blocks_problem(blocks, max_blocks)

    def uploaded(self, file_id: str) -> bytes | None:
        """Bytes received at a file's upload URL (None if never uploaded)."""
        return self._uploads.get(file_id)


def _token(headers: dict[str, str], body: dict) -> str | None:
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return body.get("token") or None


def _blocks_problem(blocks: Any, max_blocks: int) -> str | None:
    """What Slack would reject in a list of blocks, or None."""
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        return "blocks must be a list"
    if len(blocks) > max_blocks:
        return f"{len(blocks)} blocks > {max_blocks}"
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("text") or {}, dict):
            return "a block must be an object, its text a text object"
        kind = block.get("type")
        text = (block.get("text") or {}).get("text", "")
        if kind == "section" and len(text) > 3000:
            return f"section text of {len(text)} chars > 3000"
        if kind == "header" and len(text) > 150:
            return f"header of {len(text)} chars > 150"
        if kind == "context" and len(block.get("elements", [])) > 10:
            return "context with more than 10 elements"
    return None


def _send(req: BaseHTTPRequestHandler, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
    data = json.dumps(payload).encode()
    req.send_response(status)
    req.send_header("Content-Type", "application/json; charset=utf-8")
    req.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        req.send_header(k, v)
    req.end_headers()
    req.wfile.write(data)


def _send_text(req: BaseHTTPRequestHandler, status: int, text: str) -> None:
    data = text.encode()
    req.send_response(status)
    req.send_header("Content-Type", "text/plain; charset=utf-8")
    req.send_header("Content-Length", str(len(data)))
    req.end_headers()
    req.wfile.write(data)


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the fake (set as `fake` by LoopbackServer.start)."""

    protocol_version = "HTTP/1.1"
    fake: FakeSlack

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self.fake._handle(self)

    def do_POST(self) -> None:  # noqa: N802
        self.fake._handle(self)

    def log_message(self, *args: Any) -> None:
        pass
