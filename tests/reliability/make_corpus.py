"""Generate the bad-input corpus of issue 8 from code (no binary blobs in the repository).

    python tests/reliability/make_corpus.py OUT_DIR [--heavy] [--table]

Every file is made here from faces read at run time out of ../shared/data/faces128 (never copied into the repo):
broken and hostile images (truncated, empty, text, decompression bombs), every unusual but valid layout (1x1, 8x8,
16-bit TIFF, CMYK, palette, RGBA, grey, EXIF orientations 1-8, no face, 60 faces, non-ASCII names) and hostile
checkpoints (truncated, wrong architecture, NaN weights, a pickle that runs code on load). ``CASES`` says what FSR
Studio must answer to each; tests/reliability/test_corpus.py holds the product to it, the README table is made from it.
"""
from __future__ import annotations

import argparse
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
FACES = "faces128"
MANY_FACES = 60
BIG_SIDE = (11_547, 8_660)  # 100.0 megapixels, 4:3
BOMB_SIDE = 13_040  # 170 MP: under Pillow's hard limit (179 MP), over FSR Studio's 160 MP cap


@dataclass(frozen=True)
class Case:
    """One corpus entry and what the product must do with it."""

    name: str  # file name in the corpus folder (or the label of an environment case)
    group: str  # "image", "checkpoint" or "environment"
    expect: str  # "restored" or "refused"
    message: str = ""  # regex the refusal message must match (case-insensitive)
    what: str = ""  # the README line
    min_faces: int = 0  # for restored images: faces that must be found and restored
    heavy: bool = False  # generated only with --heavy (slow tests)
    note: str = ""  # regex of a note the run must print (restored images; what reading or writing left out)
    output: str = ""  # the expected output name when it is not <stem>_fsrnet<suffix>
    stage: str = "read"  # refused images: "read" (restore_photo refuses) or "write" (the writer refuses the size)


# ----- sources ----------------------------------------------------------------------------------------------------
def face_files(shared: Path = SHARED, n: int = 1, start: int = 0) -> list[Path]:
    """The first `n` faces128 images listed in its landmark CSV (read in place)."""
    root = shared / FACES
    if not (root / "landmarks68.csv").is_file():
        raise FileNotFoundError(f"{root}/landmarks68.csv is absent (../shared/data sits beside the checkout)")
    return [root / row.split(",", 1)[0] for row in landmark_rows(shared)[start:start + n]]


def landmark_rows(shared: Path = SHARED) -> list[str]:
    """The rows of faces128/landmarks68.csv (``file,x0,y0,...``), without a header if there is one."""
    lines = (shared / FACES / "landmarks68.csv").read_text().splitlines()
    return [ln for ln in lines if ln and not ln.startswith("file,")]


def read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def pad(face: np.ndarray, margin: int) -> np.ndarray:
    """A face crop with room around it, as in a photo (dlib's HOG window needs some context)."""
    return np.ascontiguousarray(np.pad(face, ((margin, margin), (margin, margin), (0, 0)), mode="edge"))


def face_photo(shared: Path = SHARED) -> np.ndarray:
    """One 176 x 176 photo with one face: the base of every valid layout case (small, so the suite stays fast)."""
    return pad(read_rgb(face_files(shared)[0]), 24)


