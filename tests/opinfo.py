"""The op conformance suite, in the spirit of PyTorch's OpInfo.

Written once, importing only numpy, so the same cases run on CPython (webdl vs PyTorch) and
inside Pyodide in the browser (webdl on WebGL vs webdl's numpy reference). A case is a
function ``fn(m, F, *inputs)`` written against the PyTorch API, where ``m`` is the library
module (torch or webdl) and ``F`` its ``nn.functional``; the inputs are generated from the
case's specs with a fixed seed. A runner builds the inputs in two libraries, runs forward,
backpropagates a random cotangent through every float output, and compares outputs and
input gradients.

Tolerance: |a - b| <= atol * max(1, max|ref|) + rtol * |ref|, rtol = atol = 1e-5 against
PyTorch (float32), unless a case states its own.
"""
import numpy as np


class In:
    """An input spec. kind: float | pos (> 0.1) | unit (0.05..0.95) | int | index | bool."""

    def __init__(self, shape, kind="float", grad=None, noncontig=False, high=None, low=0):
        self.shape, self.kind, self.noncontig = tuple(shape), kind, noncontig
        self.grad = (kind in ("float", "pos", "unit")) if grad is None else grad
        self.high, self.low = high, low

    def make(self, rng):
        return np.asarray(self._make(rng))

    def _make(self, rng):
        s = self.shape
        if self.kind == "float":
            return rng.standard_normal(s).astype(np.float32)
        if self.kind == "pos":
            return (rng.random(s) * 2 + 0.1).astype(np.float32)
        if self.kind == "unit":
            return (rng.random(s) * 0.9 + 0.05).astype(np.float32)
        if self.kind in ("int", "index"):
            return rng.integers(self.low, self.high if self.high is not None else 5,
                                size=s).astype(np.int64)
        if self.kind == "bool":
            return rng.random(s) > 0.5
        if self.kind == "special":   # normal values with NaN, +inf and -inf mixed in
            x = rng.standard_normal(s).astype(np.float32)
            flat = x.reshape(-1)
            for v, k in ((np.nan, 0), (np.inf, 1), (-np.inf, 2)):
                flat[k::7] = v
            return x
        raise ValueError(self.kind)


class Case:
    def __init__(self, name, fn, inputs, grad=True, tol=None, gradcheck=True, seed=0):
        self.name, self.fn, self.inputs = name, fn, list(inputs)
        self.grad, self.tol, self.gradcheck, self.seed = grad, tol, gradcheck, seed

    def arrays(self):
        rng = np.random.default_rng(_stable_seed(self.name, self.seed))
        return [spec.make(rng) for spec in self.inputs]

    def __repr__(self):
        return self.name


def _stable_seed(name, seed):
    h = seed
    for ch in name:
        h = (h * 131 + ord(ch)) % (2 ** 31)
    return h


# --- adapters: how one library makes tensors and reads them back ----------------------------
class Lib:
    """Wraps a PyTorch-like module. ``device`` is passed to webdl only."""

    def __init__(self, module, device=None):
        self.m = module
        self.F = module.nn.functional
        self.device = device

    def tensor(self, arr, requires_grad, noncontig):
        kw = {"device": self.device} if self.device else {}
        if noncontig and arr.ndim >= 2:
            leaf = self.m.tensor(np.ascontiguousarray(np.swapaxes(arr, -1, -2)), **kw)
            if requires_grad:
                leaf.requires_grad_(True)
            return leaf, leaf.transpose(-1, -2)
        t = self.m.tensor(arr, **kw)
        if requires_grad:
            t.requires_grad_(True)
        return t, t

    def numpy(self, t):
        return t.detach().numpy()


def _outputs(out):
    if isinstance(out, (tuple, list)):
        return [o for o in out]
    return [out]


def run(case, lib, arrays=None, cotangent_seed=1):
    """Run a case in one library: returns (outputs as arrays, input grads as arrays)."""
    arrays = case.arrays() if arrays is None else arrays
    leaves, args = [], []
    for spec, arr in zip(case.inputs, arrays):
        rg = bool(case.grad and spec.grad)
        leaf, x = lib.tensor(arr, rg, spec.noncontig)
        leaves.append(leaf if rg else None)
        args.append(x)
    outs = _outputs(case.fn(lib.m, lib.F, *args))
    out_np = [lib.numpy(o) for o in outs]
    grads = []
    if case.grad and any(leaf is not None for leaf in leaves):
        rng = np.random.default_rng(cotangent_seed)
        total = None
        for o, a in zip(outs, out_np):
            if a.dtype.kind != "f" or not getattr(o, "requires_grad", False):
                continue
            w = lib.tensor(rng.standard_normal(a.shape).astype(np.float32), False, False)[0]
            if hasattr(w, "to") and lib.device:
                w = w.to(lib.device)
            term = (o * w).sum()
            total = term if total is None else total + term
        if total is not None:
            total.backward()
        for leaf in leaves:
            if leaf is None:
                grads.append(None)
            else:
                g = None if leaf.grad is None else lib.numpy(leaf.grad)
                if g is not None and leaf is not args[len(grads)]:  # non-contiguous input:
                    g = np.swapaxes(g, -1, -2)                       # report in its own layout
                grads.append(g)
    return out_np, grads


