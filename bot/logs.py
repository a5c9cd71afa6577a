"""Log lines that cannot be forged and carry no secret.

Every handler of the process (ours, uvicorn's access and error logs) formats through
`SafeFormatter`: control characters in a message (a `%0A` in a Slack user id, a header, a
path) are escaped, so one record is always one line; query-string credentials (`api_key=`,
`token=`) and every secret value registered with `register_secrets` are replaced by
`[redacted]`, in the message and in tracebacks. Loggers of libraries that write request and
response bodies at DEBUG (slack_sdk's Web API and response_url clients, Bolt) stay at INFO
even with `-v`: a body can carry an API key.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8  # shorter values are not redacted: they would blank out ordinary words
# Libraries whose DEBUG lines hold message bodies, response URLs or tokens.
BODY_LOGGERS = ("slack_sdk", "slack_bolt", "bot.slack.sdk")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]|\n")
_QUERY_SECRET = re.compile(r"(?i)\b(api_key|apikey|access_token|token|secret|password)=[^&\s\"']+")
_secrets: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Redact these values wherever they would appear in a log line (short values are
    ignored: a secret of a few characters would blank out ordinary words)."""
    _secrets.update(v for v in values if v and len(v) >= MIN_SECRET_LENGTH)


def redact(text: str) -> str:
    """`text` with query-string credentials and registered secrets replaced."""
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def one_line(text: str) -> str:
    """Control characters escaped (`\\n`, `\\x1b`...), so a value cannot start a new line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class SafeFormatter(logging.Formatter):
    """A Formatter whose message is one line and whose output holds no registered secret."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = one_line(redact(record.message))
        return super().formatMessage(record)

    def formatException(self, ei) -> str:  # noqa: N802
        return redact(super().formatException(ei))


class _StderrHandler(logging.StreamHandler):
    """A stream handler on whatever `sys.stderr` is when a record is written."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(verbose: bool = False) -> None:
    """The process's logging, as `logging.basicConfig` would set it up (nothing changes when
    the root logger already has handlers, e.g. under a test runner), with `SafeFormatter`;
    the body-logging libraries stay at INFO either way."""
    level = logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger()
    if not root.handlers:
        handler = _StderrHandler()
        handler.setFormatter(SafeFormatter(FORMAT))
        root.addHandler(handler)
        root.setLevel(level)
    for name in BODY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
