"""The write side of the fake Jira (`tests/fakes/fake_jira.py`), as Jira Cloud and Data Center
answer it: transitions along `fake.workflow`, assignment, edits, creation, and the projects and
users those need. Every change records the changelog history Jira writes, authored by
`fake.api_user` at `fake.now()`, under `fake._lock`.

Checks run in Jira's order: the issue must exist and be browsable (404), the action permitted
(`fake.deny`: 403), then the body is validated as a whole (400, every field error at once)
before anything changes.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.fake_jira import DENIALS, NOT_FOUND, FakeIssue, FakeJira, FakeProject, FakeUser, Request, _item, _Reply

NOT_MINE = object()  # route(): not a path of the write side
_CANNOT_SET = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
# what Jira (Jackson) says when an `update` operation is not an object like {"add": "x"}
_NOT_AN_OPERATION = ("Can not instantiate value of type [simple type, class com.atlassian.jira.rest.api.issue."
                     "FieldOperation] from JSON String; no single-String constructor/factory method")
_EDITABLE = {"summary", "description", "labels", "assignee", "components"}
_MULTI = {"labels", "components"}  # fields whose `update` takes add / remove / set
RESOLUTIONS = {"Done": "10000", "Won't Do": "10001", "Duplicate": "10002", "Cannot Reproduce": "10003"}


def route(fake: FakeJira, method: str, tail: str, req: Request, api: str) -> Any:
    """The answer for `method` on `/rest/api/{api}/{tail}`, or NOT_MINE."""
    parts = tail.split("/")
    if method == "GET" and tail == "project":
        return [p.as_json(fake.url, fake.cloud) for p in listed_projects(fake)]
    if method == "GET" and parts[0] == "project" and len(parts) == 2:
        return project_json(fake, parts[1])
    if method == "GET" and tail == "user/search":
        return user_search(fake, req)
    if method == "GET" and tail == "user":
        return one_user(fake, req)
    if method == "POST" and tail == "issue":
        return create(fake, _body(req), api)
    if parts[0] != "issue" or len(parts) not in (2, 3):
        return NOT_MINE
    if len(parts) == 2:
        return edit(fake, parts[1], req, api) if method == "PUT" else NOT_MINE
    if parts[2] == "transitions" and method == "GET":
        issue = _issue(fake, parts[1])
        only, expand = req.param("transitionId"), req.param("expand") or ""
        return {"expand": "transitions",
                "transitions": transitions_json(fake, issue, only, "transitions.fields" in expand)}
    if parts[2] == "transitions" and method == "POST":
        return transition(fake, parts[1], _body(req), api)
    if parts[2] == "assignee" and method == "PUT":
        return assign(fake, parts[1], _body(req))
    return NOT_MINE


def _fail(status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, {"errorMessages": messages or [], "errors": errors or {}})


def _body(req: Request) -> dict[str, Any]:
    if not req.body:
        return {}
    try:
        body = json.loads(req.body)
    except ValueError:
        raise _fail(400, ["Unexpected character: the request body is not valid JSON."]) from None
    if not isinstance(body, dict):
        raise _fail(400, ["Can not deserialize instance of the request out of a non-object JSON value."])
    return body


def _issue(fake: FakeJira, key_or_id: str) -> FakeIssue:
    issue = fake.issue_by_key_or_id(key_or_id)
    if issue is None:
        raise _fail(404, [NOT_FOUND])
    return issue


def _check(fake: FakeJira, action: str, key: str) -> None:
    status = fake.denied(action, key)
    if status is not None:
        raise _fail(status, [DENIALS[action][1]])


# -- transitions -------------------------------------------------------------------------

def transition_ids(workflow: dict[str, list[tuple[str, str]]]) -> dict[tuple[str, str], str]:
    """(name, target status) -> id: "11", "21", ... in the workflow's order, one id per pair."""
    ids: dict[tuple[str, str], str] = {}
    for moves in workflow.values():
        for name, target in moves:
            ids.setdefault((name, target), str(11 + 10 * len(ids)))
    return ids


