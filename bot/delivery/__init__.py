"""Posting to Slack on a schedule: weekly digests (exactly once per channel and week) and
private Focus Time alerts. Called by the jobs and the CLI; renders with `bot.slack.blocks`."""
