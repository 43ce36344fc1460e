"""`auto` in the app and the engine's no-harm check: the default model, listed first everywhere, its per-face pick on
the face cards and in Compare, the check's verdict, the size warning of an x8 model on a large face, the Consistency
overlay, and the composite and export made through the engine's functions.

The weights are tiny untrained networks (conftest), and auto's bands are pinned to one test band: every face of
group_small.jpg (220-245 px) goes to sparnet-blind, whose input skip returns the face and passes the check; the
untrained x8 models fail it.
"""
from __future__ import annotations

import numpy as np
import pytest

from .conftest import wait_idle
from .test_window import loaded_window



@pytest.fixture(autouse=True)
def blind_for_every_size(monkeypatch):
    """These tests are about the GUI, not the size bands: every face size goes to sparnet-blind (whose tiny input-skip
    weights return the face and pass the check), whatever the shipped bands say about 220-245 px faces."""
    from engine import auto

    monkeypatch.setattr(auto, "AUTO_BANDS", (auto.Band(0, float("inf"), ("sparnet-blind",), "test band"),))

def test_auto_is_the_default_and_listed_first(qtbot, make_window, tiny_weights, photo):
    from app.settings import AppSettings, load_settings
    from app.ui.settings_dialog import SettingsDialog

    assert AppSettings().default_model == "auto" and load_settings().default_model == "auto"
    w, doc = loaded_window(qtbot, make_window, photo)
    assert w.controller.settings.default_model == "auto"
    assert w.controller.model_keys()[0] == "auto" and w.controller.choices["auto"].available
    assert "sparnet-blind" in w.controller.choices["auto"].uses
    assert w.model_combo.itemData(0) == "auto" and w.model_combo.currentData() == "auto"
    card = w.face_strip.cards[0]
    assert card.model.itemText(0) == "default (auto)" and card.model.itemData(1) == "auto"
    for panel in w.compare_tab.panels:
        assert panel.picker.itemText(0) == "auto"
    dlg = SettingsDialog(w.controller, w)
    assert dlg.model.itemData(0) == "auto" and dlg.model.currentData() == "auto"
    assert dlg.no_harm.isChecked()
    dlg.reject()
    # and the photo was restored with it, through the engine
    assert doc.status == "restored" and all(f.variant("auto") == "sparnet-blind" for f in doc.faces)
    assert dict(doc.restored_signature[1]) == {0: "auto", 1: "auto", 2: "auto"}


def test_face_card_shows_autos_pick_and_the_check(qtbot, make_window, tiny_weights, photo):
    w, doc = loaded_window(qtbot, make_window, photo)
    card = w.face_strip.cards[0]
    assert card.pick.text() == "auto → sparnet-blind"
    assert card.check.isVisible() and card.check.text().startswith("✓") and "dB" in card.check.text()
    tip = card.check.toolTip()
    assert "agrees with the photo" in tip and "auto: face is" in tip and "sparnet-blind" in tip
    assert not card.warning.isVisible()
    assert "auto (sparnet-blind ×3)" in w.before_after.caption.text()


def test_x8_model_on_a_large_face_is_flagged_and_a_failing_check_keeps_the_original(qtbot, make_window, tiny_weights,
                                                                                     photo):
    w, doc = loaded_window(qtbot, make_window, photo)
    card = w.face_strip.cards[0]
    card.model.setCurrentIndex(card.model.findData("fsrnet"))
    # before it even runs, the card says why an x8 model is a poor match for a 239 px face (the engine's size note)
    assert card.warning.isVisible()
    assert "detail above 16 px is discarded" in card.warning.text() and "x8" in card.warning.text()
    assert "239 px" in card.warning.text() or "px face" in card.warning.text()
    assert "auto picks a model for the face's size" in card.warning.toolTip()
    card.rerun_button.click()
    wait_idle(qtbot, w)
    face = doc.faces[0]
    assert face.has_output("fsrnet") and not face.result.checks["fsrnet"].passed  # untrained: contradicts the photo
    assert card.pick.text() == "fsrnet"
    assert card.check.text() == "✗ kept original"
    tip = card.check.toolTip()
    assert "contradicts the photo" in tip and "keeps its upscaled original" in tip
    assert "fsrnet: face is" in tip  # the engine's size note, with the check
    assert card.warning.isVisible()
    # the photo: face 1 kept its upscaled original, the others are auto's, and the user is told
    assert dict(doc.restored_signature[1]) == {0: "fsrnet", 1: "auto", 2: "auto"}
    assert any("no-harm check" in n and n.endswith("faces 1") for n in doc.notes), doc.notes
    assert "1 face(s) kept original" in w.before_after.caption.text()
    # auto again: its output is still there, nothing is re-run
    card.model.setCurrentIndex(card.model.findData(""))
    assert card.pick.text() == "auto → sparnet-blind" and not card.warning.isVisible()