def many_faces(shared: Path = SHARED, n: int = MANY_FACES) -> np.ndarray:
    """`n` different faces on a 10-wide grid of 160 px tiles (960 x 1600 for 60)."""
    tiles = [pad(read_rgb(p), 16) for p in face_files(shared, n, start=0)[:n]]
    cols = 10
    rows = [np.hstack(tiles[r * cols:(r + 1) * cols]) for r in range(len(tiles) // cols)]
    return np.ascontiguousarray(np.vstack(rows))


# ----- writers ----------------------------------------------------------------------------------------------------
def save(path: Path, pixels: np.ndarray, mode: str | None = None, **kwargs) -> None:
    from PIL import Image

    img = Image.fromarray(pixels)
    if mode is not None:
        img = img.convert(mode)
    img.save(path, **kwargs)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def png_bytes(width: int, height: int, idat: bytes, color_type: int = 0) -> bytes:
    """A PNG from its parts: 8-bit samples of `color_type` (0 grey, 2 RGB), one IDAT holding `idat`."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def zero_rows_deflated(width: int, height: int, channels: int = 1) -> bytes:
    """The zlib stream of `height` all-zero scanlines, compressed chunk by chunk (~1000:1, a real bomb payload)."""
    comp = zlib.compressobj(9)
    row = bytes(1 + width * channels)  # filter byte 0 + samples
    block = row * max(1, (16 << 20) // len(row))
    rows_per_block = len(block) // len(row)
    parts, left = [], height
    while left > 0:
        take = min(left, rows_per_block)
        parts.append(comp.compress(block[: take * len(row)]))
        left -= take
    parts.append(comp.flush())
    return b"".join(parts)


def jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """A JPEG whose frame header (SOF0/SOF2) declares another size; the scan data stays the small one."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at >= 0:
            return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9:]
    raise ValueError("no SOF0/SOF2 marker")


def upright_to_stored(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Pixels to store so that applying EXIF `orientation` gives `pixels` back (6 and 8 are each other's inverse)."""
    from engine.io import apply_orientation

    inverse = {6: 8, 8: 6}.get(orientation, orientation)
    return apply_orientation(pixels, inverse)


def exif_bytes(orientation: int) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "CorpusCam"
    return exif.tobytes()


# ----- the cases --------------------------------------------------------------------------------------------------
Maker = Callable[[Path, np.ndarray, Path], None]


def _truncated(suffix: str) -> Maker:
    def make(path: Path, face: np.ndarray, shared: Path) -> None:
        import io

        buf = io.BytesIO()
        save(buf, face, format="JPEG" if suffix == ".jpg" else "PNG", quality=92)  # type: ignore[arg-type]
        data = buf.getvalue()
        path.write_bytes(data[: len(data) * 2 // 3])
    return make


def _orientation(n: int) -> Maker:
    def make(path: Path, face: np.ndarray, shared: Path) -> None:
        # a wide upright photo (face on the left), so a wrong rotation changes the output's shape
        upright = np.ascontiguousarray(np.hstack([face, face[:, :64] // 2 + 60]))
        save(path, upright_to_stored(upright, n), format="JPEG", quality=92, exif=exif_bytes(n))
    return make


def _bomb_declared(path: Path, face: np.ndarray, shared: Path) -> None:
    path.write_bytes(png_bytes(60_000, 60_000, zlib.compress(bytes(60_001 * 16)), color_type=0))


def _bomb_zeros(path: Path, face: np.ndarray, shared: Path) -> None:
    path.write_bytes(png_bytes(BOMB_SIDE, BOMB_SIDE, zero_rows_deflated(BOMB_SIDE, BOMB_SIDE)))


def chunk_bomb_png() -> bytes:
    """49 bytes: a valid IHDR, then an IDAT whose length field says 2 GB (atheris found OpenCV allocating it)."""
    ihdr = struct.pack(">IIBBBBB", 24, 20, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + struct.pack(">I", 0x7FFF_FFF0) + b"IDAT"
            + zlib.compress(bytes(21 * 20))[:8])


def _bomb_jpeg(path: Path, face: np.ndarray, shared: Path) -> None:
    import io

    buf = io.BytesIO()
    save(buf, face, format="JPEG", quality=90)  # type: ignore[arg-type]
    path.write_bytes(jpeg_with_size(buf.getvalue(), 60_000, 60_000))


def _big(path: Path, face: np.ndarray, shared: Path) -> None:
    """100 MP: a smooth background with a 2400 px and a 900 px face (a big camera's portrait)."""
    import cv2

    w, h = BIG_SIDE
    canvas = np.empty((h, w, 3), np.uint8)
    canvas[:] = np.linspace(40, 200, w).astype(np.uint8)[None, :, None]
    for side, (x, y) in ((2400, (1500, 2000)), (900, (8000, 5000))):
        canvas[y:y + side, x:x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    save(path, canvas, format="JPEG", quality=85)


def _large_ci(path: Path, face: np.ndarray, shared: Path) -> None:
    import cv2

    save(path, cv2.resize(face, (1200, 1200), interpolation=cv2.INTER_LINEAR), format="JPEG", quality=85)


def _deep_tiff(path: Path, face: np.ndarray, shared: Path) -> None:
    import tifffile

    tifffile.imwrite(path, face.astype(np.uint16) * 257 + 17, photometric="rgb")


def _no_face(path: Path, face: np.ndarray, shared: Path) -> None:
    y, x = np.mgrid[0:240, 0:320]
    sky = np.dstack([100 + x * 0.3, 150 + y * 0.2, 230 - y * 0.3]).astype(np.uint8)
    sky[160:] = (60, 120, 40)  # a field under the sky, no face anywhere
    save(path, sky, format="JPEG", quality=90)


def _rgba(path: Path, face: np.ndarray, shared: Path) -> None:
    h, w = face.shape[:2]
    alpha = np.clip(np.hypot(*np.mgrid[-h / 2:h / 2, -w / 2:w / 2]) * -2.5 + 400, 0, 255).astype(np.uint8)
    save(path, np.dstack([face, alpha]), format="PNG")


def _float_grey(path: Path, face: np.ndarray, shared: Path) -> None:
    import tifffile

    grey = face.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)  # 0-255 floats, as numpy users save
    tifffile.imwrite(path, grey)


def _animated(path: Path, face: np.ndarray, shared: Path) -> None:
    from PIL import Image

    frames = [Image.fromarray(face), Image.fromarray(face[:, ::-1].copy()), Image.fromarray(face // 2)]
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)


def _multipage(path: Path, face: np.ndarray, shared: Path) -> None:
    import tifffile

    tifffile.imwrite(path, np.stack([face, face // 2]), photometric="rgb")


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _xmp_iptc(path: Path, face: np.ndarray, shared: Path) -> None:
    """A JPEG with an XMP packet (APP1) and an IPTC caption (APP13 Photoshop 8BIM 0x0404), as photo managers write."""
    import io

    buf = io.BytesIO()
    save(buf, face, format="JPEG", quality=92)  # type: ignore[arg-type]
    xmp = (b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/"
           b"1999/02/22-rdf-syntax-ns#'><rdf:Description dc:title='corpus' xmlns:dc='http://purl.org/dc/elements/1.1/'"
           b"/></rdf:RDF></x:xmpmeta>")
    caption = b"corpus caption"
    iptc = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc + b"\x00" * (len(iptc) % 2)
    data = buf.getvalue()
    path.write_bytes(data[:2] + jpeg_segment(0xE1, xmp) + jpeg_segment(0xED, b"Photoshop 3.0\x00" + resource)
                     + data[2:])


def _big_exif(path: Path, face: np.ndarray, shared: Path) -> None:
    """EXIF just under JPEG's 64 KB segment: with the provenance note added it no longer fits one segment."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "CorpusCam"
    exif[0x010E] = "a long caption " * 4350  # 65,250 bytes of ImageDescription: 65,306 bytes of EXIF in all
    save(path, face, format="JPEG", quality=92, exif=exif.tobytes())


def _wide(path: Path, face: np.ndarray, shared: Path) -> None:
    strip = np.repeat(np.linspace(30, 220, 35_000, dtype=np.float32)[None, :, None], 40, axis=0)
    save(path, np.repeat(strip, 3, axis=2).astype(np.uint8), format="JPEG", quality=80)


LONG_NAME = "long_" + "x" * 241 + ".jpg"  # 250 bytes: the longest name most file systems allow, minus a little
LONG_STEM = "s" * 226 + ".png"  # fits, but `_fsrnet` and the temporary `.part` name did not


IMAGE_MAKERS: dict[str, Maker] = {
    "truncated.jpg": _truncated(".jpg"),
    "truncated.png": _truncated(".png"),
    "zero_bytes.jpg": lambda p, f, s: p.write_bytes(b""),
    "text_renamed.jpg": lambda p, f, s: p.write_text("Shopping list\n- milk\n- eggs\n", encoding="utf-8"),
    "bomb_declared.png": _bomb_declared,
    "bomb_zeros.png": _bomb_zeros,
    "bomb_declared.jpg": _bomb_jpeg,
    "png_chunk_bomb.png": lambda p, f, s: p.write_bytes(chunk_bomb_png()),
    "tiny_1x1.png": lambda p, f, s: save(p, f[80:81, 80:81], format="PNG"),
    "tiny_8x8.png": lambda p, f, s: save(p, f[80:88, 80:88], format="PNG"),
    "deep_16bit.tif": _deep_tiff,
    "cmyk.jpg": lambda p, f, s: save(p, f, "CMYK", format="JPEG", quality=92),
    "palette.png": lambda p, f, s: save(p, f, "P", format="PNG"),
    "rgba.png": _rgba,
    "grey.jpg": lambda p, f, s: save(p, f, "L", format="JPEG", quality=92),
    "no_face.jpg": _no_face,
    "many_faces.jpg": lambda p, f, s: save(p, many_faces(s), format="JPEG", quality=90),
    "Fotografía Ünïcode 顔.jpg": lambda p, f, s: save(p, f, format="JPEG", quality=92),
    "with spaces in name.png": lambda p, f, s: save(p, f, format="PNG"),
    "png_named.jpg": lambda p, f, s: save(p, f, format="PNG"),
    **{f"orientation_{n}.jpg": _orientation(n) for n in range(1, 9)},
    "large_1200x1200.jpg": _large_ci,
    "huge_100mp.jpg": _big,
    "float_grey_0_255.tif": _float_grey,
    "cmyk_tiff.tif": lambda p, f, s: save(p, f, "CMYK", format="TIFF"),
    "animated.gif": _animated,
    "multipage.tif": _multipage,
    "avif_photo.avif": lambda p, f, s: save(p, f, format="AVIF", quality=90),
    "jp2_photo.jp2": lambda p, f, s: save(p, f, format="JPEG2000"),
    "xmp_iptc.jpg": _xmp_iptc,
    "big_exif.jpg": _big_exif,
    "wide_35000x40.jpg": _wide,
    LONG_NAME: lambda p, f, s: save(p, f, format="JPEG", quality=92),
    LONG_STEM: lambda p, f, s: save(p, f, format="PNG"),
}

_READ = "no output, the batch goes on"
CASES: list[Case] = [
    Case("truncated.jpg", "image", "refused", r"truncated\.jpg: truncated or corrupt JPEG", f"clear error, {_READ}"),
    Case("truncated.png", "image", "refused", r"truncated\.png: truncated or corrupt PNG", f"clear error, {_READ}"),
    Case("zero_bytes.jpg", "image", "refused", r"zero_bytes\.jpg: the file is empty", f"clear error, {_READ}"),
    Case("text_renamed.jpg", "image", "refused", r"text_renamed\.jpg: text, not an image", f"clear error, {_READ}"),
    Case("bomb_declared.png", "image", "refused", r"bomb_declared\.png: 3600 MP declared .*too large to open",
         "refused from the header, before any decoding"),
    Case("bomb_zeros.png", "image", "refused", r"bomb_zeros\.png: 13040 x 13040 .*above the 160 MP limit",
         "170 MP deflate bomb (0.2 MB file): refused from the header"),
    Case("bomb_declared.jpg", "image", "refused", r"bomb_declared\.jpg: 3600 MP declared .*too large to open",
         "refused from the header, before any decoding"),
    Case("png_chunk_bomb.png", "image", "refused", r"png_chunk_bomb\.png: truncated or corrupt PNG data \(chunk "
         r"b'IDAT' declares", "49 bytes declaring a 2 GB chunk (found by atheris): refused before OpenCV allocates it"),
    Case("tiny_1x1.png", "image", "restored", what="upscaled, 'no face found' note"),
    Case("tiny_8x8.png", "image", "restored", what="upscaled, 'no face found' note"),
    Case("deep_16bit.tif", "image", "restored", what="restored, written back as 16-bit TIFF", min_faces=1),
    Case("cmyk.jpg", "image", "restored", what="converted to RGB and restored", min_faces=1),
    Case("palette.png", "image", "restored", what="expanded to RGB and restored", min_faces=1),
    Case("rgba.png", "image", "restored", what="restored, alpha re-attached", min_faces=1),
    Case("grey.jpg", "image", "restored", what="restored, stays single-channel grey", min_faces=1),
    Case("no_face.jpg", "image", "restored", what="upscaled, 'no face found' note"),
    Case("many_faces.jpg", "image", "restored", what="60 faces on one photo: at least 54 found and restored",
         min_faces=54),
    Case("Fotografía Ünïcode 顔.jpg", "image", "restored", what="restored, output keeps the name", min_faces=1),
    Case("with spaces in name.png", "image", "restored", what="restored, output keeps the name", min_faces=1),
    Case("png_named.jpg", "image", "restored", what="a PNG named .jpg: written as .png, skipped by a re-run",
         min_faces=1),
    *[Case(f"orientation_{n}.jpg", "image", "restored", what="turned upright once, face found, written with "
           "orientation 1", min_faces=1) for n in range(1, 9)],
    Case("large_1200x1200.jpg", "image", "restored", min_faces=1,
         what="CI stand-in for the 100 MP case: restored; refused when over a lowered pixel/memory limit"),
    Case("huge_100mp.jpg", "image", "restored", min_faces=2, heavy=True,
         what="100 MP: restored (detection on a downscaled copy); peak RSS measured"),
    Case("float_grey_0_255.tif", "image", "restored", min_faces=1,
         what="float32 grey TIFF on a 0-255 scale: read at its real brightness (came back all white)"),
    Case("cmyk_tiff.tif", "image", "restored", min_faces=1,
         what="CMYK TIFF: converted to RGB, no alpha invented (came back RGBA)"),
    Case("animated.gif", "image", "restored", min_faces=1, output="animated_fsrnet.png",
         note=r"GIF with 3 frames: only the first is restored",
         what="animated GIF: first frame restored to PNG, a note says the other frames are not in the output"),
    Case("multipage.tif", "image", "restored", min_faces=1, note=r"TIFF with 2 pages: only the first is restored",
         what="two-page TIFF: first page restored, a note names the page left out"),
    Case("avif_photo.avif", "image", "restored", min_faces=1, output="avif_photo_fsrnet.png",
         what="AVIF: read in a folder batch as one at a time (was skipped without a word), written as PNG"),
    Case("jp2_photo.jp2", "image", "restored", min_faces=1, output="jp2_photo_fsrnet.png",
         what="JPEG 2000: read in a folder batch as one at a time (was skipped without a word), written as PNG"),
    Case("xmp_iptc.jpg", "image", "restored", min_faces=1,
         note=r"XMP metadata is not carried over.*|IPTC metadata is not carried over",
         what="XMP and IPTC blocks: restored, a note says they are not carried over (were dropped silently)"),
    Case("big_exif.jpg", "image", "restored", min_faces=1, note=r"provenance note is in a JPEG comment",
         what="64 KB EXIF: written, the provenance note moves to a JPEG comment (failed at writing: EXIF too long)"),
    Case("wide_35000x40.jpg", "image", "refused", r"70000 x 80 is over JPEG's limit of 65535 px", stage="write",
         what="output over JPEG's 65535 px: refused before restoring, says to choose PNG or TIFF (failed after)"),
    Case(LONG_NAME, "image", "restored", min_faces=1, output="long_" + "x" * 115 + "_fsrnet.jpg",
         what="250-byte file name: restored, output name shortened to fit (aborted the whole batch)"),
    Case(LONG_STEM, "image", "restored", min_faces=1, output="s" * 120 + "_fsrnet.png",
         what="226-character stem: restored, output name shortened (the temporary .part name was over 255 bytes)"),
    Case("truncated.pth", "checkpoint", "refused", r"truncated\.pth: not a readable checkpoint",
         "clear error before any photo is read"),
    Case("truncated.safetensors", "checkpoint", "refused", r"truncated\.safetensors: not a readable checkpoint",
         "clear error before any photo is read"),
    Case("wrong_arch.pth", "checkpoint", "refused", r"wrong_arch\.pth: does not fit .*missing keys",
         "lists missing/unexpected/mis-shaped keys; model untouched"),
    Case("nan_weights.safetensors", "checkpoint", "refused", r"nan_weights\.safetensors: .*non-finite",
         "names the tensors holding NaN"),
    Case("pickle_exploit.pth", "checkpoint", "refused", r"pickle_exploit\.pth: not a readable checkpoint",
         "refused by weights_only=True; the payload never runs"),
    Case("int64_weights.safetensors", "checkpoint", "refused",
         r"int64_weights\.safetensors: does not fit .*not floating point .*\(int64 vs model float32\)",
         "the tiny weights cast to int64: names the integer tensors instead of pasting flat squares"),
    Case("card_width_4096.safetensors", "checkpoint", "refused",
         r"card_width_4096\.json: config \(width=4096\) makes fsrnet a network of (more than )?[\d,]+ parameters",
         "card setting `width: 4096` (6 G parameters): counted on the meta device, refused before allocating"),
    Case("card_not_object.safetensors", "checkpoint", "refused",
         r"card_not_object\.json: must be a JSON object, got a list", "card `[]`: clear error naming the card"),
    Case("card_width_abc.safetensors", "checkpoint", "refused",
         r"card_width_abc\.json: config\.width must be an integer, got \"abc\"",
         "card setting `width: \"abc\"`: names the card and the bad field"),
    Case("torchscript.pth", "checkpoint", "refused",
         r"torchscript\.pth: a TorchScript archive .*only plain state dicts load",
         "a torch.jit.save archive: named as such, never the weights_only=False advice"),
    Case("unknown_wrapper.pth", "checkpoint", "refused",
         r"unknown_wrapper\.pth: does not hold a state_dict \(top-level keys: 'generator', 'step'; .*params_ema",
         "a dict without recognised weights: lists its keys and the recognised ones"),
    Case("weights_folder", "checkpoint", "refused", r"weights_folder: is a folder, not a weight file",
         "a folder given as the weight file: says so"),
    # naming: one run's outputs never collide, never leave the output folder (tests/reliability/test_naming.py)
    Case("a.jpg + a.JPG", "naming", "restored", what="two photos, two outputs (`a`, `a~2`); a re-run finds both done "
         "by their provenance (was: 1 restored, 1 'already done', a photo lost)"),
    Case("x.jpg + x.png --ext png", "naming", "restored", what="two outputs, `x_fsrnet.png` and `x~2_fsrnet.png`"),
    Case("clash with --overwrite", "naming", "restored", what="both restored to their own files (one replaced the "
         "other)"),
    Case("folder at the output name", "naming", "restored", what="the photo goes to the next free name, the folder "
         "is untouched (counted as 'already done')"),
    Case("foreign file at the output name", "naming", "restored", what="kept byte-identical, the photo goes to the "
         "next free name; only this input's own earlier output counts as done"),
    Case("--suffix 'x/../../../precious'", "naming", "refused", r"not a plain file-name part",
         "refused before any work, exit 2 (replaced a file three folders up)"),
    Case("--suffix a/b", "naming", "refused", r"not a plain file-name part", "refused, exit 2 (made sub-folders)"),
    Case("-o '' / -i ''", "naming", "refused", r"is empty", "refused, exit 2 (wrote into / restored the current "
         "folder)"),
    # inputs that hung, ate memory or lied (tests/reliability/test_inputs.py)
    Case("FIFO as -i, as a photo, in a folder", "input", "refused", r"is a FIFO \(named pipe\)",
         "refused without opening it (hung; NotADirectoryError traceback); a folder batch names it and goes on"),
    Case("link to /dev/zero", "input", "refused", r"is a character device",
         "refused without reading (read until memory ran out)"),
    Case("file over the size limit", "input", "refused", r"over the .* limit",
         "refused before reading (`FSR_STUDIO_MAX_FILE_MB`, default 2 GB; a 3 GB file cost 3.4 GB, 40 GB ended in "
         "an empty MemoryError)"),
    Case("broken link", "input", "refused", r"a broken link", "named as a broken link, alone or in a folder batch "
         "(skipped without a word)"),
    Case("-s 1e-9", "input", "refused", r"between 1 and 16", "refused, exit 2 (wrote a 1x1 image, '1 face "
         "restored')"),
    Case("--precision bogus, --quality 0", "input", "refused", r"--precision must be|--quality must be",
         "refused before any model loads, exit 2"),
    Case("Ctrl+C while starting", "input", "refused", r"interrupted", "one line, exit 130 (KeyboardInterrupt "
         "traceback)"),
    Case("read-only output folder", "environment", "refused", r"cannot write to the output folder",
         "clear error before any work, exit 1, nothing written"),
    Case("full disk", "environment", "refused", r"no space left on device",
         "batch stops at the first ENOSPC, exit 1, no partial files"),
]


def case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


# ----- checkpoints ------------------------------------------------------------------------------------------------
class Exploit:
    """Unpickling this calls open(marker, "w"): harmless, but proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def tiny_fsrnet():
    """A small untrained FSRNet (milliseconds per face) with the registered variant's layout."""
    from engine import zoo

    return zoo.build("fsrnet", width=8, prior_width=16, encoder_blocks=1, coarse_blocks=1, decoder_blocks=1,
                     stacks=1)


TINY_CARD = {"width": 8, "prior_width": 16, "encoder_blocks": 1, "coarse_blocks": 1, "decoder_blocks": 1,
             "stacks": 1}
TINY_MODEL_CARD = {"variant": "fsrnet", "config": TINY_CARD}  # the card `put` writes unless a case brings its own
HOSTILE_CARDS = {  # cases whose weights are the good tiny ones and whose card is the problem
    "card_width_4096.safetensors": {"variant": "fsrnet", "config": {"width": 4096}},
    "card_not_object.safetensors": [],
    "card_width_abc.safetensors": {"variant": "fsrnet", "config": {"width": "abc"}},
}


def _torchscript(path: Path) -> None:
    """torch.jit.save of a scripted module (the tiny model's coarse branch: FSRNet's prior net does not script)."""
    import warnings

    import torch

    with warnings.catch_warnings():  # torch.jit is deprecated, which is beside the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(tiny_fsrnet().coarse), str(path))


def make_checkpoints(folder: Path, marker: Path) -> dict[str, Path]:
    """The hostile checkpoints of the corpus, each with a model card giving the tiny architecture."""
    import json

    import torch
    from safetensors.torch import save_file

    from engine import zoo

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    good = tiny_fsrnet().state_dict()
    out: dict[str, Path] = {}

    def put(name: str, write: Callable[[Path], None], card: object = TINY_MODEL_CARD) -> None:
        """Write case `name` and its card (None: no card, as for a folder)."""
        path = folder / name
        write(path)
        if card is not None:
            path.with_suffix(".json").write_text(json.dumps(card))
        out[name] = path

    full_pth, full_st = folder / "full.pth", folder / "full.safetensors"
    torch.save(good, full_pth)
    save_file({k: v.contiguous() for k, v in good.items()}, str(full_st))
    put("truncated.pth", lambda p: p.write_bytes(full_pth.read_bytes()[: full_pth.stat().st_size // 2]))
    put("truncated.safetensors", lambda p: p.write_bytes(full_st.read_bytes()[: full_st.stat().st_size // 2]))
    full_pth.unlink()
    full_st.unlink()
    wrong = zoo.build("sparnet", min_ch=8, max_ch=16, res_depth=1).state_dict()  # another family, small file
    put("wrong_arch.pth", lambda p: torch.save(wrong, p))
    nan = {k: (torch.full_like(v, float("nan")) if v.is_floating_point() and i % 2 == 0 else v).contiguous()
           for i, (k, v) in enumerate(good.items())}
    put("nan_weights.safetensors", lambda p: save_file(nan, str(p)))
    first = next(iter(good))
    put("pickle_exploit.pth", lambda p: torch.save({"params": {first: Exploit(marker)}}, p))
    put("int64_weights.safetensors", lambda p: save_file({k: v.to(torch.int64) for k, v in good.items()}, str(p)))
    for name, card in HOSTILE_CARDS.items():
        put(name, lambda p: save_file({k: v.contiguous() for k, v in good.items()}, str(p)), card)
    put("torchscript.pth", _torchscript)
    put("unknown_wrapper.pth", lambda p: torch.save({"generator": good, "step": 1000}, p))
    put("weights_folder", lambda p: p.mkdir(), card=None)
    return out


# ----- building ---------------------------------------------------------------------------------------------------
def make_images(folder: Path, shared: Path = SHARED, heavy: bool = False,
                only: list[str] | None = None) -> dict[str, Path]:
    """Write the image cases (heavy ones only with `heavy`) into `folder`; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    face = face_photo(shared)
    out = {}
    for c in CASES:
        if c.group != "image" or (c.heavy and not heavy) or (only is not None and c.name not in only):
            continue
        path = folder / c.name
        IMAGE_MAKERS[c.name](path, face, shared)
        out[c.name] = path
    return out


def markdown_table() -> str:
    lines = ["| case | kind | FSR Studio answers |", "|---|---|---|"]
    for c in CASES:
        slow = " (slow test)" if c.heavy else ""
        lines.append(f"| `{c.name}` | {c.group} | **{c.expect}**{slow}: {c.what} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?")
    parser.add_argument("--heavy", action="store_true", help="also the 100-megapixel photo (300 MB in memory)")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--table", action="store_true", help="print the README table")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table())
    if args.out is not None:
        images = make_images(args.out / "images", args.shared, heavy=args.heavy)
        checkpoints = make_checkpoints(args.out / "checkpoints", args.out / "PWNED")
        print(f"{len(images)} images in {args.out / 'images'}, {len(checkpoints)} checkpoints in "
              f"{args.out / 'checkpoints'}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
