"""Rich output for the notebook: ``webdl.show(image)`` and ``webdl.plot(values)``.

In the browser runtime they go to the running cell's output (through the worker's
``webdl_display`` module); on CPython they print a one-line summary."""
import base64
import json
import struct
import zlib

import numpy as np

from .tensor import Tensor


def _emit(kind, payload):
    try:
        import webdl_display
    except ImportError:
        return False
    webdl_display.emit(kind, json.dumps(payload))
    return True


def _png(rgb):
    """Encode an (H, W, 3) uint8 array as PNG bytes (zlib only)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def to_rgb8(x):
    """An HxWx3, 3xHxW, HxW (or 1xHxW / HxWx1) tensor or array as HxWx3 uint8. Floats
    whose values lie within [0, 1] are scaled by 255; others are taken as 0-255."""
    a = x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = np.transpose(a, (1, 2, 0))
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] != 3 or a.size == 0:
        raise ValueError(f"show: expected an image of shape HxWx3, 3xHxW or HxW, got "
                         f"{tuple(np.shape(a))}")
    if a.dtype.kind == "f":
        a = np.nan_to_num(a.astype(np.float64))
        if a.min() >= 0 and a.max() <= 1:
            a = a * 255.0
        a = np.rint(a)
    return np.clip(a, 0, 255).astype(np.uint8)


def show(x, title=None):
    """Show an image (HxWx3, 3xHxW or HxW tensor or array) under the running cell."""
    rgb = to_rgb8(x)
    payload = {"png": base64.b64encode(_png(rgb)).decode(), "width": rgb.shape[1],
               "height": rgb.shape[0], "title": title}
    if not _emit("image", payload):
        print(f"<image {rgb.shape[1]}x{rgb.shape[0]}{': ' + title if title else ''}>")


def plot(values, title=None, key="plot"):
    """A line plot of ``values``; calling it again with the same ``key`` in one cell updates
    the plot in place, so a training loop can show its loss curve live."""
    if isinstance(values, Tensor):
        values = values.detach().numpy()
    ys = [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]
    ys = [v if np.isfinite(v) else None for v in ys]
    if not _emit("plot", {"values": ys, "title": title, "key": key}):
        last = next((v for v in reversed(ys) if v is not None), None)
        print(f"<plot {title or key}: {len(ys)} points, last {last}>")
