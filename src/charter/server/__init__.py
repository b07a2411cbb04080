"""The HTTP API (``charter serve``): :func:`charter.server.app.create_app` is the ASGI factory."""

from __future__ import annotations

from charter.server.app import create_app

__all__ = ["create_app"]
