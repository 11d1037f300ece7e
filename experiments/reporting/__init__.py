"""Everything a person reads: labels, computed findings, plots, generated README/docs blocks, REPORT.md."""
