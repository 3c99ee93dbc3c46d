"""The kernel families whose Python side WebGL's backend already has: views (lazy leaves
read in place, unslice an IR node), gather, scatter_add, the reductions, softmax, the row
statistics of layer_norm and batch norm, unfold and fold (and cat, through conv.py) compute
their uniforms the same way for both backends; their WGSL ports (shaders/wgsl/) declare the
same uniforms and inputs. WebGPUBackend provides the calls they make (``new``, ``realize``,
``full``)."""
from ..webgl import conv as _conv, movement as _mv, reduce as _red
from .registry import register

for _name, _fn, _shaders, _lazy in (
        ("reshape", _mv.reshape, (), True), ("permute", _mv.permute, (), True),
        ("expand", _mv.expand, (), True), ("slice", _mv.slice_, (), True),
        ("flip", _mv.flip, (), True), ("unslice", _mv.unslice, (), True),
        ("gather", _mv.gather, ("gather",), True),
        ("scatter_add", _mv.scatter_add, ("scatter_add",), True),
        ("sum", _red.sum_, ("reduce", "reduce_coop", "reduce_tree", "reduce_subgroup",
                            "elementwise"), True),
        ("amax", _red.amax, ("reduce", "elementwise"), True),
        ("amin", _red.amin, ("reduce", "elementwise"), True),
        ("argmax", _red.argmax, ("reduce", "elementwise"), True),
        ("argmin", _red.argmin, ("reduce", "elementwise"), True),
        ("unfold", _conv.unfold, ("unfold",), False), ("fold", _conv.fold, ("fold",), False),
        ("softmax", _red.softmax, ("softmax",), False),
        ("softmax_backward", _red.softmax_backward, ("softmax",), False),
        ("layer_norm", _red.layer_norm, ("layernorm", "layernorm_coop"), False),
        ("layer_norm_backward", _red.layer_norm_backward, ("layernorm", "layernorm_coop"),
         False),
        ("norm_stats", _red.norm_stats, ("layernorm", "layernorm_coop"), False)):
    register(_name, _shaders, _lazy)(_fn)
