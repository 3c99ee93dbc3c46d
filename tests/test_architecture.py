"""The package's shape: the core imports one way (tools/import_graph.py's layers), every
primitive is covered by the conformance table, and the op tables drive the public API."""
import os
import sys

import webdl
from webdl.backends import register
from webdl.backends.numpy_backend import NumpyBackend
from webdl.ops import PRIMITIVES, UNARY, BINARY

import opinfo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import import_graph  # noqa: E402

GRAPH = import_graph.analyse(os.path.join(ROOT, "src", "webdl"))
# imports made inside functions that are allowed: none
LAZY_OK = set()


def test_no_import_cycles():
    assert import_graph.cycles(GRAPH) == []


def test_lower_layers_never_import_higher_ones():
    assert import_graph.back_references(GRAPH) == []


def test_every_module_has_a_layer():
    assert [m for m in GRAPH if import_graph.layer_of(m) is None] == []


def test_no_function_level_imports_of_webdl_modules():
    found = [(m, t) for m, edges in GRAPH.items() for t, _, top in edges if not top]
    assert [f for f in found if f not in LAZY_OK] == []


class _Spy(NumpyBackend):
    """The numpy backend, recording which primitives run (the fused ops run as such, as on
    WebGL)."""

    def __init__(self):
        super().__init__()
        self.fused = frozenset({"conv2d", "layer_norm", "layer_norm_backward", "norm_stats",
                                "attention", "attention_grad_q", "attention_grad_kv"})
        self.seen = set()

    def run(self, op, *args):
        self.seen.add(op.name)
        return super().run(op, *args)


def test_every_primitive_has_a_conformance_case():
    spy = _Spy()
    register("spy", spy)
    for case in opinfo.CASES:
        opinfo.run(case, opinfo.Lib(webdl, device="spy"))
    assert sorted(set(PRIMITIVES) - spy.seen) == []


def test_op_rows_drive_functions_and_methods():
    """A unary or binary row without parameters is ``webdl.<name>`` and ``Tensor.<name>``,
    both running that row's op."""
    x = webdl.tensor([[0.5, 1.5], [2.0, 3.0]])
    for name, op in UNARY.items():
        if op.params:
            continue
        want = op.apply(x).numpy()
        assert (getattr(webdl, name)(x).numpy() == want).all(), name
        assert (getattr(x, name)().numpy() == want).all(), name
    for name, op in BINARY.items():
        if name in ("add", "sub", "div", "pow"):   # rows with extra arguments: own functions
            continue
        want = op.apply(x, x.flip(0)).numpy()
        assert (getattr(webdl, name)(x, x.flip(0)).numpy() == want).all(), name
        assert (getattr(x, name)(x.flip(0)).numpy() == want).all(), name
