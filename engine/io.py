"""Photo input/output that loses nothing: bit depth, alpha, grey, orientation, ICC profile and EXIF.

Reading: the EXIF orientation is applied exactly once, here (OpenCV applies it with IMREAD_COLOR but not with
IMREAD_UNCHANGED, which is how GFPGAN and Real-ESRGAN come to disagree); alpha is split off; 16-bit PNG/TIFF stay
16-bit (Pillow silently reduces 16-bit RGB to 8 bits, so those pixels are decoded with OpenCV). Every failure is one
:class:`ImageReadError` naming the file and what is wrong with it. The size declared in the header is checked before
any pixel is decoded (:func:`check_image_size`): a decompression bomb or a photo too large for the memory left is
refused with :class:`ImageTooLarge` instead of running the machine out of memory.

Writing: the encoder follows the file suffix; the ICC profile and EXIF (orientation reset to 1, since the pixels are
already upright) are written back with a provenance note; the bytes go through :func:`engine.util.atomic_write`, and
a path that is one of the inputs is refused.

Arrays are RGB order (never BGR), HxW for grey, uint8 or uint16.
"""
from __future__ import annotations

import io
import json
import os
import stat
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from .util import atomic_write

# The still-image files every part of the project takes (photo folders, training and evaluation faces).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
BASE_READ_SUFFIXES = IMAGE_SUFFIXES + (".gif",)
OPTIONAL_READ_SUFFIXES = {"jpg_2000": (".jp2", ".j2k"), "avif": (".avif",)}  # Pillow feature -> suffixes
EXT_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF",
               ".bmp": "BMP"}
FORMAT_EXT = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp", "MPO": ".jpg"}
ORIENTATION_TAG = 0x0112
DESCRIPTION_TAG = 0x010E
SOFTWARE_TAG = 0x0131
PROVENANCE_KEY = "fsr-studio"
MAX_MEGAPIXELS = 160  # above every camera photo (100-150 MP medium format), below Pillow's 179 MP bomb limit
ENV_MAX_MEGAPIXELS = "FSR_STUDIO_MAX_MEGAPIXELS"
JPEG_OPTIMIZE_MAX_PIXELS = 25_000_000  # Huffman optimisation buffers every coefficient: +2.3 GB at 400 MP


def _read_suffixes() -> tuple[str, ...]:
    """What a folder batch takes: every suffix this Pillow build decodes (one at a time and in a batch alike)."""
    from PIL import features

    extra = [s for feature, suffixes in OPTIONAL_READ_SUFFIXES.items() if features.check(feature) for s in suffixes]
    return BASE_READ_SUFFIXES + tuple(extra)


READ_SUFFIXES = _read_suffixes()
MAX_FILE_BYTES = 2 << 30  # above any 160 MP photo (an uncompressed 16-bit RGBA TIFF is 1.3 GB), below a padded bomb
ENV_MAX_FILE_MB = "FSR_STUDIO_MAX_FILE_MB"
FORMAT_MAX_SIDE = {"JPEG": 65_535, "WEBP": 16_383, "PNG": 2**31 - 1, "TIFF": 2**31 - 1, "BMP": 2**31 - 1}


class ImageReadError(ValueError):
    """A file that cannot be used as a photo: missing, empty, not an image, truncated or corrupt, unsupported."""


class ImageTooLarge(ImageReadError):
    """A photo too large to process safely: over the pixel limit (decompression bombs) or the memory available."""


class ImageWriteError(ValueError):
    """An output that must not or cannot be written (it would overwrite an input, unknown format, ...)."""


@dataclass
class ImageMetadata:
    """What a photo carries besides pixels, kept so that outputs can carry it too."""

    format: str | None = None  # Pillow format name of the source ("JPEG", "PNG", ...)
    exif: bytes | None = None  # raw EXIF with the orientation already reset to 1
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None
    text: dict[str, str] = field(default_factory=dict)  # PNG text chunks
    orientation: int = 1  # EXIF orientation that was applied while reading
    bit_depth: int = 8
    notes: list[str] = field(default_factory=list)  # what reading left out (extra frames, XMP, IPTC)


@dataclass
class LoadedImage:
    """An upright photo: pixels (HxW grey or HxWx3 RGB), alpha kept aside, and its metadata."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    metadata: ImageMetadata
    path: Path | None = None

    @property
    def is_gray(self) -> bool:
        """Stored with one colour channel (a grey JPEG/PNG/TIFF)."""
        return self.pixels.ndim == 2

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def rgb8(self) -> np.ndarray:
        """HxWx3 uint8 RGB view of the photo for detection and cropping."""
        return to_rgb8(self.pixels)


# ----- pixel helpers ----------------------------------------------------------------------------------------------
def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 with rounding; uint8 unchanged."""
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise TypeError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")


