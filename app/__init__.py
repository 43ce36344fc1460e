"""FSR Studio application layer: the desktop GUI (PySide6) and the `fsr-studio` command dispatcher.

Importing this package does not import Qt; only the GUI modules do.
"""
