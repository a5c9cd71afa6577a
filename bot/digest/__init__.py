"""Weekly channel digests: the week's figures (`compute`), when they are due (`period`),
and posting each one exactly once (`deliver`). Rendering lives in `bot.slack.blocks.digest`
(Block Kit and text) and `bot.slack.blocks.charts` (the PNG)."""
