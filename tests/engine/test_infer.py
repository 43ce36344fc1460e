"""infer_faces: batching, uint8 outputs, precision modes, the NaN fallback and dihedral TTA."""
import numpy as np
import pytest
import torch

from engine import zoo
from engine.infer import DIHEDRAL, _inverse, _transform, infer_faces


@pytest.fixture(scope="module")
def fsrnet():
    torch.manual_seed(0)
    return zoo.build("fsrnet").eval()


def faces(n, size=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def test_dihedral_transforms_invert_exactly():
    x = torch.rand(2, 3, 5, 5)
    assert len({(k, f) for k, f in DIHEDRAL}) == 8
    for k, flip in DIHEDRAL:
        assert torch.equal(_inverse(_transform(x, k, flip), k, flip), x)


def test_batches_give_the_same_result_as_one_call(fsrnet):
    lr = faces(5)
    whole = infer_faces("fsrnet", fsrnet, lr, mode="fp32", device="cpu", batch_size=8)
    split = infer_faces("fsrnet", fsrnet, lr, mode="fp32", device="cpu", batch_size=2)
    assert whole.images.shape == (5, 128, 128, 3) and whole.images.dtype == np.uint8
    assert np.abs(whole.images.astype(int) - split.images.astype(int)).max() <= 1
    assert whole.maps["priors"].shape == (5, 79, 64, 64)


def test_bf16_stays_close_to_fp32(fsrnet):
    lr = faces(2)
    a = infer_faces("fsrnet", fsrnet, lr, mode="fp32", device="cpu").images.astype(float)
    b = infer_faces("fsrnet", fsrnet, lr, mode="bf16", device="cpu").images.astype(float)
    assert np.abs(a - b).mean() < 3.0  # random weights amplify rounding; trained models are checked by eval


class _Nan(torch.nn.Module):
    """Returns NaN under autocast and a clean image in fp32, like a GPU that mishandles half precision."""

    def forward(self, x):
        coarse = x.clone()
        if torch.is_autocast_enabled("cpu"):
            x = x * float("nan")
        priors = torch.zeros(x.shape[0], 79, 64, 64)
        from engine.models.fsrnet import FSRNetOutput

        return FSRNetOutput(coarse, [priors], x)


def test_bad_reduced_precision_output_falls_back_to_fp32():
    result = infer_faces("fsrnet", _Nan(), faces(1), mode="bf16", device="cpu")
    assert np.isfinite(result.images).all() and result.images.max() > 0
    assert any("recomputed in fp32" in n for n in result.notes)


def test_tta_averages_the_eight_transforms(fsrnet):
    lr = faces(1)
    tta = infer_faces("fsrnet", fsrnet, lr, tta=True, mode="fp32", device="cpu").images[0].astype(float)
    v = zoo.variant("fsrnet")
    x = v.to_input(lr)
    with torch.inference_mode():
        outs = [_inverse(v.run(fsrnet, _transform(x, k, f))[0], k, f) for k, f in DIHEDRAL]
    manual = (torch.stack(outs).mean(0)[0].permute(1, 2, 0).numpy() * 255)
    assert np.abs(tta - manual).max() <= 1.0


def test_wrong_face_size_is_a_clear_error(fsrnet):
    with pytest.raises(ValueError, match="expected 16x16 faces"):
        infer_faces("fsrnet", fsrnet, faces(1, size=20), device="cpu")
