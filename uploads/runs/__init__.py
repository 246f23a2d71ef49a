"""The plumbing every run shares, Raptor Maps upload or WattCarbon sync: leases, the run's life, the
horizon, keyset watermarks, schedules, what waits, and which task is running."""
