"""``webdl.amp``: PyTorch's mixed-precision API for programs that use it while computing in
float32 -- which is all webdl does.

- ``autocast(device_type, enabled=False)`` is a no-op context manager (and decorator). For
  ``device_type="cuda"`` with ``enabled=True`` it warns and disables itself, as PyTorch
  does on a machine without CUDA. For webdl's own devices (``"cpu"``, ``"webgl"``)
  ``enabled=True`` raises: webdl has no float16/bfloat16 arithmetic to switch to.
- ``GradScaler`` follows ``torch.amp.GradScaler``: disabled, ``scale(loss)`` returns
  ``loss`` and ``step(opt)`` calls ``opt.step()``; for ``device="cuda"`` (the default)
  ``enabled=True`` warns and disables, as PyTorch does without CUDA; for ``"cpu"`` it
  scales the loss, unscales the gradients, skips steps with inf/NaN gradients and adapts
  the scale exactly as PyTorch's CPU scaler does (in float32, which changes nothing but
  the skipped steps).
"""
import functools
import math
import warnings

import numpy as np

from .tensor import Tensor
from .autograd import no_grad

_NO_ACCELERATOR = ("cuda", "mps", "xpu", "hpu", "xla")
_OWN = ("cpu", "webgl")


def _device_type(device_type, who):
    if not isinstance(device_type, str):
        raise ValueError(f"{who}: expected device_type of type str, got "
                         f"{type(device_type).__name__}")
    kind = device_type.split(":")[0]
    if kind not in _NO_ACCELERATOR + _OWN:
        raise ValueError(f"{who}: unknown device_type {device_type!r} (webdl has 'cpu' and "
                         "'webgl'; 'cuda' is accepted and disabled)")
    return kind


def is_autocast_enabled(device_type=None):
    """Always False: webdl never runs anything in reduced precision."""
    return False


class autocast:
    """PyTorch's autocast context manager, as a no-op (see the module doc)."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        kind = _device_type(device_type, "autocast")
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = bool(enabled)
        if self._enabled and kind in _NO_ACCELERATOR:
            warnings.warn(f"autocast: webdl has no {kind.upper()} device. Disabling "
                          "autocast.", UserWarning, stacklevel=2)
            self._enabled = False
        elif self._enabled:
            raise NotImplementedError(
                f"autocast('{device_type}'): webdl has no mixed precision -- it computes "
                "in float32 on every device. Pass enabled=False or drop the autocast.")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return wrapper


_READY, _UNSCALED, _STEPPED = 0, 1, 2


class GradScaler:
    """PyTorch's gradient scaler (see the module doc for what each device does)."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        kind = _device_type(device, "GradScaler")
        self._device = device
        self._enabled = bool(enabled)
        if self._enabled and kind in _NO_ACCELERATOR:
            warnings.warn(f"GradScaler is enabled, but webdl has no {kind.upper()} device. "
                          "Disabling.", UserWarning, stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise ValueError("GradScaler: the growth factor must be > 1.0")
            if backoff_factor >= 1.0:
                raise ValueError("GradScaler: the backoff factor must be < 1.0")
        self._scale = self._f32(init_scale)
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._per_optimizer = {}

    @staticmethod
    def _f32(x):
        return float(np.float32(x))

    def is_enabled(self):
        return self._enabled

    def get_scale(self):
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def scale(self, outputs):
        """``outputs`` times the scale (tensors, or lists/tuples of them); ``outputs``
        itself when disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError("GradScaler.scale: outputs must be a Tensor or a list/tuple of "
                         f"Tensors, got {type(outputs).__name__}")

    def _state(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY,
                                                              "found_inf": False})

    def unscale_(self, optimizer):
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place, and
        note whether any is inf or NaN."""
        if not self._enabled:
            return
        st = self._state(optimizer)
        if st["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        if st["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv = self._f32(1.0 / self._scale)
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if not found and not bool(p.grad.isfinite().all()):
                        found = True
                    p.grad = p.grad * inv
        st["found_inf"] = found
        st["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless the unscaled gradients hold inf/NaN; returns what it
        returns (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("GradScaler.step: closures are not supported when the "
                               "scaler is enabled.")
        st = self._state(optimizer)
        if st["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if st["stage"] == _READY:
            self.unscale_(optimizer)
        out = None if st["found_inf"] else optimizer.step(*args, **kwargs)
        st["stage"] = _STEPPED
        return out

    def update(self, new_scale=None):
        """Shrink the scale after a step with inf/NaN gradients, grow it after
        ``growth_interval`` clean ones (or set ``new_scale``)."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = self._f32(new_scale.item() if isinstance(new_scale, Tensor)
                                    else new_scale)
        else:
            if not self._per_optimizer:
                raise RuntimeError("GradScaler.update: no inf checks were recorded prior "
                                   "to update() (call step() or unscale_() first).")
            if any(s["found_inf"] for s in self._per_optimizer.values()):
                self._scale = self._f32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._f32(self._scale * self._growth_factor)
                    if math.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer = {}

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("GradScaler.load_state_dict: the state dict is empty, "
                               "possibly because it was saved from a disabled GradScaler.")
        self._scale = self._f32(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._growth_tracker = state_dict["_growth_tracker"]
