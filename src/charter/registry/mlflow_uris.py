"""Models in an MLflow tracking server or registry: ``models:/NAME/3``, ``models:/NAME@ALIAS``,
``runs:/RUN_ID/PATH`` (the ``mlflow`` extra).

``charter register NAME models:/claims-fraud/3`` asks the MLflow tracking store that
``MLFLOW_TRACKING_URI`` names (MLflow reads it from the environment; unset, MLflow's own default)
for the model, downloads its folder into a private temporary one, and registers that as an
``mlflow`` flavor version: from there on it is an artifact like any other, stored by its tree
hash, loaded only while the hash matches. What MLflow knows of its origin is kept in the
version's lineage under ``mlflow``: the URI as given, the tracking URI (credentials masked), the
registered model, version and alias, the run id, experiment, and the run's metrics and
parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charter.errors import RegistryError
from charter.redaction import redact_url
from charter.registry.flavors.mlflow import INSTALL_HINT

_MODEL_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)/?$")
_MODEL_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/@]+)/?$")
_RUN = re.compile(r"^runs:/(?P<run>[0-9A-Za-z_-]+)/(?P<path>.+)$")
FORMS = "models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH"


def is_mlflow_uri(target: str) -> bool:
    """Whether ``target`` names a model in MLflow rather than a file or an entrypoint."""
    return target.startswith(("models:/", "runs:/"))


@dataclass(frozen=True)
class FetchedModel:
    """An MLflow model downloaded to ``directory``, with what MLflow records of its origin."""

    directory: Path
    lineage: dict[str, Any]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.lineage.get("params") or {})


def fetch(target: str, into: Path) -> FetchedModel:
    """Resolve ``target`` in the MLflow tracking store and download its model folder ``into``."""
    mlflow = _import_mlflow(target)
    from mlflow.exceptions import MlflowException

    tracking = mlflow.get_tracking_uri()
    client = mlflow.MlflowClient()
    lineage: dict[str, Any] = {"uri": target, "tracking_uri": redact_url(str(tracking))}
    try:
        run_id = _resolve(client, target, lineage)
        run = client.get_run(run_id)
        # a registered model downloads its folder's contents: give them a folder named for it
        named = lineage.get("registered_model")
        dest = into / f"{named}-v{lineage['model_version']}" if named else into
        dest.mkdir(parents=True, exist_ok=True)
        folder = mlflow.artifacts.download_artifacts(artifact_uri=target, dst_path=str(dest))
    except MlflowException as exc:
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        raise RegistryError(
            f"MLflow cannot give {target}: {message}",
            hint=f"Tracking URI: {lineage['tracking_uri']} (from MLFLOW_TRACKING_URI). "
            f"Name a model as {FORMS}. Nothing was stored.",
        ) from exc
    lineage.update(
        {
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "experiment_id": run.info.experiment_id,
            "metrics": dict(run.data.metrics),
            "params": dict(run.data.params),
        }
    )
    commit = run.data.tags.get("mlflow.source.git.commit")
    if commit:
        lineage["git_commit"] = commit
    directory = Path(folder)
    if not (directory / "MLmodel").is_file():
        raise RegistryError(
            f"{target} is not an MLflow model: its artifacts have no MLmodel file",
            hint="Name the folder a model was logged to (mlflow.<flavor>.log_model), e.g. "
            "runs:/RUN_ID/model. Nothing was stored.",
        )
    return FetchedModel(directory, lineage)


def _resolve(client: Any, target: str, lineage: dict[str, Any]) -> str:
    """The run id behind ``target``; records the registered model and version it names."""
    found = _MODEL_VERSION.match(target) or _MODEL_ALIAS.match(target)
    if found is not None:
        name = found["name"]
        if found.groupdict().get("alias"):
            version = client.get_model_version_by_alias(name, found["alias"])
            lineage["alias"] = found["alias"]
        else:
            version = client.get_model_version(name, found["version"])
        lineage.update({"registered_model": name, "model_version": str(version.version)})
        if not version.run_id:
            raise RegistryError(
                f"{target} (version {version.version}) was registered without a run",
                hint="charter records the run's metrics and parameters as lineage: register "
                "the model version from a run (mlflow.<flavor>.log_model). Nothing was stored.",
            )
        return str(version.run_id)
    run = _RUN.match(target)
    if run is None:
        raise RegistryError(
            f"{target!r} is not an MLflow model URI charter reads",
            hint=f"Use {FORMS} (a stage such as models:/NAME/Production is deprecated in MLflow: "
            "give the version or an alias).",
        )
    lineage["artifact_path"] = run["path"]
    return run["run"]


def _import_mlflow(target: str) -> Any:
    try:
        import mlflow
        import mlflow.artifacts
    except ImportError as exc:
        raise RegistryError(
            f"{target} is a model in MLflow, but MLflow is not installed", hint=INSTALL_HINT
        ) from exc
    return mlflow
