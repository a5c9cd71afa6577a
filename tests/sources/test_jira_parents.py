"""Issue parents (epics, sub-tasks' parents) through the real `jira` library and the real
webhook endpoint, against the fake Jira: Cloud's `parent`, Data Center's Epic Link field
(found with one `GET /field` a sync), and when a payload may clear a stored parent."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Iterator

import httpx
import pytest

from bot.app import create_web_app
from bot.config import settings_from_mapping
from bot.ingest.jira import JiraIngest
from bot.models import ExperimentRun
from bot.sources.jira import EPIC_LINK_STATE, JiraSync, SyncResult, issue_from_raw
from bot.sources.jira_client import connect
from bot.sources.jira_webhook import parse_event
from bot.sources.webhooks import PayloadError
from bot.store import Store
from tests.fakes.fake_jira import FakeJira
from tests.support.live import serve
from tests.support.webhooks import post_jira

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
SECRET = "whsec-jira-parents-secret"
EPIC_FIELD = "customfield_12345"


def settings_for(fake: FakeJira):
    return settings_from_mapping({"jira": {"jql": "project = RES"}}, {**fake.env(), "JIRA_WEBHOOK_SECRET": SECRET})


def sync(fake: FakeJira, store: Store) -> SyncResult:
    settings = settings_for(fake)
    client = connect(settings, sleep=[].append)
    fake.clear_requests()
    return JiraSync(client, store, settings, clock=lambda: NOW).run()


@contextmanager
def live_app(fake: FakeJira, store: Store) -> Iterator[str]:
    with serve(create_web_app(settings_for(fake), store, clock=lambda: NOW)) as url:
        yield url


def searched_fields(fake: FakeJira) -> set[str]:
    [search] = [r for r in fake.requests if r.path.endswith(("/search", "/search/jql"))]
    return {f for value in search.query["fields"] for f in value.split(",")}


def parents(store: Store, *keys: str) -> list[str | None]:
    return [store.issue(k).parent_key for k in keys]


def initiative(fake: FakeJira) -> None:
    """RES-1 an epic; RES-2 a story in it; RES-3 a sub-task of RES-2; RES-4 on its own."""
    fake.add_issue("RES-1", T0, issue_type="Epic", summary="Distil the detector")
    fake.add_issue("RES-2", T0 + timedelta(hours=1), issue_type="Story", parent="RES-1")
    fake.add_issue("RES-3", T0 + timedelta(hours=2), issue_type="Sub-task", parent="RES-2")
    fake.add_issue("RES-4", T0 + timedelta(hours=3))


def test_cloud_parent_is_stored_without_a_field_call(store):
    with FakeJira("Cloud") as fake:
        initiative(fake)
        result = sync(fake, store)
        assert fake.calls("/field") == [] and result.api_calls == 1  # one search page, nothing else
        assert "parent" in searched_fields(fake)
    assert parents(store, "RES-1", "RES-2", "RES-3", "RES-4") == [None, "RES-1", "RES-2", None]
    assert store.learned("jira", EPIC_LINK_STATE) == ""  # Cloud: `parent` says it all


def test_data_center_epic_link_costs_one_field_call_a_sync(store):
    with FakeJira("DataCenter", epic_link_field=EPIC_FIELD) as fake:
        initiative(fake)
        first = sync(fake, store)
        assert len(fake.calls("/field")) == 1 and first.api_calls == 2  # the field list, one search page
        assert {"parent", EPIC_FIELD} <= searched_fields(fake)
        assert store.learned("jira", EPIC_LINK_STATE) == EPIC_FIELD

        fake.add_issue("RES-5", T0 + timedelta(days=1), issue_type="Story", parent="RES-1")
        second = sync(fake, store)
        assert len(fake.calls("/field")) == 1 and second.api_calls == 3  # field list, /myself, search
    assert parents(store, "RES-1", "RES-2", "RES-3", "RES-4", "RES-5") == [None, "RES-1", "RES-2", None, "RES-1"]


def test_sub_task_parent_without_jira_software(store):
    with FakeJira("Server", epic_link_field=None) as fake:
        fake.add_issue("RES-1", T0)
        fake.add_issue("RES-2", T0 + timedelta(hours=1), issue_type="Sub-task", parent="RES-1")
        sync(fake, store)
        assert len(fake.calls("/field")) == 1 and not any(f.startswith("customfield_") for f in searched_fields(fake))
        fake.issues["RES-2"].set_type(T0 + timedelta(hours=2), "Task")  # converted to a task:
        fake.issues["RES-2"].parent = None  # Jira drops the parent
        sync(fake, store)
    assert store.learned("jira", EPIC_LINK_STATE) == ""
    assert parents(store, "RES-2") == [None]


@pytest.mark.parametrize("deployment", ["Cloud", "DataCenter"])
def test_removed_epic_link_clears_the_parent(store, deployment):
    with FakeJira(deployment, epic_link_field=EPIC_FIELD) as fake:
        initiative(fake)
        sync(fake, store)
        history = fake.issues["RES-2"].set_parent(T0 + timedelta(days=1), None)
        sync(fake, store)
    assert parents(store, "RES-2", "RES-3") == [None, "RES-2"]
    assert [i.field for i in store.changelog("RES-2") if i.history_id == history.id] == (
        ["IssueParentAssociation"] if deployment == "Cloud" else ["Epic Link"])


def test_unreadable_field_list_keeps_the_remembered_epic_field(store):
    with FakeJira("DataCenter", epic_link_field=EPIC_FIELD) as fake:
        initiative(fake)
        sync(fake, store)
        fake.add_issue("RES-9", T0 + timedelta(days=1), issue_type="Epic")
        fake.issues["RES-2"].set_parent(T0 + timedelta(days=1, hours=1), "RES-9")
        fake.fail_next("/field", 500, times=None)
        result = sync(fake, store)
    assert result.issues >= 1 and parents(store, "RES-2", "RES-3") == ["RES-9", "RES-2"]


def test_cloud_webhook_sets_and_clears_the_parent(store):
    with FakeJira("Cloud") as fake, live_app(fake, store) as url:
        fake.add_issue("RES-1", T0, issue_type="Epic")
        fake.add_issue("RES-2", T0 + timedelta(hours=1), issue_type="Story")
        moved = fake.issues["RES-2"].set_parent(T0 + timedelta(hours=2), "RES-1")
        answer = post_jira(url, fake.webhook_payload("jira:issue_updated", "RES-2", moved), SECRET)
        assert answer.status_code == 200, answer.text
        assert parents(store, "RES-2") == ["RES-1"]  # `parent` is read before any sync

        sync(fake, store)
        cleared = fake.issues["RES-2"].set_parent(T0 + timedelta(hours=3), None)
        assert post_jira(url, fake.webhook_payload("jira:issue_updated", "RES-2", cleared), SECRET).status_code == 200
    assert parents(store, "RES-2") == [None]


def test_data_center_webhook_reads_the_epic_link_the_sync_learned(store):
    with FakeJira("DataCenter", epic_link_field=EPIC_FIELD) as fake, live_app(fake, store) as url:
        initiative(fake)
        sync(fake, store)
        fake.add_issue("RES-9", T0 + timedelta(days=1), issue_type="Epic")
        moved = fake.issues["RES-2"].set_parent(T0 + timedelta(days=1, hours=1), "RES-9")
        payload = fake.webhook_payload("jira:issue_updated", "RES-2", moved)
        assert payload["issue"]["fields"][EPIC_FIELD] == "RES-9" and "parent" not in payload["issue"]["fields"]
        assert post_jira(url, payload, SECRET).status_code == 200
        assert parents(store, "RES-2") == ["RES-9"]

        cleared = fake.issues["RES-2"].set_parent(T0 + timedelta(days=1, hours=2), None)
        assert post_jira(url, fake.webhook_payload("jira:issue_updated", "RES-2", cleared), SECRET).status_code == 200
        sources = httpx.get(url + "/healthz").json()["sources"]
    assert parents(store, "RES-2", "RES-3") == [None, "RES-2"]
    assert list(sources) == ["jira"]  # the learned field id is no sync source of its own


def test_data_center_webhook_before_any_sync_keeps_the_stored_parent(store):
    with FakeJira("DataCenter", epic_link_field=EPIC_FIELD) as fake, live_app(fake, store) as url:
        initiative(fake)
        story = issue_from_raw(fake.issues["RES-2"].as_json(None, set(), None), fake.url, EPIC_FIELD)
        # stored with its epic before this database learned the field id (an earlier version, a restore)
        JiraIngest.of(settings_for(fake).jira).issue(store, story, [])
        assert store.learned("jira", EPIC_LINK_STATE) is None and parents(store, "RES-2") == ["RES-1"]

        edited = fake.issues["RES-2"].edit_summary(T0 + timedelta(days=1), "Distil with the new teacher")
        assert post_jira(url, fake.webhook_payload("jira:issue_updated", "RES-2", edited), SECRET).status_code == 200
    assert store.issue("RES-2").summary == "Distil with the new teacher"
    assert parents(store, "RES-2") == ["RES-1"]  # the Epic Link field is not known yet: nothing wiped


def test_malformed_parent_is_refused_and_nothing_stored(store):
    with FakeJira("Cloud") as fake, live_app(fake, store) as url:
        fake.add_issue("RES-1", T0, issue_type="Epic")
        fake.add_issue("RES-2", T0 + timedelta(hours=1), issue_type="Story", parent="RES-1")
        payload = fake.webhook_payload("jira:issue_updated", "RES-2")
        payload["issue"]["fields"]["parent"] = {"id": "10001"}
        answer = post_jira(url, payload, SECRET)
        payload["issue"]["fields"]["parent"] = "RES 1"
        worse = post_jira(url, payload, SECRET)
    assert answer.status_code == 400 and "issue.fields.parent.key of RES-2" in answer.json()["error"]
    assert worse.status_code == 400 and "issue.fields.parent of RES-2" in worse.json()["error"]
    assert store.count("jira_issues") == 0 and store.count("webhook_deliveries") == 0


def test_parse_event_refuses_an_epic_link_that_is_no_key():
    settings = settings_from_mapping({"jira": {"jql": "project = RES"}}, {"JIRA_URL": "https://jira.example.com", "JIRA_PAT": "dc-pat"})
    fields = {"created": "2026-01-05T10:00:00.000+0000", EPIC_FIELD: {"key": "RES-1"}}
    with pytest.raises(PayloadError, match=f"issue.fields.{EPIC_FIELD} \\(Epic Link\\) of RES-2 is not an issue key"):
        parse_event({"webhookEvent": "jira:issue_updated", "issue": {"key": "RES-2", "fields": fields}},
                    settings, NOW, EPIC_FIELD)


def test_unlinked_emails_include_research_activity(store):
    store.save_experiment_runs([
        ExperimentRun("mlflow", "r1", "detector", "finished", T0, user="Carol@Example.com"),
        ExperimentRun("mlflow", "r2", "detector", "finished", T0, user="carol"),  # a login, not an e-mail
    ], NOW)
    store.db["repo_commits"].insert({"source": "github", "repo": "lab/detector", "sha": "a1b2c3",
                                     "committed_at": "2026-01-05T10:00:00+00:00", "author_login": "dana",
                                     "author_email": "Dana@Example.COM", "author_name": "Dana"})
    store.db["repo_branches"].insert({"source": "gitlab", "repo": "lab/detector", "branch": "distil",
                                      "created_at": "2026-01-05T10:00:00+00:00", "user_login": "erin",
                                      "user_email": "erin@example.com"})
    assert store.unlinked_emails() == ["carol@example.com", "dana@example.com", "erin@example.com"]
    store.link_user("dana@example.com", "U0DANA", "email", NOW)
    assert store.unlinked_emails() == ["carol@example.com", "erin@example.com"]
