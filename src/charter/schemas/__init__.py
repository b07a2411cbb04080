"""The results a user or a script sees, as pydantic models: the contract of every ``--json`` output.

This is the bottom layer: it imports pydantic and nothing else of charter's, so every other layer
(the CLI, the HTTP server, the services) may use it. Each module groups one area's results;
:mod:`charter.schemas.catalog` names them all for ``charter schema --results`` and docs/results.md.
A result class elsewhere (``VersionInfo``, ``IngestReport``...) builds its model in ``to_schema()``
and its ``to_dict()`` is that model's JSON form, so the keys live in one place.
"""
