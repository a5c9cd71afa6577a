"""A fake Jira (Cloud or Data Center): a real HTTP server on loopback with the real REST shapes.

Driven through the real `jira` library. What it serves (all under `/rest/api/{2,3,latest}/`):

- `GET serverInfo` (`deploymentType` Cloud, Server or DataCenter), `myself` (`api_user`), `field`
  (the site's fields, Data Center's Epic Link among them: `tests/fakes/fake_jira_fields.py`);
- Cloud: enhanced search `GET|POST search/jql` paged by `nextPageToken` (`isLast`, no `total`),
  `POST search/approximate-count`, and the paged `GET issue/{key}/changelog` (`values`,
  `startAt`, `maxResults`, `total`, `isLast`). Data Center: `GET|POST search` paged by `startAt`
  with `total`; no `/changelog` endpoint (404, as on DC), but `GET issue/{key}?expand=changelog`
  returns the whole changelog. `GET issue/{keyOrId}` (also `expand=transitions`).
- `expand=changelog` inline in search results, truncated like Jira Cloud to the NEWEST
  `inline_changelog_max` histories, with `total` the full count.
- JQL: only `updated >= "yyyy/MM/dd HH:mm"` (read in the user's timezone, `time_zone`, as
  Jira does) and `ORDER BY updated ASC`; every other clause is ignored.
- Auth: basic (email:API token) on Cloud, bearer PAT on DC (`allow_basic` too); else 401.
- Issues carry `resolutiondate`, `components`, `description` and a parent (`parent=` key:
  `fields.parent` on Cloud and for sub-tasks, else Data Center's Epic Link field; see
  fake_jira_fields); builders `resolve()`, `set_type()`, `set_parent()` record the changelog
  items Jira writes.
- Writes (`tests/fakes/fake_jira_writes.py`), each recording the changelog history Jira writes,
  authored by `api_user` at `now()` (`clock`): `GET|POST issue/{key}/transitions` (the
  `workflow`; 204), `PUT issue/{key}/assignee` (Cloud `accountId`, DC `name`; 204),
  `PUT issue/{keyOrId}` edit (`fields` and `update` add/remove/set: summary, description,
  labels, assignee, components; 204), `POST issue` create (201 `{id, key, self}`;
  description a string on v2, Atlassian Document Format on v3), `GET project`,
  `GET project/{keyOrId}` (with `issueTypes`), `GET user/search` (Cloud `query`, DC
  `username`) and `GET user` over `users`. Errors in Jira's shape
  (`{"errorMessages": [...], "errors": {...}}`); `deny(action)` answers Jira's 403/404.
- Faults: `fail_next(path, status, times, retry_after, after)`; every request is recorded
  (`requests`; `writes()` lists the non-read ones with their JSON bodies).
"""
from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, NamedTuple
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from tests.fakes import fake_jira_fields
from tests.fakes.loopback import Fault, LoopbackServer, PathFaults

_UPDATED_GE = re.compile(r'updated\s*>=\s*"(\d{4})[/-](\d{2})[/-](\d{2})(?: (\d{2}):(\d{2}))?"', re.I)
_ISSUE_PATH = re.compile(r"^/rest/api/(?:2|3|latest)/issue/([^/]+)(/changelog)?$")
_READ_POSTS = ("/search", "/search/jql", "/search/approximate-count")

# status -> [(transition name, target status)]; ids are allocated "11", "21", ... in order.
DEFAULT_WORKFLOW: dict[str, list[tuple[str, str]]] = {
    "To Do": [("Start Progress", "In Progress"), ("Done", "Done")],
    "In Progress": [("Stop Progress", "To Do"), ("Done", "Done")],
    "Done": [("Reopen", "To Do")],
}
# Jira Cloud's built-in statuses: name -> (id, category key); categories: key -> (id, name, colour)
STATUSES = {"To Do": ("10000", "new"), "In Progress": ("3", "indeterminate"), "Done": ("10001", "done")}
_CATEGORIES = {"new": (2, "To Do", "blue-gray"), "indeterminate": (4, "In Progress", "yellow"),
               "done": (3, "Done", "green")}
