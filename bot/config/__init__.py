"""Settings: secrets and deployment values from the environment, the rest from `bridge.toml`.

`load_settings()` validates everything at once; a bad or missing value raises
`ConfigError` naming the key and the form expected, so the app never starts
half-configured.
"""

from bot.config.reader import load_settings, settings_from_mapping
from bot.config.settings import (
    DEFAULT_DIGEST_NAME,
    DEFAULT_SECTIONS,
    SECTIONS,
    WEEKDAYS,
    AirflowSettings,
    ConfigError,
    DeliverySettings,
    DigestSettings,
    FocusSettings,
    JiraSettings,
    MlflowSettings,
    ResearchSettings,
    Settings,
    Team,
    is_channel_id,
)

__all__ = [
    "DEFAULT_DIGEST_NAME", "DEFAULT_SECTIONS", "SECTIONS", "WEEKDAYS", "AirflowSettings", "ConfigError", "DeliverySettings",
    "DigestSettings", "FocusSettings", "JiraSettings", "MlflowSettings", "ResearchSettings", "Settings", "Team", "is_channel_id", "load_settings",
    "settings_from_mapping",
]
