"""A model must read only what the charter gives it: its input names against the data contract.

At scoring time a version is handed the charter's feature columns (``data.features``, or every
``data.fields`` entry but the key, the event time and the prediction column) and nothing else. A
model that names an input the charter does not give it would fail on every row of every batch,
so :func:`check_inputs` refuses it at registration instead, naming the missing inputs.

The names come from the model itself: scikit-learn's ``feature_names_in_``, the ONNX graph's
input names (one input per column), the MLflow signature's input names. A model that does not
name its inputs (an entrypoint, one ONNX matrix input, an unnamed signature) is not checked.
"""

from __future__ import annotations

from charter.errors import RegistryError
from charter.registry.flavors import Predictor
from charter.spec.model import Charter

NAMES_FROM = {
    "sklearn": "its feature_names_in_",
    "onnx": "its ONNX input names",
    "mlflow": "its MLflow signature",
}


def missing_inputs(charter: Charter, predictor: Predictor) -> list[str]:
    """The inputs the model names that the charter does not give it, in the model's order."""
    wanted = predictor.features
    if wanted is None:
        return []
    given = set(charter.data.feature_columns())
    return [name for name in wanted if name not in given]


def check_classes(charter: Charter, predictor: Predictor, *, model: str) -> None:
    """A multiclass charter's model must predict exactly the classes of ``labels.values``
    (when it names them, as a scikit-learn classifier's ``classes_`` does)."""
    classes = charter.classes()
    named = getattr(predictor, "classes", None)
    if not classes or named is None or sorted(named) == sorted(classes):
        return
    raise RegistryError(
        f"{model} predicts the classes {', '.join(named)}, but charter {charter.name}'s "
        f"labels.values lists {', '.join(classes)}",
        hint="List exactly the model's classes in labels.values. Nothing was stored.",
    )


def check_inputs(charter: Charter, predictor: Predictor, *, model: str) -> None:
    """Raise :class:`RegistryError` naming every input of ``model`` the charter lacks (and, for
    a multiclass charter, a model whose classes differ from ``labels.values``)."""
    check_classes(charter, predictor, model=model)
    missing = missing_inputs(charter, predictor)
    if not missing:
        return
    given = charter.data.feature_columns()
    where = NAMES_FROM.get(predictor.flavor, "its input names")
    declared = "data.features" if charter.data.features is not None else "data.fields"
    raise RegistryError(
        f"{model} reads {len(missing)} input(s) that charter {charter.name} does not give it: "
        f"{', '.join(missing)} (from {where}); the charter's features ({declared}) are "
        f"{', '.join(given) or 'none'}",
        hint=f"Declare {', '.join(missing)} in the charter's {declared}, or register a model "
        "trained on the charter's features. Nothing was stored.",
    )