ISSUE_TYPES = {"Epic": "10000", "Task": "10001", "Bug": "10002", "Story": "10003", "Incident": "10004"}
NOT_FOUND = "Issue does not exist or you do not have permission to see it."
# deny(action): Jira's answer without the permission (browse: the issue "does not exist")
DENIALS = {
    "assign": (403, "You do not have permission to assign issues in this project."),
    "transition": (403, "You do not have permission to transition this issue."),
    "edit": (403, "You do not have permission to edit issues in this project."),
    "create": (403, "You do not have permission to create issues in this project."),
    "browse": (404, NOT_FOUND),
}


def jira_time(at: datetime, tz: str = "UTC") -> str:
    """Jira's REST date-time format, e.g. `2026-01-05T10:00:00.000+0000`."""
    local = at.astimezone(ZoneInfo(tz))
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


@dataclass(frozen=True)
class FakeUser:
    account_id: str
    display_name: str
    email: str | None = None
    name: str | None = None  # Data Center user name

    def as_json(self, base: str, cloud: bool) -> dict[str, Any]:
        user: dict[str, Any] = {"displayName": self.display_name, "active": True, "timeZone": "UTC"}
        if cloud:
            user.update(self=f"{base}/rest/api/2/user?accountId={self.account_id}", accountId=self.account_id,
                        accountType="atlassian")
        else:
            name = self.name or self.account_id
            user.update(self=f"{base}/rest/api/2/user?username={name}", name=name, key=name)
        if self.email:
            user["emailAddress"] = self.email
        return user


ALICE = FakeUser("5b10a2844c20165700ede21g", "Alice Researcher", "alice@example.com", "alice")
BOB = FakeUser("5b10ac8d82e05b22cc7d4ef5", "Bob Engineer", "bob@example.com", "bob")


@dataclass
class FakeProject:
    key: str
    name: str
    id: str
    explicit: bool = False  # added by add_project (else listed while it has issues)

    def as_json(self, base: str, cloud: bool) -> dict[str, Any]:
        project: dict[str, Any] = {"self": f"{base}/rest/api/2/project/{self.id}", "id": self.id, "key": self.key,
                                   "name": self.name, "projectTypeKey": "software"}
        if cloud:
            project.update(simplified=False, style="classic", isPrivate=False)
        return project


class Write(NamedTuple):
    """A recorded request that is not a read: method, path, JSON body (None when empty)."""

    method: str
    path: str
    body: Any


@dataclass
class FakeHistory:
    id: str
    created: datetime
    author: FakeUser | None
    items: list[dict[str, Any]]


