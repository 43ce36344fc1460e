"""User preferences as a plain dataclass stored as JSON in the platformdirs config folder (no Qt).

A JSON file rather than QSettings so the same preferences can be read by scripts and tests without a QApplication,
and so a broken value falls back to its default instead of breaking start-up.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.settings import RestoreSettings

ENV_CONFIG = "FSR_STUDIO_CONFIG"  # a folder; tests point it at a temporary one

DEVICES = ("auto", "cpu", "cuda")
FORMATS = ("auto", "png", "jpg", "webp", "tif")


@dataclass
class AppSettings:
    device: str = "auto"
    default_model: str = "auto"  # engine.auto: a model per face, chosen by the face's size in the photo
    detector: str = "dlib"
    detector_model: str = ""  # file or folder for insightface / yunet; empty for dlib
    scale: float = 2.0
    output_dir: str = ""  # empty: a "restored" folder beside each photo
    auto_restore: bool = True  # restore right after detection (one click for archivists)
    no_harm_check: bool = True  # engine.consistency: a face whose restoration contradicts the photo keeps its original
    portrait_faces: int = 4  # auto: a photo with at most this many faces gets the slower HD restorer from ~56 px
    export_format: str = "auto"
    export_quality: int = 95
    export_suffix: str = "_restored"
    compare_models: list[str] = field(default_factory=lambda: ["fsrnet", "fsrgan", "sparnet", "selfsr"])
    recent_folder: str = ""

    def normalised(self) -> "AppSettings":
        """A copy with out-of-range values replaced by defaults (a hand-edited file must not break the app)."""
        d = AppSettings()
        s = dataclasses.replace(self)
        if not isinstance(s.default_model, str) or not s.default_model.strip():
            s.default_model = d.default_model
        if not isinstance(s.no_harm_check, bool):
            s.no_harm_check = d.no_harm_check
        if s.device not in DEVICES:
            s.device = d.device
        if s.export_format not in FORMATS:
            s.export_format = d.export_format
        try:
            s.scale = float(min(max(float(s.scale), 1.0), 8.0))
        except (TypeError, ValueError):
            s.scale = d.scale
        if isinstance(s.portrait_faces, bool) or not isinstance(s.portrait_faces, int):
            s.portrait_faces = d.portrait_faces
        s.portrait_faces = min(max(s.portrait_faces, 0), 99)
        try:
            s.export_quality = int(min(max(int(s.export_quality), 1), 100))
        except (TypeError, ValueError):
            s.export_quality = d.export_quality
        if not isinstance(s.compare_models, list) or not all(isinstance(m, str) for m in s.compare_models):
            s.compare_models = d.compare_models
        return s

    def restore_settings(self) -> "RestoreSettings":
        """The engine's RestoreSettings for these preferences, built (and checked) once per job and passed whole
        through the backend to the engine. What the app does not let the user change keeps the engine's default
        (blend, colour match, paste mask, TTA, precision, batch size), as on the command line."""
        from engine.settings import RestoreSettings

        s = self.normalised()
        return RestoreSettings(scale=s.scale, detector=s.detector, detector_model=s.detector_model or None,
                               device=None if s.device == "auto" else s.device, no_harm=s.no_harm_check,
                               portrait_faces=s.portrait_faces)


def config_dir() -> Path:
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("fsr-studio", appauthor=False))


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> AppSettings:
    """Read the settings file; unknown keys are ignored and an unreadable file gives the defaults."""
    path = path or settings_path()
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return AppSettings()
    if not isinstance(raw, dict):
        return AppSettings()
    known = {f.name for f in dataclasses.fields(AppSettings)}
    try:
        return AppSettings(**{k: v for k, v in raw.items() if k in known}).normalised()
    except TypeError:
        return AppSettings()


def save_settings(settings: AppSettings, path: Path | None = None) -> Path:
    from engine.util import atomic_write

    path = path or settings_path()
    data = json.dumps(dataclasses.asdict(settings.normalised()), indent=2) + "\n"
    return atomic_write(path, data.encode("utf-8"))
