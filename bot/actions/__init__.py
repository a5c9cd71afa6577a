"""What people do from Slack that writes to Jira (claim a handoff, ...): each action checks
the store, makes the Jira calls through `bot.sources`, and records Jira's answer through
`bot.ingest`, so our store only ever says what Jira says. Called by the Slack listeners
through callables the composition root binds; never imports Slack itself."""
