"""Storage-semantics cases, written once against the PyTorch API (``m`` is torch or
webdl) and importing only numpy, so they run against PyTorch on CPython
(tests/test_semantics.py) and on WebGL against the numpy backend in the browser
(tests/test_browser_semantics.py): views share storage with their base, in-place ops write
through to the base and every other view, the version counter, and autograd across
in-place writes (what works, and PyTorch's errors where it refuses).

A case returns tensors (or numbers) to compare, or raises. Two runs agree when they give
the same values (tolerance 1e-6) or raise the same exception class."""
import numpy as np

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def _np(v):
    if hasattr(v, "detach"):
        return v.detach().cpu().numpy()
    return np.asarray(v)


def outcome(fn, m):
    """(exception class name or None, [arrays] or the message)."""
    try:
        out = fn(m)
    except Exception as e:  # noqa: BLE001 - compared between the runs
        return type(e).__name__, str(e)
    return None, [_np(v) for v in (out if isinstance(out, (list, tuple)) else [out])]


def agree(name, got, want, tol=1e-6):
    """None when two outcomes agree, else what differs."""
    (got_exc, got_v), (want_exc, want_v) = got, want
    if want_exc is not None or got_exc is not None:
        if got_exc != want_exc:
            return f"{name}: expected {want_exc}: {want_v}; got {got_exc}: {got_v}"
        return None
    if len(got_v) != len(want_v):
        return f"{name}: {len(got_v)} results, expected {len(want_v)}"
    for k, (g, w) in enumerate(zip(got_v, want_v)):
        g, w = np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)
        if g.shape != w.shape:
            return f"{name}: result {k} has shape {g.shape}, expected {w.shape}"
        if not np.allclose(g, w, rtol=tol, atol=tol, equal_nan=True):
            return f"{name}: result {k} is {g.tolist()}, expected {w.tolist()}"
    return None


# --- views share storage ------------------------------------------------------------------
@case
def slice_fill(m):
    x = m.zeros(3, 4)
    x[1:3].fill_(9)
    return x


@case
def data_zero(m):
    p = m.ones(2, 3, requires_grad=True)
    p.data.zero_()
    return p


@case
def data_copy(m):
    p = m.zeros(2, 2, requires_grad=True)
    p.data.copy_(m.tensor([[1.0, 2.0], [3.0, 4.0]]))
    return p


@case
def detach_fill(m):
    p = m.zeros(3, requires_grad=True)
    p.detach().fill_(7)
    return p


@case
def view_copied_into_keeps_the_copy(m):
    # the written view takes the written values (not its source, which changes later);
    # its base, a second view and later writes through either see them
    x = m.zeros(3, 4)
    src = m.arange(3.0)
    v = x[:, 1]
    w = x.t()[1]
    v.copy_(src)
    src.add_(10)
    a = v.clone()
    v.add_(1)
    x[:, 1] = 7
    v2 = x[0:2, 2:4]
    v2.copy_(m.ones(2))           # broadcast into the view
    v2[0, 1] = 5
    return x, v, w, a, src, v2


@case
def view_copied_into_with_dtype_and_grad(m):
    # a cast made by copy_ (int source into a float view), and a view of a tensor that
    # requires grad (autograd follows that write: the other path)
    x = m.zeros(2, 3)
    x[:, 0] = m.tensor([4, 5])
    p = m.ones(2, 3, requires_grad=True)
    y = p * 2
    y[:, 1] = m.tensor([3.0, 4.0])
    y.sum().backward()
    return x, y.detach(), p.grad


@case
def view_then_base(m):
    x = m.arange(12.0)
    v = x.view(3, 4)
    x[5] = -1
    v[0, 0] = 100
    return x, v


@case
def transpose_row(m):
    x = m.arange(6.0).reshape(2, 3)
    x.t()[1].fill_(0)
    return x


@case
def permute_setitem(m):
    x = m.zeros(2, 3, 4)
    x.permute(2, 0, 1)[1, :, 2] = m.tensor([5.0, 6.0])
    return x


@case
def select_narrow_unsqueeze(m):
    x = m.zeros(4, 5)
    x.select(1, 2).add_(1)
    x.narrow(0, 1, 2).mul_(0).add_(3)
    x.unsqueeze(0)[0, 3].fill_(8)
    return x


@case
def split_chunk_unbind(m):
    x = m.zeros(6)
    a, b = x.split(3)
    b.fill_(2)
    c = x.chunk(3)[0]
    c.add_(1)
    x.unbind(0)[4].fill_(-5)
    return x


@case
def view_of_view(m):
    x = m.zeros(4, 6)
    y = x[1:, ::2]
    z = y.t()[1:]
    z.fill_(3)
    return x, y, z