def available(fake: FakeJira, issue: FakeIssue) -> list[tuple[str, str, str]]:
    """(id, name, target status) of the transitions out of the issue's status."""
    ids = transition_ids(fake.workflow)
    return [(ids[(name, target)], name, target) for name, target in fake.workflow.get(issue.status, [])]


def transitions_json(fake: FakeJira, issue: FakeIssue, only: str | None = None,
                     with_fields: bool = False) -> list[dict[str, Any]]:
    """What `GET .../transitions` lists: none without the permission, as Jira does."""
    if fake.denied("transition", issue.key):
        return []
    found = []
    for tid, name, target in available(fake, issue):
        if only and tid != str(only):
            continue
        move: dict[str, Any] = {"id": tid, "name": name, "to": fake.status_json(target), "hasScreen": False,
                                "isGlobal": False, "isInitial": False, "isConditional": False}
        if fake.cloud:
            move.update(isAvailable=True, isLooped=False)
        if with_fields:
            move["fields"] = {}
        found.append(move)
    return found


def _category(fake: FakeJira, status: str) -> str:
    return fake.status_json(status)["statusCategory"]["key"]


def transition(fake: FakeJira, key: str, body: dict[str, Any], api: str) -> Any:
    with fake._lock:
        issue = _issue(fake, key)
        _check(fake, "transition", issue.key)
        wanted = body.get("transition")
        tid = wanted.get("id") if isinstance(wanted, dict) else None
        if tid is None:
            raise _fail(400, ["Missing 'transition' identifier"])
        if not str(tid).isdigit():
            raise _fail(400, ["'transition' identifier must be an integer"])
        move = next((m for m in available(fake, issue) if m[0] == str(tid)), None)
        if move is None:
            raise _fail(400, [f"Transition id '{tid}' is not valid for this issue."])
        changes = _changes(fake, issue, body, api, _EDITABLE | {"resolution"})
        if "assignee" in changes:
            _check(fake, "assign", issue.key)
        at, target = fake.now(), move[2]
        before = "Done" if issue.resolved else None
        resolution = changes.pop("resolution", before)
        if "resolution" not in (body.get("fields") or {}):  # Jira's Done post function, and reopening's
            done = _category(fake, target) == "done"
            resolution = (before or "Done") if done else None
        items = []
        if resolution != before:
            items.append(_item("resolution", before, resolution, RESOLUTIONS.get(before or ""),
                               RESOLUTIONS.get(resolution or "")))
            issue.resolved = at if resolution else None
        items.append(_item("status", issue.status, target, fake.status_json(issue.status)["id"],
                           fake.status_json(target)["id"]))
        issue.status = target
        items += _apply(fake, issue, changes)
        issue.change(at, items, fake.api_user)
    raise _Reply(204, None)


# -- assignment and edits ------------------------------------------------------------------

def assign(fake: FakeJira, key: str, body: dict[str, Any]) -> Any:
    with fake._lock:
        issue = _issue(fake, key)
        _check(fake, "assign", issue.key)
        try:
            user = _user(fake, body)
        except ValueError as exc:
            raise _fail(400, [], {"assignee": str(exc)}) from None
        items = _apply(fake, issue, {"assignee": user})
        if items:
            issue.change(fake.now(), items, fake.api_user)
    raise _Reply(204, None)


def edit(fake: FakeJira, key: str, req: Request, api: str) -> Any:
    with fake._lock:
        issue = _issue(fake, key)
        _check(fake, "edit", issue.key)
        changes = _changes(fake, issue, _body(req), api, _EDITABLE)
        if "assignee" in changes:
            _check(fake, "assign", issue.key)
        items = _apply(fake, issue, changes)
        if items:
            issue.change(fake.now(), items, fake.api_user)
        if req.param("returnIssue") == "true":  # Cloud: 200 with the issue instead of 204
            return issue.as_json(None, set(), None, api)
    raise _Reply(204, None)


