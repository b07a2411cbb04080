"""Live data plumbing: sources, contracts, quarantine, ingestion, labels, segment expressions."""
