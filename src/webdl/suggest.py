"""``webdl.suggest_device(model, example_input)``: which device runs *this* model faster,
measured. In a browser whose only WebGL is a software renderer (SwiftShader), small models
often train faster on the numpy backend; on a real GPU, WebGL usually wins. Rather than
guess, this times a few steps of a copy of the model on each device and says which."""
import copy
import time

from .autograd import no_grad
from .backends import device as _device
from .tensor import Tensor

DEVICES = ("cpu", "webgl")


class Suggestion:
    """The outcome of ``suggest_device``: ``device`` (the faster name), ``ms`` ({device: median
    milliseconds per step}) and ``skipped`` ({device: why it was not measured})."""

    def __init__(self, device, ms, skipped, train):
        self.device, self.ms, self.skipped, self.train = device, ms, skipped, train

    def __str__(self):
        what = "training step" if self.train else "forward pass"
        parts = [f"{d} {t:.1f} ms" for d, t in self.ms.items()]
        parts += [f"{d}: {why}" for d, why in self.skipped.items()]
        return f"webdl.suggest_device: per {what}: " + ", ".join(parts) + \
            f" -> use device='{self.device}'"

    __repr__ = __str__


def _available(name):
    try:
        _device(name)
        return None
    except RuntimeError as e:
        return str(e).splitlines()[0]


def _to(x, dev):
    if isinstance(x, Tensor):
        return x.to(dev)
    if isinstance(x, (list, tuple)):
        return type(x)(_to(v, dev) for v in x)
    if isinstance(x, dict):
        return {k: _to(v, dev) for k, v in x.items()}
    return x


def _scalar(out):
    """A scalar loss from whatever the model returned (its first tensor, summed)."""
    if isinstance(out, Tensor):
        return out.float().sum() if out.ndim else out
    if isinstance(out, (list, tuple)):
        return _scalar(out[0])
    if isinstance(out, dict):
        return _scalar(next(iter(out.values())))
    raise TypeError(f"suggest_device: the model returned {type(out).__name__}; pass loss_fn= "
                    "to turn it into a scalar loss")


def suggest_device(model, *example_inputs, loss_fn=None, train=True, steps=3, verbose=True):
    """Time ``steps`` steps (after one warm-up) of a copy of ``model`` on each available
    device and return a :class:`Suggestion` whose ``device`` is the faster one. A step is
    forward, loss (``loss_fn(output)``, else the sum of the output), backward when ``train``
    (gradients land on the copy: the model passed in is not touched), each synchronised by
    reading the loss back. Prints the figures once unless ``verbose=False``."""
    if not example_inputs:
        raise TypeError("suggest_device(model, example_input, ...): give at least one example "
                        "input, shaped as the model expects a batch")
    if steps < 1:
        raise ValueError(f"suggest_device: steps must be at least 1, got {steps}")
    ms, skipped = {}, {}
    for name in DEVICES:
        why = _available(name)
        if why is not None:
            skipped[name] = why
            continue
        m = copy.deepcopy(model)
        m = m.to(name) if hasattr(m, "to") else m   # a Module, or a plain function
        xs = _to(example_inputs, name)

        def step():
            if train:
                out = m(*xs)
                loss = loss_fn(out) if loss_fn is not None else _scalar(out)
                loss.backward()
            else:
                with no_grad():
                    out = m(*xs)
                    loss = loss_fn(out) if loss_fn is not None else _scalar(out)
            return loss.item()

        step()                       # warm-up: shaders compiled, buffers allocated
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1000.0)
        ms[name] = sorted(times)[len(times) // 2]
    result = Suggestion(min(ms, key=ms.get), ms, skipped, train)
    if verbose:
        print(result)
    return result
