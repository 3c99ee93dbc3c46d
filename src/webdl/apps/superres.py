"""Image super-resolution with UpscalerJS's ESRGAN models (MIT), imported from their
TensorFlow.js files. The same code runs on CPython (numpy backend) and in the browser
(WebGL backend); large images run in overlapping tiles so memory stays bounded.

    from webdl.apps import superres
    up = superres.load("esrgan-slim", 2, root="node_modules/@upscalerjs")
    out = up(rgb_uint8_image, progress=lambda done, total, seconds: ...)
"""
import json
import math
import os
import time

import numpy as np

from webdl import compile, no_grad  # noqa: A004 - webdl.compile
from webdl.tensor import from_pixels, to_pixels
from webdl.tfjs import load_layers_model

# name -> (the model's value range, its scales)
MODELS = {
    "esrgan-slim": (255.0, (2, 3, 4, 8)),
    "esrgan-medium": (255.0, (2, 3, 4, 8)),
    "esrgan-thick": (1.0, (2, 3, 4, 8)),
}
MAX_INPUT_PIXELS = 2048 * 2048
MAX_OUTPUT_PIXELS = 4096 * 4096


class UpscaleError(ValueError):
    pass


def check_request(name, scale, height=None, width=None):
    if name not in MODELS:
        raise UpscaleError(f"unknown model '{name}' (choose from {', '.join(MODELS)})")
    scales = MODELS[name][1]
    if scale not in scales:
        raise UpscaleError(f"{name} has no x{scale} model (scales: "
                           f"{', '.join(str(s) for s in scales)})")
    if height is not None:
        if height < 1 or width < 1:
            raise UpscaleError(f"the image is empty ({width}x{height})")
        if height * width > MAX_INPUT_PIXELS:
            raise UpscaleError(f"the image is too large: {width}x{height} pixels (at most "
                               f"{MAX_INPUT_PIXELS} pixels)")
        if height * width * scale * scale > MAX_OUTPUT_PIXELS:
            raise UpscaleError(f"the result would be too large: {width * scale}x"
                               f"{height * scale} pixels (at most {MAX_OUTPUT_PIXELS}); pick "
                               "a smaller scale or image")


def default_root():
    """Where the model files are on CPython when no ``root`` is given: $WEBDL_MODELS, a
    folder holding UpscalerJS's npm packages (``node_modules/@upscalerjs`` after set-up).
    In the browser the files come from the app's vendor/models instead."""
    root = os.environ.get("WEBDL_MODELS")
    if not root:
        raise UpscaleError("no model folder: pass root= or set WEBDL_MODELS to a folder "
                           "holding UpscalerJS's packages (node_modules/@upscalerjs)")
    return root


def _browser_fetch(name, scale):
    """In the browser runtime: copy the model's files from the app into Pyodide's FS."""
    import webdl_fetch
    local = f"/tmp/webdl-models/{name}/x{scale}"
    path = f"{local}/model.json"
    if os.path.exists(path):
        return path
    os.makedirs(local, exist_ok=True)
    url = f"vendor/models/{name}/x{scale}/"
    webdl_fetch.toFile(url + "model.json", path)
    try:
        doc = json.load(open(path))
        shards = [p for g in doc["weightsManifest"] for p in g["paths"]]
    except (ValueError, KeyError, TypeError):
        shards = []  # the importer reports the malformed file
    for p in shards:
        webdl_fetch.toFile(url + p, f"{local}/{p}")
    return path


def model_file(name, scale, root=None):
    check_request(name, scale)
    if root is None:
        try:
            return _browser_fetch(name, scale)
        except ImportError:
            root = default_root()
    return os.path.join(root, name, "models", f"x{scale}", "model.json")