@case
def two_views_see_each_other(m):
    x = m.zeros(5)
    a, b = x[1:4], x[2:]
    a.fill_(1)
    return b


@case
def diagonal_write(m):
    x = m.zeros(3, 3)
    x.diagonal().fill_(4)
    return x


@case
def flatten_is_view(m):
    x = m.zeros(2, 3)
    x.flatten()[4] = 1
    return x


@case
def reshape_of_transposed_is_copy(m):
    x = m.zeros(2, 3)
    x.t().reshape(6).fill_(1)
    return x


@case
def view_of_transposed_raises(m):
    return m.zeros(2, 3).t().view(6)


@case
def contiguous_is_copy(m):
    x = m.zeros(2, 3)
    y = x.t().contiguous()
    y.fill_(1)
    return x, y, x.t().is_contiguous(), y.is_contiguous()


@case
def clone_is_copy(m):
    x = m.zeros(3)
    x.clone().fill_(1)
    return x


@case
def flip_is_copy(m):
    x = m.zeros(3)
    x.flip(0).fill_(1)
    return x


@case
def expand_write_raises(m):
    x = m.zeros(1, 3)
    x.expand(2, 3).add_(1)
    return x


@case
def strides(m):
    x = m.zeros(2, 3, 4)
    y = x.permute(2, 0, 1)[1:, :, ::2]
    return list(y.stride()), y.storage_offset(), y.is_contiguous(), list(x.stride())


@case
def data_assignment_shares(m):
    p = m.zeros(3, requires_grad=True)
    t = m.ones(3)
    p.data = t
    t.fill_(5)
    return p


@case
def parameter_shares_data(m):
    w = m.zeros(2)
    p = m.nn.Parameter(w)
    w.fill_(3)
    return p


# --- in-place ops -------------------------------------------------------------------------
@case
def arithmetic_inplace(m):
    x = m.arange(1.0, 7.0).reshape(2, 3)
    r = x[1]
    r.add_(1).sub_(0.5).mul_(2).div_(4)
    x[0].pow_(2)
    x += 1
    x[:, 1] *= 10
    return x


@case
def unary_inplace(m):
    x = m.linspace(-2.0, 2.0, 8).reshape(2, 4)
    x[0].clamp_(-1, 1)
    x[1].neg_().abs_().sqrt_()
    return x


@case
def clamp_min_max_inplace(m):
    x = m.linspace(-2.0, 2.0, 6)
    x.clamp_min_(-1).clamp_max_(1.5)
    return x


@case
def masked_fill_inplace(m):
    x = m.arange(6.0).reshape(2, 3)
    x.masked_fill_(x > 2, -1)
    return x


@case
def lerp_addcmul_addcdiv(m):
    x = m.ones(3)
    x.lerp_(m.tensor([3.0, 5.0, 7.0]), 0.5)
    x.addcmul_(m.tensor([1.0, 2.0, 3.0]), m.tensor([2.0, 2.0, 2.0]), value=0.5)
    x.addcdiv_(m.tensor([1.0, 2.0, 3.0]), m.tensor([2.0, 4.0, 8.0]))
    return x


@case
def int_tensor_float_result_raises(m):
    x = m.arange(3)
    x.add_(0.5)
    return x


@case
def broadcast_beyond_self_raises(m):
    x = m.zeros(3)
    x.add_(m.ones(2, 3))
    return x


@case
def index_put_and_accumulate(m):
    x = m.zeros(5)
    x.index_put_((m.tensor([0, 2]),), m.tensor([1.0, 2.0]))
    x.index_put_((m.tensor([1, 1, 4]),), m.tensor([1.0, 2.0, 3.0]), accumulate=True)
    return x


@case
def scatter_inplace(m):
    x = m.zeros(3, 4)
    x.scatter_(1, m.tensor([[0, 3], [1, 2], [3, 3]]), m.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 5.0]]))
    y = m.zeros(2, 3).scatter_(0, m.tensor([[1, 0, 1]]), 7.0)
    return x, y


@case
def index_add_fill_copy(m):
    x = m.zeros(4, 2)
    x.index_add_(0, m.tensor([0, 2, 0]), m.ones(3, 2))
    x.index_fill_(1, m.tensor([1]), -1.0)
    x.index_copy_(0, m.tensor([3]), m.tensor([[9.0, 8.0]]))
    return x


@case
def setitem_forms(m):
    x = m.zeros(3, 4)
    x[0] = 1
    x[1, 1:3] = m.tensor([2.0, 3.0])
    x[..., -1] = 4
    x[None, 2, 0] = 5
    x[:, 0] += 10
    return x


