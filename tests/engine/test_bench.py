"""engine.bench: auto's pick in the report is the chooser's, over the paths auto may take (int8 only where the
weights' card records a validation on real faces); the table says why a fast path was not taken."""
from engine import bench


def row(mode, ms, drop=0.0, accurate=True, offered=True):
    return {"model": "m", "batch": 8, "mode": mode, "ms_per_face": ms, "psnr_drop_db": drop, "accurate": accurate,
            "offered": offered, "peak_rss_mb": 100.0}


def test_an_int8_path_counts_only_where_it_is_offered():
    rows = [row("fp32", 100.0), row("openvino", 60.0), row("openvino-int8", 25.0, 0.02, offered=False)]
    assert bench.chosen_paths(rows)["m@8"]["path"] == "openvino"
    rows[-1]["offered"] = True
    chosen = bench.chosen_paths(rows)["m@8"]
    assert chosen["path"] == "openvino-int8" and chosen["speedup_vs_fp32"] == 4.0


def test_an_inaccurate_path_is_never_picked_and_the_table_says_why():
    rows = [row("fp32", 100.0), row("openvino-int8", 20.0, 0.2, accurate=False),
            row("onnxruntime-int8", 30.0, 0.01, offered=False)]
    assert bench.chosen_paths(rows)["m@8"]["path"] == "fp32"
    table = bench.format_table(rows, bench.chosen_paths(rows))
    assert "0.200 (fails)" in table and "(not offered: not validated)" in table and "| fp32 |" in table


def test_rows_from_before_the_offered_field_follow_the_path_registry():
    rows = [row("fp32", 100.0), row("openvino-int8", 20.0)]
    for r in rows:
        del r["offered"]
    assert bench.chosen_paths(rows)["m@8"]["path"] == "fp32"  # int8 is opt-in in the registry
