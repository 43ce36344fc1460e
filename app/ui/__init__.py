"""Qt views, dialogs and the controller of the desktop app (the only part of the project that imports Qt)."""
