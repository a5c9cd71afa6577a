"""Jira pull: connect, page through the issues updated since the cursor, normalise, store.

- `connect(settings)` (`bot.sources.jira_client`) builds a `jira.JIRA` client on the
  retrying transport of `bot.sources.http` (Retry-After honoured exactly on 429/503, bounded
  back-off on other 5xx and dropped connections, a timeout on every request).
- `JiraSync.run()` searches `(<jira.jql>) AND updated >= "<cursor - lookback>" ORDER BY
  updated ASC`: enhanced search (`/rest/api/3/search/jql`) with `nextPageToken` on Cloud,
  `startAt` on Data Center, 100 issues a page, changelog expanded inline. Where Jira truncated an inline changelog
  (`changelog.total` > histories returned), the rest is fetched: `/issue/{key}/changelog`
  pages on Cloud (only until every history id is known), `issue/{key}?expand=changelog`
  (whole changelog) on Data Center, where `/changelog` does not exist.
- JQL date literals are read by Jira in the *searching user's* profile timezone, so the
  cursor is written in the timezone `myself` reports (one call, incremental runs only). If
  that is unknown the time is written in UTC, 12 hours earlier (no zone is behind UTC by
  more), which can only fetch more, never miss. The cursor itself is the newest `updated`
  stored, kept in UTC; the lookback (10 min) covers clock skew and search-index lag.
- Parents (so initiatives find their children): `fields.parent` (sub-tasks everywhere; on
  Cloud also every child of an epic), else Data Center's Epic Link custom field. Its id
  differs per site: a Data Center run asks `GET /field` once and requests that field too;
  Cloud needs no call. The id ("" where none is needed) is remembered in the store
  (`EPIC_LINK_STATE`) for the webhook; `issue_parent` says when a payload clears a parent.
- Each page is fetched completely (changelogs included) before one store transaction writes
  it, so a failure never leaves a half-stored page. The cursor advances only when a run
  succeeds; a failed run is logged and recorded (no secrets) and raised as `JiraSyncError`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Callable, Iterator, Literal, Sequence

import requests
from jira import JIRA, JIRAError

from bot.clock import Clock, utc_now, zone_named
from bot.config import Settings
from bot.ingest.jira import JiraIngest
from bot.models import ChangeItem, JiraIssue
from bot.sources.http import Sleep, recorded_run, requests_sent
from bot.sources.jira_client import (
    ISSUE_FIELDS,
    JiraSyncError,
    connect,
    describe_error,
    epic_link_field,
    secrets_of,
)
from bot.store import Store
from bot.store.times import from_db_time, to_db_time

log = logging.getLogger(__name__)

UTC = timezone.utc
SOURCE = "jira"
PAGE_SIZE = 100
LOOKBACK = timedelta(minutes=10)
DC_PAGE_OVERLAP = 5  # issues re-read at each Data Center page boundary (see _pages)
UNKNOWN_TZ_MARGIN = timedelta(hours=12)
EPIC_LINK_STATE = "epic_link_field"  # learned by the sync: the Epic Link field id, "" for none
MAX_KEY = 255

Progress = Callable[[int, "int | None"], None]


# -- normalise ---------------------------------------------------------------------------------


def parse_jira_time(value: Any, what: str = "time") -> datetime:
    """Jira's `2026-01-05T10:00:00.000+0000` (or epoch milliseconds) as an aware UTC datetime."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{what} is out of range ({value!r:.40})") from None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is missing")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what} is not a Jira date-time ({value[:40]!r})") from None
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{what} is out of range ({value[:40]!r})") from None