def to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """Grey, RGB or RGBA, 8 or 16 bit -> HxWx3 uint8 RGB (alpha dropped)."""
    p = to_8bit(np.asarray(pixels))
    if p.ndim == 2:
        return np.repeat(p[:, :, None], 3, axis=2)
    if p.ndim == 3 and p.shape[2] in (3, 4):
        return np.ascontiguousarray(p[:, :, :3])
    if p.ndim == 3 and p.shape[2] == 1:
        return np.repeat(p, 3, axis=2)
    raise ValueError(f"expected HxW, HxWx3 or HxWx4 pixels, got shape {p.shape}")


def is_gray_content(pixels: np.ndarray, tolerance: int = 2) -> bool:
    """True when every pixel's R, G and B agree within `tolerance` (per 8-bit step), checked on a subsample."""
    if pixels.ndim == 2:
        return True
    step = max(1, int(np.sqrt(pixels.shape[0] * pixels.shape[1] / 250_000)))
    p = pixels[::step, ::step, :3].astype(np.int32)
    tol = tolerance * (257 if pixels.dtype == np.uint16 else 1)
    return bool(np.abs(p[..., 0] - p[..., 1]).max() <= tol and np.abs(p[..., 1] - p[..., 2]).max() <= tol)


def split_alpha(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """HxWx4 -> (HxWx3, HxW alpha); HxWx2 (grey + alpha) -> (HxW, HxW); otherwise (pixels, None)."""
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        return np.ascontiguousarray(pixels[:, :, :3]), np.ascontiguousarray(pixels[:, :, 3])
    if pixels.ndim == 3 and pixels.shape[2] == 2:
        return np.ascontiguousarray(pixels[:, :, 0]), np.ascontiguousarray(pixels[:, :, 1])
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        return pixels[:, :, 0], None
    return pixels, None


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Make the pixels upright according to an EXIF orientation value (1-8), as Pillow's exif_transpose does."""
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: a.swapaxes(0, 1)[:, ::-1],
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
        8: lambda a: a.swapaxes(0, 1)[::-1],
    }
    return np.ascontiguousarray(ops.get(int(orientation), ops[1])(pixels))


# ----- size guards ------------------------------------------------------------------------------------------------
def max_pixels() -> int:
    """The pixel limit: MAX_MEGAPIXELS, or $FSR_STUDIO_MAX_MEGAPIXELS (a number of megapixels) when set."""
    value = os.environ.get(ENV_MAX_MEGAPIXELS, "").strip()
    try:
        return int(float(value) * 1_000_000) if value else MAX_MEGAPIXELS * 1_000_000
    except ValueError:
        return MAX_MEGAPIXELS * 1_000_000


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def _bytes(n: float) -> str:
    return _gb(n) if n >= 2**30 else f"{n / 2**20:.1f} MB"


def _mp(pixels: float) -> str:
    return f"{pixels / 1e6:.0f} MP" if pixels >= 10e6 else f"{pixels / 1e6:.1f} MP"


def check_memory(needed: int, what: str) -> None:
    """Raise ImageTooLarge when `needed` bytes exceed the memory available now (unknown memory: no check)."""
    from . import util

    available = util.available_memory()
    if available is not None and needed > available:
        raise ImageTooLarge(f"{what} needs about {_gb(needed)} of memory but only {_gb(available)} is available; "
                            f"downscale the photo (or use a smaller --upscale) and try again")


def check_image_size(width: int, height: int, name: str, bytes_per_pixel: int = 8) -> None:
    """Refuse, from the header alone, images over the pixel limit or whose decoding would not fit in memory.

    bytes_per_pixel: a bound on the decoded size (default: 16-bit RGBA); the decoders hold about two copies.
    """
    limit = max_pixels()
    pixels = int(width) * int(height)
    if pixels > limit:
        raise ImageTooLarge(f"{name}: {width} x {height} pixels ({_mp(pixels)}) is above the {_mp(limit)} limit: "
                            f"too large to open safely (a decompression bomb, or a photo to downscale first; "
                            f"{ENV_MAX_MEGAPIXELS} raises the limit)")
    check_memory(2 * pixels * bytes_per_pixel, f"{name}: decoding {width} x {height} pixels")


def _bomb_error(name: str, exc: Exception) -> ImageTooLarge:
    """Pillow's own bomb refusal (over 179 MP) says how many pixels the header declared; keep that, say it plainly."""
    import re

    from PIL import Image

    found = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{_mp(int(found.group(1)))} declared in its header" if found else "its declared size"
    limit = min(max_pixels(), 2 * (Image.MAX_IMAGE_PIXELS or max_pixels()))
    return ImageTooLarge(f"{name}: {size} is above the {_mp(limit)} limit: too large to open safely "
                         f"(a decompression bomb, or a photo to downscale first)")


