"""Faces in photos, split as facexlib does: detect -> align (per model protocol) -> (restore) -> paste back."""
