"""The schema, as an ordered list of sqlite-utils migrations.

Add a new migration function at the end; never edit one that has shipped.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("research_bridge")


@migrations()
def m001_jira(db: Database) -> None:
    """Jira issues, one row per changelog item, derived handoff cycles."""
    db.table("jira_issues").create(
        {
            "key": str,
            "id": str,
            "project": str,
            "summary": str,
            "issue_type": str,
            "status": str,
            "labels": str,  # JSON list
            "created": str,
            "updated": str,
            "url": str,
            "reporter_name": str,
            "reporter_email": str,
            "reporter_account_id": str,
            "assignee_name": str,
            "assignee_email": str,
            "assignee_account_id": str,
            "deleted_at": str,
        },
        pk="key",
        not_null={"id", "project", "created", "updated"},
    )
    db.table("jira_issues").create_index(["updated"])
    db.table("jira_issues").create_index(["id"])

    # One row per changelog *item*: a history entry can hold several items, even for the
    # same field, so items are keyed by (history id, position), never by field.
    db.table("jira_changelog").create(
        {
            "issue_key": str,
            "history_id": str,
            "item_index": int,
            "created": str,
            "field": str,
            "from_string": str,
            "to_string": str,
            "author_name": str,
            "author_email": str,
            "author_account_id": str,
        },
        pk=("issue_key", "history_id", "item_index"),
        not_null={"created", "field"},
    )

    db.table("handoff_cycles").create(
        {
            "issue_key": str,
            "cycle_no": int,
            "state": str,
            "requested_at": str,
            "requested_by_name": str,
            "requested_by_email": str,
            "requested_by_account_id": str,
            "picked_up_at": str,
            "picked_up_by_name": str,
            "delivered_at": str,
            "withdrawn_at": str,
        },
        pk=("issue_key", "cycle_no"),
        not_null={"state", "requested_at"},
    )
    for column in ("state", "requested_at", "picked_up_at", "delivered_at", "withdrawn_at"):
        db.table("handoff_cycles").create_index([column])


@migrations()
def m002_bookkeeping(db: Database) -> None:
    """Sync cursors, webhook de-duplication, Jira-to-Slack user links."""
    db.table("sync_state").create(
        {
            "source": str,
            "cursor": str,
            "last_attempt_at": str,
            "last_success_at": str,
            "last_error": str,
            "last_error_at": str,
            "items_last_run": int,
        },
        pk="source",
    )
    db.table("webhook_deliveries").create(
        {"source": str, "delivery_id": str, "received_at": str},
        pk=("source", "delivery_id"),
    )
    db.table("webhook_deliveries").create_index(["received_at"])
    db.table("user_links").create(
        {"jira_user": str, "slack_user_id": str, "how": str, "updated_at": str},
        pk="jira_user",
    )


@migrations()
def m003_focus(db: Database) -> None:
    """Heartbeat keys, raw heartbeats (kept for a retention), per person-day focus rollups,
    Slack profile cache and the focus alert ledger."""
    db.table("api_keys").create(
        {"key_hash": str, "slack_user_id": str, "created_at": str, "revoked_at": str, "last_used_at": str},
        pk="key_hash",
        not_null={"slack_user_id", "created_at"},
    )
    db.table("api_keys").create_index(["slack_user_id"])
    # id = hash of the heartbeat's identity (user, time, entity, ...): duplicates stored once.
    db.table("heartbeats").create(
        {
            "id": str,
            "slack_user_id": str,
            "time": float,
            "entity": str,
            "type": str,
            "category": str,
            "project": str,
            "branch": str,
            "language": str,
            "is_write": int,
            "editor": str,
            "machine": str,
            "received_at": float,
        },
        pk="id",
        not_null={"slack_user_id", "time", "entity"},
    )
    db.table("heartbeats").create_index(["slack_user_id", "time"])
    db.table("heartbeats").create_index(["time"])
    db.table("focus_days").create(
        {
            "slack_user_id": str,
            "day": str,  # the person's local date, YYYY-MM-DD
            "focus_seconds": float,
            "active_seconds": float,
            "research_seconds": float,
            "engineering_seconds": float,
            "blocks": int,
            "updated_at": str,
        },
        pk=("slack_user_id", "day"),
    )
    db.table("focus_days").create_index(["day"])
    db.table("slack_profiles").create(
        {"slack_user_id": str, "name": str, "tz": str, "updated_at": str},
        pk="slack_user_id",
    )
    # One row per message sent: (person, ISO week, kind) makes "at most one alert a week" a key.
    db.table("focus_alerts").create(
        {"slack_user_id": str, "iso_week": str, "kind": str, "sent_at": str, "average_seconds": float},
        pk=("slack_user_id", "iso_week", "kind"),
    )
    db.table("focus_alert_state").create(
        {"slack_user_id": str, "low": int, "changed_at": str},
        pk="slack_user_id",
    )


@migrations()
def m004_pipelines(db: Database) -> None:
    """Pipeline runs (one row per attempt), deployments, incidents."""
    db.table("pipeline_runs").create(
        {
            "source": str,
            "pipeline": str,
            "run_id": str,
            "attempt": int,
            "status": str,
            "finished_at": str,
            "started_at": str,
            "url": str,
            "commit_sha": str,
            "commit_at": str,
            "branch": str,
        },
        pk=("source", "pipeline", "run_id", "attempt"),
        not_null={"status", "finished_at"},
    )
    db.table("pipeline_runs").create_index(["finished_at"])
    db.table("pipeline_runs").create_index(["pipeline", "finished_at"])
    db.table("pipeline_runs").create_index(["commit_sha"])
    db.table("deployments").create(
        {
            "source": str,
            "deployment_id": str,
            "target": str,
            "version": str,
            "environment": str,
            "status": str,
            "finished_at": str,
            "is_production": int,
            "is_rollback": int,
            "commit_sha": str,
            "commit_at": str,
            "url": str,
        },
        pk=("source", "deployment_id"),
        not_null={"target", "status", "finished_at"},
    )
    db.table("deployments").create_index(["finished_at"])
    db.table("deployments").create_index(["target", "finished_at"])
    db.table("incidents").create(
        {
            "source": str,
            "incident_id": str,
            "title": str,
            "started_at": str,
            "resolved_at": str,
            "target": str,
            "deployment_id": str,
            "url": str,
        },
        pk=("source", "incident_id"),
        not_null={"started_at"},
    )
    db.table("incidents").create_index(["started_at"])


@migrations()
def m005_jira_incident_fields(db: Database) -> None:
    """Jira resolution date and components: incidents (time to restore, their target)."""
    db.table("jira_issues").add_column("resolved", str)
    db.table("jira_issues").add_column("components", str)  # JSON list of component names


@migrations()
def m006_pipeline_days(db: Database) -> None:
    """Per pipeline and UTC day, the final attempts that finished that day, by status: what
    `/pipelines` reads instead of a year of raw runs (kept up to date by Store.save_pipeline_runs)."""
    db.table("pipeline_days").create(
        {"source": str, "pipeline": str, "day": str, "runs": int, "success": int, "failed": int,
         "cancelled": int, "skipped": int},
        pk=("source", "pipeline", "day"),
    )
    # Covering: a window's totals are read from the index alone.
    db.table("pipeline_days").create_index(
        ["day", "pipeline", "source", "runs", "success", "failed", "cancelled", "skipped"], index_name="pipeline_days_by_day")
    db.execute(
        "INSERT INTO pipeline_days SELECT source, pipeline, substr(finished_at, 1, 10) AS day, COUNT(*),"
        " SUM(status = 'success'), SUM(status = 'failed'), SUM(status = 'cancelled'), SUM(status = 'skipped')"
        " FROM pipeline_runs r WHERE attempt = (SELECT MAX(attempt) FROM pipeline_runs x"
        " WHERE x.source = r.source AND x.pipeline = r.pipeline AND x.run_id = r.run_id)"
        " GROUP BY source, pipeline, day"
    )


@migrations()
def m007_pipeline_state(db: Database) -> None:
    """Per pipeline (and source): its latest final run and current failure streak, kept on
    write, so `/pipelines` needs no per-pipeline read of recent runs. The rows of a database
    that already had runs are derived here with the streak rule as it stood then, frozen in
    this migration, so a database always migrates the same way whatever the live code says."""
    db.table("pipeline_state").create(
        {"source": str, "pipeline": str, "last_run_id": str, "last_attempt": int, "last_status": str,
         "last_finished_at": str, "last_url": str, "streak": int},
        pk=("source", "pipeline"),
    )
    pairs = db.execute("SELECT DISTINCT source, pipeline FROM pipeline_runs").fetchall()
    for source, pipeline in pairs:
        rows = db.execute(
            "SELECT run_id, attempt, status, finished_at, url FROM pipeline_runs WHERE source = ? AND pipeline = ?"
            " ORDER BY finished_at", [source, pipeline]).fetchall()
        finals: dict[str, tuple] = {}
        for row in rows:  # each run's highest attempt
            if row[0] not in finals or row[1] > finals[row[0]][1]:
                finals[row[0]] = row
        ordered = sorted(finals.values(), key=lambda r: r[3])
        streak = 0
        for row in reversed(ordered):  # failed finals since the latest success; others passed over
            if row[2] == "failed":
                streak += 1
            elif row[2] == "success":
                break
        if ordered:
            run_id, attempt, status, finished_at, url = ordered[-1]
            db.table("pipeline_state").insert({"source": source, "pipeline": pipeline, "last_run_id": run_id,
                                               "last_attempt": attempt, "last_status": status,
                                               "last_finished_at": finished_at, "last_url": url, "streak": streak})


@migrations()
def m008_final_attempt_flag(db: Database) -> None:
    """Mark each run's final attempt, so the edges of a `/pipelines` window are counted from
    one covering index instead of a per-row MAX(attempt) lookup."""
    db.execute("ALTER TABLE pipeline_runs ADD COLUMN is_final INTEGER")
    db.execute(
        "UPDATE pipeline_runs SET is_final = (attempt = (SELECT MAX(attempt) FROM pipeline_runs x"
        " WHERE x.source = pipeline_runs.source AND x.pipeline = pipeline_runs.pipeline"
        " AND x.run_id = pipeline_runs.run_id))"
    )
    db.execute(
        "CREATE INDEX pipeline_runs_final_by_time ON pipeline_runs (finished_at, is_final, pipeline, source, status)"
    )


@migrations()
def m009_digest_deliveries(db: Database) -> None:
    """The digest ledger: one row per (channel, digest, ISO week), claimed before posting, so
    a digest is posted once across restarts, manual runs and overlapping jobs."""
    db.table("digest_deliveries").create(
        {"channel": str, "digest": str, "period": str, "status": str, "claim_token": str,
         "claimed_at": str, "first_claimed_at": str, "posted_at": str, "message_ts": str,
         "attempts": int, "outcome_known": int, "error": str, "chart": str, "chart_error": str},
        pk=("channel", "digest", "period"),
    )
    db.table("digest_deliveries").create_index(["status", "claimed_at"])


@migrations()
def m010_slack_posts_and_claims(db: Database) -> None:
    """The post ledger (one row per thing the bot posts once: a handoff's card, each tier of
    its escalation), claimed before posting like the digest ledger; and one claim row per
    handoff cycle, so exactly one Slack click writes to Jira."""
    db.table("slack_posts").create(
        {"kind": str, "key": str, "channel": str, "status": str, "claim_token": str, "claimed_at": str,
         "first_claimed_at": str, "attempts": int, "outcome_known": int, "message_ts": str, "posted_at": str,
         "error": str, "fingerprint": str, "updated_at": str, "final": int},
        pk=("kind", "key"),
    )
    db.table("slack_posts").create_index(["kind", "status", "final"])
    db.table("handoff_claims").create(
        {"issue_key": str, "cycle_no": int, "slack_user_id": str, "status": str, "started_at": str,
         "finished_at": str},
        pk=("issue_key", "cycle_no"),
    )


@migrations()
def m011_experiment_runs(db: Database) -> None:
    """Training and experiment runs from any tracking platform, one row per (source, run id)."""
    db.table("experiment_runs").create(
        {"source": str, "run_id": str, "experiment": str, "status": str, "started_at": str, "finished_at": str,
         "user": str, "jira_key": str, "url": str, "updated_at": str},
        pk=("source", "run_id"),
    )
    db.table("experiment_runs").create_index(["started_at"])


@migrations()
def m012_research_activity(db: Database) -> None:
    """Research repository activity (commits by sha, branches by name) and each Jira issue's
    parent, so initiatives find their children."""
    db.table("repo_commits").create(
        {"source": str, "repo": str, "sha": str, "committed_at": str, "author_login": str, "author_email": str,
         "author_name": str},
        pk=("source", "repo", "sha"),
    )
    db.table("repo_commits").create_index(["committed_at"])
    db.table("repo_branches").create(
        {"source": str, "repo": str, "branch": str, "created_at": str, "user_login": str, "user_email": str},
        pk=("source", "repo", "branch"),
    )
    db.table("repo_branches").create_index(["created_at"])
    db.table("jira_issues").add_column("parent_key", str)
    db.table("jira_issues").create_index(["parent_key"])
    db.table("jira_issues").create_index(["issue_type"])


@migrations()
def m013_research_covering_indexes(db: Database) -> None:
    """`/research` tallies five weeks of runs and commits per user: covering indexes let SQLite
    answer from the index alone instead of visiting every run's row."""
    db.execute("DROP INDEX IF EXISTS idx_experiment_runs_started_at")
    db.execute("CREATE INDEX experiment_runs_by_start ON experiment_runs"
               " (started_at, source, user, experiment, status, finished_at)")
    db.execute("DROP INDEX IF EXISTS idx_repo_commits_committed_at")
    db.execute("CREATE INDEX repo_commits_by_time ON repo_commits (committed_at, source, author_login, author_email)")


RESEARCH_TABLES = ("experiment_runs", "repo_commits", "repo_branches", "jira_issues", "jira_changelog",
                   "handoff_cycles", "user_links")


@migrations()
def m014_research_version(db: Database) -> None:
    """A counter bumped by triggers on every write to what the research metrics read, in any
    process (a sync job, a webhook, the CLI): `/research` recomputes only when it moved."""
    db.table("data_versions").create({"name": str, "version": int}, pk="name")
    db.table("data_versions").insert({"name": "research", "version": 0})
    bump = "UPDATE data_versions SET version = version + 1 WHERE name = 'research'"
    for table in RESEARCH_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            db.execute(f"CREATE TRIGGER {table}_{event.lower()}_research AFTER {event} ON {table}"
                       f" BEGIN {bump}; END")


@migrations()
def m015_runs_by_user(db: Database) -> None:
    """`/research mine` reads one person's runs: an index by (source, user, start) finds them
    without scanning five weeks of everyone's."""
    db.execute('CREATE INDEX experiment_runs_by_user ON experiment_runs (source, "user", started_at, experiment)')
