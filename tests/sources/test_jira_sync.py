"""Jira sync through the real `jira` library against the fake Jira over HTTP."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import settings_from_mapping
from bot.models import HandoffState
from bot.sources.http import retry_after_seconds
from bot.sources.jira import JiraSync, SyncResult, jql_time, sync_jira
from bot.sources.jira_client import JiraSyncError, connect
from bot.store import Store
from bot.store.times import from_db_time
from tests.fakes.fake_jira import ALICE, FakeJira

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HANDOFF = "research-handoff"


@pytest.fixture
def cloud():
    with FakeJira("Cloud", time_zone="Europe/Berlin", inline_changelog_max=5) as fake:
        yield fake


def settings_for(fake: FakeJira, **env: str):
    return settings_from_mapping({"jira": {"jql": "project = RES ORDER BY created DESC"}}, {**fake.env(), **env})


def sync(fake: FakeJira, store: Store, sleeps: list | None = None, **kwargs) -> SyncResult:
    settings = settings_for(fake)
    client = connect(settings, sleep=(sleeps if sleeps is not None else []).append)
    return JiraSync(client, store, settings, clock=lambda: NOW, **kwargs).run()


def search_calls(fake: FakeJira):
    return [r for r in fake.requests if r.path.endswith(("/search/jql", "/search"))]


def test_cloud_pages_with_next_page_token(cloud, store):
    for n in range(250):
        cloud.add_issue(f"RES-{n + 1}", T0 + timedelta(minutes=n), labels=["ml"], assignee=ALICE)
    progress: list[tuple[int, int | None]] = []
    settings = settings_for(cloud)
    client = connect(settings)
    assert client._is_cloud
    cloud.clear_requests()

    result = JiraSync(client, store, settings, clock=lambda: NOW).run(progress=lambda d, t=None: progress.append((d, t)))

    assert (result.issues, result.pages, result.changelog_pages) == (250, 3, 0)
    assert result.api_calls == 3 == len(cloud.requests)  # no /field, no /myself on a first run
    calls = search_calls(cloud)
    assert [c.path for c in calls] == ["/rest/api/3/search/jql"] * 3
    assert calls[0].param("nextPageToken") is None and calls[1].param("nextPageToken") and calls[2].param("nextPageToken")
    assert all(c.param("maxResults") == "100" and c.param("expand") == "changelog" for c in calls)
    assert set(calls[0].query["fields"]) >= {"summary", "status", "labels", "updated", "created", "assignee"}
    assert calls[0].param("jql") == "(project = RES) ORDER BY updated ASC"
    basic = "Basic " + base64.b64encode(b"bot@example.com:cloud-api-token-s3cret").decode()
    assert all(r.headers["authorization"] == basic for r in cloud.requests)
    assert progress == [(100, None), (200, None), (250, None)]

    assert store.count("jira_issues") == 250
    issue = store.issue("RES-7")
    assert issue.created == T0 + timedelta(minutes=6)  # "+0100" offsets normalised to UTC
    assert issue.labels == ("ml",) and issue.status == "To Do" and issue.project == "RES"
    assert issue.url == f"{cloud.url}/browse/RES-7"
    assert (issue.assignee_name, issue.assignee_email, issue.assignee_account_id) == (
        "Alice Researcher", "alice@example.com", ALICE.account_id)
    state = store.sync_state("jira")
    assert from_db_time(state["cursor"]) == T0 + timedelta(minutes=249)
    assert state["last_error"] is None and state["last_success_at"]


def test_truncated_inline_changelog_is_completed(cloud, store):
    issue = cloud.add_issue("RES-1", T0)
    labelled = issue.add_label(T0 + timedelta(hours=1), HANDOFF)
    for k in range(11):
        issue.edit_summary(T0 + timedelta(hours=2 + k), f"Summary {k}")
    cloud.add_issue("RES-2", T0).transition(T0 + timedelta(hours=1), "In Progress")
    inline = issue.as_json(None, {"changelog"}, cloud.inline_changelog_max)["changelog"]
    assert inline["total"] == 12 and labelled.id not in [h["id"] for h in inline["histories"]]

    result = sync(cloud, store)

    assert (result.pages, result.changelog_pages, result.api_calls) == (1, 1, 2)  # search, changelog
    assert [r.path for r in cloud.calls("/changelog")] == ["/rest/api/3/issue/RES-1/changelog"]
    assert len(store.changelog("RES-1")) == 12 and result.new_items == 13
    [view] = store.handoffs()
    assert view.cycle.requested_at == T0 + timedelta(hours=1)
    assert view.cycle.requested_by_name == "Alice Researcher" and view.cycle.state is HandoffState.OPEN

    # One more change: the stored histories plus the inline ones cover all: no changelog call.
    issue.transition(T0 + timedelta(hours=20), "In Progress")
    cloud.clear_requests()
    again = sync(cloud, store)
    assert again.changelog_pages == 0 and again.new_items == 1
    assert store.handoffs()[0].cycle.picked_up_at == T0 + timedelta(hours=20)


def test_long_changelog_fetches_only_the_missing_pages(store):
    with FakeJira("Cloud", inline_changelog_max=100, changelog_page_max=100) as fake:
        issue = fake.add_issue("RES-1", T0)
        issue.add_label(T0 + timedelta(minutes=1), HANDOFF)
        for k in range(249):
            issue.edit_summary(T0 + timedelta(minutes=2 + k), f"s{k}")
        result = sync(fake, store)
        starts = [r.param("startAt") for r in fake.calls("/changelog")]
    assert starts == ["0", "100"]  # 150 missing of 250, the newest 100 came inline
    assert result.changelog_pages == 2 and len(store.changelog("RES-1")) == 250
    assert store.handoffs()[0].cycle.requested_at == T0 + timedelta(minutes=1)


def test_retry_after_is_honoured_exactly(cloud, store):
    cloud.add_issue("RES-1", T0)
    cloud.fail_next("/search/jql", 429, retry_after=7)
    sleeps: list[float] = []
    result = sync(cloud, store, sleeps)
    assert sleeps == [7.0]
    assert result.issues == 1 and result.api_calls == 2  # the refused attempt counts
    assert [r.status for r in search_calls(cloud)] == [429, 200]


def test_5xx_backs_off_boundedly_then_succeeds(cloud, store):
    cloud.add_issue("RES-1", T0)
    cloud.fail_next("/search/jql", 502, times=2)
    cloud.fail_next("/serverInfo", 503, retry_after=3)
    sleeps: list[float] = []
    sync(cloud, store, sleeps)
    assert sleeps == [3.0, 1.0, 2.0] and store.count("jira_issues") == 1


def test_retry_after_forms():
    now = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Mon, 05 Jan 2026 10:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Mon, 05 Jan 2026 09:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_persistent_500_fails_cleanly_and_next_run_resumes(cloud, store, caplog):
    for n in range(150):
        cloud.add_issue(f"RES-{n + 1}", T0 + timedelta(minutes=n))
    first = sync(cloud, store)
    cursor = from_db_time(store.sync_state("jira")["cursor"])
    assert first.issues == 150 and cursor == T0 + timedelta(minutes=149)
    t1 = T0 + timedelta(days=1)
    for n in range(150):
        cloud.issues[f"RES-{n + 1}"].add_label(t1 + timedelta(minutes=n), HANDOFF)
    cloud.fail_next("/search/jql", 500, times=None, after=1)  # page 1 answers, page 2 never does
    cloud.clear_requests()
    sleeps: list[float] = []

    with pytest.raises(JiraSyncError) as failure:
        sync(cloud, store, sleeps)

    assert "HTTP 500" in str(failure.value) and "s3cret" not in str(failure.value)
    assert "s3cret" not in caplog.text
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]  # bounded: 5 retries
    state = store.sync_state("jira")
    assert "HTTP 500" in state["last_error"] and state["last_error_at"]
    assert from_db_time(state["cursor"]) == cursor  # not advanced by a failed run
    assert all(store.changelog(f"RES-{n + 1}") for n in range(100))  # page 1 stored whole
    assert not any(store.changelog(f"RES-{n + 1}") for n in range(100, 150))  # page 2 not at all
    assert len(store.handoffs()) == 100

    cloud.clear_faults()
    cloud.clear_requests()
    again = sync(cloud, store)
    since = jql_time(cursor - timedelta(minutes=10), ZoneInfo("Europe/Berlin"))
    assert f'updated >= "{since}"' in search_calls(cloud)[0].param("jql")
    assert again.issues == 150 and again.new_items == 50
    assert len(store.handoffs()) == 150
    state = store.sync_state("jira")
    assert state["last_error"] is None and from_db_time(state["cursor"]) == t1 + timedelta(minutes=149)


def test_failed_changelog_fetch_stores_nothing_of_that_page(cloud, store):
    cloud.add_issue("RES-1", T0).add_label(T0 + timedelta(hours=1), HANDOFF)
    long = cloud.add_issue("RES-2", T0)
    for k in range(8):
        long.edit_summary(T0 + timedelta(hours=2 + k), f"s{k}")
    cloud.fail_next("/issue/RES-2/changelog", 500, times=None)
    with pytest.raises(JiraSyncError, match="HTTP 500 on /rest/api/3/issue/RES-2/changelog"):
        sync(cloud, store)
    assert store.count("jira_issues") == 0 and store.count("jira_changelog") == 0


def test_data_center_pages_with_start_at_and_pat(store):
    with FakeJira("Server", inline_changelog_max=3) as fake:
        for n in range(250):
            fake.add_issue(f"RES-{n + 1}", T0 + timedelta(minutes=n))
        long = fake.issues["RES-1"]
        long.add_label(T0 + timedelta(days=1), HANDOFF)
        for k in range(5):
            long.edit_summary(T0 + timedelta(days=1, hours=k + 1), f"s{k}")
        settings = settings_for(fake)
        client = connect(settings)
        assert not client._is_cloud and client.deploymentType == "Server"
        fake.clear_requests()
        result = JiraSync(client, store, settings, clock=lambda: NOW).run()
        calls = search_calls(fake)
        assert [c.path for c in calls] == ["/rest/api/2/search"] * 3
        assert [c.param("startAt") for c in calls] == ["0", "95", "190"]  # pages overlap by 5
        assert all(r.headers["authorization"] == "Bearer dc-personal-access-token-s3cret" for r in fake.requests)
        # DC has no /changelog endpoint: the truncated issue is read whole, once.
        [full] = fake.calls("/issue/")
        assert full.path == "/rest/api/2/issue/RES-1" and full.param("expand") == "changelog"
        assert len(fake.calls("/field")) == 1  # the Epic Link field id, once a run
    assert (result.issues, result.pages, result.changelog_pages, result.api_calls) == (250, 3, 1, 5)
    assert store.count("jira_issues") == 250 and len(store.changelog("RES-1")) == 6
    assert store.handoffs()[0].cycle.requested_at == T0 + timedelta(days=1)
    assert store.issue("RES-1").reporter_account_id == "alice"  # DC users have names, not account ids


def test_data_center_issue_updated_mid_sync_does_not_hide_another(store, monkeypatch):
    """An update during paging moves that issue to the end of `ORDER BY updated`; without
    overlapping pages the issue at the page boundary would slip past unseen."""
    with FakeJira("Server") as fake:
        for n in range(150):
            fake.add_issue(f"RES-{n + 1}", T0 + timedelta(minutes=n))
        original = FakeJira.search

        def search_then_update(self, params, enhanced):
            answer = original(self, params, enhanced)
            if params.get("startAt") in (None, "0", 0):
                self.issues["RES-3"].edit_summary(T0 + timedelta(days=2), "moved to the end")
            return answer

        monkeypatch.setattr(FakeJira, "search", search_then_update)
        settings = settings_for(fake)
        result = JiraSync(connect(settings), store, settings, clock=lambda: NOW).run()
    assert store.count("jira_issues") == 150
    assert store.issue("RES-101") is not None, "the issue at the page boundary was skipped"
    assert store.issue("RES-3").summary == "moved to the end"
    assert result.issues == 151  # RES-3 twice: once per version seen


def test_bad_credentials_fail_cleanly(store, caplog):
    with FakeJira("DataCenter") as fake:
        settings = settings_for(fake, JIRA_PAT="wrong-pat-value")
        with pytest.raises(JiraSyncError) as failure:
            client = connect(settings)
            JiraSync(client, store, settings, clock=lambda: NOW).run()
    assert "HTTP 401" in str(failure.value) and "wrong-pat-value" not in str(failure.value)
    assert "wrong-pat-value" not in caplog.text
    assert store.sync_state("jira")["last_error"] and "wrong-pat-value" not in store.sync_state("jira")["last_error"]


def test_incremental_runs_fetch_only_what_changed(store):
    # New York: a JQL date written in UTC would be read 5 hours late and miss changes.
    with FakeJira("Cloud", time_zone="America/New_York") as fake:
        for n in range(20):
            fake.add_issue(f"RES-{n + 1}", T0 + timedelta(hours=n))
        assert sync(fake, store).issues == 20
        fake.issues["RES-3"].add_label(T0 + timedelta(hours=20), HANDOFF)
        fake.clear_requests()

        second = sync(fake, store)

        jql = search_calls(fake)[0].param("jql")
        # cursor 05:00 UTC next day (RES-20) minus 10 min = 23:50 the evening before in New York
        assert jql == '(project = RES) AND updated >= "2026/01/05 23:50" ORDER BY updated ASC'
        assert len(fake.calls("/myself")) == 1
        assert (second.issues, second.new_items, second.pages, second.api_calls) == (2, 1, 1, 2)
        assert store.handoffs()[0].cycle.issue_key == "RES-3"

        fake.clear_requests()
        third = sync(fake, store)
    assert (third.issues, third.new_items) == (1, 0)  # RES-3 again, inside the lookback only
    assert store.count("jira_issues") == 20 and store.count("jira_changelog") == 1


def test_unknown_user_timezone_widens_the_window(store):
    with FakeJira("Cloud", time_zone="America/Los_Angeles") as fake:
        for n in range(5):
            fake.add_issue(f"RES-{n + 1}", T0 + timedelta(hours=n))
        sync(fake, store)
        fake.issues["RES-2"].add_label(T0 + timedelta(hours=5), HANDOFF)
        fake.fail_next("/myself", 404, times=None)
        result = sync(fake, store)
        jql = search_calls(fake)[-1].param("jql")
    assert 'updated >= "2026/01/05 01:50"' in jql  # 14:00 UTC - 10 min - 12 h, written in UTC
    assert result.new_items == 1 and store.handoffs()[0].cycle.issue_key == "RES-2"


def test_explicit_since_backfills(cloud, store):
    for n in range(3):
        cloud.add_issue(f"RES-{n + 1}", T0 + timedelta(days=n))
    settings = settings_for(cloud)
    result = JiraSync(connect(settings), store, settings, clock=lambda: NOW).run(since=T0 + timedelta(days=1))
    assert 'updated >= "2026/01/06 11:00"' in search_calls(cloud)[-1].param("jql")  # Berlin time
    assert result.issues == 2


def test_jql_time_never_later_than_asked_across_dst():
    berlin = ZoneInfo("Europe/Berlin")
    # 00:30 UTC on 2026-10-25 is 02:30 CEST; 02:30 is also 01:30 UTC (CET): step back an hour
    assert jql_time(datetime(2026, 10, 25, 0, 30, 59, tzinfo=UTC), berlin) == "2026/10/25 01:30"
    assert jql_time(datetime(2026, 7, 1, 8, 0, 30, tzinfo=UTC), berlin) == "2026/07/01 10:00"


def test_unreachable_jira_is_recorded_not_raised_raw(store):
    with FakeJira("Cloud") as fake:
        settings = settings_for(fake)
    sleeps: list[float] = []  # the fake is stopped: nothing listens on its port any more
    with pytest.raises(JiraSyncError, match="cannot reach Jira"):
        sync_jira(settings, store, clock=lambda: NOW, sleep=sleeps.append)
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    state = store.sync_state("jira")
    assert "cannot reach Jira" in state["last_error"] and state["last_attempt_at"]