def _pil_bytes_per_pixel(pil: Any) -> int:
    """Decoded bytes per pixel: bands x 2 for 16-bit capable formats (OpenCV keeps 16 bits), else bands."""
    bands = len(pil.getbands()) if pil.mode not in ("P", "PA") else 4
    return bands * (2 if pil.format in ("PNG", "TIFF") or pil.mode.startswith("I") else 1)


# ----- reading ----------------------------------------------------------------------------------------------------
def max_file_bytes() -> int:
    """MAX_FILE_BYTES, or FSR_STUDIO_MAX_FILE_MB when set to a positive number."""
    try:
        mb = float(os.environ.get(ENV_MAX_FILE_MB, ""))
    except ValueError:
        return MAX_FILE_BYTES
    return int(mb * 2**20) if mb > 0 else MAX_FILE_BYTES


def kind_of(mode: int) -> str:
    """Words for a non-regular file (what a user would call it)."""
    for test, words in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                        (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return words
    return "not a regular file"


def read_input_bytes(path: str | os.PathLike, what: str = "an image") -> bytes:
    """The bytes of a regular file of at most max_file_bytes(), refused before reading otherwise.

    Opening a FIFO blocks until a writer comes and /dev/zero never ends: only regular files are read, through a
    non-blocking open whose descriptor is checked again (the path could be swapped between the two looks).
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        broken = os.path.islink(path)
        raise ImageReadError(f"{path}: {'a broken link' if broken else 'no such file'}") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise ImageReadError(f"{path}: is {kind_of(mode)}, not {what}")
    limit = max_file_bytes()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ImageReadError(f"{path}: is {kind_of(info.st_mode)}, not {what}")
        if info.st_size > limit:
            raise ImageReadError(f"{path}: {_bytes(info.st_size)} file, over the {_bytes(limit)} limit for {what} "
                                 f"(set {ENV_MAX_FILE_MB} to raise it)")
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise ImageReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:  # grew while being read
        raise ImageReadError(f"{path}: over the {_bytes(limit)} limit for {what} (set {ENV_MAX_FILE_MB} to raise it)")
    return data


def read_image(path: str | os.PathLike) -> LoadedImage:
    """Read a photo upright with alpha split off and its metadata; raises ImageReadError with a clear reason."""
    path = Path(path)
    image = decode_image(read_input_bytes(path), str(path))
    image.path = path
    return image


def decode_image(data: bytes, name: str = "<bytes>") -> LoadedImage:
    """Decode image bytes (see :func:`read_image`)."""
    from PIL import Image, UnidentifiedImageError

    if len(data) == 0:
        raise ImageReadError(f"{name}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():  # Pillow warns from 89 MP; check_image_size applies FSR Studio's own limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            pil = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        if data[:4] in (b"II*\x00", b"MM\x00*"):  # TIFF layouts Pillow does not know (e.g. 16-bit grey + alpha)
            return _decode_tiff_with_tifffile(data, name)
        head = data[:16]
        kind = "text, not an image" if _looks_like_text(data) else f"not a recognised image format (starts {head!r})"
        raise ImageReadError(f"{name}: {kind}; supported: JPEG, PNG, WebP, TIFF, BMP") from None
    except Image.DecompressionBombError as exc:
        raise _bomb_error(name, exc) from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is one clear error
        raise ImageReadError(f"{name}: corrupt image header ({type(exc).__name__}: {exc})") from None
    check_image_size(pil.size[0], pil.size[1], name, _pil_bytes_per_pixel(pil))  # before any pixel is decoded
    metadata = _read_metadata(pil)
    if pil.format in ("PNG", "TIFF"):
        pixels = _decode_with_opencv(data, pil, name)
    else:
        pixels = _decode_with_pillow(pil, name)
    return _loaded(pixels, metadata, name)


def _decode_tiff_with_tifffile(data: bytes, name: str) -> LoadedImage:
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            height, width = int(page.imagelength), int(page.imagewidth)
            check_image_size(width, height, name, max(1, int(page.samplesperpixel)) * page.dtype.itemsize
                             if page.dtype is not None else 8)
            pixels = page.asarray()
            if pixels.ndim == 3 and page.axes.startswith("S"):  # planar (one plane per sample) -> HxWxS
                pixels = np.moveaxis(pixels, 0, -1)
            tags = page.tags
            icc = tags["InterColorProfile"].value if "InterColorProfile" in tags else None
            orientation = orientation_value(tags["Orientation"].value) if "Orientation" in tags else 1
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ImageReadError(f"{name}: truncated or corrupt TIFF data ({type(exc).__name__}: {exc})") from None
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(f"{name}: unsupported sample type {pixels.dtype} (8- or 16-bit images only)")
    meta = ImageMetadata(format="TIFF", icc_profile=bytes(icc) if icc else None, orientation=orientation)
    return _loaded(np.ascontiguousarray(pixels), meta, name)


def _loaded(pixels: np.ndarray, metadata: ImageMetadata, name: str) -> LoadedImage:
    """What every decoder ends with: the layout checked, alpha split off, the bit depth noted, the EXIF orientation
    applied (once, here)."""
    pixels, alpha = split_alpha(_checked_layout(pixels, name))
    metadata.bit_depth = 16 if pixels.dtype == np.uint16 else 8
    if metadata.orientation != 1:
        pixels = apply_orientation(pixels, metadata.orientation)
        alpha = None if alpha is None else apply_orientation(alpha, metadata.orientation)
    return LoadedImage(pixels=pixels, alpha=alpha, metadata=metadata)


def _checked_layout(pixels: np.ndarray, name: str) -> np.ndarray:
    """Decoders can hand back odd arrays for damaged files (empty, 1-D, 5 samples): refuse them here, clearly."""
    ok = pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (1, 2, 3, 4))
    if not ok or min(pixels.shape[:2], default=0) == 0:
        raise ImageReadError(f"{name}: corrupt or unsupported image layout (decoded shape {tuple(pixels.shape)}; "
                             f"expected grey, grey+alpha, RGB or RGBA)")
    return pixels


def orientation_value(value: Any) -> int:
    """An EXIF orientation as 1-8, whatever a damaged tag holds (bytes, tuples, text, out of range): 1 if unusable."""
    if isinstance(value, (bytes, tuple, list)):
        value = value[0] if len(value) else 1
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return number if 1 <= number <= 8 else 1


def _looks_like_text(data: bytes) -> bool:
    sample = data[:512]
    return all(32 <= b < 127 or b in (9, 10, 13) for b in sample)


def _read_metadata(pil: Any) -> ImageMetadata:
    from PIL import Image

    meta = ImageMetadata(format=pil.format, icc_profile=pil.info.get("icc_profile") or None)
    dpi = pil.info.get("dpi")
    if dpi:
        try:
            meta.dpi = (float(dpi[0]), float(dpi[1]))
        except (TypeError, ValueError, IndexError):
            pass
    if pil.format == "PNG":
        try:  # reading text chunks after IDAT decodes the file; a truncated one fails later, clearly
            chunks = dict(getattr(pil, "text", {}))
        except Exception:  # noqa: BLE001
            chunks = {}
        meta.text = {k: v for k, v in chunks.items() if isinstance(v, str) and k != PROVENANCE_KEY}
    try:
        exif = pil.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block must not make the photo unreadable
        exif = Image.Exif()
    meta.orientation = orientation_value(exif.get(ORIENTATION_TAG, 1))
    raw = pil.info.get("exif")
    if raw or len(exif):
        try:
            if raw:
                exif = Image.Exif()
                exif.load(raw)
            _load_sub_ifds(exif)
            if pil.format == "TIFF":  # a TIFF's IFD0 is also its image structure: keep only descriptive tags
                exif = _descriptive_exif(exif)
            if ORIENTATION_TAG in exif:
                exif[ORIENTATION_TAG] = 1
            meta.exif = exif.tobytes()
        except Exception:  # noqa: BLE001
            meta.exif = None
    meta.notes = _left_out(pil)
    return meta


def _left_out(pil: Any) -> list[str]:
    """What the output will not carry: frames or pages after the first, XMP and IPTC blocks."""
    notes = []
    try:
        frames = int(getattr(pil, "n_frames", 1))
    except Exception:  # noqa: BLE001 - counting frames of a damaged file must not make it unreadable
        frames = 1
    if frames > 1:
        kind = "pages" if pil.format == "TIFF" else "frames"
        notes.append(f"{pil.format} with {frames} {kind}: only the first is restored, the other {frames - 1} are "
                     f"not in the output")
    tags = getattr(pil, "tag_v2", {}) if pil.format == "TIFF" else {}
    if (pil.format != "PNG" and pil.info.get("xmp")) or 700 in tags:  # PNG text chunks (XMP too) are kept
        notes.append("XMP metadata is not carried over to the output")
    if pil.info.get("photoshop") or 33723 in tags:
        notes.append("IPTC metadata is not carried over to the output")
    return notes


DESCRIPTIVE_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298, ORIENTATION_TAG)


def _descriptive_exif(exif: Any) -> Any:
    from PIL import Image

    out = Image.Exif()
    for tag in DESCRIPTIVE_TAGS:
        if tag in exif:
            out[tag] = exif[tag]
    for ifd in (0x8769, 0x8825):
        sub = exif.get_ifd(ifd) if ifd in exif else None
        if sub:
            out[ifd] = dict(sub)
    return out


def _load_sub_ifds(exif: Any) -> None:
    """Pillow writes the Exif/GPS sub-directories back only once they have been read."""
    for ifd in (0x8769, 0x8825):
        if ifd in exif:
            exif.get_ifd(ifd)


def _decode_with_pillow(pil: Any, name: str) -> np.ndarray:
    try:
        pil.load()
    except Exception as exc:  # noqa: BLE001
        raise ImageReadError(f"{name}: truncated or corrupt {pil.format} data ({exc})") from None
    mode = pil.mode
    if mode in ("RGB", "L", "RGBA", "LA"):
        return np.asarray(pil)
    if mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(pil).astype(np.uint16)
    if mode == "I":
        arr = np.asarray(pil)
        return np.clip(arr, 0, 65535).astype(np.uint16)
    if mode == "1":
        return np.asarray(pil.convert("L"))
    if mode in ("P", "PA"):
        has_alpha = "transparency" in pil.info or mode == "PA"
        return np.asarray(pil.convert("RGBA" if has_alpha else "RGB"))
    if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return np.asarray(pil.convert("RGB"))
    raise ImageReadError(f"{name}: unsupported pixel mode {mode!r}")


def _check_png_chunks(data: bytes, name: str) -> None:
    """Every chunk must fit in the file: OpenCV allocates a chunk's declared length before reading it, so a 44-byte
    PNG declaring a 2 GB IDAT took 4 GB of memory (found by fuzzing). Such a file is truncated or corrupt."""
    at = 8  # after the signature
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if length > len(data) - at - 12:
            raise ImageReadError(f"{name}: truncated or corrupt PNG data (chunk {kind!r} declares {length} bytes, "
                                 f"{max(0, len(data) - at - 12)} are left)")
        if kind == b"IEND":
            return
        at += 12 + length


def _decode_with_opencv(data: bytes, pil: Any, name: str) -> np.ndarray:
    """PNG/TIFF pixels at full depth (Pillow would reduce 16-bit RGB to 8 bits); BGR(A) -> RGB(A)."""
    import cv2

    if pil.format == "PNG":
        _check_png_chunks(data, name)
    if pil.mode == "CMYK":  # OpenCV hands CMYK TIFFs back as 4 channels that read as RGBA
        return _decode_with_pillow(pil, name)
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        try:  # OpenCV says nothing about why; Pillow usually can
            pil.load()
            return _decode_with_pillow(pil, name)
        except ImageReadError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ImageReadError(f"{name}: truncated or corrupt {pil.format} data ({exc})") from None
    if pil.format == "PNG":  # libpng warns but decodes truncated files partially in some builds; Pillow does not
        try:
            pil.load()
        except Exception as exc:  # noqa: BLE001
            if "truncated" in str(exc).lower() or isinstance(exc, (SyntaxError, zlib.error)):
                raise ImageReadError(f"{name}: truncated or corrupt PNG data ({exc})") from None
    if arr.dtype not in (np.uint8, np.uint16):
        if arr.dtype == np.float32 or arr.dtype == np.float64:
            arr = float_to_uint16(arr, name)
        else:
            raise ImageReadError(f"{name}: unsupported sample type {arr.dtype} (8- or 16-bit images only)")
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = arr[:, :, ::-1]
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, [2, 1, 0, 3]]
    arr = np.ascontiguousarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 4 and pil.mode in ("LA", "La") and is_gray_content(arr[:, :, :3]):
        arr = np.ascontiguousarray(arr[:, :, [0, 3]])  # grey + alpha stays grey
    return arr


FLOAT_RANGES = (1.0, 255.0, 65535.0)  # the white points float TIFFs are written with (0-1, 8- and 16-bit scales)


def float_to_uint16(arr: np.ndarray, name: str) -> np.ndarray:
    """Float samples to 16 bits, white at the smallest usual white point that holds the data.

    A float TIFF has no white point in its header: 0-1 is the common one, but scanners and numpy users write 0-255
    (read as 0-1, such a photo came back all white). A very dark 0-255 image (max <= 1) is read as 0-1.
    """
    finite = np.isfinite(arr)
    if not finite.all():
        arr = np.where(finite, arr, 0)
    peak = float(arr.max(initial=0.0))
    white = next((w for w in FLOAT_RANGES if peak <= w * 1.001), None)
    if white is None:
        raise ImageReadError(f"{name}: floating-point samples up to {peak:g}: not on a 0-1, 0-255 or 0-65535 scale")
    return np.clip(np.round(arr * (65535.0 / white)), 0, 65535).astype(np.uint16)


# ----- writing ----------------------------------------------------------------------------------------------------
def output_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in EXT_FORMATS:
        raise ImageWriteError(f"{path}: unknown output format {suffix!r}; use one of {', '.join(sorted(EXT_FORMATS))}")
    return EXT_FORMATS[suffix]


def check_not_input(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> None:
    """Refuse to write over any input file (by path or, when both exist, by identity)."""
    target = Path(path)
    for src in inputs:
        src = Path(src)
        same = target.resolve() == src.resolve()
        if not same and target.exists() and src.exists():
            try:
                same = os.path.samefile(target, src)
            except OSError:
                same = False
        if same:
            raise ImageWriteError(f"{target}: refusing to write over the input file {src}")


def encode_image(pixels: np.ndarray, fmt: str, *, alpha: np.ndarray | None = None,
                 metadata: ImageMetadata | None = None, provenance: Mapping[str, Any] | None = None,
                 quality: int = 95) -> tuple[bytes, list[str]]:
    """Encode pixels (RGB/grey, uint8/uint16) to `fmt` bytes with metadata; returns (bytes, notes on anything lost)."""
    meta = metadata or ImageMetadata()
    notes: list[str] = []
    pixels = np.asarray(pixels)
    check_writable(fmt, pixels.shape[1], pixels.shape[0])
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ImageWriteError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")
    if alpha is not None and fmt in ("JPEG", "BMP"):
        notes.append(f"{fmt} has no alpha channel: transparency dropped")
        alpha = None
    if pixels.dtype == np.uint16 and fmt not in ("PNG", "TIFF"):
        notes.append(f"{fmt} holds 8 bits per channel: 16-bit data reduced to 8 bits")
        pixels = to_8bit(pixels)
    if alpha is not None:
        alpha = _match_depth(alpha, pixels.dtype)
        stacked = np.dstack([pixels, alpha]) if pixels.ndim == 3 else np.dstack([pixels, alpha])
    else:
        stacked = pixels
    text = json.dumps(dict(provenance), sort_keys=True) if provenance else None
    if pixels.dtype == np.uint16 and fmt == "PNG":
        return _encode_png16(stacked, meta, text), notes
    if fmt == "TIFF":  # tifffile for 8 and 16 bit: Pillow's libtiff EXIF writing is fragile
        data, more = _encode_tiff(stacked, meta, text)
        return data, notes + more
    data, more = _encode_pillow(stacked, fmt, meta, text, quality)
    return data, notes + more


def write_image(path: str | os.PathLike, pixels: np.ndarray, *, alpha: np.ndarray | None = None,
                metadata: ImageMetadata | None = None, provenance: Mapping[str, Any] | None = None,
                inputs: Iterable[str | os.PathLike] = (), quality: int = 95) -> list[str]:
    """Encode by suffix and write atomically; never over one of `inputs`. Returns notes on anything lost.

    Formats without a metadata slot for the provenance note (BMP) get a JSON sidecar ``<name>.json``.
    """
    path = Path(path)
    fmt = output_format(path)
    check_not_input(path, inputs)
    data, notes = encode_image(pixels, fmt, alpha=alpha, metadata=metadata, provenance=provenance, quality=quality)
    atomic_write(path, data)
    if provenance and fmt == "BMP":
        sidecar = path.with_name(path.name + ".json")
        check_not_input(sidecar, inputs)
        atomic_write(sidecar, (json.dumps(dict(provenance), indent=2, sort_keys=True) + "\n").encode())
    return notes


def _match_depth(alpha: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if alpha.dtype == dtype:
        return alpha
    if dtype == np.uint8:
        return to_8bit(alpha)
    return alpha.astype(np.uint16) * 257


def _exif_with_provenance(meta: ImageMetadata, text: str | None) -> bytes | None:
    """The kept EXIF (orientation 1) plus Software and an ImageDescription carrying the provenance note."""
    from PIL import Image

    if not meta.exif and not text:
        return None
    exif = Image.Exif()
    if meta.exif:
        try:
            exif.load(meta.exif)
            _load_sub_ifds(exif)
        except Exception:  # noqa: BLE001
            exif = Image.Exif()
    if ORIENTATION_TAG in exif:
        exif[ORIENTATION_TAG] = 1
    if text:
        previous = exif.get(DESCRIPTION_TAG)
        if isinstance(previous, str) and previous.strip() and PROVENANCE_KEY not in previous:
            exif[DESCRIPTION_TAG] = f"{previous}\n{PROVENANCE_KEY}: {text}"
        else:
            exif[DESCRIPTION_TAG] = f"{PROVENANCE_KEY}: {text}"
        exif[SOFTWARE_TAG] = "FSR Studio"
    return exif.tobytes()


def check_writable(fmt: str, width: int, height: int) -> None:
    """Refuse a size the format cannot hold, so a photo fails before it is restored, not after."""
    limit = FORMAT_MAX_SIDE.get(fmt)
    if limit is not None and max(width, height) > limit:
        raise ImageWriteError(f"{width} x {height} is over {fmt}'s limit of {limit} px per side: choose PNG or TIFF "
                              f"output (--ext png)")


JPEG_SEGMENT_MAX = 65_533  # payload of one APP1 (EXIF) or COM segment


def _jpeg_exif_and_comment(meta: ImageMetadata, text: str | None) -> tuple[bytes | None, bytes | None, list[str]]:
    """EXIF with the provenance note when one APP1 segment holds both; else the note goes to a COM segment, and an
    EXIF block too long even alone is dropped with a note (Pillow fails with "EXIF data is too long")."""
    exif = _exif_with_provenance(meta, text)
    if not exif or len(exif) <= JPEG_SEGMENT_MAX:
        return exif, None, []
    comment = f"{PROVENANCE_KEY}: {text}".encode() if text else None
    exif = _exif_with_provenance(meta, None)
    if exif and len(exif) > JPEG_SEGMENT_MAX:
        return None, comment, [f"EXIF block of {len(exif)} bytes is over JPEG's {JPEG_SEGMENT_MAX}-byte segment: not "
                               f"carried over"]
    return exif, comment, ["EXIF is near JPEG's 64 KB segment limit: the provenance note is in a JPEG comment"]


def _encode_pillow(arr: np.ndarray, fmt: str, meta: ImageMetadata, text: str | None,
                   quality: int) -> tuple[bytes, list[str]]:
    from PIL import Image, PngImagePlugin

    notes: list[str] = []

    if arr.ndim == 2:
        mode = "L"
    elif arr.shape[2] == 2:
        mode = "LA"
    elif arr.shape[2] == 4:
        mode = "RGBA"
    else:
        mode = "RGB"
    img = Image.fromarray(np.ascontiguousarray(arr), mode)
    kwargs: dict[str, Any] = {}
    if meta.icc_profile and fmt != "BMP":
        kwargs["icc_profile"] = meta.icc_profile
    if meta.dpi and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
        kwargs["dpi"] = meta.dpi
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        for key, value in meta.text.items():
            info.add_text(key, value)
        if text:
            info.add_itxt(PROVENANCE_KEY, text)
        kwargs["pnginfo"] = info
        if meta.exif:
            kwargs["exif"] = _exif_with_provenance(meta, None)
    elif fmt == "JPEG":
        if mode == "LA":
            img = img.convert("L")
        kwargs.update(quality=quality, subsampling=0 if quality >= 90 else 2,
                      optimize=arr.shape[0] * arr.shape[1] <= JPEG_OPTIMIZE_MAX_PIXELS)
    elif fmt == "WEBP":
        if mode == "LA":
            img = img.convert("RGBA")
        elif mode == "L":
            img = img.convert("RGB")
        kwargs.update(quality=quality, method=4)
    elif fmt == "BMP" and mode == "LA":
        img = img.convert("L")
    if fmt == "JPEG":
        exif, comment, notes = _jpeg_exif_and_comment(meta, text)
        if exif:
            kwargs["exif"] = exif
        if comment:
            kwargs["comment"] = comment
    elif fmt == "WEBP":
        exif = _exif_with_provenance(meta, text)
        if exif:
            kwargs["exif"] = exif
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue(), notes


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def _encode_png16(arr: np.ndarray, meta: ImageMetadata, text: str | None) -> bytes:
    """16-bit PNG via OpenCV (Pillow cannot write 16-bit colour), with iCCP/eXIf/pHYs/iTXt chunks added by hand."""
    import cv2

    ok, buf = cv2.imencode(".png", _to_bgr(arr), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise ImageWriteError("OpenCV could not encode the 16-bit PNG")
    data = buf.tobytes()
    chunks = []
    if meta.icc_profile:
        chunks.append(_png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(meta.icc_profile)))
    if meta.dpi:
        ppm = [max(1, round(d / 0.0254)) for d in meta.dpi]
        chunks.append(_png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    exif = _exif_with_provenance(meta, None) if meta.exif else None
    if exif:
        chunks.append(_png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    for key, value in meta.text.items():
        chunks.append(_png_chunk(b"iTXt", key.encode("latin-1", "replace")[:79] + b"\x00\x00\x00\x00\x00"
                                 + value.encode("utf-8")))
    if text:
        chunks.append(_png_chunk(b"iTXt", PROVENANCE_KEY.encode() + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")))
    end_of_ihdr = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    return data[:end_of_ihdr] + b"".join(chunks) + data[end_of_ihdr:]


def _encode_tiff(arr: np.ndarray, meta: ImageMetadata, text: str | None) -> tuple[bytes, list[str]]:
    """TIFF (8 or 16 bit) via tifffile with the ICC profile, resolution and the EXIF's main (IFD0) text tags."""
    import tifffile
    from PIL import Image

    notes: list[str] = []
    extratags: list[tuple] = []
    if meta.icc_profile:
        extratags.append((34675, "B", len(meta.icc_profile), meta.icc_profile, True))
    description = f"{PROVENANCE_KEY}: {text}" if text else None
    if meta.exif:
        exif = Image.Exif()
        try:
            exif.load(meta.exif)
        except Exception:  # noqa: BLE001
            exif = Image.Exif()
        for tag in (0x010F, 0x0110, 0x0132, 0x013B, 0x8298):  # Make, Model, DateTime, Artist, Copyright
            value = exif.get(tag)
            if isinstance(value, str) and value:
                extratags.append((tag, "s", 0, value, True))
        old = exif.get(DESCRIPTION_TAG)
        if isinstance(old, str) and old.strip() and PROVENANCE_KEY not in old:
            description = old + ("\n" + description if description else "")
        if any(ifd in exif for ifd in (0x8769, 0x8825)):
            notes.append("TIFF: the EXIF camera/GPS sub-directories are not written (main tags are)")
    if arr.ndim == 3 and arr.shape[2] == 2:  # grey + alpha
        photometric, extrasamples = "minisblack", ["unassalpha"]
    elif arr.ndim == 3 and arr.shape[2] == 4:
        photometric, extrasamples = "rgb", ["unassalpha"]
    elif arr.ndim == 3:
        photometric, extrasamples = "rgb", None
    else:
        photometric, extrasamples = "minisblack", None
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {"photometric": photometric, "compression": "zlib", "extratags": extratags,
                              "software": "FSR Studio", "metadata": None}
    if extrasamples:
        kwargs["extrasamples"] = extrasamples
    if description:
        kwargs["description"] = description
    if meta.dpi:
        kwargs["resolution"] = (meta.dpi[0], meta.dpi[1])
        kwargs["resolutionunit"] = "INCH"
    tifffile.imwrite(buf, np.ascontiguousarray(arr), **kwargs)
    return buf.getvalue(), notes


def _to_bgr(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[2] == 3:
        return np.ascontiguousarray(arr[:, :, ::-1])
    if arr.ndim == 3 and arr.shape[2] == 4:
        return np.ascontiguousarray(arr[:, :, [2, 1, 0, 3]])
    if arr.ndim == 3 and arr.shape[2] == 2:  # OpenCV has no grey+alpha PNG: write it as BGRA
        g, a = arr[:, :, 0], arr[:, :, 1]
        return np.ascontiguousarray(np.dstack([g, g, g, a]))
    return np.ascontiguousarray(arr)


def read_provenance(path: str | os.PathLike) -> dict[str, Any] | None:
    """The provenance note written by :func:`write_image` (PNG text, EXIF/TIFF description or BMP sidecar)."""
    from PIL import Image

    path = Path(path)
    sidecar = path.with_name(path.name + ".json")
    if sidecar.is_file():
        return json.loads(sidecar.read_text(encoding="utf-8"))
    with Image.open(path) as img:
        candidates = []
        if hasattr(img, "text") and img.text.get(PROVENANCE_KEY):
            return json.loads(img.text[PROVENANCE_KEY])
        candidates.append(img.getexif().get(DESCRIPTION_TAG))
        candidates.append(img.info.get("comment"))  # JPEGs whose EXIF left no room (see _jpeg_exif_and_comment)
        tags = getattr(img, "tag_v2", None)
        if tags is not None:
            candidates.append(tags.get(DESCRIPTION_TAG))
    for value in candidates:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and PROVENANCE_KEY in value:
            payload = value.split(f"{PROVENANCE_KEY}:", 1)[-1].strip() if f"{PROVENANCE_KEY}:" in value else value
            try:
                return json.loads(payload)
            except ValueError:
                continue
    return None
