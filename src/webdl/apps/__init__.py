"""Apps built on webdl that run inside the browser page (and, where they can, on CPython):
``superres`` (ESRGAN super-resolution), ``bench`` (webdl's side of the benchmark against
TensorFlow.js) and ``runner`` (the notebook's cell runner). They ship in the wheel with the
engine but are not part of its API."""
