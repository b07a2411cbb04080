"""The monitoring kit (a charter, a trained model, live weeks) serves the use-case tests too."""

from tests.monitoring.conftest import mkit, model_file

__all__ = ["mkit", "model_file"]
