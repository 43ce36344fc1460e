"""scripts/blend_grid.py: the gain of every blend of two restorers' corrections, formed on the pasted photos."""
from __future__ import annotations

import numpy as np

from scripts import blend_grid


def test_blend_adds_each_correction_at_its_weight():
    lanczos = np.full((4, 4, 3), 100, np.uint8)
    lead, partner = lanczos + 20, lanczos - 10
    assert (blend_grid.blend(lanczos, lead, partner, 1.0, 0.0) == lead).all()
    assert (blend_grid.blend(lanczos, lead, partner, 0.0, 0.0) == lanczos).all()
    assert (blend_grid.blend(lanczos, lead, partner, 0.5, 1.0) == 100).all()  # +10 - 10
    assert (blend_grid.blend(lanczos, lead, None, 0.25, 1.0) == 105).all()


def test_the_grid_finds_the_weights_that_land_on_the_truth():
    """A lead that overshoots the truth by 2x and a partner that is Lanczos: half the lead's correction is exact."""
    rng = np.random.default_rng(0)
    hr = [rng.integers(60, 190, (16, 16, 3)).astype(np.uint8) for _ in range(3)]
    noise = [np.clip(h.astype(int) + rng.integers(-8, 9, h.shape), 0, 255).astype(np.uint8) for h in hr]
    lead = [np.clip(2 * h.astype(int) - n, 0, 255).astype(np.uint8) for h, n in zip(hr, noise)]
    regions = {"lanczos": noise, "lead": lead, "partner": noise}
    grid = blend_grid.gain_grid(hr, regions, "lead", "partner")
    assert grid.shape == (len(blend_grid.LEAD_WEIGHTS), len(blend_grid.PARTNER_WEIGHTS))
    i, _ = np.unravel_index(int(grid.argmax()), grid.shape)
    assert blend_grid.LEAD_WEIGHTS[i] == 0.5
    assert grid[blend_grid.LEAD_WEIGHTS.index(0.0), 0] == 0.0  # nothing added: Lanczos itself
    assert blend_grid.gain_grid(hr, regions, "lead", None).shape == (len(blend_grid.LEAD_WEIGHTS), 1)
