"""The fake Jira's field list and issue parents, as the real REST API shapes them.

- `GET field` (`fields_json`): the system fields (each with `id`, `key`, `name`, `custom`,
  `orderable`, `navigable`, `searchable`, `clauseNames` and, but for `parent` and `issuekey`,
  a `schema`) and the site's custom fields. On Data Center these include Jira Software's
  Epic Link (schema `com.pyxis.greenhopper.jira:gh-epic-link`) under the id the fake was
  given (`FakeJira(epic_link_field=...)`; None: no Jira Software, no Epic Link).
- Parents (`parent_fields`): `fields.parent = {id, key, self, fields: {summary, status,
  priority, issuetype}}` for sub-tasks everywhere and, on Cloud, for every child of an epic.
  A Data Center issue that is not a sub-task carries its epic in the Epic Link field instead:
  the epic's key as a string, null when it has none.
- History (`parent_item`): Cloud and sub-tasks write `IssueParentAssociation` (ids in
  `from`/`to`, keys in the strings); Data Center's Epic Link writes `Epic Link` (custom).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.fake_jira import FakeIssue, FakeJira

EPIC_LINK_SCHEMA = "com.pyxis.greenhopper.jira:gh-epic-link"
SUBTASK_TYPES = ("Sub-task", "Subtask")  # Data Center's and Cloud's default sub-task type names
_PRIORITY = {"id": "3", "name": "Medium"}

# id, name, schema type (None: no schema), orderable, searchable, clause names (default: [id])
_SYSTEM: list[tuple[str, str, str | None, bool, bool, list[str] | None]] = [
    ("issuekey", "Key", None, False, False, ["id", "issue", "issuekey", "key"]),
    ("summary", "Summary", "string", True, True, None),
    ("status", "Status", "status", False, True, None),
    ("labels", "Labels", "array", True, True, None),
    ("issuetype", "Issue Type", "issuetype", True, True, ["issuetype", "type"]),
    ("project", "Project", "project", False, True, None),
    ("created", "Created", "datetime", False, True, ["created", "createdDate"]),
    ("updated", "Updated", "datetime", False, True, ["updated", "updatedDate"]),
    ("reporter", "Reporter", "user", True, True, None),
    ("assignee", "Assignee", "user", True, True, None),
    ("resolutiondate", "Resolved", "datetime", False, True, ["resolutiondate", "resolved"]),
    ("components", "Component/s", "array", True, True, ["component"]),
    ("description", "Description", "string", True, True, None),
    ("priority", "Priority", "priority", True, True, None),
    ("parent", "Parent", None, False, False, None),
]
# custom fields: name, schema type, schema custom
_DC_CUSTOM = [("Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint"),
              ("Epic Name", "string", "com.pyxis.greenhopper.jira:gh-epic-label"),
              ("Story Points", "number", "com.atlassian.jira.plugin.system.customfieldtypes:float"),
              ("Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank")]
_CLOUD_CUSTOM = [("Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint"),
                 ("Story point estimate", "number", "com.pyxis.greenhopper.jira:jsw-story-points"),
                 ("Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank"),
                 ("Start date", "date", "com.atlassian.jira.plugin.system.customfieldtypes:datepicker")]


def fields_json(fake: FakeJira) -> list[dict[str, Any]]:
    """`GET /rest/api/{2,3}/field`: every field of the site."""
    out = []
    for field_id, name, kind, orderable, searchable, clauses in _SYSTEM:
        field: dict[str, Any] = {"id": field_id, "key": field_id, "name": name, "custom": False,
                                 "orderable": orderable, "navigable": True, "searchable": searchable,
                                 "clauseNames": clauses or [field_id]}
        if kind is not None:
            field["schema"] = {"type": kind, "system": field_id}
        out.append(field)
    custom = list(_CLOUD_CUSTOM if fake.cloud else _DC_CUSTOM)
    ids = iter(range(10020, 10100))
    named = [(f"customfield_{next(ids)}", *c) for c in custom]
    if not fake.cloud and fake.epic_link_field:
        named.insert(1, (fake.epic_link_field, "Epic Link", "any", EPIC_LINK_SCHEMA))
    for field_id, name, kind, schema_custom in named:
        number = int(field_id.rsplit("_", 1)[-1])
        out.append({"id": field_id, "key": field_id, "name": name, "untranslatedName": name, "custom": True,
                    "orderable": True, "navigable": True, "searchable": True,
                    "clauseNames": [f"cf[{number}]", name],
                    "schema": {"type": kind, "custom": schema_custom, "customId": number}})
    return out


def is_subtask(issue_type: str) -> bool:
    return issue_type in SUBTASK_TYPES


def parent_json(fake: FakeJira, key: str) -> dict[str, Any]:
    """The `parent` of a child: the parent's id, key, self and a few of its fields."""
    parent = fake.issues[key]
    type_id = fake._issue_type_id(parent.issue_type)
    issue_type: dict[str, Any] = {"self": f"{fake.url}/rest/api/2/issuetype/{type_id}", "id": type_id,
                                  "name": parent.issue_type, "subtask": is_subtask(parent.issue_type)}
    if fake.cloud:
        issue_type["hierarchyLevel"] = 1 if parent.issue_type == "Epic" else 0
    return {"id": parent.id, "key": parent.key, "self": f"{fake.url}/rest/api/2/issue/{parent.id}",
            "fields": {"summary": parent.summary, "status": fake.status_json(parent.status),
                       "priority": {"self": f"{fake.url}/rest/api/2/priority/{_PRIORITY['id']}", **_PRIORITY},
                       "issuetype": issue_type}}


def parent_fields(issue: FakeIssue) -> dict[str, Any]:
    """What an issue's `fields` say of its parent (nothing on Cloud for an issue without one)."""
    fake = issue.fake
    if fake.cloud or is_subtask(issue.issue_type):
        return {"parent": parent_json(fake, issue.parent)} if issue.parent else {}
    return {fake.epic_link_field: issue.parent} if fake.epic_link_field else {}


def parent_item(issue: FakeIssue, before: str | None, after: str | None) -> dict[str, Any]:
    """The changelog item Jira writes when the issue's parent (or epic) changes."""
    fake = issue.fake
    ids = [fake.issues[k].id if k in fake.issues else None for k in (before, after)]
    if fake.cloud or is_subtask(issue.issue_type):
        return {"field": "IssueParentAssociation", "fieldtype": "jira", "from": ids[0], "fromString": before,
                "to": ids[1], "toString": after}
    return {"field": "Epic Link", "fieldtype": "custom", "fieldId": fake.epic_link_field, "from": ids[0],
            "fromString": before, "to": ids[1], "toString": after}