@dataclass
class FakeIssue:
    """An issue; the builder methods add histories and keep `fields` and `updated` in step."""

    fake: "FakeJira"
    key: str
    id: str
    summary: str
    status: str
    labels: list[str]
    created: datetime
    updated: datetime
    issue_type: str = "Task"
    reporter: FakeUser | None = ALICE
    assignee: FakeUser | None = None
    histories: list[FakeHistory] = field(default_factory=list)
    resolved: datetime | None = None  # `resolutiondate`
    components: list[str] = field(default_factory=list)
    description: str | dict[str, Any] | None = None  # a string, or an Atlassian Document (v3)
    parent: str | None = None  # the parent's (epic's) key; that issue must exist

    def change(self, at: datetime, items: list[dict[str, Any]], author: FakeUser | None = ALICE) -> FakeHistory:
        history = FakeHistory(str(next(self.fake._history_ids)), at, author, items)
        self.histories.append(history)
        self.updated = max(self.updated, at)
        return history

    def set_labels(self, at: datetime, labels: list[str], author: FakeUser | None = ALICE) -> FakeHistory:
        before, self.labels = self.labels, list(labels)
        return self.change(at, [_item("labels", " ".join(before), " ".join(labels))], author)

    def add_label(self, at: datetime, label: str, author: FakeUser | None = ALICE) -> FakeHistory:
        return self.set_labels(at, [*self.labels, label], author)

    def remove_label(self, at: datetime, label: str, author: FakeUser | None = ALICE) -> FakeHistory:
        return self.set_labels(at, [x for x in self.labels if x != label], author)

    def transition(self, at: datetime, status: str, author: FakeUser | None = BOB) -> FakeHistory:
        before, self.status = self.status, status
        return self.change(at, [_item("status", before, status, "10000", "3")], author)

    def edit_summary(self, at: datetime, summary: str, author: FakeUser | None = ALICE) -> FakeHistory:
        before, self.summary = self.summary, summary
        return self.change(at, [_item("summary", before, summary)], author)

    def resolve(self, at: datetime, resolution: str | None = "Done", author: FakeUser | None = BOB) -> FakeHistory:
        """Set (or, with None, clear, as reopening does) the resolution; `resolutiondate` follows."""
        self.resolved = at if resolution else None
        return self.change(at, [_item("resolution", None if resolution else "Done", resolution)], author)

    def set_type(self, at: datetime, issue_type: str, author: FakeUser | None = ALICE) -> FakeHistory:
        before, self.issue_type = self.issue_type, issue_type
        return self.change(at, [_item("issuetype", before, issue_type)], author)

    def set_parent(self, at: datetime, parent: str | None, author: FakeUser | None = ALICE) -> FakeHistory:
        """Move the issue under `parent` (its epic, a sub-task's parent), or out (None)."""
        before, self.parent = self.parent, parent
        return self.change(at, [fake_jira_fields.parent_item(self, before, parent)], author)

    def as_json(self, fields: set[str] | None, expand: set[str], inline_max: int | None,
                api: str = "2") -> dict[str, Any]:
        fake, base = self.fake, self.fake.url
        cloud, tz = fake.cloud, fake.time_zone
        user = lambda u: u.as_json(base, cloud) if u else None  # noqa: E731
        type_id = fake._issue_type_id(self.issue_type)
        all_fields = {
            "summary": self.summary,
            "status": fake.status_json(self.status),
            "labels": list(self.labels),
            "issuetype": {"self": f"{base}/rest/api/2/issuetype/{type_id}", "id": type_id, "name": self.issue_type,
                          "subtask": fake_jira_fields.is_subtask(self.issue_type)},
            "project": fake.project(self.key.rsplit("-", 1)[0]).as_json(base, cloud),
            "created": jira_time(self.created, tz),
            "updated": jira_time(self.updated, tz),
            "reporter": user(self.reporter),
            "assignee": user(self.assignee),
            "resolutiondate": jira_time(self.resolved, tz) if self.resolved else None,
            "components": [{"self": f"{base}/rest/api/2/component/{10100 + n}", "id": str(10100 + n), "name": name}
                           for n, name in enumerate(self.components)],
            "description": _writes().description_json(self.description, api),
            **fake_jira_fields.parent_fields(self),
        }
        raw: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": self.id, "self": f"{base}/rest/api/{api}/issue/{self.id}", "key": self.key,
        }
        if fields is None or fields:
            raw["fields"] = {k: v for k, v in all_fields.items() if fields is None or k in fields}
        if "changelog" in expand:
            shown = self.histories if inline_max is None else self.histories[-inline_max:] if inline_max else []
            raw["changelog"] = {"startAt": 0, "maxResults": len(shown), "total": len(self.histories),
                                "histories": [self.history_json(h) for h in shown]}
        if "transitions" in expand:
            raw["transitions"] = _writes().transitions_json(fake, self)
        return raw

    def history_json(self, h: FakeHistory) -> dict[str, Any]:
        author = h.author.as_json(self.fake.url, self.fake.cloud) if h.author else None
        return {"id": h.id, "author": author, "created": jira_time(h.created, self.fake.time_zone), "items": h.items}


def _item(field_name: str, from_string: str | None, to_string: str | None,
          from_id: str | None = None, to_id: str | None = None) -> dict[str, Any]:
    return {"field": field_name, "fieldtype": "jira", "fieldId": field_name, "from": from_id,
            "fromString": from_string, "to": to_id, "toString": to_string}


