"""Agency server rooms as real hosts, for tests and the local demo (`pdn estate`)."""
