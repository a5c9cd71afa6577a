"""Research repository activity through `POST /webhooks/github` (`push`, `create`) and
`POST /webhooks/gitlab` (Push Hook): real payloads (tests/fixtures), real HMAC signatures and
tokens, the research-repository filter, counting once, and refusals that store nothing."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from bot.app import create_web_app
from bot.config import settings_from_mapping
from bot.metrics.research import Identities
from bot.models import RepoBranch, RepoCommit
from bot.store import Store
from tests.support import FIXTURES
from tests.support.webhooks import hub_signature

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
SECRET = "whsec-github-research-secret"
TOKEN = "glwt-gitlab-research-token"
SINCE, UNTIL = datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
RESEARCH = ["codertocat/hello-*", "mike/*"]  # the fixtures' repositories, matched case-insensitively
ZEROS = "0" * 40
GITHUB_SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
GITHUB_EMAIL = "21031067+Codertocat@users.noreply.github.com"
GITLAB_SHAS = ("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def make_client(store: Store, research_repos: list[str] | None = None) -> TestClient:
    config = {"streams": {"research_repos": RESEARCH if research_repos is None else research_repos}}
    settings = settings_from_mapping(config, {"GITHUB_WEBHOOK_SECRET": SECRET, "GITLAB_WEBHOOK_TOKEN": TOKEN})
    return TestClient(create_web_app(settings, store, clock=lambda: NOW))


@pytest.fixture
def client(store) -> TestClient:
    return make_client(store)


def post_github(client: TestClient, event: str, payload: dict, *, delivery: str | None = None,
                signature: str | None = "auto"):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery or str(uuid.uuid4()), "User-Agent": "GitHub-Hookshot/044aadd"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = hub_signature(body, SECRET) if signature == "auto" else signature
    return client.post("/webhooks/github", content=body, headers=headers)


def post_gitlab(client: TestClient, payload: dict, *, delivery: str | None = None, token: str | None = TOKEN,
                event: str = "Push Hook"):
    headers = {"Content-Type": "application/json", "X-Gitlab-Event": event,
               "X-Gitlab-Event-UUID": delivery or str(uuid.uuid4())}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return client.post("/webhooks/gitlab", content=json.dumps(payload).encode(), headers=headers)


def commits(store: Store) -> list[RepoCommit]:
    return store.repo_commits(SINCE, UNTIL)


def branches(store: Store) -> list[RepoBranch]:
    return store.repo_branches(SINCE, UNTIL)


def stored(store: Store) -> tuple[int, int, int]:
    """(commits, branches, deliveries remembered)."""
    return tuple(store.count(t) for t in ("repo_commits", "repo_branches", "webhook_deliveries"))


# -- GitHub push ------------------------------------------------------------------------------------


def test_a_push_to_a_research_repository_stores_its_commits(store, client):
    response = post_github(client, "push", fixture("github/push.json"))

    assert response.status_code == 200
    assert response.json() == {"event": "push", "ok": True, "commits": 1, "branches": 0}
    assert commits(store) == [RepoCommit("github", "Codertocat/Hello-World", GITHUB_SHA, at("2019-05-15T15:19:25+00:00"),
                                         "Codertocat", GITHUB_EMAIL, "Codertocat")]
    assert branches(store) == []


def test_every_listed_commit_counts_with_its_own_author(store, client):
    payload = fixture("github/push.json")
    other = copy.deepcopy(payload["commits"][0]) | {"id": "A" * 40, "timestamp": "2019-05-15T18:01:02+02:00",
                                                     "author": {"name": "Ada", "email": "ada@example.org"}}
    payload["commits"].append(other)

    assert post_github(client, "push", payload).json()["commits"] == 2
    assert [(c.sha, c.committed_at, c.author_login, c.author_email, c.author_name) for c in commits(store)] == [
        (GITHUB_SHA, at("2019-05-15T15:19:25+00:00"), "Codertocat", GITHUB_EMAIL, "Codertocat"),
        ("a" * 40, at("2019-05-15T16:01:02+00:00"), None, "ada@example.org", "Ada"),
    ]


def test_a_push_to_another_repository_is_acknowledged_and_not_stored(store, client):
    payload = fixture("github/push.created.json")
    payload["repository"]["full_name"] = "Codertocat/serving"

    response = post_github(client, "push", payload)

    assert response.status_code == 202 and response.json()["ignored"] == "not a research repository"
    assert stored(store) == (0, 0, 0)


def test_without_research_repositories_pushes_are_not_read(store):
    client = make_client(store, research_repos=[])
    for event, name in (("push", "github/push.created.json"), ("create", "github/create.branch.json")):
        response = post_github(client, event, fixture(name))
        assert response.status_code == 202 and "research_repos" in response.json()["ignored"]
    assert stored(store) == (0, 0, 0)


def test_a_push_that_creates_a_branch_stores_it_at_the_push_time(store, client):
    response = post_github(client, "push", fixture("github/push.created.json"))

    assert response.json() == {"event": "push", "ok": True, "commits": 1, "branches": 1}
    assert branches(store) == [RepoBranch("github", "Codertocat/Hello-World", "master", at("2019-05-15T15:20:57+00:00"),
                                          "Codertocat", GITHUB_EMAIL)]


def test_a_created_branch_is_stored_when_received(store, client):
    response = post_github(client, "create", fixture("github/create.branch.json"))

    assert response.json() == {"event": "create", "ok": True, "commits": 0, "branches": 1}
    assert branches(store) == [RepoBranch("github", "Codertocat/Hello-World", "master", NOW, "Codertocat", None)]


@pytest.mark.parametrize("order", [("push", "create"), ("create", "push")])
def test_a_branch_seen_by_push_and_create_counts_once(store, client, order):
    deliveries = {"push": "github/push.created.json", "create": "github/create.branch.json"}
    answers = [post_github(client, event, fixture(deliveries[event])).json()["branches"] for event in order]

    assert answers == [1, 0]
    [branch] = branches(store)
    assert branch.branch == "master"
    assert branch.created_at == (at("2019-05-15T15:20:57+00:00") if order[0] == "push" else NOW)
    assert stored(store) == (1, 1, 2)


def _branch_deleted() -> dict:
    payload = fixture("github/push.created.json")
    return payload | {"created": False, "deleted": True, "before": GITHUB_SHA, "after": ZEROS, "commits": [],
                      "head_commit": None}


@pytest.mark.parametrize(("event", "payload", "reason"), [
    ("push", fixture("github/push.tag.json"), "a tag push"),
    ("push", fixture("github/push.deleted.json"), "a deleted ref"),
    ("push", _branch_deleted(), "a deleted ref"),
    ("create", fixture("github/create.tag.json"), "a tag was created"),
    ("push", fixture("github/push.json") | {"commits": []}, "no commits and no new branch"),
])
def test_tags_and_deletions_are_acknowledged_and_ignored(store, client, event, payload, reason):
    response = post_github(client, event, payload)

    assert response.status_code == 202 and reason in response.json()["ignored"]
    assert stored(store) == (0, 0, 0)


def test_a_redelivery_counts_once(store, client):
    delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    first = post_github(client, "push", fixture("github/push.created.json"), delivery=delivery)
    again = post_github(client, "push", fixture("github/push.created.json"), delivery=delivery)

    assert first.json()["commits"] == 1
    assert again.status_code == 200 and again.json() == {"event": "push", "ok": True, "duplicate": True}
    assert stored(store) == (1, 1, 1)


def test_the_same_commit_in_two_pushes_counts_once_for_its_author(store, client):
    assert post_github(client, "push", fixture("github/push.created.json")).status_code == 200
    assert post_github(client, "push", fixture("github/push.json")).status_code == 200

    assert stored(store) == (1, 1, 2)
    [(bucket, source, login, email, count)] = store.commit_tallies([SINCE, UNTIL])
    assert (bucket, source, login, email, count) == (0, "github", "Codertocat", GITHUB_EMAIL.lower(), 1)
    people = Identities(identities={"github:codertocat": "U0RESEARCH"})
    assert people.person(source, login, email) == "U0RESEARCH"  # "github:LOGIN" in [identities]
    assert Identities(emails={GITHUB_EMAIL.lower(): "U0MAIL"}).person(source, None, email) == "U0MAIL"


def test_a_bad_or_missing_signature_is_refused_and_nothing_stored(store, client):
    payload = fixture("github/push.created.json")
    forged = hub_signature(json.dumps(payload).encode(), "not-the-secret")

    assert post_github(client, "push", payload, signature=forged).status_code == 401
    assert post_github(client, "create", fixture("github/create.branch.json"), signature=None).status_code == 401
    assert stored(store) == (0, 0, 0)


def _with_commit(name: str, **changes) -> dict:
    payload = fixture(name)
    payload["commits"][0] = {k: v for k, v in (payload["commits"][0] | changes).items() if v is not None}
    return payload


GITHUB_PUSH = "github/push.created.json"


@pytest.mark.parametrize(("payload", "message"), [
    (_with_commit(GITHUB_PUSH, id=None), "commits[0].id is missing"),
    (_with_commit(GITHUB_PUSH, id="not-a-sha"), "commits[0].id is not a commit sha"),
    (_with_commit(GITHUB_PUSH, timestamp="yesterday"), "commits[0].timestamp is not an ISO 8601 time"),
    (_with_commit(GITHUB_PUSH, timestamp=None), "commits[0].timestamp is missing"),
    (_with_commit(GITHUB_PUSH, timestamp="2019-05-15T15:19:25"), "commits[0].timestamp has no timezone"),
    (fixture(GITHUB_PUSH) | {"commits": {"id": GITHUB_SHA}}, "commits must be a list"),
    (fixture(GITHUB_PUSH) | {"commits": ["6113728f"]}, "commits[0] must be an object"),
    (fixture(GITHUB_PUSH) | {"commits": fixture(GITHUB_PUSH)["commits"] * 5001}, "commits lists more than 5000"),
    (fixture(GITHUB_PUSH) | {"created": "yes"}, "created must be bool"),
    (fixture(GITHUB_PUSH) | {"ref": None}, "ref is missing"),
    ({**fixture(GITHUB_PUSH), "repository": {"pushed_at": 1557933657}}, "repository.full_name is missing"),
    ({**fixture(GITHUB_PUSH), "repository": fixture(GITHUB_PUSH)["repository"] | {"pushed_at": 10**20}},
     "repository.pushed_at is out of range"),
])
def test_a_malformed_push_gets_400_naming_the_field_and_nothing_stored(store, client, payload, message):
    response = post_github(client, "push", payload)

    assert response.status_code == 400 and message in response.json()["error"]
    assert stored(store) == (0, 0, 0)


@pytest.mark.parametrize("timestamp", ["1970-01-01T00:00:00+00:00", "2031-05-15T15:19:25-07:00"])
def test_a_commit_from_a_wrong_clock_counts_when_pushed(store, client, timestamp):
    response = post_github(client, "push", _with_commit(GITHUB_PUSH, timestamp=timestamp))

    assert response.status_code == 200, response.text
    assert [(c.sha, c.committed_at) for c in commits(store)] == [(GITHUB_SHA, NOW)]


def test_a_malformed_create_gets_400_naming_the_field(store, client):
    response = post_github(client, "create", fixture("github/create.branch.json") | {"ref_type": None})
    assert response.status_code == 400 and "ref_type is missing" in response.json()["error"]
    assert stored(store) == (0, 0, 0)


# -- GitLab Push Hook -------------------------------------------------------------------------------


def test_a_gitlab_push_stores_the_commits_it_lists(store, client):
    response = post_gitlab(client, fixture("gitlab/push.json"))

    assert response.status_code == 200
    # total_commits_count is 4, but only the listed commits have a sha to count by
    assert response.json() == {"event": "push", "ok": True, "commits": 2, "branches": 0}
    assert commits(store) == [
        RepoCommit("gitlab", "mike/diaspora", GITLAB_SHAS[0], at("2011-12-12T12:27:31+00:00"), None,
                   "jordi@softcatala.org", "Jordi Mallach"),
        RepoCommit("gitlab", "mike/diaspora", GITLAB_SHAS[1], at("2012-01-03T21:36:29+00:00"), None,
                   "gitlabdev@dv6700.(none)", "GitLab dev user"),
    ]
    assert branches(store) == []


def test_the_pushers_username_goes_only_to_their_own_commits(store, client):
    payload = fixture("gitlab/push.json")
    payload["commits"][1]["author"]["email"] = "John@Example.com"

    post_gitlab(client, payload)

    assert [(c.sha, c.author_login) for c in commits(store)] == [(GITLAB_SHAS[0], None), (GITLAB_SHAS[1], "jsmith")]


def test_a_gitlab_push_creating_a_branch_counts_it_once(store, client):
    response = post_gitlab(client, fixture("gitlab/push.branch_created.json"))
    again = post_gitlab(client, fixture("gitlab/push.branch_created.json"))  # created again after a deletion

    assert response.json() == {"event": "push", "ok": True, "commits": 2, "branches": 1}
    assert again.json()["branches"] == 0
    assert branches(store) == [RepoBranch("gitlab", "mike/diaspora", "lr-sweep", NOW, "jsmith", "john@example.com")]
    assert stored(store) == (2, 1, 2)


@pytest.mark.parametrize("redacted", ["[REDACTED]", ""])
def test_a_redacted_email_is_no_email(store, client, redacted):
    payload = fixture("gitlab/push.branch_created.json") | {"user_email": redacted}
    payload["commits"][0]["author"]["email"] = redacted

    assert post_gitlab(client, payload).status_code == 200

    assert branches(store)[0].user_email is None and branches(store)[0].user_login == "jsmith"
    first = commits(store)[0]
    assert (first.author_email, first.author_login) == (None, None)  # two redacted e-mails are not a match


def test_a_gitlab_redelivery_counts_once(store, client):
    delivery = "13792a34-cac6-4fda-95a8-c58e00a3954e"
    assert post_gitlab(client, fixture("gitlab/push.json"), delivery=delivery).json()["commits"] == 2
    assert post_gitlab(client, fixture("gitlab/push.json"), delivery=delivery).json()["duplicate"] is True
    assert stored(store) == (2, 0, 1)


def test_the_same_gitlab_commit_in_two_pushes_counts_once(store, client):
    post_gitlab(client, fixture("gitlab/push.json"))
    post_gitlab(client, fixture("gitlab/push.branch_created.json"))
    assert [c.sha for c in commits(store)] == list(GITLAB_SHAS)
    assert sum(n for *_, n in store.commit_tallies([SINCE, UNTIL])) == 2


@pytest.mark.parametrize(("payload", "event", "reason"), [
    (fixture("gitlab/push.json") | {"after": ZEROS, "commits": [], "total_commits_count": 0}, "Push Hook",
     "a deleted branch"),
    (fixture("gitlab/tag_push.json"), "Tag Push Hook", "Tag Push Hook"),
    ({**fixture("gitlab/push.json"), "project": {"path_with_namespace": "jsmith/serving"}}, "Push Hook",
     "not a research repository"),
])
def test_gitlab_deletions_tags_and_other_projects_are_ignored(store, client, payload, event, reason):
    response = post_gitlab(client, payload, event=event)

    assert response.status_code == 202 and reason in response.json()["ignored"]
    assert stored(store) == (0, 0, 0)


@pytest.mark.parametrize("token", [None, "glwt-wrong-token"])
def test_a_missing_or_wrong_gitlab_token_is_refused(store, client, token):
    response = post_gitlab(client, fixture("gitlab/push.branch_created.json"), token=token)

    assert response.status_code == 401 and "X-Gitlab-Token" in response.json()["error"]
    assert stored(store) == (0, 0, 0)


GITLAB_PUSH = "gitlab/push.json"


@pytest.mark.parametrize(("payload", "message"), [
    (_with_commit(GITLAB_PUSH, id=None), "commits[0].id is missing"),
    (_with_commit(GITLAB_PUSH, timestamp="12/12/2011"), "commits[0].timestamp is not an ISO 8601 time"),
    (_with_commit(GITLAB_PUSH, timestamp=1323692851), "commits[0].timestamp must be an ISO 8601 time string"),
    (fixture(GITLAB_PUSH) | {"after": None}, "after is missing"),
    ({**fixture(GITLAB_PUSH), "project": {"id": 15}}, "project.path_with_namespace is missing"),
])
def test_a_malformed_gitlab_push_gets_400_naming_the_field(store, client, payload, message):
    response = post_gitlab(client, payload)

    assert response.status_code == 400 and message in response.json()["error"]
    assert stored(store) == (0, 0, 0)


def test_a_bad_second_commit_stores_none_of_the_push(store, client):
    payload = fixture("gitlab/push.branch_created.json")
    payload["commits"][1]["timestamp"] = "2012-01-03 23:36:29"

    response = post_gitlab(client, payload)

    assert response.status_code == 400 and "commits[1].timestamp has no timezone" in response.json()["error"]
    assert stored(store) == (0, 0, 0)
