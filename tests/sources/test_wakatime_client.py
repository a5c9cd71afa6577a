"""A real WakaTime client, configured only through `~/.wakatime.cfg`, reports to Research Bridge.

The client is the legacy pure-Python `wakatime` package from PyPI (13.1.0: the last release
that is the client itself; 14.x only downloads the Go wakatime-cli). It needs an older
Python than the project's, so a session fixture builds a venv with one (3.6-3.10) and pip.
It sends exactly what the IDE plugins send: `Authorization: Basic base64(key)`, the
`User-Agent` and `X-Machine-Name` headers, a JSON array to `api_url`, and it keeps what the
server did not accept in its offline queue (`~/.wakatime.db`) for the next run.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import create_web_app
from bot.clock import utc_now
from bot.config import settings_from_mapping
from bot.ingest.keys import issue_key, revoke_keys
from bot.models import Heartbeat
from bot.store import Store
from tests.support.live import serve

WAKATIME = "wakatime==13.1.0"
ADA = "U0ADA0001"
AUTH_ERROR = 104  # wakatime.constants.AUTH_ERROR: the server answered 401
_OFFLINE_HINTS = ("NewConnectionError", "Temporary failure in name resolution", "Name or service not known",
                  "Network is unreachable", "Could not fetch URL", "ConnectTimeoutError", "ProxyError",
                  "No matching distribution found for wakatime")


def _interpreters() -> list[str]:
    """Pythons old enough for the legacy client: $WAKATIME_TEST_PYTHON, PATH, then pyenv."""
    found = [os.environ.get("WAKATIME_TEST_PYTHON", "")]
    for minor in (9, 8, 7, 6, 10):
        found.append(shutil.which(f"python3.{minor}") or "")
        root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
        found += sorted(glob.glob(f"{root}/versions/3.{minor}.*/bin/python3.{minor}"), reverse=True)
        found += sorted(glob.glob(f"/root/.pyenv/versions/3.{minor}.*/bin/python3.{minor}"), reverse=True)
    return [p for p in dict.fromkeys(found) if p and os.access(p, os.X_OK)]


def _clean_env(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(("WAKATIME", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))}
    if home is not None:
        env.update(HOME=str(home), NO_PROXY="*", no_proxy="*")
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            env.pop(proxy, None)
    return env


@pytest.fixture(scope="session")
def wakatime_bin(tmp_path_factory) -> str:
    """The `wakatime` console script of a fresh venv on an older Python."""
    pythons = _interpreters()
    if not pythons:
        pytest.skip("no Python 3.6-3.10 interpreter for the legacy wakatime client "
                    "(set WAKATIME_TEST_PYTHON to one)")
    venv = tmp_path_factory.mktemp("wakatime-venv")
    failures = []
    for python in pythons:
        made = subprocess.run([python, "-m", "venv", str(venv)], capture_output=True, text=True, check=False,
                              env=_clean_env(), timeout=120)
        if made.returncode != 0:
            failures.append(f"{python}: venv: {made.stderr.strip()[-300:]}")
            shutil.rmtree(venv, ignore_errors=True)
            continue
        pip = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
             "--no-input", "--retries", "1", "--timeout", "20", WAKATIME],
            capture_output=True, text=True, env=_clean_env(), timeout=240, check=False)
        if pip.returncode != 0:
            output = pip.stdout + pip.stderr
            if any(hint in output for hint in _OFFLINE_HINTS):
                pytest.skip(f"PyPI unreachable, cannot install {WAKATIME}: {output.strip()[-300:]}")
            pytest.fail(f"pip install {WAKATIME} failed with {python}:\n{output[-2000:]}")
        script = venv / "bin" / "wakatime"
        version = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, check=False)
        if version.returncode == 0 and "13.1.0" in version.stdout + version.stderr:
            return str(script)
        failures.append(f"{python}: wakatime --version: {(version.stdout + version.stderr).strip()[-300:]}")
        shutil.rmtree(venv, ignore_errors=True)
    pytest.skip("no interpreter runs the legacy wakatime client: " + "; ".join(failures))


@pytest.fixture
def server(tmp_path):
    """Research Bridge on a loopback port (real clock), its store and a key for Ada."""
    store = Store(tmp_path / "bridge.db")
    settings = settings_from_mapping({"timezone": "UTC", "streams": {"research": ["research-*"]}}, {})
    key = issue_key(store, ADA, utc_now())
    with serve(create_web_app(settings, store)) as url:
        yield url, store, key


def _home(tmp_path: Path, url: str, key: str) -> Path:
    """A HOME whose only WakaTime configuration is `~/.wakatime.cfg` with the two lines."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".wakatime.cfg").write_text(
        f"[settings]\napi_url = {url}/api/v1/users/current/heartbeats.bulk\napi_key = {key}\n")
    return home


