"""Research repository activity from push webhooks: GitHub `push` and `create`, GitLab Push
Hook. Pure parsers (`parse_github_push`, `parse_github_create`, `parse_gitlab_push`) turn a
payload into the commits and branches it carries, or `Ignored`; `store_activity` stores them
once per delivery (`bot.ingest.repos`). The routers in `bot.sources.github` and
`bot.sources.gitlab` check the signature or token and dispatch here.

Only repositories matching `[streams] research_repos` count (GitHub `repository.full_name`,
GitLab `project.path_with_namespace`); any other one is acknowledged (202) and nothing is
read further or stored.

Normalisation (documented in the README):
- GitHub `push` to `refs/heads/*`: each entry of `commits` is a RepoCommit (sha `id`, time
  `timestamp`, author `username` / `email` / `name`). `created: true` also gives a RepoBranch,
  created at `repository.pushed_at` (epoch seconds; else the time received) by `sender.login`
  and `pusher.email`. `deleted: true` and `refs/tags/*` pushes are ignored (202).
- GitHub `create`: `ref_type` "branch" is a RepoBranch created when received, by
  `sender.login`; a tag is ignored.
- GitLab Push Hook to `refs/heads/*`: each entry of `commits` (`id`, `timestamp`,
  `author.name` / `author.email`) is a RepoCommit, with author_login `user_username` only when
  the commit's author e-mail is the pusher's `user_email` (whoever pushes may push others'
  commits). `before` all zeros gives a RepoBranch (received time, `user_username` /
  `user_email`); `after` all zeros (a deleted branch) is ignored, and Tag Push Hooks never
  reach here. GitLab redacts e-mails on some instances (`""` or `"[REDACTED]"`): no e-mail.

What a payload leaves out cannot be counted: GitLab lists at most 20 commits a hook (the
newest; `total_commits_count` holds the real number) and GitHub at most 2,048, so a larger
push is counted by the commits it lists. A push listing more than 5,000 commits is refused
(400). Commits count once by (source, repo, sha), however many pushes or branches carry them;
a branch counts once, at its first creation (GitHub's `create` and the `push` that created
the branch are one branch). A commit dated before 2000 or more than a day ahead (its author's
clock was wrong) is counted when it was pushed, rather than failing the whole push.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable, NamedTuple

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.config import ResearchSettings
from bot.ingest.repos import record_repo_activity
from bot.models import RepoBranch, RepoCommit
from bot.sources.webhooks import (
    EARLIEST,
    MAX_AHEAD,
    Ignored,
    PayloadError,
    check_time,
    first,
    ignored,
    parse_time,
    pick,
    read_time,
)
from bot.store import Store

UTC = timezone.utc
GITHUB = "github"
GITLAB = "gitlab"
MAX_COMMITS = 5_000  # GitHub lists at most 2,048 commits a push, GitLab 20
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
NOT_RESEARCH = "not a research repository"
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")  # SHA-1, or SHA-256 object format
_ZERO_SHA = re.compile(r"^0{40}(0{24})?$")


class RepoActivity(NamedTuple):
    """What one push or create delivery carries for a research repository."""

    commits: tuple[RepoCommit, ...] = ()
    branches: tuple[RepoBranch, ...] = ()


Parser = Callable[[dict, datetime, ResearchSettings], "RepoActivity | Ignored"]


def email_or_none(value: str | None) -> str | None:
    """An e-mail address, or None for none or anything without "@": GitLab's redacted
    e-mails (`""`, `"[REDACTED]"`) are no e-mail, and two of them are not a match."""
    if value is None or "@" not in value:
        return None
    return value.strip()


def commit_entries(payload: dict) -> list[tuple[str, dict]]:
    """(path, entry) of each commit listed in `commits` (none when absent), bounded."""
    entries = payload.get("commits")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise PayloadError("commits must be a list")
    if len(entries) > MAX_COMMITS:
        raise PayloadError(f"commits lists more than {MAX_COMMITS} commits")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise PayloadError(f"commits[{i}] must be an object")
    return [(f"commits[{i}]", entry) for i, entry in enumerate(entries)]


def commit_fields(path: str, entry: dict, now: datetime) -> tuple[str, datetime, str | None, str | None]:
    """(sha, time, author e-mail, author name) of one commit entry; errors name `path`."""
    wrapped = {path: entry}  # so `pick` names the field as "commits[3].id"
    sha = pick(wrapped, f"{path}.id").strip().lower()
    if not _SHA.match(sha):
        raise PayloadError(f"{path}.id is not a commit sha")
    at = read_time(entry.get("timestamp"), f"{path}.timestamp")
    if at < EARLIEST or at > now + MAX_AHEAD:  # the author's clock was off: count it when pushed
        at = now
    return sha, at, email_or_none(first(entry, "author.email")), first(entry, "author.name")


def branch_of(ref: str) -> str | None:
    """The branch name of a `refs/heads/...` ref, else None."""
    name = ref.removeprefix(BRANCH_PREFIX)
    return name if ref.startswith(BRANCH_PREFIX) and name else None


def other_ref(ref: str) -> Ignored:
    """Why a push to a ref that is not a branch (a tag, a note) is not counted."""
    if ref.startswith(TAG_PREFIX):
        return Ignored("a tag push (only branches and their commits are counted)")
    return Ignored(f"ref {ref[:60]!r} is not a branch")


def nothing_new(activity: RepoActivity) -> RepoActivity | Ignored:
    """`activity`, or Ignored when it holds no commit and no new branch (a push of nothing new)."""
    return activity if activity.commits or activity.branches else Ignored("a push with no commits and no new branch")


# -- GitHub -------------------------------------------------------------------------------------


def pushed_at(payload: dict, now: datetime) -> datetime:
    """When a GitHub push happened: `repository.pushed_at` (epoch seconds in push events, ISO
    8601 elsewhere), else `now`."""
    value = pick(payload, "repository.pushed_at", (int, float, str), required=False)
    if value is None:
        return now
    if isinstance(value, str):
        return parse_time(value, "repository.pushed_at", now)
    try:
        at = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError("repository.pushed_at is out of range") from None
    return check_time(at, "repository.pushed_at", now)


def parse_github_push(payload: dict, now: datetime, research: ResearchSettings) -> RepoActivity | Ignored:
    """A GitHub `push` to a research repository's branch as its commits (and the branch, when
    the push created it). Deletions, tags and other repositories are Ignored. GitHub lists at
    most 2,048 commits a push: the rest cannot be counted."""
    repo = pick(payload, "repository.full_name")
    if not research.is_research_repo(repo):
        return Ignored(NOT_RESEARCH)
    ref = pick(payload, "ref")
    if pick(payload, "deleted", bool, required=False):
        return Ignored("a deleted ref (nothing was pushed)")
    branch = branch_of(ref)
    if branch is None:
        return other_ref(ref)
    commits = []
    for path, entry in commit_entries(payload):
        sha, at, email, name = commit_fields(path, entry, now)
        commits.append(RepoCommit(GITHUB, repo, sha, at, first(entry, "author.username"), email, name))
    branches: tuple[RepoBranch, ...] = ()
    if pick(payload, "created", bool, required=False):
        branches = (RepoBranch(GITHUB, repo, branch, pushed_at(payload, now), first(payload, "sender.login"),
                               email_or_none(first(payload, "pusher.email"))),)
    return nothing_new(RepoActivity(tuple(commits), branches))


def parse_github_create(payload: dict, now: datetime, research: ResearchSettings) -> RepoActivity | Ignored:
    """A GitHub `create` of a branch on a research repository as that branch, created `now`
    by `sender.login`; a created tag (or another repository) is Ignored."""
    repo = pick(payload, "repository.full_name")
    if not research.is_research_repo(repo):
        return Ignored(NOT_RESEARCH)
    ref_type = pick(payload, "ref_type")
    if ref_type != "branch":
        return Ignored(f"a {ref_type[:40]} was created (only branches are counted)")
    branch = pick(payload, "ref").removeprefix(BRANCH_PREFIX)
    if not branch:
        raise PayloadError("ref is missing")
    return RepoActivity(branches=(RepoBranch(GITHUB, repo, branch, now, first(payload, "sender.login")),))


GITHUB_PARSERS: dict[str, Parser] = {"push": parse_github_push, "create": parse_github_create}


# -- GitLab -------------------------------------------------------------------------------------


def parse_gitlab_push(payload: dict, now: datetime, research: ResearchSettings) -> RepoActivity | Ignored:
    """A GitLab Push Hook to a research project's branch as its commits (and the branch, when
    `before` is all zeros). A deleted branch or another project is Ignored. GitLab lists the
    newest 20 commits only (`total_commits_count` has the total): the rest cannot be counted."""
    repo = pick(payload, "project.path_with_namespace")
    if not research.is_research_repo(repo):
        return Ignored(NOT_RESEARCH)
    ref = pick(payload, "ref")
    if _ZERO_SHA.match(pick(payload, "after")):
        return Ignored("a deleted branch (nothing was pushed)")
    branch = branch_of(ref)
    if branch is None:
        return other_ref(ref)
    username = first(payload, "user_username")
    user_email = email_or_none(first(payload, "user_email"))
    commits = []
    for path, entry in commit_entries(payload):
        sha, at, email, name = commit_fields(path, entry, now)
        own = email is not None and user_email is not None and email.casefold() == user_email.casefold()
        commits.append(RepoCommit(GITLAB, repo, sha, at, username if own else None, email, name))
    created = _ZERO_SHA.match(pick(payload, "before", required=False) or "")
    branches = (RepoBranch(GITLAB, repo, branch, now, username, user_email),) if created else ()
    return nothing_new(RepoActivity(tuple(commits), branches))


# -- storing ------------------------------------------------------------------------------------


async def store_activity(store: Store, source: str, delivery: str | None, activity: RepoActivity | Ignored,
                         received_at: datetime, event: str) -> JSONResponse:
    """202 for Ignored; else the activity stored once per delivery id, and what was stored."""
    if isinstance(activity, Ignored):
        return ignored(activity.reason)
    result: dict[str, Any] = await run_in_threadpool(record_repo_activity, store, source, delivery,
                                                     activity.commits, activity.branches, received_at)
    return JSONResponse({"event": event, **result})