@dataclass
class Request:
    """One request that reached the fake."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class FakeJira(PathFaults, LoopbackServer):
    """`with FakeJira() as fake:` or `fake.start()` / `fake.stop()`."""

    def __init__(
        self,
        deployment: str = "Cloud",
        *,
        email: str = "bot@example.com",
        api_token: str = "cloud-api-token-s3cret",
        pat: str = "dc-personal-access-token-s3cret",
        allow_basic: bool = False,
        time_zone: str = "UTC",
        inline_changelog_max: int | None = None,
        changelog_page_max: int = 100,
        search_page_max: int = 100,
        epic_link_field: str | None = "customfield_10101",
    ) -> None:
        self.deployment = deployment
        self.cloud = deployment == "Cloud"
        self.email, self.api_token, self.pat, self.allow_basic = email, api_token, pat, allow_basic
        self.time_zone = time_zone
        # Cloud truncates inline changelogs (100, lately even fewer); DC returns them whole.
        self.inline_changelog_max = inline_changelog_max if inline_changelog_max is not None else (
            100 if self.cloud else None)
        self.changelog_page_max = changelog_page_max
        self.search_page_max = search_page_max
        self.epic_link_field = None if self.cloud else epic_link_field  # DC: Jira Software's Epic Link id
        self.issues: dict[str, FakeIssue] = {}
        self.requests: list[Request] = []
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._issue_ids = itertools.count(10001)
        self._history_ids = itertools.count(20001)
        # the write side: who the API user is, whom Jira knows, projects, the workflow, permissions
        self.api_user = FakeUser(ALICE.account_id, ALICE.display_name, email, ALICE.name)  # what /myself says
        self.users: dict[str, FakeUser] = {u.account_id: u for u in (ALICE, BOB)}
        self.projects: dict[str, FakeProject] = {}
        self.workflow: dict[str, list[tuple[str, str]]] = {k: list(v) for k, v in DEFAULT_WORKFLOW.items()}
        self.issue_types = dict(ISSUE_TYPES)
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # Jira's "now" for writes
        self._denials: list[tuple[str, int | None, str | None]] = []
        self._project_ids = itertools.count(10000)
        self._status_ids = itertools.count(10100)
        self._statuses: dict[str, tuple[str, str]] = dict(STATUSES)
        self._numbers: dict[str, int] = {}  # project key -> the last issue number handed out

    def _handler_class(self) -> type:
        return _Handler

    def env(self) -> dict[str, str]:
        """Environment for `settings_from_mapping`: Cloud basic auth, or DC PAT."""
        if self.cloud:
            return {"JIRA_URL": self.url, "JIRA_EMAIL": self.email, "JIRA_API_TOKEN": self.api_token}
        return {"JIRA_URL": self.url, "JIRA_PAT": self.pat}

    # -- data --------------------------------------------------------------------------------

    def add_issue(self, key: str, created: datetime, *, summary: str | None = None, status: str = "To Do",
                  labels: list[str] | None = None, **kwargs: Any) -> FakeIssue:
        with self._lock:
            issue = FakeIssue(self, key, str(next(self._issue_ids)), summary or f"Issue {key}", status,
                              list(labels or []), created, created, **kwargs)
            self.issues[key] = issue
            return issue

    def reset(self) -> None:
        """Forget issues, requests, faults, denials, users, projects and the workflow (a module-scoped
        fake shared by tests); the deployment, credentials and options stay."""
        with self._lock:
            self.issues.clear()
            self.requests.clear()
            self._faults.clear()
            self._denials.clear()
            self._numbers.clear()
            self.projects.clear()
            self._issue_ids, self._history_ids = itertools.count(10001), itertools.count(20001)
            self._project_ids, self._status_ids = itertools.count(10000), itertools.count(10100)
            self._statuses, self.issue_types = dict(STATUSES), dict(ISSUE_TYPES)
            self.users = {u.account_id: u for u in (ALICE, BOB)}
            self.api_user = FakeUser(ALICE.account_id, ALICE.display_name, self.email, ALICE.name)
            self.workflow = {k: list(v) for k, v in DEFAULT_WORKFLOW.items()}
            self.clock = lambda: datetime.now(UTC)

    def add_user(self, user: FakeUser) -> FakeUser:
        """Make `user` known to Jira (user search, assignment)."""
        with self._lock:
            self.users[user.account_id] = user
            return user

    def add_project(self, key: str, name: str | None = None) -> FakeProject:
        """A project (listed by `GET /project` even without issues); renames one already seen."""
        with self._lock:
            project = self.project(key)
            project.name, project.explicit = name or project.name, True
            return project

    def project(self, key: str) -> FakeProject:
        """The project `key` (created on first sight for issues' keys: RES is "Research")."""
        with self._lock:
            if key not in self.projects:
                self.projects[key] = FakeProject(key, "Research" if key == "RES" else key, str(next(self._project_ids)))
            return self.projects[key]

    def deny(self, action: str, status: int | None = None, key: str | None = None) -> None:
        """Refuse `action` ("assign", "transition", "edit", "create", "browse") as Jira does when
        the API user lacks the permission (403; browse: 404 "does not exist"), on every issue or
        only on `key` (an issue key, or a project key). `status` overrides Jira's status."""
        if action not in DENIALS:
            raise ValueError(f"unknown action {action!r}; one of {sorted(DENIALS)}")
        with self._lock:
            self._denials.append((action, status, key))

    def allow(self, action: str | None = None) -> None:
        """Lift `deny`s of `action` (None: all)."""
        with self._lock:
            self._denials = [d for d in self._denials if action is not None and d[0] != action]

    def denied(self, action: str, key: str) -> int | None:
        """The status `deny` gave `action` on issue (or project) `key`, or None if allowed."""
        project = key.rsplit("-", 1)[0]
        with self._lock:
            for denied_action, status, only in self._denials:
                if denied_action == action and only in (None, key, project):
                    return status or DENIALS[action][0]
            return None

    def writes(self) -> list[Write]:
        """The recorded requests that are not reads (search POSTs are reads), bodies parsed."""
        with self._lock:
            return [Write(r.method, r.path, _json_or_raw(r.body)) for r in self.requests
                    if r.method != "GET" and not r.path.endswith(_READ_POSTS)]

    def now(self) -> datetime:
        """Jira's clock for writes, at Jira's millisecond precision."""
        at = self.clock()
        return at.replace(microsecond=at.microsecond // 1000 * 1000)

    def known_users(self) -> list[FakeUser]:
        """`users`, the API user and everyone issues name (reporters, assignees, authors)."""
        with self._lock:
            found = {**self.users}
            others = [self.api_user] + [u for i in self.issues.values() for u in
                                        (i.reporter, i.assignee, *(h.author for h in i.histories))]
            for user in others:
                if user is not None:
                    found.setdefault(user.account_id, user)
            return list(found.values())

    def issue_by_key_or_id(self, key_or_id: str) -> FakeIssue | None:
        with self._lock:
            issue = self.issues.get(key_or_id) or next((i for i in self.issues.values() if i.id == key_or_id), None)
            return None if issue is None or self.denied("browse", issue.key) else issue

    def status_json(self, name: str) -> dict[str, Any]:
        with self._lock:
            if name not in self._statuses:  # a status of the tests' own: an id, and a category by its name
                done, new = name.lower() in ("closed", "resolved", "done"), name.lower() in ("open", "backlog")
                category = "done" if done else "new" if new else "indeterminate"
                self._statuses[name] = (str(next(self._status_ids)), category)
            status_id, key = self._statuses[name]
        cat_id, cat_name, colour = _CATEGORIES[key]
        return {"self": f"{self.url}/rest/api/2/status/{status_id}", "description": "",
                "iconUrl": f"{self.url}/images/icons/statuses/generic.png", "name": name, "id": status_id,
                "statusCategory": {"self": f"{self.url}/rest/api/2/statuscategory/{cat_id}", "id": cat_id,
                                   "key": key, "colorName": colour, "name": cat_name}}

    def _issue_type_id(self, name: str) -> str:
        with self._lock:
            if name not in self.issue_types:
                self.issue_types[name] = str(10100 + len(self.issue_types))
            return self.issue_types[name]

    def delete_issue(self, key: str) -> None:
        with self._lock:
            self.issues.pop(key, None)

    def webhook_payload(self, event: str, key: str, history: FakeHistory | None = None,
                        timestamp: datetime | None = None, user: FakeUser | None = ALICE) -> dict[str, Any]:
        """A webhook body as Jira sends it (`jira:issue_updated` carries one changelog entry)."""
        issue = self.issues[key]
        at = timestamp or (history.created if history else issue.updated)
        payload: dict[str, Any] = {
            "timestamp": int(at.timestamp() * 1000),
            "webhookEvent": event,
            "issue_event_type_name": {"jira:issue_created": "issue_created",
                                      "jira:issue_deleted": "issue_deleted"}.get(event, "issue_generic"),
            "user": user.as_json(self.url, self.cloud) if user else None,
            "issue": issue.as_json(None, set(), None),
        }
        if history is not None:
            payload["changelog"] = {"id": history.id, "items": history.items}
        return payload

    # -- behaviour (faults and the request log: PathFaults) -------------------------

    def _authorised(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        basic = "Basic " + base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        if self.cloud or self.allow_basic:
            if auth == basic:
                return True
        return not self.cloud and auth == f"Bearer {self.pat}"

    # -- search ------------------------------------------------------------------------------

    def _matching(self, jql: str) -> list[FakeIssue]:
        issues = [i for i in self.issues.values() if not self.denied("browse", i.key)]
        match = _UPDATED_GE.search(jql)
        if match:
            y, mo, d, h, mi = (int(g) if g else 0 for g in match.groups())
            since = datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(self.time_zone))
            # Jira compares at minute precision: the clause is "updated >= that minute"
            issues = [i for i in issues if i.updated >= since]
        if re.search(r"order\s+by\s+updated(\s+asc)?\s*$", jql, re.I):
            issues.sort(key=lambda i: (i.updated, int(i.id)))
        else:
            issues.sort(key=lambda i: -int(i.id))
        return issues

    def search(self, params: dict[str, Any], enhanced: bool) -> dict[str, Any]:
        with self._lock:
            issues = self._matching(str(params.get("jql") or ""))
            size = min(int(params.get("maxResults") or 50), self.search_page_max)
            if enhanced:
                start = _decode_token(params.get("nextPageToken"))
            else:
                start = int(params.get("startAt") or 0)
            page = issues[start:start + size]
            fields = _field_set(params.get("fields"), default_all=not enhanced)
            expand = {e.strip() for e in str(params.get("expand") or "").split(",") if e.strip()}
            api = str(params.get("__api") or "2")
            body_issues = [i.as_json(fields, expand, self.inline_changelog_max, api) for i in page]
            more = start + len(page) < len(issues)
            if enhanced:
                body: dict[str, Any] = {"issues": body_issues, "isLast": not more}
                if more:
                    body["nextPageToken"] = _encode_token(start + len(page))
                return body
            return {"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(issues),
                    "issues": body_issues}

    def changelog_page(self, key: str, start: int, size: int) -> dict[str, Any] | None:
        with self._lock:
            issue = self.issues.get(key)
            if issue is None or self.denied("browse", key):
                return None
            size = min(size, self.changelog_page_max)
            values = issue.histories[start:start + size]
            total = len(issue.histories)
            return {"self": f"{self.url}/rest/api/3/issue/{key}/changelog?maxResults={size}&startAt={start}",
                    "maxResults": size, "startAt": start, "total": total, "isLast": start + len(values) >= total,
                    "values": [issue.history_json(h) for h in values]}


def _json_or_raw(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


def _writes() -> Any:
    """The write side (it imports this module, so it is imported when first used)."""
    from tests.fakes import fake_jira_writes

    return fake_jira_writes


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "n": time.time_ns()}).encode()).decode()


