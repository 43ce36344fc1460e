"""engine.batch's report helpers."""
from __future__ import annotations

from engine.batch import summarize_notes


def test_notes_of_many_faces_are_counted_and_a_single_one_keeps_its_numbers():
    notes = ["auto: face is 99 px -> sparnethd-blind256 x0.7 (large face)",
             "auto: face is 140 px -> sparnethd-blind256 x0.7 (large face)",
             "auto: face is 219 px -> sparnethd-blind256 x0.4 (very large face)"]
    lines = summarize_notes(notes)
    assert lines[0] == "2 face(s): auto: face is N px -> sparnethd-blind256 xN (large face)"
    assert lines[1] == notes[2]  # not "face is N px ... xN" for the only face that gave it
    assert summarize_notes([]) == []
