"""The model lifecycle: versions moving between statuses, and the owner's decisions that move them.

- :mod:`.transitions`: shadow, go live, rollback (by hand and automatic), retire; the lifecycle lock;
- :mod:`.gate`: the promotion gate's checklist, with :mod:`.challenger` and :mod:`.cause`;
- :mod:`.decisions`: promotion decisions opened, approved, rejected, withdrawn;
- :mod:`.authorization`: the owner's standing pre-authorisation;
- :mod:`.stalled`: stalled-decision alerts and escalation;
- :mod:`.review`: the scheduler's pass over one charter.
"""