def test_failing_check_from_a_built_face_result():
    """face_status on a FaceResult built by hand: auto's pick, a failed check, the check's text and the notes."""
    from app.badges import face_status
    from engine.consistency import Consistency
    from engine.restore import FaceResult

    face = FaceResult(index=0, box=(0, 0, 40, 40), score=1.0, landmarks5=np.zeros((5, 2), np.float32),
                      landmarks68=None)
    face.outputs["auto"] = np.zeros((128, 128, 3), np.uint8)
    face.chosen["auto"] = "sparnet-blind"
    face.checks["auto"] = Consistency(score=18.3, colour_shift=4.0, map=np.zeros((128, 128), np.float32),
                                      passed=False, threshold=24.0)
    face.notes += ["auto: face is 40 px -> sparnet-blind (blind 128 restorer at the face's real size)",
                   "auto: consistency 18.3 dB (contradicts the photo; threshold 24 dB): not pasted, the face keeps "
                   "its upscaled original", "fsrgan: face is 40 px, model input is 16 px: detail above 16 px is "
                   "discarded"]
    status = face_status(face, "auto")
    assert status.pick == "auto → sparnet-blind" and status.verdict == "✗ kept original" and status.passed is False
    assert "consistency 18.3 dB (contradicts the photo" in status.tooltip and "40 px -> sparnet-blind" in status.tooltip
    assert "fsrgan" not in status.tooltip  # another model's note
    assert status.tooltip.count("consistency") == 1
    off = face_status(face, "auto", no_harm=False)
    assert off.verdict.startswith("✗ 18.3 dB") and "pasted anyway" in off.tooltip
    face.checks["auto"] = Consistency(31.2, 0.5, face.checks["auto"].map, True, 24.0)
    assert face_status(face, "auto").verdict == "✓ 31.2 dB"
    assert face_status(face, "fsrnet").pick == "fsrnet" and face_status(face, "fsrnet").verdict == ""


def test_consistency_overlay_toggles_and_draws_over_the_faces(qtbot, make_window, tiny_weights, photo):
    w, doc = loaded_window(qtbot, make_window, photo)
    view = w.photo_view
    assert "consistency" in w.overlay_actions and not view.visible_items("consistency")
    w.overlay_actions["consistency"].trigger()
    assert not w.controller.runner.busy()  # it draws the checks there are; it runs nothing
    items = view.visible_items("consistency")
    assert len(items) == 3
    for item, face in zip(items, doc.faces):
        # the map is in the crop of the variant auto used; mapped back it covers the face's box
        rect = item.sceneBoundingRect()
        x0, y0, x1, y1 = face.detection.box
        assert rect.contains((x0 + x1) / 2, (y0 + y1) / 2)
        assert rect.width() == pytest.approx(face.result.crops["coarse128"].source_px, rel=0.5)
        assert item.pixmap().width() == face.result.checks["auto"].map.shape[1]
    w.overlay_actions["consistency"].trigger()
    assert not view.visible_items("consistency")


def test_consistency_map_colours():
    from app import overlays

    heat = np.zeros((8, 8), np.float32)
    heat[:4] = overlays.CONSISTENCY_FULL_SCALE * 2  # a region that contradicts the photo
    rgba = overlays.colour_consistency(heat)
    assert rgba.shape == (8, 8, 4) and (rgba[4:, :, 3] == 0).all() and (rgba[:4, :, 3] == 200).all()
    assert rgba[0, 0, 0] > rgba[0, 0, 2]  # red, not blue


def test_compare_pane_may_pick_auto(qtbot, make_window, tiny_weights, photo):
    w, doc = loaded_window(qtbot, make_window, photo)
    w.select_face(1)
    w.tabs.setCurrentWidget(w.compare_tab)
    wait_idle(qtbot, w)
    panel = w.compare_tab.panels[2]
    panel.picker.setCurrentText("auto")
    wait_idle(qtbot, w)
    assert w.compare_tab.models()[2] == "auto" and panel.pane.has_image()
    text = panel.badges.text()
    assert "auto → sparnet-blind" in text and "consistency" in text and "✓" in text
    fsrnet = w.compare_tab.panels[0].badges.text()
    assert "consistency" in fsrnet and "kept original" in fsrnet


def test_auto_without_any_weights_says_what_to_install(qtbot, make_window, photo):
    w, doc = loaded_window(qtbot, make_window, photo)  # no weights at all
    assert not w.controller.choices["auto"].available and doc.restored is None
    rec = w.errors.records[-1]
    assert rec.title == "Missing model weights" and "auto" in rec.reason
    assert "sparnet-blind.safetensors" in rec.reason and "FSR_STUDIO_MODELS" in rec.reason