def _user(fake: FakeJira, value: Any) -> FakeUser | None:
    """A user reference as Jira takes it: Cloud {"accountId"} (or "id"), DC {"name"} (or "key");
    null or "-1" (automatic: the project default, unassigned here) -> None."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"User '{value}' does not exist.")
    present = [k for k in (("accountId", "id") if fake.cloud else ("name", "key")) if k in value]
    if not present:  # {} unassigns; the other deployment's key (Cloud has no user names) finds nobody
        if value:
            raise ValueError(f"User '{next(iter(value.values()))}' does not exist.")
        return None
    ident = value[present[0]]
    if ident in (None, "-1"):
        return None
    for user in fake.known_users():
        if ident == (user.account_id if fake.cloud else user.name or user.account_id):
            return user
    raise ValueError(f"User '{ident}' does not exist.")


def _current(issue: FakeIssue | None, name: str) -> Any:
    if issue is None:
        return [] if name in _MULTI else None
    if name == "components":
        return [{"name": c} for c in issue.components]
    return list(issue.labels) if name == "labels" else None


def _op_key(value: Any) -> Any:
    return value.get("name") if isinstance(value, dict) else value


def _changes(fake: FakeJira, issue: FakeIssue | None, body: dict[str, Any], api: str, allowed: set[str],
             errors: dict[str, str] | None = None) -> dict[str, Any]:
    """The new values `fields` and `update` ask for, checked; 400 with every error at once."""
    errors = errors if errors is not None else {}
    fields, update = body.get("fields") or {}, body.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise _fail(400, ["'fields' and 'update' must be JSON objects."])
    raw: dict[str, Any] = {}
    for name, value in fields.items():
        if name in allowed:
            raw[name] = value
        else:
            errors[name] = _CANNOT_SET.format(name)
    for name, ops in update.items():
        if name not in allowed:
            errors[name] = _CANNOT_SET.format(name)
            continue
        if not isinstance(ops, list) or not all(isinstance(op, dict) and len(op) == 1 for op in ops):
            raise _fail(400, [_NOT_AN_OPERATION])
        value = raw.get(name, _current(issue, name))
        for op in ops:
            ((verb, arg),) = op.items()
            if verb == "set":
                value = arg
            elif name in _MULTI and verb in ("add", "remove"):
                value = [v for v in value or [] if _op_key(v) != _op_key(arg)] + ([arg] if verb == "add" else [])
            else:
                errors[name] = f"Operation '{verb}' is not supported for field '{name}'."
        raw[name] = value
    parsed: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            parsed[name] = _parse(fake, name, value, api)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise _fail(400, [], errors)
    return parsed


def _parse(fake: FakeJira, name: str, value: Any, api: str) -> Any:
    if name == "summary":
        if not isinstance(value, str) or not value.strip():
            raise ValueError("You must specify a summary of the issue.")
        if "\n" in value or "\r" in value:
            raise ValueError("The summary is invalid because it contains newline characters.")
        if len(value) > 255:
            raise ValueError("Summary must be less than 255 characters.")
        return value
    if name == "description":
        if value in (None, ""):
            return None
        if api == "3" and not (isinstance(value, dict) and value.get("type") == "doc"):
            raise ValueError("Operation value must be an Atlassian Document (see the Atlassian Document Format)")
        if api != "3" and not isinstance(value, str):
            raise ValueError("Operation value must be a string")
        return value
    if name == "labels":
        labels = value or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ValueError("The labels must be a list of strings.")
        for label in labels:
            if " " in label:
                raise ValueError(f"The label '{label}' contains spaces which is invalid.")
        return list(dict.fromkeys(labels))
    if name == "components":
        names = [(c.get("name") or c.get("id")) if isinstance(c, dict) else c for c in value or []]
        if not all(names):
            raise ValueError("A component needs a name or an id.")
        return list(dict.fromkeys(str(n) for n in names))
    if name == "resolution":
        if isinstance(value, dict):
            return str(value.get("name") or {v: k for k, v in RESOLUTIONS.items()}.get(str(value.get("id"))))
        return value
    return _user(fake, value)  # assignee, reporter


def _user_item(fake: FakeJira, name: str, before: FakeUser | None, after: FakeUser | None) -> dict[str, Any]:
    ident = (lambda u: u.account_id) if fake.cloud else (lambda u: u.name or u.account_id)
    item = _item(name, before.display_name if before else None, after.display_name if after else None,
                 ident(before) if before else None, ident(after) if after else None)
    if fake.cloud:  # what Jira Cloud adds to user fields' changelog items
        item.update(tmpFromAccountId=before.account_id if before else None,
                    tmpToAccountId=after.account_id if after else None)
    return item


def _apply(fake: FakeJira, issue: FakeIssue, changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Set the checked values; the changelog items for those that changed."""
    items: list[dict[str, Any]] = []
    for name, value in changes.items():
        if name in ("assignee", "reporter"):
            before = getattr(issue, name)
            if (before and before.account_id) != (value and value.account_id):
                items.append(_user_item(fake, name, before, value))
                setattr(issue, name, value)
        elif name == "labels" and value != issue.labels:
            items.append(_item("labels", " ".join(issue.labels), " ".join(value)))
            issue.labels = value
        elif name == "components" and value != issue.components:
            for gone in [c for c in issue.components if c not in value]:
                items.append({**_item("Component", gone, None), "fieldId": "components"})
            for new in [c for c in value if c not in issue.components]:
                items.append({**_item("Component", None, new), "fieldId": "components"})
            issue.components = value
        elif name == "summary" and value != issue.summary:
            items.append(_item("summary", issue.summary, value))
            issue.summary = value
        elif name == "description" and value != issue.description:
            items.append(_item("description", adf_text(issue.description), adf_text(value)))
            issue.description = value
    return items


