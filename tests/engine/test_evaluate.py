"""The evaluation set: LR faces synthesised by the data protocol when absent (`fsr-studio eval` itself:
tests/app/commands/test_eval.py)."""
import numpy as np

from engine.evaluate import load_eval_set


def test_eval_set_synthesises_lr_when_absent(tmp_path, shared_data):
    src = shared_data / "celeba_val128"
    (tmp_path / "HR").mkdir()
    for p in sorted((src / "HR").iterdir())[:3]:
        (tmp_path / "HR" / p.name).write_bytes(p.read_bytes())
    data = load_eval_set(tmp_path)
    given = load_eval_set(src, limit=3)
    assert data.lr_synthesised and not given.lr_synthesised
    assert data.lr[0].shape == (16, 16, 3) and data.landmarks is None
    # the shipped LR_x8 follows the same PIL bicubic protocol
    assert np.abs(data.lr[0].astype(int) - given.lr[0].astype(int)).max() <= 1
