"""Text for the terminal: the CLI's exports and views, and the demo's, from query results."""
