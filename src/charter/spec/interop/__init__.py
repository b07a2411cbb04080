"""Data contracts from and to other standards: ODCS v3, Great Expectations, Pandera.

Each reader turns a document of its standard into an :class:`~.common.ImportedContract`: the
charter's field contracts, key, event time, freshness and volume it could map, and every part it
could not (:class:`~.common.Unmapped`, listed to the user, never dropped in silence).
:mod:`.writing` puts an imported contract into ``charters/NAME.yaml`` (a new file from the
scaffold, or the ``data`` block of an existing one replaced, the rest of the file kept as
written); :mod:`.odcs` also writes a charter's data contract as an ODCS v3 document.
"""
