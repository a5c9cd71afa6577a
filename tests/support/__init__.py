"""What several test modules share: signed Slack requests, a live server, record builders.

Fixtures every module may use are in `tests/conftest.py`; fake services are in `tests/fakes/`."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
FIXTURES = ROOT / "tests" / "fixtures"  # payloads captured from the real services
