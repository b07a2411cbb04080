"""Use cases: what every surface (the CLI, the HTTP server, the scheduler, the demo, the Python
API) calls, each taking a workspace — and through it the acting :class:`~charter.context.Context`
— owning its unit of work and composing what belongs together.

- :mod:`.monitoring`: ``monitor`` evaluates the windows *and* raises and resolves their alerts;
- :mod:`.registry`: ``register`` stores a version with its monitoring reference in one
  transaction; ``verify_versions`` re-hashes every stored artifact of a charter;
- :mod:`.charters`: ``check_charters`` validates every charter file (or one);
- :mod:`.oversight`: ``suspend`` / ``resume``, human oversight (the model stops deciding);
- :mod:`.trace`: ``trace`` / ``trace_key``, what one prediction rests on;
- :mod:`.lifecycle`: ``review``, the lifecycle's own pass (rollback, promotion, moot and stalled
  decisions).

The domain packages below (lifecycle, alerts, monitoring, registry, …) never import this one;
``pyproject.toml`` ``[tool.importlinter]`` holds the layers. Each module imports only what its
use case needs (``charter check`` must start fast).
"""
