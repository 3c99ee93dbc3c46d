"""Small models and synthetic tasks used by the training tests. Imports only numpy and a
PyTorch-like module ``m`` (webdl or torch), so the same code runs on CPython and in Pyodide."""
import numpy as np


def blobs(n=256, classes=3, dim=2, seed=0):
    """Gaussian blobs around fixed centres: a classification task an MLP can learn."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim)).astype(np.float32) * 3
    y = rng.integers(0, classes, n)
    x = centres[y] + rng.standard_normal((n, dim)).astype(np.float32) * 0.6
    return x.astype(np.float32), y.astype(np.int64)


def bars(n=128, size=8, seed=0):
    """Images with one bright vertical (class 0) or horizontal (class 1) bar plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, size, size)).astype(np.float32) * 0.3
    y = rng.integers(0, 2, n)
    pos = rng.integers(1, size - 1, n)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, :, pos[i]] += 2.0
        else:
            x[i, 0, pos[i], :] += 2.0
    return x, y.astype(np.int64)


def mlp(m, classes=3, dim=2, hidden=32):
    nn = m.nn
    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, classes))


def cnn(m, classes=2):
    nn = m.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(16, classes))


def copy_weights(src_state, dst_model, m):
    """Load a {name: ndarray} dict into a model of library ``m``."""
    sd = {k: m.tensor(v) for k, v in src_state.items()}
    dst_model.load_state_dict(sd)


def numpy_state(model):
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def train(m, model, x, y, steps, lr=1e-2, device=None, batch=None, opt="adam"):
    """Full-batch (or fixed mini-batch cycling) training; returns the list of losses."""
    kw = {"device": device} if device else {}
    if device:
        model.to(device)
    xt, yt = m.tensor(x, **kw), m.tensor(y, **kw)
    params = list(model.parameters())
    o = m.optim.Adam(params, lr=lr) if opt == "adam" else m.optim.SGD(params, lr=lr,
                                                                        momentum=0.9)
    losses = []
    n = x.shape[0]
    for step in range(steps):
        if batch:
            s = (step * batch) % n
            xb, yb = xt[s:s + batch], yt[s:s + batch]
        else:
            xb, yb = xt, yt
        o.zero_grad()
        loss = m.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        o.step()
        losses.append(float(loss.item()))
    return losses


def accuracy(m, model, x, y, device=None):
    kw = {"device": device} if device else {}
    model.eval()
    with m.no_grad():
        pred = model(m.tensor(x, **kw)).argmax(1)
    model.train()
    return float(np.mean(pred.numpy() == y))
