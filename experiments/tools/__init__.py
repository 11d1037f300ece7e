"""Command-line tools built on the runners (the regression check, benchmarks); runners never import them."""
