"""Project-wide helpers shared by methods/ and experiments/: the one error type users see, and
file writing."""
