"""The fake Jira's write side (transitions, assignment, edits, creation, projects, users,
permissions, faults) driven through the real `jira` library, on Cloud and Data Center."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from jira import JIRA, JIRAError

from bot.config import settings_from_mapping
from bot.sources.jira_client import connect
from tests.fakes.fake_jira import ALICE, BOB, FakeJira, FakeUser, jira_time

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
AT = datetime(2026, 1, 6, 9, 30, 15, 123000, tzinfo=UTC)  # Jira's clock for the writes
CAROL = FakeUser("712020:6b1f7b04-6e9e-4276-b4d8-4d7b1678e327", "Carol Data", "carol.d@example.org", "carol")


@pytest.fixture(scope="module")
def fakes():
    with FakeJira("Cloud") as cloud, FakeJira("DataCenter") as dc:
        yield {"Cloud": cloud, "DataCenter": dc}


@pytest.fixture(params=["Cloud", "DataCenter"])
def fake(request, fakes) -> FakeJira:
    fake = fakes[request.param]
    fake.reset()
    fake.clock = lambda: AT
    fake.add_issue("RES-1", T0, labels=["ml"], assignee=ALICE)
    return fake


@pytest.fixture
def cloud(fakes) -> FakeJira:
    fake = fakes["Cloud"]
    fake.reset()
    fake.clock = lambda: AT
    fake.add_issue("RES-1", T0, labels=["ml"], assignee=ALICE)
    return fake


def client(fake: FakeJira) -> JIRA:
    """A client set up as `bot.sources.jira_client.connect` does (Cloud on REST API 3), without retries."""
    auth = {"basic_auth": (fake.email, fake.api_token)} if fake.cloud else {"token_auth": fake.pat}
    jira = JIRA(fake.url, get_server_info=False, max_retries=0, **auth)
    info = jira.server_info()
    jira._version, jira.deploymentType = tuple(info["versionNumbers"]), info["deploymentType"]
    if jira._is_cloud:
        jira._options["rest_api_version"] = "3"
    fake.clear_requests()
    return jira


def sent(fake: FakeJira) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests]


def api(fake: FakeJira) -> str:
    return "/rest/api/3" if fake.cloud else "/rest/api/2"


def ident(fake: FakeJira, user: FakeUser) -> str:
    return user.account_id if fake.cloud else str(user.name)


# -- transitions ---------------------------------------------------------------------------

def test_transitions_are_listed_with_jiras_shape(fake):
    jira = client(fake)
    moves = jira.transitions("RES-1")
    assert [(t["id"], t["name"], t["to"]["name"]) for t in moves] == [
        ("11", "Start Progress", "In Progress"), ("21", "Done", "Done")]
    first = moves[0]
    assert {"hasScreen", "isGlobal", "isInitial", "isConditional"} <= set(first)
    assert first["to"]["id"] == "3" and first["to"]["statusCategory"]["key"] == "indeterminate"
    assert moves[1]["to"]["statusCategory"]["key"] == "done"
    assert jira.transitions("RES-1", id="21")[0]["name"] == "Done"
    assert "fields" in jira.transitions("RES-1", expand="transitions.fields")[0]
    raw = jira.issue("RES-1", expand="transitions").raw
    assert [t["id"] for t in raw["transitions"]] == ["11", "21"]
    assert raw["fields"]["status"]["statusCategory"]["key"] == "new"
    assert sent(fake)[0] == ("GET", f"{api(fake)}/issue/RES-1/transitions")


def test_a_transition_moves_the_issue_and_records_jiras_history(fake):
    jira = client(fake)
    assert jira.transition_issue("RES-1", "Start Progress") == {}  # 204, no body
    assert sent(fake) == [("GET", f"{api(fake)}/issue/RES-1/transitions"),
                          ("POST", f"{api(fake)}/issue/RES-1/transitions")]
    assert fake.writes()[-1].body == {"transition": {"id": "11"}, "fields": {}}
    issue = fake.issues["RES-1"]
    assert issue.status == "In Progress" and issue.updated == AT
    history = issue.histories[-1]
    assert history.created == AT and history.author == fake.api_user
    assert history.items == [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000",
                              "fromString": "To Do", "to": "3", "toString": "In Progress"}]
    # a later read (sync) sees Jira's own transition time and author
    raw = jira.issue("RES-1", expand="changelog").raw
    assert raw["fields"]["status"]["name"] == "In Progress" and raw["fields"]["updated"] == jira_time(AT)
    seen = raw["changelog"]["histories"][-1]
    assert seen["created"] == jira_time(AT) and seen["author"]["displayName"] == ALICE.display_name
    # ...and so does a webhook built from it
    assert fake.webhook_payload("jira:issue_updated", "RES-1", history)["changelog"]["items"] == history.items


def test_done_sets_the_resolution_and_reopening_clears_it(fake):
    jira = client(fake)
    jira.transition_issue("RES-1", "21")  # an id: no GET of the transitions
    assert sent(fake) == [("POST", f"{api(fake)}/issue/RES-1/transitions")]
    issue = fake.issues["RES-1"]
    assert issue.status == "Done" and issue.resolved == AT
    assert [(i["field"], i["toString"]) for i in issue.histories[-1].items] == [("resolution", "Done"),
                                                                                 ("status", "Done")]
    assert jira.issue("RES-1").raw["fields"]["resolutiondate"] == jira_time(AT)
    fake.clock = lambda: AT + timedelta(hours=1)
    jira.transition_issue("RES-1", "Reopen")
    assert issue.status == "To Do" and issue.resolved is None
    assert [(i["field"], i["fromString"], i["toString"]) for i in issue.histories[-1].items] == [
        ("resolution", "Done", None), ("status", "Done", "To Do")]


def test_an_unavailable_transition_is_refused_with_400(fake):
    fake.workflow = {"To Do": [("Done", "Done")], "Done": [("Reopen", "To Do")]}  # no "In Progress"
    jira = client(fake)
    assert [t["name"] for t in jira.transitions("RES-1")] == ["Done"]
    with pytest.raises(JIRAError) as caught:
        jira.transition_issue("RES-1", "31")  # exists, but not from "To Do"
    assert caught.value.status_code == 400 and "Transition id '31' is not valid for this issue." in caught.value.text
    assert caught.value.response.json() == {"errorMessages": ["Transition id '31' is not valid for this issue."],
                                            "errors": {}}
    with pytest.raises(JIRAError, match="Invalid transition name"):
        jira.transition_issue("RES-1", "Start Progress")  # the library looks the name up first
    assert fake.issues["RES-1"].status == "To Do" and fake.issues["RES-1"].histories == []
    assert [w.method for w in fake.writes()] == ["POST"]


def test_concurrent_transitions_apply_once(cloud):
    url = f"{cloud.url}/rest/api/3/issue/RES-1/transitions"
    auth = (cloud.email, cloud.api_token)
    results: list[int] = []
    barrier = threading.Barrier(8)

    def move() -> None:
        barrier.wait()
        results.append(requests.post(url, json={"transition": {"id": "11"}}, auth=auth, timeout=5).status_code)

    threads = [threading.Thread(target=move) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [204] + [400] * 7  # once in progress, "Start Progress" is gone
    assert cloud.issues["RES-1"].status == "In Progress" and len(cloud.issues["RES-1"].histories) == 1


# -- assignment ----------------------------------------------------------------------------

def test_assign_by_email_searches_then_puts_the_deployments_id(fake):
    jira = client(fake)
    assert jira.assign_issue("RES-1", "bob@example.com")
    query = "query" if fake.cloud else "username"
    assert sent(fake) == [("GET", f"{api(fake)}/user/search"), ("PUT", "/rest/api/latest/issue/RES-1/assignee")]
    assert fake.requests[0].param(query) == "bob@example.com"
    assert fake.writes()[-1].body == ({"accountId": BOB.account_id} if fake.cloud else {"name": "bob"})
    issue = fake.issues["RES-1"]
    assert issue.assignee == BOB and issue.updated == AT
    item = issue.histories[-1].items[0]
    assert (item["field"], item["fromString"], item["toString"]) == ("assignee", ALICE.display_name, BOB.display_name)
    assert (item["from"], item["to"]) == (ident(fake, ALICE), ident(fake, BOB))
    if fake.cloud:
        assert (item["tmpFromAccountId"], item["tmpToAccountId"]) == (ALICE.account_id, BOB.account_id)
    else:
        assert "tmpToAccountId" not in item
    assert jira.issue("RES-1").fields.assignee.displayName == BOB.display_name


def test_assign_by_id_and_unassign(fake):
    jira = client(fake)
    fake.add_user(CAROL)
    jira._session.put(jira._get_latest_url("issue/RES-1/assignee"),
                      data=json.dumps({("accountId" if fake.cloud else "name"): ident(fake, CAROL)}))
    assert fake.issues["RES-1"].assignee == CAROL
    assert jira.assign_issue("RES-1", None)  # no user search for None
    assert fake.issues["RES-1"].assignee is None and [m for m, _ in sent(fake)] == ["PUT", "PUT"]
    assert fake.issues["RES-1"].histories[-1].items[0]["toString"] is None
    jira.assign_issue("RES-1", None)  # unchanged: no new history
    assert len(fake.issues["RES-1"].histories) == 2


def test_assigning_an_unknown_user_is_400(fake):
    jira = client(fake)
    url = jira._get_latest_url("issue/RES-1/assignee")
    with pytest.raises(JIRAError) as caught:
        jira._session.put(url, data=json.dumps({("accountId" if fake.cloud else "name"): "nobody"}))
    assert caught.value.status_code == 400
    assert caught.value.response.json() == {"errorMessages": [], "errors": {"assignee": "User 'nobody' does not exist."}}
    with pytest.raises(JIRAError, match="No matching user found"):
        jira.assign_issue("RES-1", "nobody")  # the library's own user search finds nobody: no PUT
    assert fake.issues["RES-1"].assignee == ALICE and len(fake.writes()) == 1


def test_cloud_has_no_user_names(cloud):
    jira = client(cloud)
    with pytest.raises(JIRAError) as caught:
        jira.issue("RES-1").update(assignee="bob")  # the library sends {"name": "bob"}: not on Cloud
    assert caught.value.status_code == 400 and caught.value.response.json()["errors"] == {
        "assignee": "User 'bob' does not exist."}


# -- edits ---------------------------------------------------------------------------------

def test_edit_labels_add_remove_and_set(fake):
    jira = client(fake)
    issue = jira.issue("RES-1")
    issue.add_field_value("labels", "research-handoff")
    assert fake.issues["RES-1"].labels == ["ml", "research-handoff"]
    issue.update(update={"labels": [{"remove": "ml"}, {"add": "gpu"}]})
    assert fake.issues["RES-1"].labels == ["research-handoff", "gpu"] and issue.fields.labels == ["research-handoff", "gpu"]
    issue.update(fields={"labels": ["x"], "summary": "Renamed"})
    issue.update(fields={"labels": ["x"]})  # no change: no history
    histories = fake.issues["RES-1"].histories
    assert [[(i["field"], i["fromString"], i["toString"]) for i in h.items] for h in histories] == [
        [("labels", "ml", "ml research-handoff")],
        [("labels", "ml research-handoff", "research-handoff gpu")],
        [("labels", "research-handoff gpu", "x"), ("summary", "Issue RES-1", "Renamed")],
    ]
    assert all(h.created == AT and h.author == fake.api_user for h in histories)
    # Issue.update PUTs to the issue's `self` (by id), then reads it back
    assert [(w.method, w.path) for w in fake.writes()] == [("PUT", f"{api(fake)}/issue/10001")] * 4
    assert fake.writes()[0].body == {"update": {"labels": [{"add": "research-handoff"}]}}


def test_edit_errors_are_jiras(fake):
    jira = client(fake)
    issue = jira.issue("RES-1")
    with pytest.raises(JIRAError) as caught:
        issue.update(fields={"summary": "", "priority": {"name": "High"}, "labels": ["two words"]})
    assert caught.value.status_code == 400 and caught.value.response.json() == {"errorMessages": [], "errors": {
        "priority": "Field 'priority' cannot be set. It is not on the appropriate screen, or unknown.",
        "summary": "You must specify a summary of the issue.",
        "labels": "The label 'two words' contains spaces which is invalid."}}
    with pytest.raises(JIRAError, match="FieldOperation"):
        issue.update(labels=["a"])  # the library puts a bare string into `update`; Jira refuses it
    assert fake.issues["RES-1"].labels == ["ml"] and fake.issues["RES-1"].histories == []


def test_descriptions_are_text_on_v2_and_documents_on_v3(cloud):
    jira = client(cloud)  # REST API 3
    doc = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Why"}]}]}
    with pytest.raises(JIRAError, match="Atlassian Document"):
        jira.issue("RES-1").update(fields={"description": "plain text"})
    jira.issue("RES-1").update(fields={"description": doc})
    assert jira.issue("RES-1").raw["fields"]["description"] == doc
    v2 = jira.issue("RES-1").raw["self"].replace("/rest/api/3/", "/rest/api/2/")
    assert jira._session.get(v2).json()["fields"]["description"] == "Why"
    assert cloud.issues["RES-1"].histories[-1].items[0]["toString"] == "Why"
    jira._session.put(v2, data=json.dumps({"fields": {"description": "Why not"}}))  # v2 takes text
    assert jira.issue("RES-1").raw["fields"]["description"]["content"][0]["content"][0]["text"] == "Why not"


# -- creation ------------------------------------------------------------------------------

def test_create_issue_allocates_the_next_key(fake):
    fake.add_issue("RES-7", T0)
    jira = client(fake)
    fields = {"project": {"key": "RES"}, "summary": "Train the model", "issuetype": {"name": "Task"},
              "labels": ["research-handoff"]}
    if not fake.cloud:
        fields["description"] = "Plain text on REST API 2"
    created = jira.create_issue(fields=fields)
    assert created.key == "RES-8"
    assert sent(fake) == [("POST", f"{api(fake)}/issue"), ("GET", f"{api(fake)}/issue/RES-8")]
    answer = next(r for r in fake.requests if r.method == "POST")
    assert answer.status == 201 and set(json.loads(json.dumps(fake.writes()[0].body))) == {"fields"}
    issue = fake.issues["RES-8"]
    assert (issue.summary, issue.labels, issue.status, issue.issue_type) == (
        "Train the model", ["research-handoff"], "To Do", "Task")
    assert issue.reporter == fake.api_user and issue.created == issue.updated == AT and issue.histories == []
    assert created.fields.reporter.displayName == fake.api_user.display_name
    # strings for project and type: the library looks both up first
    fake.delete_issue("RES-8")
    again = jira.create_issue(project="RES", summary="Again", issuetype="Bug")
    assert again.key == "RES-9" and again.fields.issuetype.name == "Bug"  # keys are never reused
    assert [p for _, p in sent(fake)[2:5]] == [f"{api(fake)}/project/RES", f"{api(fake)}/project/10000",
                                               f"{api(fake)}/issue"]


def test_create_issue_errors(fake):
    jira = client(fake)
    with pytest.raises(JIRAError) as caught:
        jira.create_issue(fields={"project": {"key": "RES"}, "issuetype": {"name": "Task"}})
    assert caught.value.status_code == 400
    assert caught.value.response.json() == {"errorMessages": [], "errors": {
        "summary": "You must specify a summary of the issue."}}
    with pytest.raises(JIRAError) as caught:
        jira.create_issue(fields={"project": {"key": "NOPE"}, "summary": "x", "issuetype": {"name": "Task"}})
    assert caught.value.response.json()["errors"] == {"project": "valid project is required"}
    with pytest.raises(JIRAError, match="Specify a valid issue type"):
        jira.create_issue(fields={"project": {"key": "RES"}, "summary": "x", "issuetype": {"name": "Nope"}})
    assert list(fake.issues) == ["RES-1"]


def test_create_on_v3_takes_a_document_and_an_assignee(cloud):
    jira = client(cloud)
    fields = {"project": {"id": "10000"}, "summary": "S", "issuetype": {"id": "10002"},
              "description": "not a document", "assignee": {"accountId": BOB.account_id}}
    with pytest.raises(JIRAError, match="Atlassian Document"):
        jira.create_issue(fields=fields)
    fields["description"] = {"type": "doc", "version": 1, "content": []}
    created = jira.create_issue(fields=fields)
    assert created.fields.assignee.accountId == BOB.account_id and created.fields.issuetype.name == "Bug"


# -- projects and users --------------------------------------------------------------------

def test_projects_come_from_issues_and_add_project(fake):
    fake.add_issue("OPS-3", T0)
    fake.add_project("ML", "Machine Learning")
    jira = client(fake)
    assert [(p.key, p.name) for p in jira.projects()] == [("ML", "Machine Learning"), ("OPS", "OPS"),
                                                          ("RES", "Research")]
    res = jira.project("RES")
    assert res.id == jira.issue("RES-1").fields.project.id and "Task" in [t.name for t in res.issueTypes]
    with pytest.raises(JIRAError) as caught:
        jira.project("NOPE")
    assert caught.value.status_code == 404


def test_user_search(fake):
    fake.add_user(CAROL)
    fake.add_issue("RES-2", T0, reporter=FakeUser("5c0000000000000000000099", "Dana Reporter", "dana@example.com"))
    jira = client(fake)

    def search(term: str) -> list[str]:
        users = jira.search_users(query=term) if fake.cloud else jira.search_users(user=term)
        return [u.displayName for u in users]

    assert search("bob") == ["Bob Engineer"]
    assert search("ENGIN") == ["Bob Engineer"]  # a word of the display name, any case
    assert search("carol.d@") == ["Carol Data"]
    assert search("dana") == ["Dana Reporter"]  # users issues name are known
    assert search("example.com") == []  # a prefix, not any substring
    assert search("zed") == []
    assert jira.user(ident(fake, CAROL)).displayName == "Carol Data"
    param = "query" if fake.cloud else "username"
    assert all(r.param(param) for r in fake.requests if r.path.endswith("/user/search"))


# -- permissions and faults ----------------------------------------------------------------

DENIED = {
    "assign": (lambda j: j.assign_issue("RES-1", "bob@example.com"), 403,
               "You do not have permission to assign issues in this project."),
    "transition": (lambda j: j.transition_issue("RES-1", "11"), 403,
                   "You do not have permission to transition this issue."),
    "edit": (lambda j: j.issue("RES-1").update(fields={"summary": "x"}), 403,
             "You do not have permission to edit issues in this project."),
    "create": (lambda j: j.create_issue(fields={"project": {"key": "RES"}, "summary": "x",
                                                "issuetype": {"name": "Task"}}), 403,
               "You do not have permission to create issues in this project."),
    "browse": (lambda j: j.issue("RES-1"), 404, "Issue does not exist or you do not have permission to see it."),
}


@pytest.mark.parametrize("action", sorted(DENIED))
def test_denied_actions_answer_jiras_errors(fake, action):
    call, status, message = DENIED[action]
    jira = client(fake)
    fake.deny(action)
    with pytest.raises(JIRAError) as caught:
        call(jira)
    assert caught.value.status_code == status and caught.value.text == message
    assert caught.value.response.json() == {"errorMessages": [message], "errors": {}}
    issue = fake.issues["RES-1"]
    assert (issue.status, issue.assignee, issue.summary, len(fake.issues)) == ("To Do", ALICE, "Issue RES-1", 1)
    fake.allow(action)
    call(jira)


def test_deny_by_key_and_what_it_hides(cloud):
    cloud.add_issue("RES-2", T0)
    cloud.add_issue("OPS-1", T0)
    jira = client(cloud)
    cloud.deny("transition", key="RES-2")
    assert jira.transitions("RES-2") == [] and len(jira.transitions("RES-1")) == 2  # Jira lists none
    cloud.deny("browse", key="OPS")
    assert sorted(i.key for i in jira.enhanced_search_issues("project = RES")) == ["RES-1", "RES-2"]
    with pytest.raises(JIRAError) as caught:
        jira.transition_issue("OPS-1", "11")
    assert caught.value.status_code == 404
    cloud.deny("edit", status=400, key="RES-1")
    with pytest.raises(JIRAError) as caught:
        jira.issue("RES-1").update(fields={"summary": "x"})
    assert caught.value.status_code == 400
    with pytest.raises(ValueError):
        cloud.deny("delete")


def test_a_503_on_a_write_path_changes_nothing(fake):
    jira = client(fake)
    fake.fail_next("/issue/RES-1/transitions", 503, retry_after=7)
    with pytest.raises(JIRAError) as caught:
        jira.transition_issue("RES-1", "11")
    assert caught.value.status_code == 503 and caught.value.response.headers["Retry-After"] == "7"
    assert fake.issues["RES-1"].status == "To Do"
    jira.transition_issue("RES-1", "11")
    assert fake.issues["RES-1"].status == "In Progress"
    assert [(w.method, r.status) for w, r in zip(fake.writes(), fake.requests)] == [("POST", 503), ("POST", 204)]


def test_the_bots_client_waits_out_a_503_on_a_transition(cloud):
    sleeps: list[float] = []
    settings = settings_from_mapping({"jira": {"jql": "project = RES"}}, cloud.env())
    jira = connect(settings, sleep=sleeps.append)
    cloud.fail_next("/transitions", 503, retry_after=2)
    jira.transition_issue("RES-1", "11")
    assert sleeps == [2.0] and cloud.issues["RES-1"].status == "In Progress"
    cloud.fail_next("/rest/api/3/issue", 500)  # a POST is not resent after a 500: it may have been applied
    cloud.fail_next("/assignee", 500)  # a PUT is: it is idempotent
    with pytest.raises(JIRAError) as caught:
        jira.create_issue(fields={"project": {"key": "RES"}, "summary": "x", "issuetype": {"name": "Task"}})
    assert caught.value.status_code == 500 and list(cloud.issues) == ["RES-1"]
    jira.assign_issue("RES-1", BOB.email)
    assert cloud.issues["RES-1"].assignee == BOB and sleeps == [2.0, 1.0]
    assert [w.path.rsplit("/", 1)[1] for w in cloud.writes()] == ["transitions", "transitions", "issue", "assignee",
                                                                   "assignee"]


def test_no_content_answers_have_no_body(cloud):
    response = requests.post(f"{cloud.url}/rest/api/2/issue/RES-1/transitions", json={"transition": {"id": "11"}},
                             auth=(cloud.email, cloud.api_token), timeout=5)
    assert response.status_code == 204 and response.content == b""
    assert response.headers["Content-Length"] == "0" and "Content-Type" not in response.headers
    bad = requests.post(f"{cloud.url}/rest/api/2/issue/RES-1/transitions", json={"transition": {"id": "x"}},
                        auth=(cloud.email, cloud.api_token), timeout=5)
    assert bad.status_code == 400 and bad.json()["errorMessages"] == ["'transition' identifier must be an integer"]
    assert cloud.writes()[0].body == {"transition": {"id": "11"}}
    unauthorised = requests.put(f"{cloud.url}/rest/api/2/issue/RES-1", json={"fields": {"summary": "x"}}, timeout=5)
    assert unauthorised.status_code == 401 and cloud.issues["RES-1"].summary == "Issue RES-1"