# -- creation ------------------------------------------------------------------------------

def create(fake: FakeJira, body: dict[str, Any], api: str) -> Any:
    fields = body.get("fields")
    if not isinstance(fields, dict):
        raise _fail(400, ["Issue must be created with a 'fields' object."])
    fields = dict(fields)
    with fake._lock:
        ref = fields.pop("project", None) or {}
        wanted = str(ref.get("key") or ref.get("id") or "") if isinstance(ref, dict) else str(ref)
        project = next((p for p in listed_projects(fake) if wanted in (p.key, p.id)), None)
        if project is None:
            raise _fail(400, [], {"project": "valid project is required"})
        _check(fake, "create", project.key)
        errors: dict[str, str] = {}
        kind = fields.pop("issuetype", None)
        names = {v: k for k, v in fake.issue_types.items()}
        issue_type = None
        if isinstance(kind, dict):
            issue_type = kind.get("name") if kind.get("name") in fake.issue_types else names.get(str(kind.get("id")))
        if issue_type is None:
            errors["issuetype"] = "Specify a valid issue type" if kind else "Specify an issue type"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        changes = _changes(fake, None, {"fields": fields, "update": body.get("update")}, api,
                           _EDITABLE | {"reporter"}, errors)
        numbers = [int(k.rsplit("-", 1)[1]) for k in fake.issues if k.rsplit("-", 1)[0] == project.key]
        number = max([fake._numbers.get(project.key, 0), *numbers]) + 1
        fake._numbers[project.key] = number
        key, at = f"{project.key}-{number}", fake.now()
        issue = fake.add_issue(key, at, summary=changes["summary"], status=next(iter(fake.workflow), "To Do"),
                               labels=changes.get("labels"), issue_type=issue_type,
                               reporter=changes.get("reporter", fake.api_user), assignee=changes.get("assignee"),
                               components=changes.get("components") or [], description=changes.get("description"))
    raise _Reply(201, {"id": issue.id, "key": key, "self": f"{fake.url}/rest/api/{api}/issue/{issue.id}"})


