"""Slack: the Bolt app, its listeners and Block Kit renderers."""
