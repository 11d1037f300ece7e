"""`dupbench find`: the finder (find), its choice of method and rule (recommend, thresholds.json), its
command line (cli), its report (html) and its file moves (moves)."""
