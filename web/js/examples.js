// Example notebooks for the Examples menu: {id, title, cells: [source, ...]}.
"use strict";
self.WEBDL_EXAMPLES = [
  {
    id: "basics",
    title: "Tensors and autograd basics",
    cells: [
`import webdl
print(webdl.get_default_device())     # 'webgl' when the GPU probe passed
x = webdl.tensor([[1.0, 2.0], [3.0, 4.0]])
x`,
`y = x @ x.T + 1          # runs as GLSL shaders on the GPU
y.softmax(dim=1)`,
`w = webdl.randn(2, 2, requires_grad=True)
loss = ((x @ w).relu() ** 2).mean()
loss.backward()           # the backward pass runs on the GPU too
print(loss.item())
w.grad`,
`import numpy as np
img = np.zeros((32, 32, 3), dtype=np.float32)
img[..., 0] = np.linspace(0, 1, 32)            # red ramp
img[8:24, 8:24, 2] = 1.0                      # a blue square
webdl.show(img, title="an image from numpy")
webdl.plot([v ** 0.5 for v in range(50)], title="sqrt")`,
    ],
  },
  {
    id: "cnn",
    title: "Train a small CNN on the GPU (live loss plot)",
    cells: [
`import numpy as np, webdl
import webdl.nn as nn
import webdl.nn.functional as F

# A synthetic task: images with a vertical (class 0) or horizontal (class 1) bar
def bars(n, size=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, size, size)).astype(np.float32) * 0.3
    y = rng.integers(0, 2, n)
    pos = rng.integers(1, size - 1, n)
    for i in range(n):
        if y[i] == 0: x[i, 0, :, pos[i]] += 2.0
        else:         x[i, 0, pos[i], :] += 2.0
    return x, y

x_np, y_np = bars(256)
x, y = webdl.tensor(x_np), webdl.tensor(y_np)
webdl.show(np.clip(x_np[0, 0] / 2 + 0.5, 0, 1), title=f"class {y_np[0]}")`,
`webdl.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(16, 2))
opt = webdl.optim.Adam(model.parameters(), lr=1e-2)
model`,
`losses = []
for step in range(60):
    i = (step * 32) % 256
    opt.zero_grad()
    loss = F.cross_entropy(model(x[i:i + 32]), y[i:i + 32])
    loss.backward()
    opt.step()
    losses.append(loss.item())
    webdl.plot(losses, title="training loss")   # updates in place while it trains
print(f"final loss {losses[-1]:.4f}")`,
`model.eval()
with webdl.no_grad():
    accuracy = (model(x).argmax(1) == y).float().mean().item()
f"accuracy {accuracy:.1%}"`,
    ],
  },
  {
    id: "upscale",
    title: "Upscale an image with ESRGAN (super-resolution)",
    cells: [
`import numpy as np, webdl, webdl.apps.superres as sr, webdl_fetch
from PIL import Image
# the 128x128 sample image shipped with UpscalerJS's models
webdl_fetch.toFile("vendor/models/esrgan-slim/assets/fixture.png", "/tmp/fixture.png")
img = np.asarray(Image.open("/tmp/fixture.png").convert("RGB"))
webdl.show(img, title=f"input {img.shape[1]}x{img.shape[0]}")`,
`up = sr.load("esrgan-slim", 2)            # imported from the TensorFlow.js files
out = up(img, progress=lambda done, total, s: print(f"tile {done}/{total} after {s:.1f} s"))
webdl.show(out, title=f"esrgan-slim x2: {out.shape[1]}x{out.shape[0]}")`,
`# the same crop, nearest-neighbour enlarged vs the model's output
webdl.show(np.concatenate([img[32:96, 32:96].repeat(2, 0).repeat(2, 1), out[64:192, 64:192]], 1),
           title="left: pixels doubled · right: esrgan-slim")`,
    ],
  },
];
