"""The protocol and the metrics: pure functions of score matrices and groups."""