def test_export_provenance_names_autos_variant_per_face(qtbot, make_window, tiny_weights, photo):
    from app import backend
    from engine.io import read_provenance

    w, doc = loaded_window(qtbot, make_window, photo)
    out = photo.parent.parent / "out"
    w.controller.export(doc, backend.ExportOptions(folder=out, format="png", faces=True, priors=True))
    wait_idle(qtbot, w)
    prov = read_provenance(out / "group_small_restored.png")
    assert prov["faces"] == {"1": "auto", "2": "auto", "3": "auto"}
    assert prov["auto_face_models"] == {"1": "sparnet-blind", "2": "sparnet-blind", "3": "sparnet-blind"}
    assert prov["models"]["auto"]["weights"] == {"sparnet-blind": "sparnet-blind.safetensors"}
    assert prov["no_harm_check"] is True and prov["faces_kept_original"] == []
    assert len(list((out / "restored_faces").glob("*_auto.png"))) == 3
    # prior maps: auto's faces carry the maps of the variant that made them (SPARNet attention here)
    assert len(list((out / "priors").glob("*_auto"))) == 3


def test_mixed_auto_and_x8_faces_are_composed_by_the_engine(qtbot, make_window, tiny_weights, photo):
    """One face on fsrnet (check off, so it is pasted), the rest on auto: backend.compose hands each face's own
    variant and crop to engine.restore.compose_photo; the result matches composing each model alone."""
    from app import backend
    from engine.restore import compose_photo

    w, doc = loaded_window(qtbot, make_window, photo, no_harm_check=False)
    card = w.face_strip.cards[0]
    card.model.setCurrentIndex(card.model.findData("fsrnet"))
    card.rerun_button.click()
    wait_idle(qtbot, w)
    assert dict(doc.restored_signature[1]) == {0: "fsrnet", 1: "auto", 2: "auto"} and not doc.restored_signature[2]
    results = [f.result for f in doc.faces]
    mixed = backend.compose(doc.image.pixels, results, ["fsrnet", "auto", "auto"], 2.0, no_harm=False)
    assert np.array_equal(mixed, doc.restored)
    fsrnet_only = compose_photo(doc.image.pixels, results[:1], "fsrnet", 2.0, no_harm=False)
    auto_only = compose_photo(doc.image.pixels, results[1:], "auto", 2.0, no_harm=False)
    x0, y0, x1, y1 = (int(v * 2) for v in doc.faces[0].detection.box)
    assert np.array_equal(mixed[y0:y1, x0:x1], fsrnet_only[y0:y1, x0:x1])
    x0, y0, x1, y1 = (int(v * 2) for v in doc.faces[2].detection.box)
    assert np.array_equal(mixed[y0:y1, x0:x1], auto_only[y0:y1, x0:x1])


def test_no_harm_setting_is_saved_and_recomposes(qtbot, make_window, tiny_weights, photo):
    """Switching the check off in Settings makes the composite stale; restoring again pastes the failing face."""
    from app.settings import load_settings
    from app.ui.settings_dialog import SettingsDialog

    w, doc = loaded_window(qtbot, make_window, photo, default_model="fsrnet")
    before = doc.restored.copy()
    assert all(not f.result.pasted("fsrnet") for f in doc.faces)  # untrained x8 weights: every face kept original
    assert [c.check.text() for c in w.face_strip.cards] == ["✗ kept original"] * 3
    dlg = SettingsDialog(w.controller, w)
    dlg.no_harm.setChecked(False)
    dlg.accept()
    assert load_settings().no_harm_check is False and w.controller.is_stale(doc)
    w.restore_current()
    wait_idle(qtbot, w)
    assert not w.controller.is_stale(doc) and doc.restored_signature[2] is False
    assert not np.array_equal(before, doc.restored)
    assert all(c.check.text().startswith("✗") and "pasted" in c.check.text() for c in w.face_strip.cards)


def test_portrait_preference_reaches_the_engine_and_a_change_picks_again(qtbot, make_window, tiny_weights, photo,
                                                                          monkeypatch):
    """group_small.jpg has 3 faces: a portrait under the default rule (at most 4), a group photo at 2. The setting
    travels in RestoreSettings, and changing it drops auto's picks, so the next restore chooses again."""
    from engine import auto
    from app.ui.settings_dialog import SettingsDialog

    monkeypatch.setattr(auto, "AUTO_BANDS", (auto.Band(0, float("inf"), ("sparnet",), "group band",
                                                       portrait=("sparnet-blind",), portrait_why="portrait band"),))
    w, doc = loaded_window(qtbot, make_window, photo)
    assert all(f.variant("auto") == "sparnet-blind" for f in doc.faces)
    dlg = SettingsDialog(w.controller, w)
    assert dlg.portrait.value() == 4
    dlg.portrait.setValue(2)
    dlg.accept()
    assert w.controller.restore_settings().portrait_faces == 2
    assert not any(f.has_output("auto") for f in doc.faces) and w.controller.is_stale(doc)
    assert not any(n.startswith("auto:") for f in doc.faces for n in f.result.notes)
    w.controller.restore(doc)
    wait_idle(qtbot, w)
    assert all(f.variant("auto") == "sparnet" for f in doc.faces) and not w.controller.is_stale(doc)
    assert any("group band" in n for n in doc.faces[0].result.notes)