@case
def setitem_mask(m):
    x = m.arange(8.0).reshape(2, 4)
    x[x < 3] = -float("inf")
    x[x > 6] = m.tensor([70.0])
    x[m.tensor([False, True])] = m.tensor([1.0, 2.0, 3.0, 4.0])
    return x


@case
def setitem_mask_values(m):
    x = m.zeros(2, 3)
    x[m.tensor([[True, False, True], [False, True, False]])] = m.tensor([1.0, 2.0, 3.0])
    return x


@case
def setitem_index_tensors(m):
    x = m.zeros(3, 4)
    x[m.tensor([0, 2]), m.tensor([1, 3])] = m.tensor([5.0, 6.0])
    x[[1, 1], :2] = 2
    x[m.tensor([[0], [2]]), m.tensor([0, 1])] = 9
    return x


@case
def getitem_index_tensors(m):
    x = m.arange(24.0).reshape(2, 3, 4)
    i = m.tensor([[0, 1], [1, 0]])
    return (x[i], x[:, i], x[i, :, m.tensor([1, 2])], x[0, [2, 0], 1:3],
            x[x > 20], x[1, m.tensor([True, False, True])], x[..., [0, 3]], x[:, None, [1]])


# --- versions and autograd ----------------------------------------------------------------
@case
def versions(m):
    x = m.zeros(3)
    v = x[1:]
    a = x._version
    v.add_(1)
    x.mul_(2)
    y = x.detach()
    y.zero_()
    return a, x._version, v._version, y._version


@case
def leaf_inplace_raises(m):
    p = m.zeros(3, requires_grad=True)
    p.add_(1)
    return p


@case
def leaf_view_inplace_raises(m):
    p = m.zeros(3, requires_grad=True)
    p[0] = 1
    return p


@case
def leaf_inplace_in_no_grad(m):
    p = m.zeros(3, requires_grad=True)
    with m.no_grad():
        p.add_(1)
        p[0] = 5
    return p, p.requires_grad, p.is_leaf


@case
def modified_saved_output_raises(m):
    a = m.tensor([0.5, -1.0], requires_grad=True)
    b = a.sigmoid()
    b.mul_(2)
    b.sum().backward()
    return a.grad


@case
def modified_saved_input_raises(m):
    a = m.tensor([0.5, -1.0], requires_grad=True)
    c = a * 2
    d = c * c
    c.add_(1)
    d.sum().backward()
    return a.grad


@case
def modified_unsaved_input_is_fine(m):
    a = m.tensor([0.5, -1.0], requires_grad=True)
    c = a * 2
    d = c + 3
    c.add_(1)
    d.sum().backward()
    return a.grad, c


@case
def inplace_on_nonleaf_grads(m):
    a = m.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = a * 2
    y.add_(1)
    y.mul_(3)
    (y * y).sum().backward()
    return y, a.grad, y.is_leaf


@case
def copy_slices(m):
    w = m.tensor([1.0, 2.0], requires_grad=True)
    x = m.zeros(3)
    x[1:] = w * 2
    (x * m.tensor([1.0, 3.0, 5.0])).sum().backward()
    return x, w.grad, x.requires_grad


@case
def view_of_nonleaf_written(m):
    a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = a * 1
    v = y[0:2]
    v.mul_(2)
    (y * y).sum().backward()
    return y, a.grad


@case
def copy_into_nonleaf(m):
    a = m.tensor([1.0, 2.0], requires_grad=True)
    b = m.tensor([3.0, 4.0], requires_grad=True)
    y = a * 1
    y.copy_(b * b)
    y.sum().backward()
    return y, a.grad, b.grad


@case
def next_functions_structure(m):
    a = m.tensor([1.0, 2.0], requires_grad=True)
    b = m.tensor([3.0, 4.0])
    y = (a * b).sum()
    nf = y.grad_fn.next_functions
    mul = nf[0][0]
    return (len(nf), len(mul.next_functions), mul.next_functions[1][0] is None,
            type(mul.next_functions[0][0]).__name__ == "AccumulateGrad",
            mul.next_functions[0][0].variable is a, a.is_leaf, y.is_leaf)


@case
def out_argument(m):
    o = m.zeros(4)
    m.add(m.ones(2), 1, out=o[1:3])
    s = m.zeros(0)
    m.sum(m.ones(2, 3), 1, out=s)
    v, i = m.zeros(3), m.zeros(3, dtype=m.long)
    m.sort(m.tensor([3.0, 1.0, 2.0]), out=(v, i))
    c = m.zeros(3)
    m.cat([m.ones(1), m.zeros(2)], out=c)
    return o, s, v, i, c


@case
def out_with_grad_raises(m):
    a = m.ones(2, requires_grad=True)
    return m.mul(a, 2, out=m.zeros(2))
