"""Research Bridge: research handoffs, focus time and ML pipeline reliability, in Slack."""

__version__ = "0.1.0"
