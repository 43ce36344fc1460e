"""Each family's recipe lowers its reconstruction term on one fixed batch (an overfit check of losses + optimiser).

SPARNetHD is covered by the 2-step run in test_recipes.py: at 512 px an overfit run takes minutes on this CPU.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from .helpers import TINY, tiny_config, tiny_fsrnet_weights

OVERFIT = {  # model -> (the loss term that must fall on a fixed batch, steps, lr)
    "sparnet": ("l1", 25, 1e-3),
    "selfsr-lite": ("rec", 25, 3e-3),
    "fsrgan": ("fine", 25, 1e-3),
}


@pytest.mark.parametrize("model", sorted(OVERFIT))
def test_family_overfits_a_fixed_batch(model, faces_csv, shared_data, tmp_path):
    from trainer.loop import Trainer, resolve_config

    term, steps, lr = OVERFIT[model]
    spec = dict(TINY[model])
    options = {**spec.pop("options", {}), **({"growth": [], "start_stage": 3} if model.startswith("selfsr") else {})}
    if model == "fsrgan":
        spec["init"] = str(tiny_fsrnet_weights(tmp_path))
    data = shared_data / "hd512" if model.startswith("sparnethd") else faces_csv
    cfg = resolve_config(tiny_config(data, tmp_path / "run", model=model, steps=steps, lr=lr, options=options,
                                     **{**dict(batch=2), **spec}))
    trainer = Trainer(cfg)
    trainer.setup()
    keys = trainer.loader().batch_sampler.keys(0)
    batch = torch.utils.data.default_collate([trainer.dataset[k] for k in keys])
    trainer.recipe.set_train()
    values = []
    for step in range(steps):
        out = trainer.recipe.train_step(trainer.recipe.to_device(batch), step)
        trainer.precision.update()
        assert all(np.isfinite(list(out.values())))
        values.append(out[term])
    assert np.mean(values[-3:]) < 0.8 * np.mean(values[:2]), (term, values)
