"""What every HTTP request meets, whatever its endpoint: the body limits and deadlines
(`limits`), the one JSON error shape and its handlers (`errors`), and the priority of
ingest over Slack answers (`priority`). Imports nothing of bot but the ground; the app
itself is assembled in `bot.app`."""
