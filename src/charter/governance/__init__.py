"""Change control of charter files: the terms in force, field-level diffs, owner acceptance.

* :mod:`~charter.governance.diff`: the field-level diff of two charter texts;
* :mod:`~charter.governance.terms`: the terms in force, and recording each change of a file;
* :mod:`~charter.governance.changes`: listing, accepting and rejecting pending changes.
"""