# -- projects and users --------------------------------------------------------------------

def listed_projects(fake: FakeJira) -> list[FakeProject]:
    """Projects added with add_project, and those issues are in."""
    with fake._lock:
        with_issues = {fake.project(k.rsplit("-", 1)[0]).key for k in fake.issues}
        return sorted((p for p in fake.projects.values() if p.explicit or p.key in with_issues), key=lambda p: p.key)


def project_json(fake: FakeJira, key_or_id: str) -> dict[str, Any]:
    project = next((p for p in listed_projects(fake) if key_or_id in (p.key, p.id)), None)
    if project is None:
        raise _fail(404, [f"No project could be found with key '{key_or_id}'."])
    types = [{"self": f"{fake.url}/rest/api/2/issuetype/{tid}", "id": tid, "description": "", "name": name,
              "subtask": False} for name, tid in sorted(fake.issue_types.items(), key=lambda t: t[1])]
    return {**project.as_json(fake.url, fake.cloud), "description": "", "lead": fake.api_user.as_json(fake.url, fake.cloud),
            "components": [], "versions": [], "issueTypes": types, "assigneeType": "UNASSIGNED", "roles": {}}


def _matches(user: FakeUser, term: str, cloud: bool) -> bool:
    """Jira's user search: a prefix of the display name (or one of its words) or the e-mail
    address; on DC also of the user name. Case-insensitive."""
    term = term.lower()
    values = [user.display_name, *user.display_name.split(), user.email or ""]
    if not cloud:
        values.append(user.name or user.account_id)
    return any(v.lower().startswith(term) for v in values if v)


def user_search(fake: FakeJira, req: Request) -> list[dict[str, Any]]:
    term = req.param("query") if fake.cloud else req.param("username")
    account = req.param("accountId") if fake.cloud else None
    if not term and not account:
        raise _fail(400, ["The query parameter 'query' is not present" if fake.cloud
                          else "The username query parameter was not provided"])
    users = [u for u in fake.known_users() if (account and u.account_id == account)
             or (term and _matches(u, term, fake.cloud))]
    start, size = int(req.param("startAt") or 0), int(req.param("maxResults") or 50)
    return [u.as_json(fake.url, fake.cloud) for u in users[start:start + size]]


def one_user(fake: FakeJira, req: Request) -> dict[str, Any]:
    ident = req.param("accountId") if fake.cloud else req.param("username") or req.param("key")
    for user in fake.known_users():
        if ident == (user.account_id if fake.cloud else user.name or user.account_id):
            return user.as_json(fake.url, fake.cloud)
    if fake.cloud:
        raise _fail(404, ["Specified user does not exist or you do not have required permissions"])
    raise _fail(404, [f"The user named '{ident}' does not exist"])


# -- descriptions: plain text (v2) and Atlassian Document Format (v3) --------------------------

def adf(text: str) -> dict[str, Any]:
    """Text as an Atlassian Document: one paragraph a line."""
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")]}


def adf_text(value: Any) -> str | None:
    """A description as plain text (an Atlassian Document's text, a paragraph a line)."""
    if value is None or isinstance(value, str):
        return value

    def text(node: Any) -> str:
        if not isinstance(node, dict):
            return ""
        return node.get("text", "") + "".join(text(child) for child in node.get("content") or [])

    return "\n".join(text(block) for block in value.get("content") or [])


def description_json(value: Any, api: str) -> Any:
    """The `description` field as the API version shows it (v3: a document; v2: text)."""
    if value is None:
        return None
    if api == "3":
        return value if isinstance(value, dict) else adf(value)
    return adf_text(value)