def max_error(a, b, rtol, atol):
    """Largest |a-b| / (atol*max(1, max|b|) + rtol*|b|); <= 1 means within tolerance.
    NaN must match NaN and infinities must match exactly."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return np.inf
    if a.size == 0:
        return 0.0
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if (nan_a != nan_b).any():
        return np.inf
    inf_b = np.isinf(b)
    if (a[inf_b] != b[inf_b]).any() or (np.isinf(a) != inf_b).any():
        return np.inf
    ok = ~(nan_b | inf_b)
    if not ok.any():
        return 0.0
    scale = max(1.0, float(np.abs(b[ok]).max()))
    return float((np.abs(a[ok] - b[ok]) / (atol * scale + rtol * np.abs(b[ok]))).max())


def compare(case, got, ref, rtol=1e-5, atol=1e-5):
    """Compare run() results; returns (worst normalised error, worst absolute error, report)."""
    if case.tol:
        rtol, atol = case.tol, case.tol
    (go, gg), (ro, rg) = got, ref
    worst, worst_abs, msgs = 0.0, 0.0, []
    if len(go) != len(ro):
        return np.inf, np.inf, [f"{len(go)} outputs vs {len(ro)}"]
    pairs = [(f"output {i}", a, b) for i, (a, b) in enumerate(zip(go, ro))] + \
            [(f"grad of input {i}", a, b) for i, (a, b) in enumerate(zip(gg, rg))]
    for what, a, b in pairs:
        if a is None or b is None:
            if (a is None) != (b is None):
                msgs.append(f"{what}: one side has no gradient")
                worst = np.inf
            continue
        kinds = {"b": "bool", "i": "int", "u": "int", "f": "float"}
        if kinds.get(a.dtype.kind) != kinds.get(b.dtype.kind):     # bool/int/float as torch
            msgs.append(f"{what}: dtype {a.dtype} vs {b.dtype}")
            worst = np.inf
            continue
        if a.dtype.kind in "biu":
            if a.shape != b.shape or (a.astype(np.int64) != b.astype(np.int64)).any():
                msgs.append(f"{what}: integer/bool values differ")
                worst = np.inf
            continue
        e = max_error(a, b, rtol, atol)
        if a.shape == b.shape and a.size:
            fin = np.isfinite(a) & np.isfinite(b)
            if fin.any():
                worst_abs = max(worst_abs, float(np.abs(a[fin].astype(np.float64) - b[fin]).max()))
        if e > 1:
            msgs.append(f"{what}: shape {a.shape} vs {b.shape}, normalised error {e:.3g}")
        worst = max(worst, e)
    return worst, worst_abs, msgs


def run_all(cases, lib, ref_lib, rtol, atol):
    """Every case in two libraries: {name: [normalised error, largest abs error, messages]}
    (a failure to run counts as an error of 1e30, with its traceback)."""
    import math
    import traceback
    res = {}
    for case in cases:
        try:
            worst, wabs, msgs = compare(case, run(case, lib), run(case, ref_lib), rtol, atol)
            res[case.name] = [worst if math.isfinite(worst) else 1e30, wabs, msgs]
        except Exception:  # noqa: BLE001 - reported per case
            res[case.name] = [1e30, 1e30, [traceback.format_exc()]]
    return res


# --- the cases ------------------------------------------------------------------------------
def _cases():
    C = []

    def add(name, fn, *inputs, **kw):
        C.append(Case(name, fn, inputs, **kw))

    # elementwise unary, over shapes: plain, 0-d, size-1, empty, non-contiguous
    unary = {
        "neg": (lambda m, F, x: -x, "float"),
        "abs": (lambda m, F, x: m.abs(x), "float"),
        "exp": (lambda m, F, x: m.exp(x), "float"),
        "log": (lambda m, F, x: m.log(x), "pos"),
        "sqrt": (lambda m, F, x: m.sqrt(x), "pos"),
        "rsqrt": (lambda m, F, x: m.rsqrt(x), "pos"),
        "sin": (lambda m, F, x: m.sin(x), "float"),
        "cos": (lambda m, F, x: m.cos(x), "float"),
        "tan": (lambda m, F, x: m.tan(x), "unit"),
        "tanh": (lambda m, F, x: m.tanh(x), "float"),
        "sigmoid": (lambda m, F, x: m.sigmoid(x), "float"),
        "relu": (lambda m, F, x: F.relu(x), "float"),
        "leaky_relu": (lambda m, F, x: F.leaky_relu(x, 0.2), "float"),
        "gelu": (lambda m, F, x: F.gelu(x), "float"),
        "gelu_tanh": (lambda m, F, x: F.gelu(x, approximate="tanh"), "float"),
        "softplus": (lambda m, F, x: F.softplus(x, beta=2.0, threshold=3.0), "float"),
        "clamp": (lambda m, F, x: m.clamp(x, -0.5, 0.7), "float"),
        "clamp_min": (lambda m, F, x: x.clamp(min=0.1), "float"),
        "pow_scalar": (lambda m, F, x: x ** 3, "float"),
        "pow_frac": (lambda m, F, x: x ** 0.5, "pos"),
        "rpow": (lambda m, F, x: 2.0 ** x, "float"),
        "square": (lambda m, F, x: m.square(x), "float"),
        "log1p": (lambda m, F, x: m.log1p(x), "pos"),
        "erf": (lambda m, F, x: m.erf(x), "float"),
        "sign": (lambda m, F, x: m.sign(x), "float"),
        "silu": (lambda m, F, x: F.silu(x), "float"),
        "elu": (lambda m, F, x: F.elu(x), "float"),
        "round": (lambda m, F, x: m.round(x * 3.0), "float"),
        "round_ties": (lambda m, F, x: m.round((x * 4.0).floor() + 0.5), "float"),  # to even
        "round_decimals": (lambda m, F, x: x.round(decimals=1), "float"),
        "ceil": (lambda m, F, x: m.ceil(x * 3.0), "float"),
        "trunc": (lambda m, F, x: m.trunc(x * 3.0), "float"),
        "frac": (lambda m, F, x: m.frac(x * 3.0), "float"),
    }
    steps = ("sign", "round", "round_ties", "round_decimals", "ceil", "trunc", "frac")
    for name, (fn, kind) in unary.items():
        for tag, spec in (("2d", In((3, 5), kind)), ("0d", In((), kind)),
                          ("size1", In((1, 4, 1), kind)), ("empty", In((0, 3), kind)),
                          ("noncontig", In((4, 6), kind, noncontig=True))):
            add(f"{name}[{tag}]", fn, spec, gradcheck=name not in steps)

    binary = {
        "add": lambda m, F, a, b: a + b,
        "sub": lambda m, F, a, b: a - b,
        "mul": lambda m, F, a, b: a * b,
        "div": lambda m, F, a, b: a / b,
        "maximum": lambda m, F, a, b: m.maximum(a, b),
        "minimum": lambda m, F, a, b: m.minimum(a, b),
        "pow": lambda m, F, a, b: m.pow(a, b),
        "add_alpha": lambda m, F, a, b: m.add(a, b, alpha=2.0),
    }
    for name, fn in binary.items():
        ka = "pos" if name == "pow" else "float"
        kb = "pos" if name == "div" else "float"
        for tag, sa, sb in (("same", (3, 4), (3, 4)), ("bcast", (2, 1, 4), (3, 1)),
                            ("scalar_t", (3, 4), ()), ("rank", (5,), (2, 3, 5)),
                            ("empty", (0, 4), (1, 4))):
            add(f"{name}[{tag}]", fn, In(sa, ka), In(sb, kb))
        add(f"{name}[noncontig]", fn, In((4, 5), ka, noncontig=True), In((4, 5), kb))
    for name, fn in {"mul_scalar": lambda m, F, a: a * 2.5, "rsub": lambda m, F, a: 1.0 - a,
                     "rdiv": lambda m, F, a: 3.0 / a, "add_int": lambda m, F, a: a + 2}.items():
        add(name, fn, In((2, 3), "pos"))
    for name, fn in {"eq": lambda m, F, a, b: a == b, "ne": lambda m, F, a, b: a != b,
                     "lt": lambda m, F, a, b: a < b, "le": lambda m, F, a, b: a <= b,
                     "gt": lambda m, F, a, b: a > b, "ge": lambda m, F, a, b: a >= b}.items():
        add(f"{name}[bcast]", fn, In((3, 1, 4), "int", grad=False), In((2, 4), "int", grad=False))
        add(f"{name}[float]", fn, In((3, 4)), In((3, 4)), grad=False)
    add("where", lambda m, F, c, a, b: m.where(c, a, b), In((3, 4), "bool"), In((3, 4)),
        In((1, 4)))
    add("where_scalar", lambda m, F, c, a: m.where(c, a, 0.0), In((2, 3), "bool"), In((2, 3)))
    add("logical", lambda m, F, a, b: (a & b, a | b, a ^ b, ~a), In((3, 4), "bool"),
        In((1, 4), "bool"))
    add("isnan", lambda m, F, x: (m.isnan(x), m.isinf(x), m.isfinite(x)), In((3, 7), "special"),
        grad=False)
    add("masked_fill", lambda m, F, x, c: x.masked_fill(c, -1.0), In((3, 4)), In((3, 4), "bool"))
    add("int_arith", lambda m, F, a, b: (a * b + a - b) // 2, In((3, 4), "int", low=-5, high=5),
        In((3, 4), "int", low=1, high=5), grad=False)
    add("int_pow", lambda m, F, a, b: (a ** 3, a ** 2 * a, m.pow(a, b)),
        In((3, 4), "int", low=-5, high=6), In((3, 4), "int", low=0, high=4), grad=False)
    add("int_floordiv", lambda m, F, a, b: (m.div(a, b, rounding_mode="floor"),
                                            m.div(a, -b, rounding_mode="floor"),
                                            m.div(a, b, rounding_mode="trunc"),
                                            m.div(a, -b, rounding_mode="trunc"), 7 // b, a // 3),
        In((4, 5), "int", low=-20, high=21), In((4, 5), "int", low=1, high=6), grad=False)
    add("floordiv_float", lambda m, F, a, b: (a // b, m.div(a, b, rounding_mode="trunc")),
        In((3, 4)), In((3, 4), "pos"), grad=False)
    add("int_div_float", lambda m, F, a, b: a / b, In((3,), "int", low=1, high=9),
        In((3,), "int", low=1, high=5), grad=False)
    add("cast_chain", lambda m, F, x: (x > 0).float() * x + x.long().float(), In((3, 4)))

    # reductions
    red = {
        "sum": lambda m, F, x, d, k: m.sum(x, dim=d, keepdim=k),
        "mean": lambda m, F, x, d, k: m.mean(x, dim=d, keepdim=k),
        "amax": lambda m, F, x, d, k: m.amax(x, dim=d, keepdim=k),
        "amin": lambda m, F, x, d, k: m.amin(x, dim=d, keepdim=k),
        "var": lambda m, F, x, d, k: m.var(x, dim=d, keepdim=k),
        "var_c0": lambda m, F, x, d, k: m.var(x, dim=d, keepdim=k, correction=0),
        "std": lambda m, F, x, d, k: m.std(x, dim=d, keepdim=k),
        "logsumexp": lambda m, F, x, d, k: m.logsumexp(x, dim=d, keepdim=k),
    }
    for name, fn in red.items():
        for tag, shape, dim, keep in (("all", (3, 4), None, False), ("d1", (3, 4, 5), 1, False),
                                      ("d02k", (3, 4, 5), (0, 2), True),
                                      ("neg", (2, 3, 4), -1, True),
                                      ("nc", (4, 6), 0, False)):
            if name == "logsumexp" and dim is None:
                dim = (0, 1)
            if name in ("amax", "amin", "logsumexp") and dim is None:
                continue
            add(f"{name}[{tag}]", (lambda f, d, k: lambda m, F, x: f(m, F, x, d, k))(fn, dim, keep),
                In(shape, noncontig=tag == "nc"))
    # reductions of views (read in place on WebGL) and of three separate axis groups
    add("sum[3groups]", lambda m, F, x: x.sum((0, 2, 4)), In((2, 3, 4, 3, 2)))
    add("sum[permuted]", lambda m, F, x: x.permute(2, 0, 1).sum((0, 2)), In((3, 4, 5)))
    add("amax[sliced]", lambda m, F, x: x[:, 1::2].amax(0), In((4, 7)))
    add("argmax[flipped]", lambda m, F, x: (x.flip(1).argmax(1), x.t().argmin(1)), In((3, 5)),
        grad=False)
    add("sum[expanded]", lambda m, F, x: x.expand(3, 4, 5).sum((0, 2)), In((1, 4, 1)))
    # long reductions (on WebGL: chunks of 256 combined by further passes)
    add("sum[long]", lambda m, F, x: (x.sum(1), x.sum()), In((3, 1000)))
    add("sum[chunks3]", lambda m, F, x: x.sum(), In((70000,)), gradcheck=False)
    add("amax_amin[long]", lambda m, F, x: (x.amax(0), x.amin(0)), In((700, 2)))
    add("mean[bn_axes]", lambda m, F, x: x.mean((0, 2, 3)), In((4, 3, 20, 20)))
    add("sum[empty]", lambda m, F, x: x.sum(0), In((0, 3)))
    add("sum[0d]", lambda m, F, x: x.sum(), In(()))
    add("amax[all]", lambda m, F, x: x.amax(), In((3, 4)))
    add("max[all]", lambda m, F, x: m.max(x), In((3, 4)))
    add("max[dim]", lambda m, F, x: tuple(m.max(x, dim=1)), In((3, 5)))
    add("min[dim_keep]", lambda m, F, x: tuple(m.min(x, dim=0, keepdim=True)), In((4, 3)))
    add("max[ties]", lambda m, F, x: tuple(m.max(x.clamp(max=0.0), dim=1)), In((4, 6)))
    add("amax[ties]", lambda m, F, x: m.amax(x.clamp(max=0.0), dim=1), In((4, 6)), gradcheck=False)
    add("argmax", lambda m, F, x: (m.argmax(x), m.argmax(x, dim=1), m.argmax(x, 0, keepdim=True)),
        In((4, 5)), grad=False)
    add("argmin", lambda m, F, x: (m.argmin(x), m.argmin(x, dim=-1)), In((4, 5)), grad=False)
    add("int_sum", lambda m, F, x: (x.sum(), x.sum(1)), In((3, 4), "int"), grad=False)
    add("bool_any_all", lambda m, F, x: ((x > 0).any(), (x > -1).all(1)), In((3, 4)), grad=False)
    for name, fn in {"softmax": lambda m, F, x, d: F.softmax(x, d),
                     "log_softmax": lambda m, F, x, d: F.log_softmax(x, d)}.items():
        for tag, shape, d in (("last", (3, 5), -1), ("d1", (2, 4, 3), 1), ("0d", (), 0),
                              ("big", (2, 6), 1)):
            add(f"{name}[{tag}]", (lambda f, d: lambda m, F, x: f(m, F, x * 10, d))(fn, d),
                In(shape))
    # the fused softmax primitive (scale, masks, max-subtracted exp, normalisation) through
    # scaled_dot_product_attention: scale, bool and float masks (broadcast over batch and
    # heads, float masks with their own gradient), is_causal (also with more keys than
    # queries), and rows whose every key is masked (zeros and zero gradients, as PyTorch)
    def sdpa(**kw):
        return lambda m, F, q, k, v, *mask: F.scaled_dot_product_attention(q, k, v, *mask, **kw)

    def none_left(m, mask):     # row 1 of a (L, S) mask: every key dropped
        return m.cat([mask[:1], mask[1:2].logical_and(mask[1:2].logical_not()), mask[2:]])
    qkv = (In((2, 3, 4, 8)), In((2, 3, 6, 8)), In((2, 3, 6, 5)))
    add("sdpa[plain]", sdpa(), *qkv)
    add("sdpa[scale]", sdpa(scale=0.7), *qkv)
    add("sdpa[causal]", sdpa(is_causal=True), *qkv)
    add("sdpa[causal_square]", sdpa(is_causal=True, scale=2.0), In((3, 6, 8)), In((3, 6, 8)),
        In((3, 6, 5)))
    # heads split by view and transpose (read in place by WebGPU's fused kernels), and rows
    # longer than a 64-invocation workgroup (queries, keys and features)
    add("sdpa[heads_view]", lambda m, F, q, k, v: F.scaled_dot_product_attention(
        *(t.reshape(2, 5, 3, 8).transpose(1, 2) for t in (q, k, v)), is_causal=True),
        In((2, 5, 24)), In((2, 5, 24)), In((2, 5, 24)))
    add("sdpa[long]", sdpa(is_causal=True), In((1, 2, 70, 72)), In((1, 2, 67, 72)),
        In((1, 2, 67, 66)))
    add("sdpa[long_plain]", sdpa(scale=0.05), In((70, 8)), In((130, 8)), In((130, 3)))
    add("sdpa[bool]", sdpa(), *qkv, In((4, 6), "bool"))
    add("sdpa[float]", sdpa(scale=0.5), *qkv, In((3, 1, 6)))
    add("sdpa[bool_none_left]", lambda m, F, q, k, v, mask: F.scaled_dot_product_attention(
        q, k, v, none_left(m, mask)), *qkv, In((4, 6), "bool"))
    add("sdpa[float_none_left]", lambda m, F, q, k, v, mask, f: F.scaled_dot_product_attention(
        q, k, v, m.where(none_left(m, mask), f, float("-inf"))), *qkv, In((4, 6), "bool"),
        In((4, 6)))
    add("softmax[none_left]", lambda m, F, x, mask: (
        F.softmax(m.where(none_left(m, mask), x, float("-inf")), -1),
        F.log_softmax(m.where(mask, x, float("-inf")), -1)), In((4, 6)), In((4, 6), "bool"),
        gradcheck=False)   # NaN rows, as PyTorch

    # shape
    add("reshape", lambda m, F, x: x.reshape(4, -1), In((2, 3, 4)))
    add("view_nc", lambda m, F, x: x.reshape(-1), In((3, 4), noncontig=True))
    add("permute", lambda m, F, x: x.permute(2, 0, 1), In((2, 3, 4)))
    add("transpose", lambda m, F, x: x.transpose(0, 2), In((2, 3, 4)))
    add("t", lambda m, F, x: x.t(), In((3, 5)))
    add("T3", lambda m, F, x: x.permute(2, 1, 0) * 1.0, In((2, 3, 4)))
    add("squeeze", lambda m, F, x: (x.squeeze(), x.squeeze(1), x.squeeze((0, 3))),
        In((1, 3, 1, 1)))
    add("unsqueeze", lambda m, F, x: (x.unsqueeze(0), x.unsqueeze(-1), x.unsqueeze(1)), In((3, 2)))
    add("expand", lambda m, F, x: x.expand(2, 3, 4), In((3, 1)))
    add("expand_m1", lambda m, F, x: x.expand(-1, 5), In((3, 1)))
    add("expand_as", lambda m, F, x, y: x.expand_as(y), In((1, 4)), In((3, 4)))
    add("flatten", lambda m, F, x: (x.flatten(), x.flatten(1), x.flatten(0, 1)), In((2, 3, 4)))
    add("cat", lambda m, F, a, b, c: m.cat([a, b, c], dim=1), In((2, 3)), In((2, 1)), In((2, 4)))
    add("cat0_nc", lambda m, F, a, b: m.cat([a, b]), In((3, 4), noncontig=True), In((2, 4)))
    add("stack", lambda m, F, a, b: m.stack([a, b], dim=1), In((2, 3)), In((2, 3)))
    add("stack_last", lambda m, F, a, b: m.stack((a, b), -1), In((4,)), In((4,)))
    add("split", lambda m, F, x: x.split(2, dim=1), In((3, 5)))
    add("split_sizes", lambda m, F, x: m.split(x, [1, 3, 1], dim=0), In((5, 2)))
    add("chunk", lambda m, F, x: x.chunk(3, dim=-1), In((2, 7)))
    add("getitem_int", lambda m, F, x: x[1], In((3, 4)))
    add("getitem_neg", lambda m, F, x: x[-1, :, -2], In((3, 4, 5)))
    add("getitem_step", lambda m, F, x: x[::2, 1:4:2], In((5, 6)))
    add("getitem_none_ell", lambda m, F, x: x[None, ..., 1], In((3, 4, 5)))
    add("getitem_ell_mid", lambda m, F, x: x[0, ..., None, 1:], In((2, 3, 4)))
    add("getitem_empty", lambda m, F, x: x[2:2], In((4, 3)))
    add("getitem_clip", lambda m, F, x: x[-10:10, 3:], In((4, 5)))
    add("getitem_nc", lambda m, F, x: x[1:, ::2], In((4, 6), noncontig=True))
    add("getitem_tensor", lambda m, F, x, i: x[i], In((5, 3)), In((4,), "index", high=5))
    add("getitem_mask", lambda m, F, x: x[x > 0], In((4, 3)))
    add("index_select", lambda m, F, x, i: m.index_select(x, 1, i), In((3, 5)),
        In((4,), "index", high=5))
    add("gather", lambda m, F, x, i: m.gather(x, 1, i), In((3, 5)), In((3, 4), "index", high=5))
    add("narrow", lambda m, F, x: x.narrow(1, 1, 2), In((3, 5)))
    add("flip", lambda m, F, x: x.flip((0, 2)), In((2, 3, 4)))
    add("repeat", lambda m, F, x: x.repeat(2, 1, 3), In((2, 3)))
    for mode in ("constant", "reflect", "replicate", "circular"):
        add(f"pad_{mode}", lambda m, F, x, mode=mode: F.pad(x, (1, 2, 2, 1), mode=mode),
            In((2, 3, 4, 5)))
    add("pad_value", lambda m, F, x: F.pad(x, (2, 0), value=-1.5), In((3, 4)))
    add("pad_negative", lambda m, F, x: F.pad(x, (-1, 2, 1, -2)), In((4, 5)))
    # a padded (unsliced) row broadcast into its consumer, and strided slices' gradients
    # summed (on WebGL: one expression, no draw per slice)
    add("pad_broadcast", lambda m, F, x, y: F.pad(x, (1, 1), value=0.5) * y, In((1, 3)),
        In((4, 5)))
    add("slices_summed", lambda m, F, x: x[:, ::2] * x[:, 1::2] + x[1:, :3].sum(),
        In((3, 6)))
    add("pad_3dims", lambda m, F, x: F.pad(x, (1, 1, 0, 1, 1, 0)), In((2, 3, 4)))

    # matmul and linear
    for tag, sa, sb in (("2d", (3, 4), (4, 5)), ("batched", (2, 3, 4), (2, 4, 5)),
                        ("bcast", (2, 1, 3, 4), (3, 4, 2)), ("vec_mat", (4,), (4, 3)),
                        ("mat_vec", (3, 4), (4,)), ("dot", (4,), (4,)),
                        ("batch_vec", (2, 3, 4), (4,)), ("k1", (3, 1), (1, 2)),
                        ("empty_k", (3, 0), (0, 2)),
                        # past one 8x4 output block and one 4-wide K step, shared operands
                        ("blocks", (19, 13), (13, 10)), ("shared_b", (3, 19, 13), (13, 6)),
                        ("shared_a", (9, 5), (2, 5, 17)), ("wide", (2, 40, 70), (2, 70, 33)),
                        # B shared with a batch dim of 1 (its gradient: one flattened product)
                        ("shared_b1", (2, 3, 5, 4), (1, 4, 6)),
                        # large enough for WebGL's packed kernel: A's batch flattens into rows
                        ("shared_b_packed", (4, 30, 50), (50, 60))):
        add(f"matmul[{tag}]", lambda m, F, a, b: a @ b, In(sa), In(sb))
    # large enough for WebGL's packed kernel, with views read in place (transposes) and a
    # permuted batch that does not flatten
    add("matmul[packed_views]", lambda m, F, a, b: a.t() @ b.transpose(-1, -2),
        In((60, 50)), In((3, 70, 60)))
    add("matmul[perm_batch]", lambda m, F, a, b: a.permute(1, 0, 2, 3) @ b,
        In((4, 3, 20, 30)), In((30, 40)))
    # q and k of a packed q/k/v projection: batch dims (N, H) in two strided groups
    add("matmul[qkv_views]", lambda m, F, x: (
        lambda t: t[0] @ t[1].transpose(-1, -2))(
            x.reshape(4, 32, 3, 4, 16).permute(2, 0, 3, 1, 4)), In((4, 32, 192)))
    add("matmul[nc]", lambda m, F, a, b: m.matmul(a, b), In((4, 3), noncontig=True),
        In((3, 5), noncontig=True))
    add("linear", lambda m, F, x, w, b: F.linear(x, w, b), In((2, 3, 4)), In((5, 4)), In((5,)))
    add("linear_3d_packed", lambda m, F, x, w, b: F.linear(x, w, b), In((3, 20, 48)),
        In((40, 48)), In((40,)))
    add("linear_nobias", lambda m, F, x, w: F.linear(x, w), In((3, 4)), In((2, 4)))
    # an input whose batch dims are three strided groups (no packed product: on WebGL a
    # 1x1 convolution of the weight read transposed, which read it untransposed until
    # 2026-11-28)
    add("linear_strided_batch", lambda m, F, x, w: F.linear(x.permute(3, 1, 0, 2, 4, 5), w),
        In((2, 3, 4, 5, 8, 64)), In((48, 64)))

    # convolution family
    conv = [
        ("basic", (2, 3, 7, 6), (4, 3, 3, 3), {}),
        ("stride_pad", (1, 2, 8, 7), (3, 2, 3, 2), dict(stride=2, padding=1)),
        ("same", (1, 3, 6, 5), (2, 3, 3, 3), dict(padding="same")),
        ("same_even", (1, 2, 6, 6), (2, 2, 4, 2), dict(padding="same")),
        ("valid", (1, 2, 6, 6), (2, 2, 5, 5), dict(padding="valid")),
        ("dilation", (1, 2, 9, 9), (3, 2, 3, 3), dict(dilation=2, padding=2)),
        ("groups", (2, 4, 5, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
        ("depthwise", (1, 3, 5, 5), (3, 1, 3, 3), dict(groups=3)),
        ("1x1", (2, 5, 4, 4), (3, 5, 1, 1), {}),
        ("5x5", (1, 2, 8, 8), (2, 2, 5, 5), dict(padding=2)),
        ("stride_hw", (1, 1, 9, 8), (2, 1, 3, 3), dict(stride=(2, 3), padding=(1, 0))),
        ("dil_pad_hw", (2, 3, 7, 8), (4, 3, 3, 2), dict(dilation=(2, 1), padding=(3, 1))),
        ("big_pad", (1, 2, 4, 5), (3, 2, 3, 3), dict(padding=3)),
    ]
    for tag, xs, ws, kw in conv:
        add(f"conv2d[{tag}]", lambda m, F, x, w, b, kw=kw: F.conv2d(x, w, b, **kw), In(xs),
            In(ws), In((ws[0],)))
    add("conv2d[nobias_nc]", lambda m, F, x, w: F.conv2d(x, w, padding=1),
        In((1, 2, 5, 6), noncontig=True), In((3, 2, 3, 3)))
    add("conv2d[stride_wgrad]", lambda m, F, x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
        In((2, 2, 9, 8), grad=False), In((3, 2, 3, 3)), In((3,)))
    add("conv2d[unbatched]", lambda m, F, x, w: F.conv2d(x, w), In((2, 5, 5)), In((3, 2, 3, 3)))
    convt = [
        ("basic", (2, 3, 4, 5), (3, 2, 3, 3), {}),
        ("stride", (1, 2, 3, 4), (2, 3, 3, 3), dict(stride=2)),
        ("stride_pad_op", (1, 2, 4, 4), (2, 2, 3, 3), dict(stride=2, padding=1,
                                                           output_padding=1)),
        ("groups", (1, 4, 3, 3), (4, 2, 3, 3), dict(groups=2)),
        ("dilation", (1, 2, 4, 4), (2, 2, 2, 2), dict(dilation=2, padding=1)),
        ("k4s2", (1, 3, 5, 5), (3, 2, 4, 4), dict(stride=2, padding=1)),
    ]
    for tag, xs, ws, kw in convt:
        add(f"conv_transpose2d[{tag}]",
            lambda m, F, x, w, b, kw=kw: F.conv_transpose2d(x, w, b, **kw), In(xs), In(ws),
            In((ws[1] * kw.get("groups", 1),)))
    pools = [
        ("k2", dict(kernel_size=2)), ("k3s1p1", dict(kernel_size=3, stride=1, padding=1)),
        ("k3s2", dict(kernel_size=3, stride=2)), ("rect", dict(kernel_size=(2, 3), stride=(1, 2))),
        ("ceil", dict(kernel_size=2, stride=2, ceil_mode=True)),
        ("tiles_rect", dict(kernel_size=(3, 2))),
    ]
    for tag, kw in pools:
        add(f"max_pool2d[{tag}]", lambda m, F, x, kw=kw: F.max_pool2d(x, **kw), In((2, 3, 7, 6)))
        add(f"avg_pool2d[{tag}]", lambda m, F, x, kw=kw: F.avg_pool2d(x, **kw), In((2, 3, 7, 6)))
    add("max_pool2d[dilation]", lambda m, F, x: F.max_pool2d(x, 2, 1, dilation=2),
        In((1, 2, 6, 6)))
    add("avg_pool2d[no_pad_count]", lambda m, F, x: F.avg_pool2d(x, 3, 2, 1,
                                                                 count_include_pad=False),
        In((1, 2, 7, 7)))
    add("avg_pool2d[divisor]", lambda m, F, x: F.avg_pool2d(x, 2, divisor_override=3),
        In((1, 2, 4, 4)))
    for tag, xs, os_ in (("div", (2, 3, 8, 6), (4, 3)), ("uneven", (1, 2, 7, 5), (3, 2)),
                         ("one", (2, 3, 5, 5), 1), ("up", (1, 1, 3, 3), (5, 4))):
        add(f"adaptive_avg_pool2d[{tag}]",
            lambda m, F, x, os_=os_: F.adaptive_avg_pool2d(x, os_), In(xs))
    interp = [
        ("nearest_x2", dict(scale_factor=2, mode="nearest")),
        ("nearest_size", dict(size=(7, 5), mode="nearest")),
        ("nearest_down", dict(size=(2, 3), mode="nearest")),
        ("bilinear_x2", dict(scale_factor=2, mode="bilinear", align_corners=False)),
        ("bilinear_ac", dict(size=(7, 9), mode="bilinear", align_corners=True)),
        ("bilinear_size", dict(size=(5, 3), mode="bilinear", align_corners=False)),
        ("bilinear_down_ac", dict(size=(2, 2), mode="bilinear", align_corners=True)),
    ]
    for tag, kw in interp:
        add(f"interpolate[{tag}]", lambda m, F, x, kw=kw: F.interpolate(x, **kw), In((2, 2, 4, 5)))
    add("pixel_shuffle", lambda m, F, x: F.pixel_shuffle(x, 2), In((2, 8, 3, 4)))
    add("pixel_shuffle3", lambda m, F, x: F.pixel_shuffle(x, 3), In((1, 9, 2, 2)))
    add("pixel_unshuffle", lambda m, F, x: F.pixel_unshuffle(x, 2), In((2, 3, 4, 6)))
    add("unfold_fold", lambda m, F, x: F.fold(F.unfold(x, 3, padding=1, stride=2), (5, 6), 3,
                                              padding=1, stride=2), In((1, 2, 5, 6)))

    # nn pieces
    add("dropout_eval", lambda m, F, x: F.dropout(x, 0.5, training=False), In((3, 4)))
    add("embedding", lambda m, F, i, w: F.embedding(i, w), In((2, 3), "index", high=6),
        In((6, 4)))
    add("embedding_pad", lambda m, F, i, w: F.embedding(i, w, padding_idx=1),
        In((5,), "index", high=4), In((4, 3)), gradcheck=False)  # padding row: grad held at 0
    add("one_hot", lambda m, F, i: F.one_hot(i, 5), In((2, 3), "index", high=5), grad=False)
    add("layer_norm", lambda m, F, x, w, b: F.layer_norm(x, (4,), w, b), In((2, 3, 4)), In((4,)),
        In((4,)))
    add("layer_norm2", lambda m, F, x: F.layer_norm(x, (3, 4), eps=1e-3), In((2, 3, 4)))
    add("batch_norm_train", lambda m, F, x, w, b: F.batch_norm(x, None, None, w, b, True),
        In((4, 3, 2, 2)), In((3,)), In((3,)))
    add("batch_norm_eval", lambda m, F, x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, False),
        In((2, 3, 4, 4)), In((3,), grad=False), In((3,), "pos", grad=False), In((3,)), In((3,)))
    add("batch_norm_1d", lambda m, F, x: F.batch_norm(x, None, None, training=True), In((5, 3)))
    add("prelu", lambda m, F, x, w: F.prelu(x, w), In((2, 3, 4)), In((3,)))

    # losses
    for red in ("mean", "sum", "none"):
        add(f"mse_loss[{red}]", lambda m, F, a, b, r=red: F.mse_loss(a, b, reduction=r),
            In((3, 4)), In((3, 4)))
        add(f"l1_loss[{red}]", lambda m, F, a, b, r=red: F.l1_loss(a, b, reduction=r),
            In((3, 4)), In((3, 4)))
        add(f"smooth_l1_loss[{red}]",
            lambda m, F, a, b, r=red: F.smooth_l1_loss(a, b, reduction=r, beta=0.5),
            In((3, 4)), In((3, 4)))
        add(f"cross_entropy[{red}]", lambda m, F, x, t, r=red: F.cross_entropy(x, t, reduction=r),
            In((4, 5)), In((4,), "index", high=5))
        add(f"nll_loss[{red}]",
            lambda m, F, x, t, r=red: F.nll_loss(F.log_softmax(x, 1), t, reduction=r),
            In((4, 5)), In((4,), "index", high=5))
        add(f"bce[{red}]", lambda m, F, p, y, r=red: F.binary_cross_entropy(p, y, reduction=r),
            In((3, 4), "unit"), In((3, 4), "unit", grad=False))
        add(f"bce_logits[{red}]",
            lambda m, F, x, y, r=red: F.binary_cross_entropy_with_logits(x * 5, y, reduction=r),
            In((3, 4)), In((3, 4), "unit", grad=False))
    add("cross_entropy[smooth]", lambda m, F, x, t: F.cross_entropy(x, t, label_smoothing=0.1),
        In((6, 4)), In((6,), "index", high=4))
    add("cross_entropy[weight_smooth]",
        lambda m, F, x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.2),
        In((6, 4)), In((6,), "index", high=4), In((4,), "pos", grad=False))
    add("cross_entropy[ignore]",
        lambda m, F, x, t: F.cross_entropy(x, t * (t < 3) - 100 * (t >= 3)),
        In((6, 5)), In((6,), "index", high=5))
    add("cross_entropy[spatial]", lambda m, F, x, t: F.cross_entropy(x, t),
        In((2, 3, 4, 4)), In((2, 4, 4), "index", high=3))
    add("cross_entropy[probs]", lambda m, F, x, p: F.cross_entropy(x, F.softmax(p, 1)),
        In((3, 4)), In((3, 4), grad=False))
    add("nll_loss[weight]", lambda m, F, x, t, w: F.nll_loss(x, t, weight=w),
        In((5, 3)), In((5,), "index", high=3), In((3,), "pos", grad=False))
    add("bce_logits[pos_weight]",
        lambda m, F, x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
        In((3, 4)), In((3, 4), "unit", grad=False), In((4,), "pos", grad=False))
    add("bce[weight]", lambda m, F, p, y, w: F.binary_cross_entropy(p, y, weight=w),
        In((2, 3), "unit"), In((2, 3), "unit", grad=False), In((2, 3), "pos", grad=False))

    # graph structure: a tensor reused several times
    add("reuse", lambda m, F, x: (x * x).sum(1) + x.exp().mean(1) * x[:, 0], In((3, 4)))
    add("reuse_deep", lambda m, F, x, w: ((x @ w).tanh() @ w.t() + x).relu().sum(0),
        In((3, 4)), In((4, 4)))
    return C


def _cases_api():
    """The everyday API of PyTorch programs (issue #12): creation/shape helpers, scans,
    sorting and selection, indexing by tensors, in-place ops on views."""
    C = []

    def add(name, fn, *inputs, **kw):
        C.append(Case(name, fn, inputs, **kw))

    x34, x345 = In((3, 4)), In((3, 4, 5))
    add("tril", lambda m, F, x: (m.tril(x), x.tril(1), m.tril(x, -1)), x34)
    add("triu", lambda m, F, x: (m.triu(x), x.triu(-1), m.triu(x, 2)), In((4, 3)))
    add("roll", lambda m, F, x: (m.roll(x, 1, 0), x.roll((2, -1), (1, 2)), m.roll(x, 3)), x345)
    add("movedim", lambda m, F, x: (m.movedim(x, 0, 2), x.movedim((0, 1), (2, 0))), x345)
    add("tensor_split", lambda m, F, x: m.tensor_split(x, 3, 1) + x.tensor_split([1, 4], 2),
        x345)
    add("repeat_interleave", lambda m, F, x: (m.repeat_interleave(x, 2, 1),
                                              x.repeat_interleave(3),
                                              x.repeat_interleave(_on(m, x, [1, 0, 2]), 0)),
        x34)
    add("meshgrid", lambda m, F, a, b: m.meshgrid(a, b, indexing="ij") +
        m.meshgrid(a, b, indexing="xy"), In((3,)), In((4,)))
    add("eye", lambda m, F, x: (m.eye(3, device=x.device) * x, m.eye(3, 4, device=x.device)),
        In((3, 3)))
    add("diagonal", lambda m, F, x: (x.diagonal(), m.diagonal(x, 1), x.diagonal(-1, 1, 2),
                                     x.diagonal(0, 0, 2)), x345)
    for name in ("cumsum", "cumprod", "logcumsumexp"):
        add(name, lambda m, F, x, name=name: (getattr(m, name)(x, 0), getattr(x, name)(-1)),
            x345)
    add("cumsum_int", lambda m, F, x: (x.cumsum(1), m.cumsum(x > 2, 0)),
        In((3, 4), "int", low=-5, high=9), grad=False)
    add("logaddexp", lambda m, F, a, b: m.logaddexp(a, b), x34, In((4,)))
    add("sort", lambda m, F, x: (m.sort(x, 1)[0], m.sort(x, 1)[1], x.sort(0, descending=True)[0],
                                 m.argsort(x, -1, descending=True)), x345)
    add("topk", lambda m, F, x: tuple(m.topk(x, 2, 1)) + tuple(x.topk(3, largest=False)), x345)
    add("kthvalue", lambda m, F, x: tuple(m.kthvalue(x, 2, 1)) + tuple(x.kthvalue(4, 2, True)),
        x345)
    add("median", lambda m, F, x: (x.median(), m.median(x, 1)[0], m.median(x, 1)[1]), x345)
    add("unique", lambda m, F, x: m.unique(x, return_inverse=True, return_counts=True),
        In((4, 6), "int", low=0, high=5), grad=False)
    add("bincount", lambda m, F, x, w: (m.bincount(x), m.bincount(x, w, minlength=9)),
        In((10,), "int", low=0, high=6), In((10,), grad=False), grad=False)
    add("index_tensors", lambda m, F, x: (x[_on(m, x, [[0, 2], [1, 1]])], x[:, [3, 0, 3]],
                                          x[_on(m, x, [0, 2]), :, _on(m, x, [1, 4])],
                                          x[x > 0.5], x[1, [True, False, True, True]]), x345)
    add("scatter", lambda m, F, x, s: (x.scatter(1, _on(m, x, [[2, 0], [1, 3], [0, 3]]), s),
                                       m.scatter(x, 0, _on(m, x, [[2, 1, 0, 1]]), 2.5)),
        x34, In((3, 2)))
    # src larger than index (only its leading part is read; PyTorch 2.13 has no gradient
    # for such a src); gather from a transposed view
    add("scatter_add_src_larger", lambda m, F, x, s: m.scatter_add(
        x, 1, _on(m, x, [[2, 0], [1, 3], [0, 3]]), s), x34, In((4, 3), grad=False))
    add("gather_view", lambda m, F, x: m.gather(x.t(), 0, _on(m, x, [[2, 0, 1], [1, 1, 0]])),
        x34)
    add("index_add_copy_fill", lambda m, F, x, s: (
        x.index_add(0, _on(m, x, [2, 0]), s), x.index_copy(0, _on(m, x, [1, 0]), s),
        x.index_fill(1, _on(m, x, [0, 3]), -2.0)), x34, In((2, 4)))
    add("take_along_dim", lambda m, F, x: (m.take_along_dim(x, _on(m, x, [[0], [2], [1]]), 1),
                                           m.take_along_dim(x, _on(m, x, [5, 0]))), x34)
    add("index_put", lambda m, F, x, v: x.index_put((_on(m, x, [0, 2]), _on(m, x, [1, 3])), v),
        x34, In((2,)))
    add("setitem_views", _setitem_views, x345, In((3,)))
    add("inplace_chain", lambda m, F, x, y: (x * 1).add_(y).mul_(2).clamp_(-1, 1).exp_(),
        x34, In((4,)))
    add("lerp_addcmul", lambda m, F, x, y, z: (x.lerp(y, 0.3), m.addcmul(x, y, z, value=2),
                                               m.addcdiv(x, y, z.abs() + 1)),
        x34, x34, x34)
    return C


def _on(m, x, values):
    """Index values as a tensor on x's device."""
    return m.tensor(values, device=x.device)


def _setitem_views(m, F, x, v):
    """Writes through views of a non-leaf: what autograd follows (CopySlices)."""
    y = x * 1
    y[0, :, 1:4] = v
    y.permute(2, 0, 1)[2] += 1
    y[1].diagonal().mul_(3)
    return y


def _special_cases():
    """NaN and infinities propagate as in PyTorch: one case per op family (forward)."""
    C = []

    def add(name, fn, *inputs):
        C.append(Case("special:" + name, fn, inputs, grad=False))
    S = lambda *shape: In(shape, "special")  # noqa: E731
    for op in ("exp", "log", "sqrt", "tanh", "sigmoid", "abs", "neg", "sin", "erf"):
        add(op, lambda m, F, x, op=op: getattr(m, op)(x), S(4, 7))
    for op in ("relu", "gelu", "softplus", "leaky_relu", "elu", "silu"):
        add(op, lambda m, F, x, op=op: getattr(F, op)(x), S(4, 7))
    add("clamp", lambda m, F, x: x.clamp(-1, 1), S(4, 7))
    for op in ("add", "mul", "div", "maximum", "minimum", "pow"):
        add(op, lambda m, F, a, b, op=op: getattr(m, op)(a, b), S(4, 7), In((4, 7), "float"))
    add("compare", lambda m, F, a, b: (a < b, a == a, a != b), S(4, 7), In((4, 7), "float"))
    add("sum_mean", lambda m, F, x: (x.sum(1), x.mean(0)), S(4, 7))
    add("amax_argmax", lambda m, F, x: (x.amax(1), x.argmax(1), x.amin(0)), S(4, 7))
    add("softmax", lambda m, F, x: (F.softmax(x, 1), F.log_softmax(x, 1), F.softmax(x, 0)),
        S(4, 7))
    add("softmax_inf", lambda m, F, x: (F.softmax(m.where(x > 1.0, float("inf"), x), -1),
                                        F.log_softmax(m.where(x > 1.0, float("inf"), x), -1)),
        In((6, 7), "float"))     # rows with one +inf among finite values: NaN, as PyTorch
    add("matmul", lambda m, F, a, b: a @ b, S(4, 7), In((7, 3), "float"))
    add("conv2d", lambda m, F, x, w: F.conv2d(x, w, padding=1), S(1, 2, 5, 5),
        In((3, 2, 3, 3), "float"))
    add("max_pool2d", lambda m, F, x: F.max_pool2d(x, 2), S(1, 2, 6, 6))
    add("where_isnan", lambda m, F, x: m.where(m.isnan(x), 0.0, x), S(4, 7))
    return C


def _cases_nn_api():
    """Issue #12: the nn layers and nn.functional API real programs hit (activations,
    normalisation, embeddings, resampling, convolutions, pooling, padding)."""
    C = []

    def add(name, fn, *inputs, **kw):
        C.append(Case(name, fn, inputs, **kw))

    # activations: inputs scaled by 4 so every branch (|x| > 3 for the hard ones) is hit
    acts = {
        "mish": lambda m, F, x: F.mish(x),
        "hardswish": lambda m, F, x: F.hardswish(x),
        "hardsigmoid": lambda m, F, x: F.hardsigmoid(x),
        "selu": lambda m, F, x: F.selu(x),
        "celu": lambda m, F, x: F.celu(x, alpha=0.7),
        "elu_alpha": lambda m, F, x: F.elu(x, alpha=1.5),
        "softsign": lambda m, F, x: F.softsign(x),
        "tanhshrink": lambda m, F, x: F.tanhshrink(x),
        "hardshrink": lambda m, F, x: F.hardshrink(x, 1.2),
        "softshrink": lambda m, F, x: F.softshrink(x, 0.8),
        "threshold": lambda m, F, x: F.threshold(x, 0.3, -2.0),
        "hardtanh": lambda m, F, x: F.hardtanh(x, -2.0, 1.5),
        "relu6": lambda m, F, x: F.relu6(x),
        "logsigmoid": lambda m, F, x: F.logsigmoid(x),
        "silu_inplace": lambda m, F, x: F.silu(x * 1, inplace=True),
        "relu_inplace": lambda m, F, x: F.relu(x * 1, inplace=True),
        "leaky_relu_inplace": lambda m, F, x: F.leaky_relu(x * 1, 0.1, inplace=True),
        "gelu_tanh_scaled": lambda m, F, x: F.gelu(x, approximate="tanh"),
    }
    for name, fn in acts.items():
        scaled = (lambda f: lambda m, F, x: f(m, F, x * 4.0))(fn)
        add(f"act:{name}[2d]", scaled, In((3, 7)))
        add(f"act:{name}[0d]", scaled, In(()))
        add(f"act:{name}[noncontig]", scaled, In((4, 5), noncontig=True))
        if name != "gelu_tanh_scaled":   # the gelu primitive gives NaN at +inf (torch: inf)
            add(f"act:{name}[special]", fn, In((4, 7), "special"), grad=False)
    add("act:glu", lambda m, F, x: (F.glu(x), F.glu(x, 1)), In((3, 4, 6)))
    add("act:softmin", lambda m, F, x: (F.softmin(x, 1), F.softmin(x, dim=0)), In((3, 5)))
    add("act:softmax_implicit_dim", lambda m, F, x, y: (m.nn.Softmax()(x), m.nn.LogSoftmax()(x),
                                                        m.nn.Softmax()(y), m.nn.Softmin()(y)),
        In((2, 3, 4)), In((3, 4)))
    add("act:softmax2d", lambda m, F, x, y: (m.nn.Softmax2d()(x), m.nn.Softmax2d()(y)),
        In((2, 3, 2, 2)), In((3, 2, 4)))
    mods = {
        "Mish": lambda m: m.nn.Mish(), "Hardswish": lambda m: m.nn.Hardswish(),
        "Hardsigmoid": lambda m: m.nn.Hardsigmoid(), "SiLU": lambda m: m.nn.SiLU(inplace=True),
        "SELU": lambda m: m.nn.SELU(), "CELU": lambda m: m.nn.CELU(2.0),
        "Softsign": lambda m: m.nn.Softsign(), "Tanhshrink": lambda m: m.nn.Tanhshrink(),
        "Hardshrink": lambda m: m.nn.Hardshrink(), "Softshrink": lambda m: m.nn.Softshrink(0.3),
        "Threshold": lambda m: m.nn.Threshold(0.1, 20.0), "Hardtanh": lambda m: m.nn.Hardtanh(),
        "ReLU6": lambda m: m.nn.ReLU6(inplace=True), "LogSigmoid": lambda m: m.nn.LogSigmoid(),
        "GELU_tanh": lambda m: m.nn.GELU(approximate="tanh"), "GLU": lambda m: m.nn.GLU(1),
        "ELU": lambda m: m.nn.ELU(0.5), "LeakyReLU": lambda m: m.nn.LeakyReLU(0.2, True),
    }
    for name, make in mods.items():
        add(f"act:nn.{name}", lambda m, F, x, make=make: make(m).to(x.device)(x * 4.0),
            In((2, 4, 3)))

    # normalisation
    for tag, xs, g in (("4d", (2, 6, 3, 4), 3), ("one_group", (2, 4, 5), 1),
                       ("per_channel", (3, 4, 2, 2), 4), ("2d_input", (5, 6), 2),
                       ("5d", (2, 4, 2, 3, 2), 2)):
        add(f"group_norm[{tag}]", lambda m, F, x, w, b, g=g: F.group_norm(x, g, w, b),
            In(xs), In((xs[1],)), In((xs[1],)))
    add("group_norm[no_affine_eps]", lambda m, F, x: F.group_norm(x, 2, eps=1e-2),
        In((2, 4, 3, 3)))
    add("group_norm[weight_only]", lambda m, F, x, w: F.group_norm(x, 2, w), In((1, 4, 6)),
        In((4,)))
    for tag, xs in (("1d", (2, 3, 7)), ("2d", (2, 3, 4, 5)), ("3d", (1, 2, 3, 2, 4))):
        add(f"instance_norm[{tag}]", lambda m, F, x, w, b: F.instance_norm(x, weight=w, bias=b),
            In(xs), In((xs[1],)), In((xs[1],)))
    add("instance_norm[plain]", lambda m, F, x: F.instance_norm(x, eps=1e-3), In((3, 2, 5, 5)))
    # running stats: updated in place from the batch's per-instance stats (returned as
    # outputs to compare), then used by eval-mode normalisation
    add("instance_norm[running_update]",
        lambda m, F, x, rm, rv: (F.instance_norm(x, rm, rv, momentum=0.3), rm * 1, rv * 1),
        In((3, 2, 4, 5)), In((2,), grad=False), In((2,), "pos", grad=False),
        gradcheck=False)  # the running stats depend on x outside autograd, as in PyTorch
    add("instance_norm[running_eval]",
        lambda m, F, x, rm, rv, w, b: F.instance_norm(x, rm, rv, w, b, use_input_stats=False),
        In((2, 3, 4, 4)), In((3,), grad=False), In((3,), "pos", grad=False), In((3,)), In((3,)))
    inorm = {
        "InstanceNorm1d": (lambda m: m.nn.InstanceNorm1d(3), (2, 3, 6)),
        "InstanceNorm1d_unbatched": (lambda m: m.nn.InstanceNorm1d(3, affine=True), (3, 6)),
        "InstanceNorm2d": (lambda m: m.nn.InstanceNorm2d(3), (2, 3, 4, 4)),
        "InstanceNorm2d_unbatched": (lambda m: m.nn.InstanceNorm2d(3, affine=True), (3, 4, 5)),
        "InstanceNorm2d_tracked_eval": (
            lambda m: m.nn.InstanceNorm2d(3, affine=True, track_running_stats=True).eval(),
            (2, 3, 4, 4)),
        "InstanceNorm3d": (lambda m: m.nn.InstanceNorm3d(2, eps=1e-3), (1, 2, 3, 2, 3)),
        "GroupNorm": (lambda m: m.nn.GroupNorm(2, 6), (2, 6, 3, 3)),
        "GroupNorm_no_affine": (lambda m: m.nn.GroupNorm(3, 3, affine=False), (2, 3, 5)),
        "LayerNorm_3d_shape": (lambda m: m.nn.LayerNorm((2, 3, 4)), (2, 2, 3, 4)),
        "LayerNorm_no_affine": (lambda m: m.nn.LayerNorm([3, 4], elementwise_affine=False),
                                (5, 3, 4)),
        "LayerNorm_no_bias": (lambda m: m.nn.LayerNorm(4, bias=False, eps=1e-3), (2, 3, 4)),
        "RMSNorm": (lambda m: m.nn.RMSNorm(4), (2, 3, 4)),
        "RMSNorm_2d_eps": (lambda m: m.nn.RMSNorm([3, 4], eps=1e-3), (2, 3, 4)),
        "RMSNorm_no_affine": (lambda m: m.nn.RMSNorm(5, elementwise_affine=False), (5,)),
        "BatchNorm3d": (lambda m: m.nn.BatchNorm3d(2), (2, 2, 3, 2, 2)),
    }
    for name, (make, xs) in inorm.items():
        add(f"norm:nn.{name}", lambda m, F, x, make=make: make(m).to(x.device)(x), In(xs))
    for tag, shape, ns in (("last1", (2, 3, 5), (5,)), ("last2", (2, 3, 4), (3, 4)),
                           ("all", (2, 3, 4), (2, 3, 4)), ("1d", (6,), (6,))):
        add(f"layer_norm[{tag}]", lambda m, F, x, w, b, ns=ns: F.layer_norm(x, ns, w, b),
            In(shape), In(ns), In(ns))
    add("layer_norm[weight_only]", lambda m, F, x, w: F.layer_norm(x, (4,), w, None),
        In((3, 4)), In((4,)))
    # rows long and odd (the row statistics kernel's two sum chains and its tail), a row of
    # one value (variance 0), a bias alone, a non-contiguous input, values far from 0
    add("layer_norm[long_rows]", lambda m, F, x, w, b: F.layer_norm(x * 4.0 + 30.0, (67,), w, b),
        In((5, 9, 67)), In((67,)), In((67,)))
    add("layer_norm[one_value]", lambda m, F, x: F.layer_norm(x, (1,), eps=0.5), In((4, 1)))
    add("layer_norm[bias_only]", lambda m, F, x, b: F.layer_norm(x.transpose(0, 1), (3,), None, b),
        In((3, 5)), In((3,)))
    # batch norm's per-channel statistics (norm_stats on WebGL and WebGPU): odd runs of H*W
    # far from 0, one value per sample (1-D input), a 3-D input, a transposed one
    add("batch_norm[odd_runs]", lambda m, F, x, w, b: F.batch_norm(x * 4.0 + 30.0, None, None,
                                                                    w, b, True),
        In((3, 5, 7, 9)), In((5,)), In((5,)))
    add("batch_norm[1d]", lambda m, F, x, w: F.batch_norm(x, None, None, w, None, True, eps=0.1),
        In((9, 4)), In((4,)))
    add("batch_norm[3d_t]", lambda m, F, x, b: F.batch_norm(x.transpose(1, 2), None, None, None,
                                                            b, True),
        In((2, 6, 3)), In((3,)))
    add("rms_norm", lambda m, F, x, w: (F.rms_norm(x, (4,), w), F.rms_norm(x, [3, 4], eps=0.1)),
        In((2, 3, 4)), In((4,)))

    # embeddings. The weight is returned after the call (w * 1): max_norm renormalises the
    # looked-up rows in place. gradcheck=False where PyTorch's gradient is not the forward's
    # derivative on purpose: the padding row's is held at 0, max_norm's renorm is outside
    # autograd, scale_grad_by_freq divides by the counts.
    add("embedding[pad_neg]", lambda m, F, i, w: F.embedding(i, w, padding_idx=-2),
        In((3, 4), "index", high=5), In((5, 3)), gradcheck=False)
    add("embedding[3d_index]", lambda m, F, i, w: F.embedding(i, w), In((2, 2, 3), "index", high=7),
        In((7, 2)))
    add("embedding[max_norm]", lambda m, F, i, w: (F.embedding(i, w * 1, max_norm=1.5), ),
        In((2, 4), "index", high=6), In((6, 3)), gradcheck=False)
    for tag, kw in (("max_norm_inplace", dict(max_norm=1.0)),
                    ("max_norm_l1", dict(max_norm=1.2, norm_type=1.0)),
                    ("max_norm_p3", dict(max_norm=0.9, norm_type=3.0)),
                    ("max_norm_inf", dict(max_norm=0.8, norm_type=float("inf"))),
                    ("freq", dict(scale_grad_by_freq=True)),
                    ("pad_freq_max_norm", dict(padding_idx=0, scale_grad_by_freq=True,
                                               max_norm=1.0))):
        add(f"embedding[{tag}]",
            lambda m, F, i, w, kw=kw: (F.embedding(i, w, **kw), w * 1),
            In((3, 5), "index", high=4), In((6, 3)), gradcheck=False)
    add("embedding[nn]", lambda m, F, i, w: m.nn.Embedding.from_pretrained(
        w, freeze=False, padding_idx=1, max_norm=2.0, scale_grad_by_freq=True)(i),
        In((4, 3), "index", high=5), In((5, 4)), gradcheck=False)

    # interpolate / Upsample: every mode, size and scale_factor, align_corners,
    # recompute_scale_factor where it changes the result (non-integer scales)
    interp = [
        ("1d", (2, 3, 5), [
            ("nearest_sf", dict(scale_factor=2.5)), ("nearest_same_sf", dict(scale_factor=1.3)),
            ("nearest_exact", dict(size=8, mode="nearest-exact")),
            ("linear_sf", dict(scale_factor=1.7, mode="linear")),
            ("linear_sf_recompute", dict(scale_factor=1.7, mode="linear",
                                         recompute_scale_factor=True)),
            ("linear_ac", dict(size=9, mode="linear", align_corners=True)),
            ("linear_down", dict(size=3, mode="linear")),
            ("area", dict(size=3, mode="area"))]),
        ("2d", (2, 2, 4, 5), [
            ("nearest_sf_tuple", dict(scale_factor=(1.5, 2.0))),
            ("nearest_exact_sf", dict(scale_factor=1.6, mode="nearest-exact")),
            ("nearest_exact_down", dict(size=(3, 2), mode="nearest-exact")),
            ("bilinear_sf", dict(scale_factor=1.7, mode="bilinear")),
            ("bilinear_sf_recompute", dict(scale_factor=1.7, mode="bilinear",
                                           recompute_scale_factor=True)),
            ("bilinear_same_size_sf", dict(scale_factor=(1.2, 1.1), mode="bilinear")),
            ("bilinear_ac_sf", dict(scale_factor=2, mode="bilinear", align_corners=True)),
            ("bicubic_x2", dict(scale_factor=2, mode="bicubic")),
            ("bicubic_ac", dict(size=(7, 9), mode="bicubic", align_corners=True)),
            ("bicubic_size", dict(size=(5, 3), mode="bicubic")),
            ("bicubic_down", dict(size=(2, 3), mode="bicubic")),
            ("bicubic_sf", dict(scale_factor=1.3, mode="bicubic")),
            ("bicubic_sf_recompute", dict(scale_factor=1.3, mode="bicubic",
                                          recompute_scale_factor=True)),
            ("bicubic_one", dict(size=(1, 1), mode="bicubic", align_corners=True)),
            ("area_down", dict(size=(3, 2), mode="area")),
            ("area_sf", dict(scale_factor=0.5, mode="area"))]),
        ("3d", (1, 2, 3, 4, 3), [
            ("nearest", dict(scale_factor=(2, 1.5, 1))),
            ("nearest_exact", dict(size=(2, 5, 4), mode="nearest-exact")),
            ("trilinear", dict(scale_factor=1.5, mode="trilinear")),
            ("trilinear_ac", dict(size=(4, 3, 5), mode="trilinear", align_corners=True)),
            ("area", dict(size=(2, 2, 2), mode="area"))]),
    ]
    for dim, shape, variants in interp:
        for tag, kw in variants:
            add(f"interpolate[{dim}_{tag}]", lambda m, F, x, kw=kw: F.interpolate(x, **kw),
                In(shape))
    add("interpolate[noncontig]",
        lambda m, F, x: F.interpolate(x, size=(6, 3), mode="bicubic"),
        In((1, 2, 4, 5), noncontig=True))
    up = {
        "Upsample_bilinear": lambda m: m.nn.Upsample(scale_factor=1.5, mode="bilinear"),
        "Upsample_bicubic_ac": lambda m: m.nn.Upsample(size=(6, 7), mode="bicubic",
                                                       align_corners=True),
        "Upsample_recompute": lambda m: m.nn.Upsample(scale_factor=1.3, mode="bilinear",
                                                      recompute_scale_factor=True),
        "UpsamplingNearest2d": lambda m: m.nn.UpsamplingNearest2d(scale_factor=3),
        "UpsamplingBilinear2d": lambda m: m.nn.UpsamplingBilinear2d(size=(5, 8)),
    }
    for name, make in up.items():
        add(f"interpolate[nn.{name}]", lambda m, F, x, make=make: make(m)(x), In((2, 3, 4, 5)))

    # pooling. Inputs are random floats: no ties, so the max is differentiable everywhere
    pools1d = [
        ("k3", dict(kernel_size=3)), ("k3s1p1", dict(kernel_size=3, stride=1, padding=1)),
        ("k2s2_ceil", dict(kernel_size=2, stride=2, ceil_mode=True)),
        ("k3s2p1_ceil", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ]
    for tag, kw in pools1d:
        add(f"max_pool1d[{tag}]", lambda m, F, x, kw=kw: F.max_pool1d(x, **kw), In((2, 3, 9)))
        add(f"max_pool1d[{tag}_indices]",
            lambda m, F, x, kw=kw: F.max_pool1d(x, return_indices=True, **kw), In((2, 3, 9)))
        add(f"avg_pool1d[{tag}]", lambda m, F, x, kw=kw: F.avg_pool1d(x, **kw), In((2, 3, 9)))
        add(f"avg_pool1d[{tag}_nopad]",
            lambda m, F, x, kw=kw: F.avg_pool1d(x, count_include_pad=False, **kw), In((2, 3, 9)))
    add("max_pool1d[dilation]", lambda m, F, x: F.max_pool1d(x, 3, 1, 1, dilation=2,
                                                             return_indices=True), In((1, 2, 8)))
    add("max_pool1d[unbatched]", lambda m, F, x: F.max_pool1d(x, 2, return_indices=True),
        In((3, 8)))
    add("avg_pool1d[unbatched]", lambda m, F, x: F.avg_pool1d(x, 3, 2), In((3, 8)))
    pools2d = [
        ("k2", dict(kernel_size=2)), ("k3s1p1", dict(kernel_size=3, stride=1, padding=1)),
        ("k3s2", dict(kernel_size=3, stride=2)), ("rect", dict(kernel_size=(2, 3), stride=(1, 2))),
        ("ceil", dict(kernel_size=2, stride=2, ceil_mode=True)),
        ("tiles_rect", dict(kernel_size=(3, 2))),
        ("dil_pad", dict(kernel_size=3, stride=2, padding=1, dilation=2)),
        ("ceil_pad", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ]
    for tag, kw in pools2d:
        add(f"max_pool2d[{tag}_indices]",
            lambda m, F, x, kw=kw: F.max_pool2d(x, return_indices=True, **kw), In((2, 3, 7, 6)))
    add("max_pool2d[unbatched_indices]",
        lambda m, F, x: F.max_pool2d(x, 3, 2, 1, return_indices=True), In((3, 5, 6)))
    add("max_pool2d[nn_indices]",
        lambda m, F, x: m.nn.MaxPool2d(2, return_indices=True)(x), In((1, 2, 4, 6)))
    add("max_pool1d[nn]", lambda m, F, x: (m.nn.MaxPool1d(3, 2, 1)(x), m.nn.AvgPool1d(2)(x)),
        In((2, 3, 7)))
    # max unpooling: the pool's indices, a scaled input (so gradients reach x through both),
    # overlapping windows (repeated indices: the last write wins) and output_size. Where
    # indices repeat, PyTorch's gradient gives every repeated element the output's gradient,
    # not the derivative of last-write-wins: no gradcheck there.
    for tag, k, s, p, shape, osz in (("k2", 2, None, 0, (2, 3, 6, 4), None),
                                     ("k3s2p1", 3, 2, 1, (1, 2, 7, 7), None),
                                     ("overlap", 3, 1, 1, (1, 2, 5, 6), None),
                                     ("output_size", 2, 2, 0, (1, 2, 5, 7), (5, 7)),
                                     ("output_size_nc", 3, 2, 0, (2, 1, 7, 8), (2, 1, 7, 8))):
        add(f"max_unpool2d[{tag}]", lambda m, F, x, k=k, s=s, p=p, osz=osz: F.max_unpool2d(
            *F.max_pool2d(x * 2.0, k, s, p, return_indices=True), k, s, p, output_size=osz),
            In(shape), gradcheck=tag != "overlap")
    add("max_unpool2d[other_values]", lambda m, F, x, v: F.max_unpool2d(
        v, F.max_pool2d(x, 3, 1, return_indices=True)[1], 3, 1), In((1, 2, 5, 5)),
        In((1, 2, 3, 3)), gradcheck=False)
    add("max_unpool2d[unbatched_nn]", lambda m, F, x: m.nn.MaxUnpool2d(2)(
        *m.nn.MaxPool2d(2, return_indices=True)(x)), In((3, 4, 6)))
    add("max_unpool1d", lambda m, F, x: (F.max_unpool1d(*F.max_pool1d(x, 2, return_indices=True),
                                                        2), m.nn.MaxUnpool1d(3, 1)(
        *m.nn.MaxPool1d(3, 1, return_indices=True)(x), output_size=(8,))), In((2, 3, 8)),
        gradcheck=False)
    for tag, fn, shape in (
            ("avg1d", lambda m, F, x: F.adaptive_avg_pool1d(x, 3), (2, 3, 7)),
            ("avg1d_div", lambda m, F, x: F.adaptive_avg_pool1d(x, 4), (2, 3, 8)),
            ("avg2d_none", lambda m, F, x: F.adaptive_avg_pool2d(x, (None, 3)), (2, 3, 5, 7)),
            ("avg3d", lambda m, F, x: F.adaptive_avg_pool3d(x, (2, 3, 2)), (1, 2, 3, 5, 4)),
            ("avg3d_unbatched", lambda m, F, x: F.adaptive_avg_pool3d(x, 2), (2, 4, 4, 5)),
            ("max1d", lambda m, F, x: F.adaptive_max_pool1d(x, 3, return_indices=True),
             (2, 3, 7)),
            ("max1d_div", lambda m, F, x: F.adaptive_max_pool1d(x, 2, True), (2, 3, 8)),
            ("max2d", lambda m, F, x: F.adaptive_max_pool2d(x, (3, 2), return_indices=True),
             (2, 3, 7, 5)),
            ("max2d_div", lambda m, F, x: F.adaptive_max_pool2d(x, 2, True), (1, 3, 4, 6)),
            ("max2d_unbatched_up", lambda m, F, x: F.adaptive_max_pool2d(x, (4, 6)), (2, 3, 4)),
            ("nn", lambda m, F, x: (m.nn.AdaptiveMaxPool2d((2, None))(x),
                                    m.nn.AdaptiveAvgPool2d(3)(x)), (1, 2, 5, 4))):
        add(f"adaptive_pool[{tag}]", fn, In(shape))

    # convolutions: 1-D as 2-D on a height-1 image; padding modes (F.pad then conv);
    # transposed convolutions with every combination of stride, padding, output_padding,
    # groups and dilation
    conv1 = [
        ("basic", (2, 3, 9), (4, 3, 3), {}),
        ("stride_pad", (1, 2, 10), (3, 2, 4), dict(stride=2, padding=1)),
        ("same_dil", (2, 2, 8), (2, 2, 3), dict(padding="same", dilation=2)),
        ("valid", (1, 3, 7), (2, 3, 5), dict(padding="valid")),
        ("groups", (2, 4, 6), (6, 2, 3), dict(groups=2, padding=(1,))),
        ("depthwise_unbatched", (3, 8), (3, 1, 3), dict(groups=3, stride=3)),
    ]
    for tag, xs, ws, kw in conv1:
        add(f"conv1d[{tag}]", lambda m, F, x, w, b, kw=kw: F.conv1d(x, w, b, **kw), In(xs),
            In(ws), In((ws[0],)))
    convt1 = [
        ("basic", (2, 3, 5), (3, 2, 3), {}),
        ("stride_pad_op", (1, 2, 4), (2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
        ("groups_dil", (2, 4, 5), (4, 1, 3), dict(groups=2, dilation=2, padding=1)),
        ("dil_op", (1, 2, 4), (2, 2, 2), dict(dilation=3, output_padding=2)),
        ("unbatched", (3, 6), (3, 2, 4), dict(stride=2)),
    ]
    for tag, xs, ws, kw in convt1:
        add(f"conv_transpose1d[{tag}]",
            lambda m, F, x, w, b, kw=kw: F.conv_transpose1d(x, w, b, **kw), In(xs), In(ws),
            In((ws[1] * kw.get("groups", 1),)))
    convt2 = [
        ("groups_op", (1, 4, 3, 4), (4, 3, 3, 3), dict(groups=2, stride=2, output_padding=1)),
        ("groups_dil_pad", (2, 6, 4, 3), (6, 1, 3, 2), dict(groups=3, dilation=(2, 1),
                                                            padding=(2, 1))),
        ("dil_op", (1, 2, 3, 3), (2, 2, 2, 3), dict(dilation=2, output_padding=1)),
        ("stride_hw_op", (1, 2, 3, 4), (2, 3, 3, 2), dict(stride=(3, 2), padding=(1, 0),
                                                          output_padding=(2, 1))),
        ("all", (2, 4, 3, 3), (4, 1, 3, 3), dict(stride=2, padding=1, output_padding=1,
                                                 groups=4, dilation=2)),
        ("unbatched", (3, 4, 3), (3, 2, 2, 2), dict(stride=2)),
        # padding past the kernel's reach (WebGL: not the direct convolution)
        ("pad_past_kernel", (1, 2, 5, 5), (2, 3, 2, 2), dict(padding=2)),
    ]
    for tag, xs, ws, kw in convt2:
        add(f"conv_transpose2d[{tag}]",
            lambda m, F, x, w, b, kw=kw: F.conv_transpose2d(x, w, b, **kw), In(xs), In(ws),
            In((ws[1] * kw.get("groups", 1),)))
    for mode in ("reflect", "replicate", "circular"):
        for tag, pad in (("p1", 1), ("same", "same"), ("hw", (2, 1))):
            add(f"conv2d[mode_{mode}_{tag}]",
                lambda m, F, x, w, b, mode=mode, pad=pad: F.conv2d(
                    F.pad(x, _reversed_padding(pad, (3, 3)), mode=mode), w, b),
                In((2, 3, 5, 6)), In((4, 3, 3, 3)), In((4,)))
        add(f"conv1d[mode_{mode}]", lambda m, F, x, w, mode=mode: F.conv1d(
            F.pad(x, (2, 2), mode=mode), w, stride=2), In((2, 3, 7)), In((2, 3, 5)))
    mods = {
        "Conv2d_reflect": (lambda m: m.nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
                           (2, 3, 5, 6)),
        "Conv2d_replicate_same": (lambda m: m.nn.Conv2d(2, 2, (3, 2), padding="same",
                                                        padding_mode="replicate",
                                                        dilation=(1, 2)), (1, 2, 5, 5)),
        "Conv2d_circular_groups": (lambda m: m.nn.Conv2d(4, 2, 3, padding=(1, 2), groups=2,
                                                         padding_mode="circular"), (2, 4, 4, 5)),
        "Conv2d_reflect_unbatched": (lambda m: m.nn.Conv2d(3, 2, 3, padding=1, stride=2,
                                                           padding_mode="reflect"), (3, 6, 6)),
        "Conv1d_circular": (lambda m: m.nn.Conv1d(3, 4, 3, padding=1, padding_mode="circular"),
                            (2, 3, 8)),
        "Conv1d_reflect_same": (lambda m: m.nn.Conv1d(2, 2, 4, padding="same",
                                                      padding_mode="reflect"), (2, 2, 7)),
        "ConvTranspose1d": (lambda m: m.nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1,
                                                           output_padding=1), (2, 3, 5)),
    }
    for name, (make, xs) in mods.items():
        add(f"conv:nn.{name}", lambda m, F, x, make=make: _seeded(m, make, x)(x), In(xs))
    add("conv:nn.ConvTranspose2d_output_size",
        lambda m, F, x: _seeded(m, lambda m: m.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1),
                                x)(x, output_size=(8, 9)), In((1, 2, 4, 5)))
    add("conv:nn.ConvTranspose1d_output_size_unbatched",
        lambda m, F, x: _seeded(m, lambda m: m.nn.ConvTranspose1d(2, 3, 3, stride=3), x)(
            x, output_size=[3, 14]), In((2, 4)))

    # padding layers, shape layers, pixel (un)shuffle, dropout outside training
    pads = {
        "ZeroPad2d": (lambda m: m.nn.ZeroPad2d((1, 2, 0, 3)), (2, 3, 4, 5)),
        "ZeroPad1d": (lambda m: m.nn.ZeroPad1d(2), (3, 4)),
        "ConstantPad2d": (lambda m: m.nn.ConstantPad2d(1, -1.5), (3, 4, 5)),
        "ConstantPad3d_neg": (lambda m: m.nn.ConstantPad3d((1, -1, 0, 2, -1, 1), 0.5),
                              (1, 2, 3, 4, 5)),
        "ReflectionPad2d": (lambda m: m.nn.ReflectionPad2d((1, 2, 3, 0)), (2, 3, 4, 5)),
        "ReflectionPad1d_unbatched": (lambda m: m.nn.ReflectionPad1d(2), (3, 5)),
        "ReplicationPad2d": (lambda m: m.nn.ReplicationPad2d(2), (1, 2, 3, 3)),
        "ReplicationPad3d": (lambda m: m.nn.ReplicationPad3d((1, 0, 2, 1, 0, 1)),
                             (1, 2, 2, 3, 3)),
        "CircularPad2d": (lambda m: m.nn.CircularPad2d((2, 1, 1, 2)), (2, 2, 3, 4)),
        "CircularPad1d": (lambda m: m.nn.CircularPad1d(1), (2, 3, 4)),
        "Identity": (lambda m: m.nn.Identity(54, unused_argument=0.1), (2, 3)),
        "Unflatten": (lambda m: m.nn.Unflatten(1, (2, 3)), (4, 6, 2)),
        "Unflatten_neg_list": (lambda m: m.nn.Unflatten(-1, [2, -1]), (3, 8)),
        "Flatten_range": (lambda m: m.nn.Flatten(0, 1), (2, 3, 4)),
        "PixelUnshuffle": (lambda m: m.nn.PixelUnshuffle(3), (2, 2, 6, 9)),
        "PixelUnshuffle_unbatched": (lambda m: m.nn.PixelUnshuffle(2), (3, 4, 2)),
        "PixelUnshuffle_5d": (lambda m: m.nn.PixelUnshuffle(2), (2, 1, 3, 4, 6)),
        "PixelShuffle_roundtrip": (lambda m: m.nn.Sequential(m.nn.PixelUnshuffle(2),
                                                             m.nn.PixelShuffle(2)),
                                   (1, 3, 4, 6)),
        "Dropout2d_eval": (lambda m: m.nn.Dropout2d(0.4).eval(), (2, 3, 4, 4)),
        "Dropout1d_eval": (lambda m: m.nn.Dropout1d(0.4).eval(), (3, 5)),
        "Dropout3d_p0": (lambda m: m.nn.Dropout3d(0.0), (1, 2, 2, 2, 2)),
    }
    for name, (make, xs) in pads.items():
        add(f"layer:nn.{name}", lambda m, F, x, make=make: make(m)(x), In(xs))
    add("layer:dropout2d_p1", lambda m, F, x: (F.dropout2d(x, 1.0), F.dropout1d(x, 1.0)),
        In((2, 3, 4)))
    return C


def _reversed_padding(padding, kernel):
    """Conv2d's F.pad widths for a padding mode (PyTorch's _reversed_padding_repeated_twice)."""
    if padding == "same":
        out = []
        for k in reversed(kernel):
            out += [(k - 1) // 2, k - 1 - (k - 1) // 2]
        return tuple(out)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return (pw, pw, ph, ph)


def _seeded(m, make, x):
    """A layer with the same deterministic weights in torch and webdl (values from numpy),
    on the device of the input x."""
    layer = make(m)
    rng = np.random.default_rng(0)
    sd = {}
    for k, v in layer.state_dict().items():
        sd[k] = m.tensor(rng.standard_normal(tuple(v.shape)).astype(np.float32) * 0.5)
    layer.load_state_dict(sd)
    return layer.to(x.device)


def _cases_programs():
    """Functions the published programs of tests/programs/ use that were missing."""
    C = []

    def add(name, fn, *inputs, **kw):
        C.append(Case(name, fn, inputs, **kw))

    # makemore's MLP shifts its token ids with torch.roll(idx, 1, 1)
    add("roll", lambda m, F, x: (x.roll(1, 1), m.roll(x, (-2, 3), (0, 2)), m.roll(x, 5),
                                 x.roll(0, 1), x.roll(-7, -1)), In((3, 4, 5)))
    add("roll[nc]", lambda m, F, x: m.roll(x, 2, 0), In((4, 5), noncontig=True))
    add("roll[int]", lambda m, F, x: m.roll(x, 1, 1), In((2, 5), "int"), grad=False)
    # without a gradient to follow (the same placed slices, no autograd records)
    add("roll[nograd]", lambda m, F, x: (m.roll(x, (-2, 3), (0, 2)), m.roll(x, 5),
                                         x.roll(-7, -1)), In((3, 4, 5)), grad=False)
    add("roll[nograd,nc]", lambda m, F, x: m.roll(x, 2, 0), In((4, 5), noncontig=True),
        grad=False)
    # the causal masks of makemore's and nanoGPT's attention: torch.tril(torch.ones(T, T))
    add("tril_triu", lambda m, F, x: (m.tril(x), x.tril(1), m.triu(x), x.triu(-1),
                                      m.tril(x, -5), x.triu(9)), In((2, 3, 4)))
    add("tril[nc]", lambda m, F, x: m.tril(x, -1), In((5, 4), noncontig=True))
    add("tril_triu[int_bool]", lambda m, F, x: (m.tril(x), m.triu(x > 1, 1),
                                                m.tril(m.ones(4, 4, dtype=m.long))),
        In((3, 4), "int"), grad=False)
    # dcgan's forward: `if (input.is_cuda or input.is_xpu) and self.ngpu > 1:` (multi-GPU)
    add("is_cuda_xpu", lambda m, F, x: x * 2.0 if (x.is_cuda or x.is_xpu) else x + 1.0,
        In((2, 3)))
    return C


CASES = _cases() + _cases_api() + _cases_nn_api() + _cases_programs()
SPECIAL = _special_cases()
