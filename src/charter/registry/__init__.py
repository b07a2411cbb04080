"""The model registry: versions of a charter's model, stored by content hash with lineage.

The public face is small: :func:`register_version`, :func:`list_versions`, :func:`get_version`,
:func:`load_model` (which re-hashes the artifact before anything unpickles it),
:func:`verify_version` (the same check without loading) and the
:class:`Predictor` every flavor returns. Status changes (:func:`set_status`) are a building block
for the operations layer, which decides which transitions are allowed.
"""

from charter.registry.flavors import FLAVORS, Predictor
from charter.registry.versions import (
    STATUSES,
    VersionInfo,
    get_version,
    list_versions,
    load_model,
    register_version,
    set_status,
    verify_version,
)

__all__ = [
    "FLAVORS",
    "STATUSES",
    "Predictor",
    "VersionInfo",
    "get_version",
    "list_versions",
    "load_model",
    "register_version",
    "set_status",
    "verify_version",
]
