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
    id: "gpt",
    title: "Train a tiny GPT on Shakespeare (character level)",
    cells: [
`import time
import numpy as np, webdl, webdl_fetch
import webdl.nn as nn
import webdl.nn.functional as F

# tiny Shakespeare (public domain; the char-rnn corpus), shipped with the app
webdl_fetch.toFile("data/tinyshakespeare.txt", "/tmp/input.txt")
text = open("/tmp/input.txt").read()
chars = sorted(set(text))
vocab_size = len(chars)
stoi = {c: i for i, c in enumerate(chars)}
itos = {i: c for i, c in enumerate(chars)}
encode = lambda s: [stoi[c] for c in s]
decode = lambda l: "".join(itos[i] for i in l)
data = np.array(encode(text), dtype=np.int64)
n = int(0.9 * len(data))
train_data, val_data = data[:n], data[n:]

block_size, batch_size = 64, 16          # context length, sequences per step
n_embd, n_head, n_layer = 128, 4, 4
max_steps = 150                          # each step: a few seconds on a software GPU
learning_rate = 3e-3
new_tokens = 300                         # characters to generate at the end
rng = np.random.default_rng(1337)

def get_batch(split):
    d = train_data if split == "train" else val_data
    ix = rng.integers(0, len(d) - block_size, batch_size)
    x = np.stack([d[i:i + block_size] for i in ix])
    y = np.stack([d[i + 1:i + block_size + 1] for i in ix])
    return webdl.tensor(x), webdl.tensor(y)

print(f"{len(text):,} characters, a vocabulary of {vocab_size}")`,
`class Block(nn.Module):
    """Pre-norm transformer block: causal self-attention, then an MLP."""
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(),
                                 nn.Linear(4 * n_embd, n_embd))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(n_embd, dim=2)
        q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, n_embd)
        self.pos = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block() for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.tok(idx) + self.pos(webdl.arange(T, device=idx.device))
        logits = self.head(self.ln_f(self.blocks(x)))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))

    @webdl.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -block_size:])
            probs = F.softmax(logits[:, -1, :] / temperature, dim=-1)
            idx = webdl.cat([idx, webdl.multinomial(probs, num_samples=1)], dim=1)
        return idx


webdl.manual_seed(1337)
model = GPT()
optimizer = webdl.optim.AdamW(model.parameters(), lr=learning_rate)
print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters")`,
`losses, t0 = [], time.time()
for step in range(max_steps):
    xb, yb = get_batch("train")
    logits, loss = model(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    webdl.plot(losses, title="training loss")      # updates in place while it trains
print(f"{(time.time() - t0) / max_steps * 1000:.0f} ms a step; loss {losses[0]:.3f} -> {losses[-1]:.3f}")`,
`model.eval()
t0 = time.time()
out = model.generate(webdl.zeros((1, 1), dtype=webdl.long), new_tokens)
print(decode(out[0].tolist()))
print(f"({(time.time() - t0) / new_tokens * 1000:.0f} ms a character)")`,
    ],
  },
  {
    id: "lstm",
    title: "Train an LSTM language model (character level)",
    cells: [
`import time
import numpy as np, webdl, webdl_fetch
import webdl.nn as nn
import webdl.nn.functional as F

webdl_fetch.toFile("data/tinyshakespeare.txt", "/tmp/input.txt")
text = open("/tmp/input.txt").read()
chars = sorted(set(text))
vocab_size = len(chars)
stoi = {c: i for i, c in enumerate(chars)}
itos = {i: c for i, c in enumerate(chars)}
data = np.array([stoi[c] for c in text], dtype=np.int64)

seq_len, batch_size, hidden = 64, 16, 128
max_steps = 150                          # each step: several seconds on a software GPU
new_tokens = 300
rng = np.random.default_rng(0)

def get_batch():
    ix = rng.integers(0, len(data) - seq_len - 1, batch_size)
    x = np.stack([data[i:i + seq_len] for i in ix])
    y = np.stack([data[i + 1:i + seq_len + 1] for i in ix])
    return webdl.tensor(x), webdl.tensor(y)


class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 64)
        self.lstm = nn.LSTM(64, hidden, num_layers=2, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, x, state=None):
        h, state = self.lstm(self.embed(x), state)
        return self.out(h), state


webdl.manual_seed(0)
model = CharLSTM()
optimizer = webdl.optim.Adam(model.parameters(), lr=5e-3)
print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters")`,
`losses, t0 = [], time.time()
for step in range(max_steps):
    x, y = get_batch()
    logits, _ = model(x)
    loss = F.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    webdl.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    losses.append(loss.item())
    webdl.plot(losses, title="training loss")
print(f"{(time.time() - t0) / max_steps * 1000:.0f} ms a step; loss {losses[0]:.3f} -> {losses[-1]:.3f}")`,
`# generation carries the LSTM's state: one step per character
model.eval()
with webdl.no_grad():
    x, state, out = webdl.tensor([[stoi["T"]]]), None, ["T"]
    for _ in range(new_tokens):
        logits, state = model(x, state)
        x = webdl.multinomial(F.softmax(logits[:, -1], dim=-1), 1)
        out.append(itos[x.item()])
print("".join(out))`,
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
