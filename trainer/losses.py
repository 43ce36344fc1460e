"""The loss terms the training recipes compose (trainer/recipes/*), as plain functions of tensors.

Every term is computed in fp32 on outputs cast back with ``.float()`` (see trainer.precision), so a recipe can call
it on what a network returned under autocast. The weights and the way terms add up belong to the recipes; which
recipe uses which term is in docs/models.md. The perceptual losses (frozen feature networks) are in
trainer.perceptual.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


# ----- pixel terms ----------------------------------------------------------------------------------------------------
def l1(pred: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error: SPARNet's pixel loss, SelFSR's reconstruction and identity terms."""
    return F.l1_loss(pred.float(), target.float())


def mse(pred: Tensor, target: Tensor) -> Tensor:
    """Element-averaged squared error: FSRNet's image and prior terms (Eq. 4)."""
    return F.mse_loss(pred.float(), target.float())


def cycle_l1(sr: Tensor, lr: Tensor) -> Tensor:
    """Cycle consistency for unpaired SR (SelFSR's unpaired objective): L1 between the output brought back to the
    input's size (bicubic, antialiased) and the input itself; needs no HR target."""
    down = F.interpolate(sr.float(), size=lr.shape[-2:], mode="bicubic", align_corners=False, antialias=True)
    return l1(down, lr)


def tv_l1(x: Tensor) -> Tensor:
    """Anisotropic total variation: mean |horizontal| + mean |vertical| neighbour difference. Keeps SelFSR's
    degrader flow field smooth (Rudin, Osher, Fatemi 1992)."""
    x = x.float()
    return (x[..., :, 1:] - x[..., :, :-1]).abs().mean() + (x[..., 1:, :] - x[..., :-1, :]).abs().mean()


# ----- adversarial terms: BCE (the original GAN) --------------------------------------------------------------------
def bce(logits: Tensor, target: float) -> Tensor:
    """BCE-with-logits against a constant label, in fp32."""
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def bce_g(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss, -log D(G(x)) (Goodfellow et al. 2014): FSRGAN, SelFSR's degrader."""
    return bce(fake_logits, 1.0)


def bce_d(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator loss of the original GAN: real labelled 1, fake 0 (Goodfellow et al. 2014)."""
    return bce(real_logits, 1.0) + bce(fake_logits, 0.0)


# ----- adversarial terms: hinge ---------------------------------------------------------------------------------------
def hinge_g(fake_scores: Tensor) -> Tensor:
    """Hinge generator loss, -E[D(G(x))] (Lim and Ye 2017; Miyato et al. 2018): SPARNetHD, SelFSR."""
    return -fake_scores.float().mean()


def hinge_d(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Hinge discriminator loss, E[relu(1 - D(y))] + E[relu(1 + D(G(x)))] (Lim and Ye 2017)."""
    return F.relu(1 - real_scores.float()).mean() + F.relu(1 + fake_scores.float()).mean()


# ----- discriminator-feature and regularisation terms ---------------------------------------------------------------
def feature_matching(fake_feats: Sequence[Sequence[Tensor]], real_feats: Sequence[Sequence[Tensor]]) -> Tensor:
    """pix2pixHD's feature matching (Wang et al. 2018): L1 between the discriminator's intermediate features of the
    output and of the (detached) target, summed over layers and averaged over the discriminator's scales."""
    return sum(sum(l1(f, r.detach()) for f, r in zip(fake, real))
               for fake, real in zip(fake_feats, real_feats)) / len(fake_feats)


def r1_penalty(d: Callable[[Tensor], Tensor], real: Tensor, gamma: float) -> Tensor:
    """R1 gradient penalty (Mescheder et al. 2018): (gamma / 2) E ||grad_y D(y)||^2 on real images, a graph that
    backpropagates into D's weights. In fp32: a double backward under bf16 is not worth it."""
    real = real.detach().float().requires_grad_(True)
    score = d(real)
    (grad,) = torch.autograd.grad(score.float().sum(), real, create_graph=True)
    return 0.5 * gamma * grad.pow(2).flatten(1).sum(1).mean()
