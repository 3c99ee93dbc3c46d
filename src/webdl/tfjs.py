"""Import TensorFlow.js "layers-model" files (``model.json`` + weight shards): a Keras
functional graph becomes a webdl ``nn.Module`` running in NCHW, with its weights loaded.

Model files are parsed as data (JSON and raw float32), never evaluated. Supported layers:
InputLayer, Conv2D, Activation, Dense, Concatenate, Add, UpSampling2D (nearest), and the
UpscalerJS custom layers MultiplyBeta and PixelShuffle{N}x (TensorFlow's depth_to_space).
"""
import json
import os
import re

import numpy as np

from . import nn
from .nn import functional as F
from .nn.utils import skip_init
from .functions.shape import cat
from .tensor import tensor


class ModelFormatError(ValueError):
    """The model files are malformed, incomplete or use something webdl can't import."""


_ACTIVATIONS = {
    "linear": lambda x: x, "relu": F.relu, "sigmoid": F.sigmoid, "tanh": F.tanh,
    "softmax": lambda x: F.softmax(x, 1), "elu": F.elu, "swish": F.silu, "gelu": F.gelu,
}


def _act(name, where):
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ModelFormatError(f"{where}: unsupported activation '{name}'") from None


class _Node:
    __slots__ = ("name", "kind", "inputs", "fn", "module")

    def __init__(self, name, kind, inputs, fn, module=None):
        self.name, self.kind, self.inputs, self.fn, self.module = name, kind, inputs, fn, module