class Upscaler:
    def __init__(self, name, scale, root=None, device=None):
        check_request(name, scale)
        self.name, self.scale = name, scale
        self.value_range = MODELS[name][0]
        self.model = load_layers_model(model_file(name, scale, root))
        if device is not None:
            self.model.to(device)
        self.device = device
        self.radius = self.model.receptive_radius()
        model, k = self.model, 255.0 / self.value_range

        def run(x):     # an HxWx3 patch (0..value_range) -> the upscaled one, 0..255 rounded
            y = model(x.permute(2, 0, 1).unsqueeze(0))
            return (y[0].permute(1, 2, 0) * k).clamp(0.0, 255.0).round()
        # recorded on the GPU for a tile size's second patch, replayed for the next ones
        self._run_model = compile(run)

    def tiles(self, h, w, tile):
        step = tile
        return [(y, x, min(step, h - y), min(step, w - x))
                for y in range(0, h, step) for x in range(0, w, step)]

    def __call__(self, image, tile=128, overlap=None, progress=None):
        """image: (H, W, 3) uint8 -> (H*s, W*s, 3) uint8. Tiles of ``tile`` pixels, each run
        with ``overlap`` pixels of context (default: the model's receptive radius, so the
        tiled result equals the whole-image result)."""
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] not in (3, 4) or img.dtype != np.uint8:
            raise UpscaleError(f"expected an HxWx3 uint8 image, got {img.shape} {img.dtype}")
        img = img[..., :3]
        h, w, _ = img.shape
        check_request(self.name, self.scale, h, w)
        s = self.scale
        pad = self.radius if overlap is None else overlap
        tile = max(1, int(tile)) if tile else max(h, w)
        out = np.zeros((h * s, w * s, 3), dtype=np.uint8)
        jobs = self.tiles(h, w, tile)
        t0 = time.perf_counter()
        for i, (y, x, th, tw) in enumerate(jobs):
            y0, x0 = max(0, y - pad), max(0, x - pad)
            y1, x1 = min(h, y + th + pad), min(w, x + tw + pad)
            patch = self._run(img[y0:y1, x0:x1])
            oy, ox = (y - y0) * s, (x - x0) * s
            out[y * s:(y + th) * s, x * s:(x + tw) * s] = patch[oy:oy + th * s, ox:ox + tw * s]
            if progress is not None:
                progress(i + 1, len(jobs), time.perf_counter() - t0)
        return out

    def _run(self, patch):
        return self._pixels(self._forward(patch))

    def _forward(self, patch):
        """The model on an HxWx3 uint8 patch: the upscaled patch as a tensor, 0..255 (whole
        numbers)."""
        x = from_pixels(patch, self.value_range / 255.0, device=self.device)
        with no_grad():
            return self._run_model(x)

    @staticmethod
    def _pixels(y):
        return to_pixels(y)     # as bytes on the GPU where it can (WebGPU)


def load(name="esrgan-slim", scale=2, root=None, device=None):
    return Upscaler(name, scale, root, device)


def tile_count(h, w, tile=128):
    return math.ceil(h / tile) * math.ceil(w / tile)


def upscale_rgba(inputs, name, scale, tile=128):
    """In the browser runtime: upscale ``inputs`` = {rgba (bytes), width, height} on the GPU,
    sending tile progress to the page through the display channel. Returns (HxWx3 uint8,
    the tile size used). The upscale page and the command line both run this."""
    import webdl_display
    w, h = int(inputs["width"]), int(inputs["height"])
    check_request(name, scale, h, w)
    rgba = np.frombuffer(inputs["rgba"], dtype=np.uint8)
    if rgba.size != w * h * 4:
        raise UpscaleError(f"image data has {rgba.size} bytes, expected {w}x{h}x4")
    up = load(name, scale)
    tile = auto_tile(up, tile)

    def progress(done, total, elapsed):
        webdl_display.emit("progress", json.dumps({"done": done, "total": total,
                                                   "elapsed": elapsed}))
    return up(rgba.reshape(h, w, 4)[..., :3], tile=tile, progress=progress), tile


def page_upscale(inputs, name, scale, tile=128):
    """The upscale page's entry point: the result goes to the page as RGBA bytes."""
    import webdl_display
    t0 = time.perf_counter()
    out, tile = upscale_rgba(inputs, name, scale, tile)
    h, w = out.shape[0] // scale, out.shape[1] // scale
    rgba_out = np.concatenate([out, np.full(out.shape[:2] + (1,), 255, np.uint8)], axis=2)
    webdl_display.emitBytes("upscaled", json.dumps({
        "width": out.shape[1], "height": out.shape[0], "seconds": time.perf_counter() - t0,
        "tiles": tile_count(h, w, tile)}), np.ascontiguousarray(rgba_out))
    return f"{w}x{h} -> {out.shape[1]}x{out.shape[0]}"


def auto_tile(up, tile=128, budget=8 * 1024 * 1024):
    """A tile size whose largest feature map (64 channels at the output resolution, with
    the overlap) stays within ``budget`` elements on the GPU."""
    side = int(math.sqrt(budget / 64)) // up.scale - 2 * up.radius
    return max(16, min(tile, side))
