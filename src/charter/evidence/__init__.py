"""Evidence packs: what an auditor asks for about one charter, built from the ledger, checkable
without the database (``charter evidence pack`` / ``charter evidence verify``)."""
