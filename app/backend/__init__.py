"""The app's only door into the engine: thin calls to its public functions, run by the UI's background jobs.

Nothing here re-implements the pipeline; it resolves the user's choices (settings, per-face models, extra weight
files from fine-tuning or import) into the arguments of ``engine.io``, ``engine.faces.detect``, ``engine.restore``,
``engine.export`` and ``engine.zoo`` calls. No Qt, so it is also what the tests drive directly. One module per
concern:

- :mod:`.models`: the model list (``auto``, every variant, fine-tuned and imported weights), what is missing,
  parameter counts, the folders and machine facts the dialogs show;
- :mod:`.photos`: reading a photo and finding its faces;
- :mod:`.restoring`: running models on faces (a :class:`RestoreRequest` with the user's ``RestoreSettings``) and
  composing the photo with a model per face;
- :mod:`.importing`: checking a checkpoint against the architectures and saving it into the models folder;
- :mod:`.exporting`: writing the photo, faces and prior maps with their provenance;
- :mod:`.metrics`: the Compare tab's identity and landmark measurements.

Every name is re-exported here, so ``from app import backend; backend.run_restore(...)`` keeps working.
"""
from __future__ import annotations

from .common import AUTO, Cancel, Progress, check_cancel
from .exporting import (ExportOptions, default_output_dir, export_outputs, export_priors, output_suffix,
                        provenance_for, provenance_with_faces, restore_and_export)
from .importing import ImportReport, guess_variants, import_checkpoint, same_architecture
from .metrics import compare_face, face_metrics, judge
from .models import (ModelChoice, auto_choice, bundled_folder, choice_map, cuda_available, describe_models,
                     detector_backends, find_weights, inference_summary, list_models, missing_message, model_specs,
                     models_folder, restore_variants)
from .photos import LoadedPhoto, detect, display_rgb8, load_and_detect, read_photo
from .restoring import (RestoreOutcome, RestoreRequest, compose, crop_protocol, merged, ran, restore, restore_signature,
                        run_restore)

__all__ = [
    "AUTO", "Cancel", "Progress", "check_cancel",
    "ExportOptions", "default_output_dir", "export_outputs", "export_priors", "output_suffix", "provenance_for",
    "provenance_with_faces", "restore_and_export",
    "ImportReport", "guess_variants", "import_checkpoint", "same_architecture",
    "compare_face", "face_metrics", "judge",
    "ModelChoice", "auto_choice", "bundled_folder", "choice_map", "cuda_available", "describe_models",
    "detector_backends", "find_weights", "inference_summary", "list_models", "missing_message", "model_specs",
    "models_folder", "restore_variants",
    "LoadedPhoto", "detect", "display_rgb8", "load_and_detect", "read_photo",
    "RestoreOutcome", "RestoreRequest", "compose", "crop_protocol", "merged", "ran", "restore", "restore_signature",
    "run_restore",
]