def _user(raw: Any) -> tuple[str | None, str | None, str | None]:
    """(display name, e-mail, account id) of a Jira user; DC users have a name, not an accountId."""
    if not isinstance(raw, dict):
        return None, None, None
    return raw.get("displayName"), raw.get("emailAddress"), raw.get("accountId") or raw.get("name") or raw.get("key")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _parent_key(value: Any, what: str) -> str | None:
    """An issue key (a parent's `key`, an Epic Link value), None for empty; ValueError if not a key."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value.strip()) > MAX_KEY or any(c.isspace() for c in value.strip()):
        raise ValueError(f"{what} is not an issue key")
    return value.strip()


def issue_parent(fields: dict, key: str, epic_field: str | None) -> tuple[str | None, bool]:
    """(parent key, carried): the issue's parent, and whether the payload said so.

    The parent is `fields.parent.key` when present (sub-tasks; on Cloud every child of an
    epic, company- or team-managed), else the value of the Epic Link field `epic_field`
    (Data Center: the epic's key). `epic_field` is what the sync learned: None = not yet
    known, "" = none needed (Cloud, or no Jira Software: `parent` says it all).

    `carried` is True when a None parent means "no parent", so a stored one is cleared: the
    payload has `parent`, or `epic_field` is "", or the Epic Link field is in `fields` (null
    once the link is cleared). Without `parent`, a payload whose Epic Link field is unknown
    or absent says nothing, and the stored parent must stay.
    """
    parent = fields.get("parent")
    if parent is not None:
        if not isinstance(parent, dict):
            raise ValueError(f"issue.fields.parent of {key} is not an issue")
        found = _parent_key(parent.get("key"), f"issue.fields.parent.key of {key}")
        if found is None:
            raise ValueError(f"issue.fields.parent.key of {key} is missing")
        return found, True
    if epic_field:
        if epic_field not in fields:
            return None, False
        return _parent_key(fields[epic_field], f"issue.fields.{epic_field} (Epic Link) of {key}"), True
    return None, epic_field == ""


def parent_carried(raw: dict, epic_field: str | None) -> bool:
    """Whether `raw` (normalised by `issue_from_raw`) says what its parent is (`issue_parent`)."""
    return issue_parent(raw["fields"], raw["key"], epic_field)[1]


def issue_from_raw(raw: dict, base_url: str, epic_field: str | None = None) -> JiraIssue:
    """Normalise one issue of a search page or webhook; ValueError names what is missing.
    `epic_field`: the Epic Link field id, as in `issue_parent`."""
    key = raw.get("key") if isinstance(raw, dict) else None
    if not isinstance(key, str) or not key.strip():
        raise ValueError("issue.key is missing")
    fields = raw.get("fields")
    if not isinstance(fields, dict):
        raise ValueError(f"issue.fields is missing for {key}")
    created = parse_jira_time(fields.get("created"), f"issue.fields.created of {key}")
    updated = parse_jira_time(fields.get("updated"), f"issue.fields.updated of {key}") if fields.get("updated") else created
    project = (fields.get("project") or {}).get("key") or key.rsplit("-", 1)[0]
    reporter, assignee = _user(fields.get("reporter")), _user(fields.get("assignee"))
    resolved = fields.get("resolutiondate")
    return JiraIssue(
        key=key,
        id=str(raw.get("id") or ""),
        project=project,
        summary=str(fields.get("summary") or ""),
        issue_type=str((fields.get("issuetype") or {}).get("name") or ""),
        status=str((fields.get("status") or {}).get("name") or ""),
        labels=tuple(str(label) for label in fields.get("labels") or () if label),
        created=created,
        updated=updated,
        url=f"{base_url.rstrip('/')}/browse/{key}",
        reporter_name=reporter[0], reporter_email=reporter[1], reporter_account_id=reporter[2],
        assignee_name=assignee[0], assignee_email=assignee[1], assignee_account_id=assignee[2],
        resolved=parse_jira_time(resolved, f"issue.fields.resolutiondate of {key}") if resolved else None,
        components=tuple(str(c["name"]) for c in fields.get("components") or ()
                         if isinstance(c, dict) and c.get("name")),
        parent_key=issue_parent(fields, key, epic_field)[0],
    )


def history_items(key: str, history_id: str, created: datetime, author: Any, items: Any) -> list[ChangeItem]:
    """One ChangeItem per item of one history entry; item_index = position in the entry."""
    name, mail, account = _user(author)
    return [
        ChangeItem(key, history_id, index, created, str(item.get("field") or ""), _text(item.get("fromString")),
                   _text(item.get("toString")), name, mail, account)
        for index, item in enumerate(items if isinstance(items, list) else [])
        if isinstance(item, dict)
    ]


def changelog_items(key: str, histories: Sequence[dict]) -> list[ChangeItem]:
    """Every item of every history entry (`changelog.histories` or `/changelog` `values`)."""
    out: list[ChangeItem] = []
    for history in histories:
        hid = history.get("id")
        if hid is None or str(hid) == "":
            raise ValueError(f"a changelog entry of {key} has no id")
        created = parse_jira_time(history.get("created"), f"changelog {hid} of {key}: created")
        out.extend(history_items(key, str(hid), created, history.get("author"), history.get("items")))
    return out


def jql_time(at: datetime, tz: tzinfo) -> str:
    """`yyyy/MM/dd HH:mm` for JQL: the wall time in `tz`, floored to the minute, stepped back
    when a DST fold/gap could make Jira read it as a later instant than `at`."""
    wall = at.astimezone(tz).replace(second=0, microsecond=0, tzinfo=None)
    for _ in range(4):
        latest = max(wall.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1))
        if latest <= at:
            break
        wall = (wall - (latest - at)).replace(second=0, microsecond=0)
    return wall.strftime("%Y/%m/%d %H:%M")


def _strip_order_by(jql: str) -> str:
    lowered = jql.lower()
    at = lowered.rfind("order by")
    return (jql[:at] if at >= 0 and '"' not in jql[at:] else jql).strip()


# -- sync --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    issues: int
    new_items: int
    api_calls: int  # HTTP requests this run sent (retries included)
    pages: int  # search pages
    changelog_pages: int
    cursor: datetime | None = None


class JiraSync:
    """Incremental Jira sync into the store (see the module docstring)."""

    def __init__(self, client: JIRA, store: Store, settings: Settings, *, clock: Clock = utc_now,
                 lookback: timedelta = LOOKBACK, page_size: int = PAGE_SIZE) -> None:
        self.client, self.store, self.settings, self.clock = client, store, settings, clock
        self.lookback, self.page_size = lookback, page_size
        self.ingest = JiraIngest.of(settings.jira)
        self.base_url = settings.jira.url or client.server_url
        self._tz: tzinfo | None | Literal[False] = False  # False: not asked yet
        self._calls = self._changelog_pages = 0
        self._epic_field: str | None = None
        self._fields: tuple[str, ...] = ISSUE_FIELDS

    def run(self, since: datetime | None = None, progress: Progress | None = None) -> SyncResult:
        """Fetch and store what changed since the cursor (or since `since`); record the outcome."""
        return recorded_run(self.store, SOURCE, self.clock, lambda: self._run(since, progress),
                            lambda exc: describe_error(exc, secrets_of(self.settings)), JiraSyncError,
                            expected=(JIRAError,))

    def _run(self, since: datetime | None, progress: Progress | None) -> SyncResult:
        sent_before = requests_sent(self.client._session, self.client.server_url)
        self._calls = self._changelog_pages = 0
        cursor = from_db_time(self.store.sync_state(SOURCE).get("cursor"))
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        start = since if since is not None else (cursor - self.lookback if cursor else None)
        jql = self._jql(start)
        self._epic_field = self._epic_link_field()
        self._fields = ISSUE_FIELDS + ((self._epic_field,) if self._epic_field else ())
        log.info("Jira sync: %s", jql)
        issues = new_items = pages = 0
        newest = cursor
        for raw_issues, total in self._pages(jql):
            pages += 1
            prepared = [self._prepare(raw) for raw in raw_issues]  # network first, then one write
            with self.store.transaction():
                for issue, items, carried in prepared:
                    new_items += self.ingest.issue(self.store, self._keep_newer(issue), items, parent_carried=carried)
            for issue, _, _ in prepared:
                newest = issue.updated if newest is None else max(newest, issue.updated)
            issues += len(prepared)
            if progress:
                progress(issues, total)
        self.store.record_sync_success(SOURCE, self.clock(), to_db_time(newest), new_items)
        sent_after = requests_sent(self.client._session, self.client.server_url)
        calls = sent_after - sent_before if sent_after is not None and sent_before is not None else self._calls
        log.info("Jira sync: %d issues, %d new changelog items, %d API calls", issues, new_items, calls)
        return SyncResult(issues, new_items, calls, pages, self._changelog_pages, newest)

    def _jql(self, start: datetime | None) -> str:
        base = _strip_order_by(self.settings.jira.jql or "")
        clauses = [f"({base})"] if base else []
        if start is not None:
            tz = self._user_timezone()
            if tz is None:
                start, tz = start - UNKNOWN_TZ_MARGIN, UTC
            clauses.append(f'updated >= "{jql_time(start, tz)}"')
        return (" AND ".join(clauses) + " ORDER BY updated ASC").strip()

    def _user_timezone(self) -> tzinfo | None:
        """The API user's profile timezone, which Jira reads JQL dates in (asked once)."""
        if self._tz is False:
            try:
                self._calls += 1
                name = self.client.myself().get("timeZone")
                self._tz = zone_named(name)
                if name and self._tz is None:
                    raise ValueError(f"unknown timezone {name!r}")
            except (JIRAError, requests.RequestException, ValueError, TypeError) as exc:
                log.warning("Jira user timezone unknown (%s): widening the window by %s",
                            describe_error(exc, secrets_of(self.settings)), UNKNOWN_TZ_MARGIN)
                self._tz = None
        return self._tz or None

    def _epic_link_field(self) -> str | None:
        """The Epic Link field id ("" when none is needed), remembered for the webhook: on
        Data Center from one `GET /field`; on Cloud `parent` says it all (no call). If the
        field list cannot be read, the id remembered last (None: unknown) is used."""
        remembered = self.store.learned(SOURCE, EPIC_LINK_STATE)
        if self.client._is_cloud:
            found = ""
        else:
            try:
                self._calls += 1
                found = epic_link_field(self.client.fields())
            except (JIRAError, requests.RequestException, ValueError) as exc:
                log.warning("Jira field list unreadable (%s): Epic Links read as field %r",
                            describe_error(exc, secrets_of(self.settings)), remembered)
                return remembered
        if found != remembered:
            self.store.remember_learned(SOURCE, EPIC_LINK_STATE, found, self.clock())
        return found

    def _pages(self, jql: str) -> Iterator[tuple[list[dict], int | None]]:
        """Search pages of raw issues (and the total, where Jira tells it)."""
        if self.client._is_cloud:
            token: str | None = None
            while True:
                self._calls += 1
                page = self.client.enhanced_search_issues(
                    jql, nextPageToken=token, maxResults=self.page_size, fields=list(self._fields),
                    expand="changelog", json_result=True)
                yield list(page.get("issues") or []), None
                previous, token = token, page.get("nextPageToken")
                if not token or page.get("isLast") is True:
                    return
                if token == previous:
                    raise JiraSyncError("Jira returned the same nextPageToken twice")
        # Data Center pages by offset. An issue updated while we page moves to the end of
        # `ORDER BY updated`, shifting the rest one place earlier, which would push one issue
        # past a page boundary unseen; consecutive pages therefore overlap by a few issues,
        # and issues already seen in this run are dropped.
        start = 0
        seen: set[tuple[object, object]] = set()
        while True:
            self._calls += 1
            page = self.client.search_issues(
                jql, startAt=start, maxResults=self.page_size, fields=list(self._fields),
                expand="changelog", json_result=True)
            raw = list(page.get("issues") or [])
            total = page.get("total")
            fresh = [r for r in raw if (r.get("key"), (r.get("fields") or {}).get("updated")) not in seen]
            seen.update((r.get("key"), (r.get("fields") or {}).get("updated")) for r in raw)
            yield fresh, total
            end = start + len(raw)
            if not raw or (total is not None and end >= total) or (total is None and len(raw) < self.page_size):
                return
            start = end - min(DC_PAGE_OVERLAP, len(raw) - 1)

    def _prepare(self, raw: dict) -> tuple[JiraIssue, list[ChangeItem], bool]:
        """The issue, its changelog, and whether the page said what its parent is."""
        issue = issue_from_raw(raw, self.base_url, self._epic_field)
        carried = parent_carried(raw, self._epic_field)
        return issue, changelog_items(issue.key, self._histories(issue.key, raw)), carried

    def _histories(self, key: str, raw: dict) -> list[dict]:
        """All of an issue's histories: inline ones, plus what Jira left out of them."""
        changelog = raw.get("changelog") or {}
        inline = list(changelog.get("histories") or [])
        total = int(changelog.get("total") or len(inline))
        if total <= len(inline):
            return inline
        # Histories stored by an earlier run or a webhook need not be fetched again.
        ids = {item.history_id for item in self.store.changelog(key)} | {str(h.get("id")) for h in inline}
        if len(ids) >= total:
            return inline
        if not self.client._is_cloud:  # DC: no /changelog endpoint, but the issue has it whole
            self._calls += 1
            self._changelog_pages += 1
            full = self.client._get_json(f"issue/{key}", params={"expand": "changelog", "fields": "updated"})
            return list((full.get("changelog") or {}).get("histories") or inline)
        # Cloud keeps the newest histories inline; /changelog pages run oldest first: stop
        # as soon as every history id is known.
        fetched = {str(h.get("id")): h for h in inline}
        start = 0
        while len(ids) < total:
            self._calls += 1
            self._changelog_pages += 1
            page = self.client._get_json(f"issue/{key}/changelog", params={"startAt": start, "maxResults": PAGE_SIZE})
            values = list(page.get("values") or [])
            for history in values:
                ids.add(str(history.get("id")))
                fetched.setdefault(str(history.get("id")), history)
            start += len(values)
            total = int(page.get("total") or total)
            if not values or page.get("isLast") is True:
                break
        return list(fetched.values())

    def _keep_newer(self, issue: JiraIssue) -> JiraIssue:
        """The stored row when a webhook already stored a newer state of the issue."""
        current = self.store.issue(issue.key)
        return current if current is not None and current.updated > issue.updated else issue


def sync_jira(settings: Settings, store: Store, *, clock: Clock = utc_now, since: datetime | None = None,
              progress: Progress | None = None, sleep: Sleep = time.sleep) -> SyncResult:
    """Connect and run one sync; a failure to connect is recorded like any other failure."""
    try:
        client = connect(settings, sleep=sleep)
    except JiraSyncError as exc:
        log.error("Jira sync failed: %s", exc)
        store.record_sync_attempt(SOURCE, clock())
        store.record_sync_failure(SOURCE, clock(), str(exc))
        raise
    return JiraSync(client, store, settings, clock=clock).run(since=since, progress=progress)
