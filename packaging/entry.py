"""Entry point of the frozen (PyInstaller) app: the same dispatcher as the `fsr-studio` console script.

With no arguments or photo paths it opens the window; `fsr-studio train ...` / `prepare ...` run the trainer, which is
how the fine-tune dialog starts training from a bundle (there is no separate Python to run `-m app` with).
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # data-loader workers re-enter here in a frozen app
    from app.cli import main

    sys.exit(main())
