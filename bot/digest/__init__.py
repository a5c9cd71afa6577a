"""Weekly channel digests: the week's figures (`compute`), when they are due (`period`),
and posting each one exactly once (`deliver`). Rendering lives in `bot.slack.digest_blocks`
(Block Kit and text) and `bot.slack.charts` (the PNG)."""