def _decode_token(token: Any) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(str(token).encode()))["o"])
    except (ValueError, KeyError, TypeError):
        raise _Reply(400, {"errorMessages": ["The provided next page token is invalid or expired."]}) from None


def _field_set(value: Any, default_all: bool) -> set[str] | None:
    """None = every field; an empty set = ids only (Cloud's enhanced search default)."""
    if value is None:
        return None if default_all else set()
    parts = value if isinstance(value, list) else [value]
    names = {p.strip() for part in parts for p in str(part).split(",") if p.strip()}
    return None if names & {"*all", "*navigable"} else names


class _Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeJira
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall each

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = Request(method, parts.path, parse_qs(parts.query), headers, body, time.monotonic())
        with self.fake._lock:
            self.fake.requests.append(record)
        try:
            status, payload, extra = 200, self._route(method, parts.path, record), {}
        except _Reply as reply:
            status, payload, extra = reply.status, reply.body, reply.headers
        record.status = status
        data = b"" if status == 204 else json.dumps(payload).encode()  # 204: no body at all
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str, path: str, req: Request) -> Any:
        fake = self.fake
        fault = fake._fault_for(path)
        if fault:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            raise _Reply(fault.status, {"errorMessages": [f"fake fault {fault.status}"]}, headers)
        if not re.match(r"^/rest/api/(2|3|latest)/", path):
            raise _Reply(404, {"errorMessages": ["Not found"]})
        tail = path.split("/", 4)[4]
        if tail == "serverInfo":
            return self._server_info()
        if not fake._authorised(req.headers):
            raise _Reply(401, {"errorMessages": ["You are not authenticated. Authentication required."]},
                         {"WWW-Authenticate": 'Basic realm="protected-area"'})
        params: dict[str, Any] = {k: (v if k == "fields" else v[0]) for k, v in req.query.items()}
        api = path.split("/")[3]
        if method == "POST" and tail.startswith("search") and req.body:
            try:
                params.update(json.loads(req.body))
            except ValueError:
                raise _Reply(400, {"errorMessages": ["Request body is not valid JSON."]}) from None
        if tail == "myself":
            user = fake.api_user.as_json(fake.url, fake.cloud)
            return {**user, "emailAddress": fake.email, "timeZone": fake.time_zone, "locale": "en_US"}
        answer = _writes().route(fake, method, tail, req, api)
        if answer is not _writes().NOT_MINE:
            return answer
        if tail == "field":
            return fake_jira_fields.fields_json(fake)
        params["__api"] = api
        if tail == "search/jql" and fake.cloud:
            return fake.search(params, enhanced=True)
        if tail == "search/approximate-count" and fake.cloud:
            return {"count": len(fake._matching(str(params.get("jql") or "")))}
        if tail == "search":
            if fake.cloud:  # removed from Jira Cloud
                raise _Reply(410, {"errorMessages": ["The requested API has been removed. Use /search/jql."]})
            return fake.search(params, enhanced=False)
        match = _ISSUE_PATH.match(path)
        if match and method == "GET":
            key, changelog = match.groups()
            if changelog:
                if not fake.cloud:
                    raise _Reply(404, {"errorMessages": ["null for uri: " + path]})
                page = fake.changelog_page(key, int(params.get("startAt") or 0), int(params.get("maxResults") or 100))
                if page is None:
                    raise _Reply(404, {"errorMessages": [NOT_FOUND], "errors": {}})
                return page
            with fake._lock:
                issue = fake.issue_by_key_or_id(key)
                if issue is None:
                    raise _Reply(404, {"errorMessages": [NOT_FOUND], "errors": {}})
                expand = {e.strip() for e in str(params.get("expand") or "").split(",")}
                inline_max = fake.inline_changelog_max if fake.cloud else None  # DC: the whole changelog
                return issue.as_json(_field_set(params.get("fields"), True), expand, inline_max, api)
        raise _Reply(404, {"errorMessages": [f"no fake for {method} {path}"]})

    def _server_info(self) -> dict[str, Any]:
        fake = self.fake
        version = [1001, 0, 0] if fake.cloud else [9, 12, 15]
        return {
            "baseUrl": fake.url, "displayUrl": fake.url,
            "version": "1001.0.0-SNAPSHOT" if fake.cloud else "9.12.15", "versionNumbers": version,
            "deploymentType": fake.deployment, "buildNumber": 100283 if fake.cloud else 9120015,
            "buildDate": "2026-01-05T00:00:00.000+0000",
            "serverTime": jira_time(datetime.now(UTC), fake.time_zone),
            "scmInfo": "0123456789abcdef", "serverTitle": "Jira",
            "defaultLocale": {"locale": "en_US"},
        }
