"""Every workspace here talks to a local SMTP server and retries alerts fast, as in tests/alerts.

The fixtures are those of tests/alerts/conftest.py (a real webhook server, a real SMTP server
and the ``workspace_dir`` pointed at it), shared rather than copied.
"""

from tests.alerts.conftest import hook, hook_factory, inbox, workspace_dir

__all__ = ["hook", "hook_factory", "inbox", "workspace_dir"]
