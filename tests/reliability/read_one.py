"""`python -m tests.reliability.read_one PATH`: read one photo with engine.io and print the outcome (memory probes)."""
import sys

from engine import io as eio

try:
    image = eio.read_image(sys.argv[1])
    print(f"read {image.pixels.shape} {image.pixels.dtype}")
except eio.ImageReadError as exc:
    print(exc)
