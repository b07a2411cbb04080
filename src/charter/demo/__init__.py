"""`charter demo`: the whole lifecycle on generated but realistic credit-default data."""
