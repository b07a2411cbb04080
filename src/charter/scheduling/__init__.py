"""The scheduler (``charter run``): every charter's pipeline steps on its cadence, one store-wide lock.

- :mod:`.scheduler`: the pass and its steps;
- :mod:`.locks`: at most one scheduler per store.
"""