def _send(wakatime_bin: str, home: Path, entity: Path, at: float) -> subprocess.CompletedProcess:
    args = [wakatime_bin, "--entity", str(entity), "--time", f"{at:.6f}", "--project", "research-x",
            "--write", "--plugin", "vscode/1.85.0 vscode-wakatime/4.0.0", "--verbose"]
    return subprocess.run(args, env=_clean_env(home), cwd=str(home), capture_output=True, text=True, timeout=60, check=False)


def _queued(home: Path) -> int:
    """Heartbeats waiting in the client's offline queue."""
    db = home / ".wakatime.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return conn.execute("SELECT COUNT(*) FROM heartbeat_2").fetchone()[0] if "heartbeat_2" in tables else 0


def _log(home: Path, proc: subprocess.CompletedProcess) -> str:
    log = home / ".wakatime.log"
    return f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}\n" + (log.read_text()[-3000:] if log.exists() else "")


def _project_file(tmp_path: Path) -> Path:
    entity = tmp_path / "research-x" / "model.py"
    entity.parent.mkdir(exist_ok=True)
    entity.write_text("import torch\n\nmodel = torch.nn.Linear(4, 2)\n")
    return entity


def test_the_legacy_wakatime_client_reports_through_wakatime_cfg(wakatime_bin, server, tmp_path):
    url, store, key = server
    home, entity = _home(tmp_path, url, key), _project_file(tmp_path)
    at = time.time() - 60

    proc = _send(wakatime_bin, home, entity, at)

    assert proc.returncode == 0, _log(home, proc)
    assert _queued(home) == 0, "the client queued the heartbeat for retry: the server's answer was not a success"
    rows = store.heartbeats_between(ADA, 0, 1e12)
    assert len(rows) == 1, _log(home, proc)
    hb: Heartbeat = rows[0]
    assert (hb.slack_user_id, hb.entity, hb.type, hb.project, hb.is_write) == (
        ADA, str(entity), "file", "research-x", True)
    assert abs(hb.time - at) < 0.001
    assert hb.language == "Python"
    assert "wakatime/13.1.0" in hb.editor and "vscode-wakatime/4.0.0" in hb.editor
    assert hb.machine == socket.gethostname()
    day = datetime.fromtimestamp(at, UTC).date()  # a lone heartbeat: a day with data, 0 s
    assert [(r.focus_seconds, r.active_seconds) for r in store.focus_days(day, day, [ADA])] == [(0.0, 0.0)]


def test_a_revoked_key_keeps_heartbeats_in_the_clients_queue_until_a_new_key(wakatime_bin, server, tmp_path):
    url, store, key = server
    revoke_keys(store, ADA, utc_now())
    home, entity = _home(tmp_path, url, key), _project_file(tmp_path)
    at = time.time() - 120

    refused = _send(wakatime_bin, home, entity, at)

    assert refused.returncode == AUTH_ERROR, _log(home, refused)
    assert store.heartbeats_between(ADA, 0, 1e12) == []
    assert _queued(home) == 1  # nothing lost: the client keeps it for later

    home = _home(tmp_path, url, issue_key(store, ADA, utc_now()))
    accepted = _send(wakatime_bin, home, entity, at + 60)

    assert accepted.returncode == 0, _log(home, accepted)
    assert _queued(home) == 0
    times = [h.time for h in store.heartbeats_between(ADA, 0, 1e12)]
    assert len(times) == 2 and abs(times[0] - at) < 0.001 and abs(times[1] - (at + 60)) < 0.001
