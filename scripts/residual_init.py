"""Starting weights for a residual (input-skip) variant from a trained network of the same body.

The blind restorers are the x8 networks with an input skip: output = input + gain x net(input). This copies every
tensor whose name and shape match (the whole body), then zeroes the last conv and sets the gain, so the new network
starts as the identity of its input and learns only the correction. Rerun:

    python scripts/residual_init.py resources/weights/sparnet-light3d.safetensors -m sparnet-blind \
        -o runs/sparnet-blind/init.safetensors
    python scripts/residual_init.py resources/weights/sparnet-blind.safetensors -m sparnet-blind-u \
        -o runs/sparnet-blind-u/init.safetensors
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import zoo  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", help="trained weights of the same body (e.g. the x8 sparnet-light3d file)")
    ap.add_argument("-m", "--model", required=True, help="the residual variant (e.g. sparnet-blind)")
    ap.add_argument("-o", "--output", required=True, help="where to write the starting weights (.safetensors)")
    args = ap.parse_args(argv)
    model = zoo.variant(args.model).build()
    state = zoo.read_state_dict(args.source)
    own = model.state_dict()
    copied = {k: v.to(own[k].dtype) for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict({**own, **copied})
    if "skip_gain" not in copied:  # from a plain net: start as the identity. From a residual one (sparnet-blind into
        model.start_as_identity_()  # sparnet-blind-u) keep its trained correction; fresh U-Net skips start at zero
    skipped = sorted(set(own) - set(copied))
    zoo.save_weights(model, args.output, args.model, {"init_from": str(args.source), "not_copied": skipped},
                     half=False)
    print(f"{args.output}: {len(copied)} tensors copied from {args.source}; fresh: {', '.join(skipped) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
