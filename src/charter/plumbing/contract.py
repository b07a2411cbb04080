"""Where :func:`validate` lived before the engine seam; kept so that existing imports still work.

Validation now goes through an engine (:func:`charter.engines.base.engine_for`) with the
contract's rules (:func:`charter.engines.rules.contract_rules`); the Polars compiler is
:mod:`charter.engines.polars.contract`.
"""

from __future__ import annotations

from charter.engines.polars.contract import SeenKeys, ValidationResult, validate
from charter.engines.rules import VIOLATIONS, BatchRuleResult

__all__ = ["VIOLATIONS", "BatchRuleResult", "SeenKeys", "ValidationResult", "validate"]