class KerasModel(nn.Module):
    """A Keras functional graph as a Module. ``forward`` takes NCHW tensors (images) or
    (N, features) tensors, like the Keras model takes NHWC / (N, features)."""

    def __init__(self, nodes, inputs, outputs, name):
        super().__init__()
        self.graph_name = name
        self._nodes = nodes
        self._inputs = inputs
        self._outputs = outputs
        self.layers = nn.ModuleDict({n.name: n.module for n in nodes if n.module is not None})
        # after node i runs, the values no later node needs are dropped (GPU memory stays at
        # the graph's live width, not its depth)
        last = {}
        for i, n in enumerate(nodes):
            for src in n.inputs:
                last[src] = i
        self._drop = [[src for src in set(n.inputs) if last[src] == i and src not in outputs]
                      for i, n in enumerate(nodes)]

    def forward(self, *xs):
        if len(xs) != len(self._inputs):
            raise ValueError(f"{self.graph_name}: expects {len(self._inputs)} input(s), got "
                             f"{len(xs)}")
        values = dict(zip(self._inputs, xs))
        for n, drop in zip(self._nodes, self._drop):
            if n.kind == "InputLayer":
                continue
            args = [values[i] for i in n.inputs]
            values[n.name] = n.fn(*args)
            del args
            for src in drop:
                del values[src]
        outs = [values[o] for o in self._outputs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def receptive_radius(self):
        """How many input pixels on each side can influence an output pixel."""
        radius = {i: 0.0 for i in self._inputs}
        scale = {i: 1.0 for i in self._inputs}   # node pixels per input pixel
        for n in self._nodes:
            if n.kind == "InputLayer":
                continue
            r, s = max(radius[i] for i in n.inputs), scale[n.inputs[0]]
            if n.kind == "Conv2D":
                r += max(n.module.dilation) * (max(n.module.kernel_size) - 1) / 2 / s
            s *= getattr(n.fn, "scale", 1)
            radius[n.name], scale[n.name] = r, s
        return int(np.ceil(max(radius[o] for o in self._outputs)))

    def extra_repr(self):
        return f"name={self.graph_name!r}"


def _inbound(layer):
    nodes = layer.get("inbound_nodes") or []
    if not nodes:
        return []
    if len(nodes) > 1:
        raise ModelFormatError(f"layer '{layer.get('name')}': shared layers (called more than "
                               "once) are not supported")
    out = []
    for entry in nodes[0]:
        if isinstance(entry, dict):  # Keras 3 style {"args": ..., "kwargs": ...}
            raise ModelFormatError(f"layer '{layer.get('name')}': this model.json uses a newer "
                                   "Keras format that webdl can't import")
        out.append(entry[0])
    return out


def _channel_axis(axis, where):
    if axis in (-1, 3):
        return 1
    if axis == 1:
        raise ModelFormatError(f"{where}: concatenation over axis {axis} (rows) is not "
                               "supported")
    raise ModelFormatError(f"{where}: unsupported concatenation axis {axis}")


def _build(layer, weights, where):
    """Return (fn, module) for one Keras layer config."""
    kind, cfg = layer["class_name"], layer.get("config", {})
    if kind == "Conv2D":
        kernel = weights.pop(f"{cfg['name']}/kernel", None)
        if kernel is None:
            raise ModelFormatError(f"{where}: no weight '{cfg['name']}/kernel' in the manifest")
        kh, kw, cin, cout = kernel.shape
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise ModelFormatError(f"{where}: only channels_last Conv2D is supported")
        groups = cfg.get("groups", 1)
        padding = cfg.get("padding", "valid")
        if padding not in ("same", "valid"):
            raise ModelFormatError(f"{where}: unsupported padding '{padding}'")
        if tuple(cfg.get("strides", (1, 1))) != (1, 1) and padding == "same":
            raise ModelFormatError(f"{where}: strided 'same' convolutions are not supported")
        # its weights come from the file: none drawn and uploaded first
        conv = skip_init(nn.Conv2d, cin * groups, cfg["filters"], (kh, kw),
                         stride=tuple(cfg["strides"]), padding=padding,
                         dilation=tuple(cfg.get("dilation_rate", (1, 1))), groups=groups,
                         bias=cfg.get("use_bias", True))
        if cout != cfg["filters"]:
            raise ModelFormatError(f"{where}: kernel has {cout} filters, config says "
                                   f"{cfg['filters']}")
        conv.weight.data = tensor(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        if cfg.get("use_bias", True):
            bias = weights.pop(f"{cfg['name']}/bias", None)
            if bias is None or bias.shape != (cout,):
                raise ModelFormatError(f"{where}: missing or mis-shaped bias "
                                       f"'{cfg['name']}/bias'")
            conv.bias.data = tensor(bias)
        act = _act(cfg.get("activation", "linear"), where)
        return (lambda x: act(conv(x))), conv
    if kind == "Dense":
        kernel = weights.pop(f"{cfg['name']}/kernel", None)
        if kernel is None:
            raise ModelFormatError(f"{where}: no weight '{cfg['name']}/kernel' in the manifest")
        lin = skip_init(nn.Linear, kernel.shape[0], kernel.shape[1],
                        bias=cfg.get("use_bias", True))
        lin.weight.data = tensor(np.ascontiguousarray(kernel.T))
        if cfg.get("use_bias", True):
            lin.bias.data = tensor(weights.pop(f"{cfg['name']}/bias"))
        act = _act(cfg.get("activation", "linear"), where)
        return (lambda x: act(lin(x))), lin
    if kind == "Activation":
        return _act(cfg.get("activation"), where), None
    if kind == "ReLU":
        return F.relu, None
    if kind == "Add":
        def add(*xs):
            out = xs[0]
            for x in xs[1:]:
                out = out + x
            return out
        return add, None
    if kind == "Concatenate":
        axis = _channel_axis(cfg.get("axis", -1), where)
        return (lambda *xs: cat(list(xs), axis)), None
    if kind == "UpSampling2D":
        size = tuple(cfg.get("size", (2, 2)))
        if cfg.get("interpolation", "nearest") != "nearest":
            raise ModelFormatError(f"{where}: UpSampling2D interpolation "
                                   f"'{cfg.get('interpolation')}' is not supported")
        fn = lambda x: F.interpolate(x, scale_factor=size, mode="nearest")  # noqa: E731
        fn.scale = size[0]
        return fn, None
    if kind == "MultiplyBeta":
        beta = 0.2  # UpscalerJS's layer multiplies by a fixed 0.2 whatever the config says
        return (lambda x: x * beta), None
    m = re.fullmatch(r"PixelShuffle(\d+)x", kind)
    if m:
        scale = int(cfg.get("scale", m.group(1)))
        fn = lambda x: F.depth_to_space(x, scale, data_format="NCHW")  # noqa: E731
        fn.scale = scale
        return fn, None
    raise ModelFormatError(f"{where}: unsupported layer type '{kind}'")


def _read_weights(manifest, base_dir, model_path):
    """The weights manifest's shards, concatenated per group, sliced into named arrays."""
    out = {}
    if not isinstance(manifest, list):
        raise ModelFormatError(f"{model_path}: weightsManifest must be a list")
    for group in manifest:
        data = bytearray()
        for p in group.get("paths", []):
            path = os.path.join(base_dir, p)
            try:
                with open(path, "rb") as f:
                    data += f.read()
            except OSError:
                raise ModelFormatError(f"{model_path}: weight shard '{p}' is missing") from None
        specs = group.get("weights", [])
        need = sum(int(np.prod(w["shape"], dtype=np.int64)) * 4 for w in specs)
        if need != len(data):
            raise ModelFormatError(
                f"{model_path}: the manifest's weights need {need} bytes but the shards "
                f"({', '.join(group.get('paths', []))}) hold {len(data)} bytes: a truncated or "
                "mismatched shard, or a weight whose size does not match")
        offset = 0
        for w in specs:
            name, shape = w["name"], tuple(w["shape"])
            if w.get("quantization"):
                raise ModelFormatError(f"{model_path}: weight '{name}' is quantized, which is "
                                       "not supported")
            if w.get("dtype", "float32") != "float32":
                raise ModelFormatError(f"{model_path}: weight '{name}' has dtype "
                                       f"{w.get('dtype')}; only float32 is supported")
            n = int(np.prod(shape, dtype=np.int64)) * 4
            out[name] = np.frombuffer(bytes(data[offset:offset + n]), dtype="<f4").reshape(shape)
            offset += n
    return out


def load_layers_model(model_json_path):
    """Build a :class:`KerasModel` from a TensorFlow.js layers-model ``model.json`` path."""
    try:
        with open(model_json_path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ModelFormatError(f"cannot read model file '{model_json_path}': {e.strerror}") \
            from None
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise ModelFormatError(f"{model_json_path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format", "layers-model") != "layers-model":
        raise ModelFormatError(f"{model_json_path}: not a TensorFlow.js layers-model (format "
                               f"{doc.get('format') if isinstance(doc, dict) else None!r})")
    try:
        topo = doc["modelTopology"]
        cfg = topo["model_config"] if "class_name" not in topo else topo
        if cfg.get("class_name") not in ("Functional", "Model", "Sequential"):
            raise ModelFormatError(f"{model_json_path}: unsupported model class "
                                   f"'{cfg.get('class_name')}'")
        layers = cfg["config"]["layers"] if cfg["class_name"] != "Sequential" else None
        if layers is None:
            raise ModelFormatError(f"{model_json_path}: Sequential models are not supported")
        inputs = [i[0] for i in cfg["config"]["input_layers"]]
        outputs = [o[0] for o in cfg["config"]["output_layers"]]
        manifest = doc["weightsManifest"]
    except (KeyError, TypeError, IndexError) as e:
        raise ModelFormatError(f"{model_json_path}: malformed model.json (missing {e})") \
            from None
    weights = _read_weights(manifest, os.path.dirname(model_json_path), model_json_path)
    nodes, known = [], set()
    for layer in layers:
        name, kind = layer.get("name"), layer.get("class_name")
        where = f"{os.path.basename(os.path.dirname(model_json_path)) or model_json_path} " \
                f"layer '{name}' ({kind})"
        ins = _inbound(layer)
        for i in ins:
            if i not in known:
                raise ModelFormatError(f"{where}: input '{i}' is not defined before it")
        if kind == "InputLayer":
            nodes.append(_Node(name, kind, [], None))
        else:
            fn, module = _build(layer, weights, where)
            nodes.append(_Node(name, kind, ins, fn, module))
        known.add(name)
    if weights:
        raise ModelFormatError(f"{model_json_path}: weights not used by any layer: "
                               + ", ".join(sorted(weights)[:5]))
    model = KerasModel(nodes, inputs, outputs, cfg["config"].get("name", "model"))
    return model.eval()
