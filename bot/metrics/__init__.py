"""Pure metric functions: records and a `now` in, numbers out (no database, Slack or clock)."""
