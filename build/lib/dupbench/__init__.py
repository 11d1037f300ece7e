"""dupbench, the library the benchmark stands on: methods (dupbench.methods), images from files
(dupbench.images), the feature cache (dupbench.features), grouping (dupbench.grouping) and the
finder (dupbench.finder, `dupbench find`). It never imports the benchmark (experiments/)."""
