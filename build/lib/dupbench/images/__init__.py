"""Images from files: what a folder scan uses (scan), reading one file as RGB (read), and decoding
many at the size a method needs, in batches (decode)."""
