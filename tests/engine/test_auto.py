"""`auto` and family names (engine.auto): the per-face choice by size, the fallbacks, and the same choice made by the
pipeline (engine.restore.load_models(["auto"]) -> restore_faces) on faces of three sizes.

No weights are needed: availability is a fake callable, or tiny untrained networks saved into the temporary user
models folder (conftest hides the bundled ones), so which variants "have weights" is decided here.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import auto, zoo
from engine.auto import AUTO_BANDS, Band, band_for, choose, resolve_family


def having(*names):
    """A fake `available(name)`: only these variants have weights."""
    return lambda name: name in names


EVERYTHING = having(*auto.candidates(), *zoo.names())


# ----- choose ---------------------------------------------------------------------------------------------------------
def test_each_size_gets_its_bands_first_candidate():
    assert choose(12, EVERYTHING)[0] == band_for(12).candidates[0] == AUTO_BANDS[0].candidates[0]
    name, reason = choose(32, EVERYTHING)
    assert name == "sparnet-blind-u" and "32 px" in reason and "has no weights" not in reason
    assert choose(64, EVERYTHING)[0] == "sparnet-blind-large"  # U-Net skips lost above ~44 px on held-out faces
    assert choose(90, EVERYTHING)[0] == "sparnet-blind-large"
    assert choose(140, EVERYTHING)[0] == "sparnethd-blind256"
    assert choose(140, EVERYTHING, portrait=True)[0] == "sparnethd-blind256"
    name, reason = choose(300, EVERYTHING)  # the HD restorer, 0.4 of its correction (at full weight it lost here)
    assert name == "sparnethd-blind256" and "sparnethd-blind256 x0.4 (" in reason
    name, reason = choose(400, EVERYTHING)  # no restorer was measured on faces this large
    assert name is None and "400 px" in reason and "kept the upscaled original" in reason
    # the band edges: [min_px, max_px), contiguous from 0 to infinity
    assert choose(AUTO_BANDS[1].min_px - 0.1, EVERYTHING)[0] == AUTO_BANDS[0].candidates[0]
    for band in AUTO_BANDS[1:]:
        assert band_for(band.min_px) is band
    assert [b.max_px for b in AUTO_BANDS[:-1]] == [b.min_px for b in AUTO_BANDS[1:]]
    assert AUTO_BANDS[0].min_px == 0 and band_for(1e6) is AUTO_BANDS[-1]


def test_falls_back_down_the_list_and_says_why():
    first = AUTO_BANDS[0].candidates[0]
    name, reason = choose(12, having("fsrnet", "selfsr-lite"))
    assert name == "selfsr-lite"  # the first of the tiny band's list that has weights, not simply any
    assert f"{first} has no weights" in reason
    assert choose(12, having("fsrnet"))[0] == "fsrnet"
    name, reason = choose(AUTO_BANDS[0].max_px - 1, having("fsrnet"))
    assert name == "fsrnet" and f"{first} has no weights" in reason
    name, reason = choose(40, having("sparnet-blind"))  # the 128 restorer without U-Net skips stands in
    assert name == "sparnet-blind" and "sparnet-blind-u has no weights" in reason


def test_nothing_available_keeps_the_upscaled_original():
    name, reason = choose(64, having("fsrnet", "sparnet-light3d", "sparnethd-lite"))  # none is a 64 px candidate
    assert name is None
    assert "64 px" in reason and "kept the upscaled original" in reason and "sparnet-blind-large" in reason
    assert choose(12, having())[0] is None and choose(500, having())[0] is None


def test_a_portrait_gives_mid_size_faces_the_hd_restorer():
    """Few faces in the photo: from 56 px the slower HD restorer (blended with the 128 one, the best there on
    held-out faces) comes first; smaller faces and group photos keep the 128 restorers; without HD weights the 128
    restorer stands in."""
    name, reason = choose(90, EVERYTHING, portrait=True)
    assert name == "sparnethd-blind256" and "few faces" in reason
    assert choose(90, EVERYTHING)[0] == "sparnet-blind-large"
    assert choose(48, EVERYTHING, portrait=True)[0] == "sparnet-blind-large"
    assert choose(50, EVERYTHING, portrait=True)[0] == "sparnet-blind-large"  # the blend gains nothing there
    name, reason = choose(64, EVERYTHING, portrait=True)  # from 56 px: the HD restorer blended with the 128 one
    assert name == "sparnethd-blind256" and "sparnethd-blind256 x0.5 + sparnet-blind-large x0.6" in reason
    assert choose(32, EVERYTHING, portrait=True)[0] == "sparnet-blind-u"
    name, reason = choose(90, having("sparnet-blind-large"), portrait=True)
    assert name == "sparnet-blind-large" and "sparnethd-blind256 has no weights" in reason
    assert "sparnethd-blind256" in auto.candidates()
    band = Band(0, 10, ("a", "b"), "group", portrait=("c", "a"), portrait_why="few")
    assert band.ordered(True) == ("c", "a", "b") and band.ordered(False) == ("a", "b")


def test_custom_bands():
    bands = (Band(0, 50, ("a", "b"), "small"), Band(50, float("inf"), ("c",), "big"))
    assert choose(10, having("b", "c"), bands)[0] == "b"
    assert choose(49.9, having("a", "b"), bands)[0] == "a"
    assert choose(50, having("a", "b"), bands)[0] is None
    assert auto.candidates(bands) == ["a", "b", "c"]


# ----- family names ---------------------------------------------------------------------------------------------------
def test_family_names_resolve_to_the_best_variant_with_weights():
    assert resolve_family("sparnet", having("sparnet", "sparnet-light3d")) == ("sparnet", None)  # exact: as is
    assert resolve_family("sparnet-light3d", having("sparnet-light3d")) == ("sparnet-light3d", None)
    name, note = resolve_family("sparnet", having("sparnet-light3d", "fsrnet"))
    assert name == "sparnet-light3d" and "sparnet-light3d" in note and "no sparnet weights" in note
    assert resolve_family("sparnet", having("sparnet-blind", "sparnet-blind-u"))[0] == "sparnet-blind-u"
    assert resolve_family("sparnethd", having("sparnethd-lite"))[0] == "sparnethd-lite"
    assert resolve_family("sparnethd", having("sparnethd-lite", "sparnethd-blind256"))[0] == "sparnethd-blind256"
    assert resolve_family("selfsr", having("selfsr-lite"))[0] == "selfsr-lite"
    # unknown names and families with nothing pass through (loading then names the missing file)
    assert resolve_family("my-model", having()) == ("my-model", None)
    assert resolve_family("sparnet", having("fsrnet")) == ("sparnet", None)


def test_load_models_resolves_family_names_and_notes_it():
    from engine.restore import load_models

    torch.manual_seed(0)
    zoo.save_weights(zoo.build("sparnet-light3d", min_ch=8, max_ch=16, res_depth=1),
                     zoo.user_models_dir() / "sparnet-light3d.safetensors", "sparnet-light3d")
    notes: list[str] = []
    [model] = load_models(["sparnet"], notes=notes)
    assert model.label == "sparnet-light3d" and model.variant.name == "sparnet-light3d"
    assert len(notes) == 1 and "using sparnet-light3d" in notes[0]
    with pytest.raises(zoo.WeightsNotFound, match="no weights for 'fsrgan'"):
        load_models(["fsrgan"], notes=notes)


# ----- through the pipeline -------------------------------------------------------------------------------------------
def _save_tiny(name, **config):
    torch.manual_seed(0)
    zoo.save_weights(zoo.build(name, **config), zoo.user_models_dir() / f"{name}.safetensors", name)


def _detection_of_size(target_px, centre):
    """A 5-point detection whose coarse128 crop covers about `target_px` photo pixels, centred at `centre`."""
    from engine.faces.align import FFHQ_TEMPLATE_512, align_face
    from engine.faces.detect import Detection

    unit = FFHQ_TEMPLATE_512 - FFHQ_TEMPLATE_512.mean(axis=0)
    probe = np.zeros((2048, 2048, 3), np.uint8)
    side = align_face(probe, (unit + 1024).astype(np.float32), None, "coarse128").source_px
    five = (unit * (target_px / side) + np.asarray(centre, np.float32)).astype(np.float32)
    x0, y0 = five.min(axis=0)
    x1, y1 = five.max(axis=0)
    return Detection(box=(float(x0), float(y0), float(x1), float(y1)), score=1.0, landmarks5=five, backend="test")


def test_pipeline_picks_per_face_by_size():
    """fsrnet and sparnethd-blind256 have weights: a 12 px face falls back to fsrnet, a 90 px face keeps the original
    (its band has only the 128 restorers), a 140 px face gets the HD restorer."""
    from engine.restore import AutoModel, load_models, restore_faces

    _save_tiny("fsrnet", width=8, prior_width=16, encoder_blocks=1, coarse_blocks=1, decoder_blocks=1, stacks=1)
    _save_tiny("sparnethd-blind256", min_ch=8, max_ch=16, res_depth=1)
    [model] = load_models(["auto"])
    assert isinstance(model, AutoModel) and model.label == "auto"
    assert sorted(model.candidates) == ["fsrnet", "sparnethd-blind256"]
    assert {"coarse128", "ffhq256"} <= set(model.protocols)
    assert model.candidates.loaded == []  # nothing loaded until a face needs it

    rng = np.random.default_rng(0)
    photo = np.clip(rng.normal(128, 30, (420, 760, 3)), 0, 255).astype(np.uint8)
    detections = [_detection_of_size(12, (40, 40)), _detection_of_size(90, (150, 90)),
                  _detection_of_size(140, (500, 210))]
    [tiny] = restore_faces(photo, detections[:1], [model], precision="fp32")
    assert tiny.chosen["auto"] == "fsrnet" and model.candidates.loaded == ["fsrnet"]  # one band: one network loaded
    faces = restore_faces(photo, detections, [model], precision="fp32", portrait_faces=0)  # a group photo
    sizes = [f.size_px for f in faces]
    assert sizes == pytest.approx([12, 90, 140], rel=0.05)
    small, middle, large = faces
    assert small.chosen["auto"] == "fsrnet" and small.outputs["auto"].shape == (128, 128, 3)
    assert "auto" not in middle.chosen and "auto" not in middle.outputs and middle.skipped
    assert any("kept the upscaled original" in n for n in middle.notes)
    assert large.chosen["auto"] == "sparnethd-blind256" and large.outputs["auto"].shape == (256, 256, 3)
    assert large.variant_of("auto") == "sparnethd-blind256" and small.variant_of("auto") == "fsrnet"
    for face in (small, large):
        assert "auto" in face.checks  # every output gets the no-harm check
    # the same choice as engine.auto.choose makes for each size
    for face in faces:
        assert face.chosen.get("auto") == choose(face.size_px, lambda n: n in model.candidates)[0]
    # the same three faces as a portrait (at most portrait_faces faces): the 90 px face gets the HD restorer
    faces = restore_faces(photo, detections, [model], precision="fp32", portrait_faces=3)
    assert [f.chosen.get("auto") for f in faces] == ["fsrnet", "sparnethd-blind256", "sparnethd-blind256"]
    assert any("few faces" in n for n in faces[1].notes)
    # one face re-run out of a group photo: the photo's count decides, so it gets what the whole run gave it
    [again] = restore_faces(photo, detections[1:2], [model], precision="fp32", portrait_faces=3, photo_faces=28)
    assert "auto" not in again.chosen and again.skipped


def test_auto_with_no_weights_keeps_every_face():
    from engine import restore_photo

    rng = np.random.default_rng(1)
    photo = np.clip(rng.normal(128, 30, (200, 200, 3)), 0, 255).astype(np.uint8)
    result = restore_photo(photo, ["auto"], 2, aligned=True)
    assert result.models == ["auto"] and not result.faces[0].outputs and result.faces[0].skipped
    assert result.provenance["auto"]["variant"] == "auto"
    assert result.provenance["auto"]["face_models"] == {"0": "original (upscaled)"}
    assert result.provenance["auto"]["faces_restored"] == 0


def test_run_notes_tell_missing_weights_from_the_bands_left_empty_on_purpose():
    """The band above ~380 px has no candidates by design: the run note says why, not "no weights for" nobody."""
    from engine.batch import model_notes
    from engine.restore import AutoModel, LazyModels

    everything = AutoModel("auto", LazyModels({n: None for n in auto.candidates()}))
    notes = model_notes([everything])
    empty = [b for b in AUTO_BANDS if not b.candidates]
    assert empty and any(f"{empty[0].min_px:g} px and up keep the upscaled original ({empty[0].why})" in n
                         for n in notes)
    assert not any("no weights for" in n for n in notes)
    small_only = AutoModel("auto", LazyModels({"sparnet-blind-u": None}))
    [missing, by_design] = model_notes([small_only])
    assert "no weights for sparnet-blind-large" in missing and "no weights for )" not in missing
    assert by_design.startswith("auto: faces of") and empty[0].why in by_design


def test_a_face_larger_than_the_hd_crop_is_restored_at_its_own_resolution():
    """A 250 px face: auto gives it the HD restorer, which runs on an FFHQ crop at the face's own resolution (not
    shrunk to 256), and its output is pasted back; an explicit 256 px face keeps the 256 crop."""
    from engine.restore import compose_photo, load_models, restore_faces

    _save_tiny("sparnethd-blind256", min_ch=8, max_ch=16, res_depth=1)
    [model] = load_models(["auto"])
    rng = np.random.default_rng(2)
    photo = np.clip(rng.normal(128, 30, (700, 1100, 3)), 0, 255).astype(np.uint8)
    detections = [_detection_of_size(250, (350, 350)), _detection_of_size(150, (850, 350))]
    large, middle = restore_faces(photo, detections, [model], precision="fp32")
    assert large.chosen["auto"] == "sparnethd-blind256" == middle.chosen["auto"]
    crop = large.crops["ffhq256"]
    assert crop.protocol == "ffhq256" and crop.size > 256 and crop.size % 8 == 0
    assert crop.size == zoo.variant("sparnethd-blind256").input_side(crop.source_px)
    assert large.outputs["auto"].shape == (crop.size, crop.size, 3)
    assert middle.crops["ffhq256"].size == 256 and middle.outputs["auto"].shape == (256, 256, 3)
    assert "auto" in large.checks
    assert any(f"own resolution ({crop.size} px crop, not shrunk to 256)" in n for n in large.notes)
    assert not any("own resolution" in n for n in middle.notes)
    # the native output maps back onto the face: a white output whitens the face's centre in the composed photo
    large.outputs["auto"] = np.full_like(large.outputs["auto"], 255)
    composed = compose_photo(photo, [large], "auto", scale=2, no_harm=False)
    background = compose_photo(photo, [], "auto", scale=2)
    assert composed.shape == background.shape == (1400, 2200, 3)
    centre = (slice(680, 720), slice(680, 720))
    assert composed[centre].mean() > background[centre].mean() + 60
    assert np.array_equal(composed[:, 1400:], background[:, 1400:])  # nothing pasted far from the face


# ----- blends ---------------------------------------------------------------------------------------------------------
def test_a_blend_is_named_in_the_reason_and_drops_a_partner_without_weights():
    blend = auto.Blend(0.6, "b", 0.5)
    bands = (Band(0, float("inf"), ("a", "b"), "one band", blends={"a": blend}),)
    name, reason = choose(100, having("a", "b"), bands)
    assert name == "a" and "a x0.6 + b x0.5" in reason
    assert auto.blend_for(100, "a", having("a", "b"), bands) == blend
    assert auto.blend_for(100, "a", having("a"), bands) == auto.Blend(0.6)  # the partner has no weights
    assert "a x0.6 (" in choose(100, having("a"), bands)[1]
    assert auto.blend_for(100, "b", having("a", "b"), bands) is None  # b alone: its output as is
    partnered = (Band(0, float("inf"), ("a",), "one band", blends={"a": auto.Blend(1.0, "p", 0.3)}),)
    assert auto.candidates(partnered) == ["a", "p"]  # a partner is loaded with the rest


def _blended_faces(monkeypatch, blend, photo, detections):
    """restore_faces with one band: the HD restorer (tiny, untrained) blended as `blend` says."""
    from engine.restore import load_models, restore_faces

    band = Band(0, float("inf"), ("sparnethd-blind256",), "test band",
                blends={} if blend is None else {"sparnethd-blind256": blend})
    monkeypatch.setattr(auto, "AUTO_BANDS", (band,))
    return restore_faces(photo, detections, load_models(["auto"]), precision="fp32")


def test_blends_scale_the_lead_correction_and_carry_the_partners_into_its_crop(monkeypatch):
    """Weight 1 alone is the output as is, 0.5 halves the correction, 0 keeps the network input; a partner's
    correction alone (lead weight 0) pastes where the partner's own output would: the warp between the two crops
    puts it on the face, not beside it."""
    from engine.restore import load_models, network_input, provenance_of, restore_faces

    _save_tiny("sparnethd-blind256", min_ch=8, max_ch=16, res_depth=1)
    torch.manual_seed(1)
    large = zoo.build("sparnet-blind-large", min_ch=8, max_ch=16, res_depth=1)
    with torch.no_grad():  # a residual restorer starts as the identity (last conv zero): give it a correction
        for p in large.parameters():
            if not p.abs().sum():
                p.normal_(0, 0.05)
    zoo.save_weights(large, zoo.user_models_dir() / "sparnet-blind-large.safetensors", "sparnet-blind-large")
    rng = np.random.default_rng(3)
    photo = cv2_blur(np.clip(rng.normal(128, 40, (300, 300, 3)), 0, 255).astype(np.uint8))
    detections = [_detection_of_size(100, (150, 150))]
    [plain] = _blended_faces(monkeypatch, None, photo, detections)
    [full] = _blended_faces(monkeypatch, auto.Blend(1.0), photo, detections)
    np.testing.assert_array_equal(full.outputs["auto"], plain.outputs["auto"])
    assert "sparnethd-blind256 x1 (" in " ".join(full.notes)
    base = network_input(plain.crops["ffhq256"], zoo.variant("sparnethd-blind256")).astype(np.float32)
    [half] = _blended_faces(monkeypatch, auto.Blend(0.5), photo, detections)
    expected = base + 0.5 * (plain.outputs["auto"].astype(np.float32) - base)
    assert np.abs(half.outputs["auto"] - expected).max() <= 0.51
    [none] = _blended_faces(monkeypatch, auto.Blend(0.0), photo, detections)
    np.testing.assert_array_equal(none.outputs["auto"], base.astype(np.uint8))

    [partner] = _blended_faces(monkeypatch, auto.Blend(0.0, "sparnet-blind-large", 1.0), photo, detections)
    assert partner.chosen["auto"] == "sparnethd-blind256" and partner.outputs["auto"].shape == (256, 256, 3)
    assert set(partner.outputs) == {"auto"}  # the partner's own output is folded in, not left beside it
    alone = restore_faces(photo, detections, load_models(["sparnet-blind-large"]), precision="fp32")
    assert np.abs(alone[0].outputs["sparnet-blind-large"].astype(int) - 128).max() > 2  # it does correct
    assert np.abs(partner.outputs["auto"].astype(np.float32) - base)[96:160, 96:160].mean() > 1
    assert partner.made_by("auto") == "sparnethd-blind256 x0 + sparnet-blind-large x1"
    row = provenance_of(load_models(["auto"])[0], [partner], {})  # both weight files made this face
    assert set(row["weights_sha256"]) == {"sparnethd-blind256", "sparnet-blind-large"}
    assert row["face_models"] == {"0": "sparnethd-blind256 x0 + sparnet-blind-large x1"}


def test_a_partners_correction_lands_on_the_same_photo_pixels_in_the_leads_crop():
    """The warp between two crops of one face: a change made in photo space, seen through the coarse 128 crop and
    carried into the FFHQ 256 crop, equals that change seen through the FFHQ crop directly (inside both crops)."""
    import cv2

    from engine.faces.align import align_face
    from engine.restore import FaceResult, _correction_in

    rng = np.random.default_rng(5)
    photo = np.full((400, 400, 3), 128, np.uint8)
    change = cv2.GaussianBlur(rng.normal(0, 150, (400, 400, 3)).astype(np.float32), (0, 0), 3.0)
    changed = np.clip(128 + change, 0, 255).astype(np.uint8)
    five = _detection_of_size(110, (200, 210)).landmarks5
    crops = {p: align_face(photo, five, None, p) for p in ("coarse128", "ffhq256")}
    face = FaceResult(0, (0, 0, 1, 1), 1.0, five, None, crops=crops,
                      outputs={"p": align_face(changed, five, None, "coarse128").image})
    got = _correction_in(face, zoo.variant("sparnet-blind-large"), "p", crops["ffhq256"], 256)
    want = align_face(changed, five, None, "ffhq256").image.astype(np.float32) - 128
    inner = (slice(110, 150), slice(110, 150))  # inside the coarse crop's faded edge
    assert np.abs(want[inner]).mean() > 5
    assert np.abs(got[inner] - want[inner]).mean() < 0.15 * np.abs(want[inner]).mean()
    assert np.abs(got[inner] - np.roll(want, 4, axis=1)[inner]).mean() > 0.3 * np.abs(want[inner]).mean()
    assert not got[:8].any() and not got[:, :8].any()  # outside the coarse crop: no correction


def cv2_blur(image):
    import cv2

    return cv2.GaussianBlur(image, (0, 0), 2.0)
