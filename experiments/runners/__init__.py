"""The experiments: each runner takes a config, a data set and an output folder and writes its tables."""
