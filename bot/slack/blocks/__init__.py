"""Block Kit renderers: `kit` (the shared helpers and limits), one module per feature, and
the digest's chart. Pure functions from query results to typed `slack_sdk` blocks."""
