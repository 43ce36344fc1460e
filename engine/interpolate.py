"""Network interpolation: blend two weight files of one architecture, theta = (1 - alpha) a + alpha b.

ESRGAN's way (and chaiNNer's "Interpolate Models") to trade a GAN model's detail against the fidelity of the
PSNR-trained model it was fine-tuned from, without training: alpha 0 is `a`, alpha 1 is `b`. Both files must fit
the same variant exactly; the result is written like any exported model (fp16 safetensors + card naming both
sources and alpha), atomically, and never over either input.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from . import zoo
from .io import check_not_input


def interpolate_states(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor],
                       alpha: float) -> dict[str, torch.Tensor]:
    """(1 - alpha) a + alpha b for floating tensors (computed in fp32); integer buffers (BatchNorm counters) from b."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if set(a) != set(b):
        odd = sorted(set(a) ^ set(b))
        raise zoo.CheckpointError(f"the two weight files have different keys, e.g. {', '.join(odd[:5])}")
    out = {}
    for key, va in a.items():
        vb = b[key]
        if va.shape != vb.shape:
            raise zoo.CheckpointError(f"{key}: shapes differ ({tuple(va.shape)} vs {tuple(vb.shape)})")
        if va.is_floating_point():
            out[key] = torch.lerp(va.float(), vb.float(), float(alpha))
        else:
            out[key] = vb.clone()
    return out


def interpolated_model(name: str, a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor],
                       alpha: float) -> torch.nn.Module:
    """A fresh `name` network holding the blend of state dicts `a` and `b` (in the network's own dtypes)."""
    model = zoo.variant(name).build()
    expected = model.state_dict()
    blended = interpolate_states(a, b, alpha)
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in blended.items()}, strict=True)
    return model


def _source(path: Path) -> dict[str, Any]:
    card = zoo.read_card(path)
    return {"file": str(path), "sha256": zoo.sha256_of(path), "variant": card.get("variant"),
            "validation": card.get("validation")}


def interpolate_weights(name: str, a: str | Path, b: str | Path, alpha: float, out: str | Path,
                        notes: str | None = None) -> Path:
    """Write the blend of weight files `a` and `b` as variant `name` to `out` (.safetensors + card); return `out`.

    The card keeps `b`'s training record and licence (b is the fine-tuned model) and states both sources.
    """
    a, b, out = Path(a), Path(b), Path(out)
    check_not_input(out, [a, b])
    reference = zoo.variant(name).build()
    states = []
    for path in (a, b):
        state = zoo.read_state_dict(path)
        zoo.check_state_dict(reference, state, path)
        states.append(state)
    model = interpolated_model(name, states[0], states[1], alpha)
    card_b = zoo.read_card(b)
    card: dict[str, Any] = {
        "interpolation": {"alpha": float(alpha), "a": _source(a), "b": _source(b),
                          "formula": "(1 - alpha) * a + alpha * b, every floating tensor incl. BatchNorm statistics"},
        "training": card_b.get("training"),
        "licence": card_b.get("licence") or zoo.read_card(a).get("licence"),
    }
    if notes:
        card["notes"] = notes
    return zoo.save_weights(model, out, name, card)
