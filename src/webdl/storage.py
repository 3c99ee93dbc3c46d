"""Storage: what a tensor shares with its views, so that an in-place write reaches all of
them, as in PyTorch.

Buffers themselves never change (a backend's buffers are values: numpy arrays that are
never written, GPU textures that are drawn once). A tensor's contents change by swapping
its buffer. A :class:`Storage` ties together the tensors that must swap together: a root
(its buffer is ``Storage.buf``, in the root's own row-major layout) and its views, each
reached from the root by a *chain* of view steps (the ops flagged ``view``: reshape,
permute, expand, slice). An in-place write computes the root's new buffer, then every live
tensor of the storage replays its chain on it (``webdl.tensor.Tensor._write``).

A tensor joins a storage lazily -- when a view of it is made, or it is written in place --
so the common case (fresh results used once) costs nothing. ``version`` counts the writes:
autograd records the versions of what a backward rule will read and refuses to run it on
values modified since (PyTorch's rule).

Strides (in elements, relative to the root's buffer) follow PyTorch's: they decide whether
``reshape`` of a view is a view too (``view_strides``) and what ``is_contiguous`` says.
"""
import weakref


class _Detach:
    """The chain step of ``detach()``/``.data``: the same elements, outside autograd."""
    name = "detach"

    def __repr__(self):
        return "DETACH"


DETACH = _Detach()


class Storage:
    __slots__ = ("buf", "shape", "version", "tensors", "root", "_pruned", "__weakref__")

    def __init__(self, root):
        self.buf, self.shape, self.version = root._buf, tuple(root.shape), 0
        self.root = weakref.ref(root)   # the tensor whose chain is empty, while it lives
        # every tensor that reads this storage, id -> weak reference (a WeakSet can't hold
        # tensors: it compares them with ==, which is elementwise); dead ones are pruned
        self.tensors = {id(root): self.root}
        self._pruned = 1

    def add(self, t):
        self.tensors[id(t)] = weakref.ref(t)
        if len(self.tensors) > 2 * self._pruned + 8:
            self.members()

    def discard(self, t):
        ref = self.tensors.get(id(t))
        if ref is not None and ref() is t:
            del self.tensors[id(t)]

    def members(self):
        """The live tensors of this storage (the root included, while it lives)."""
        live = {k: r for k, r in self.tensors.items() if r() is not None}
        self.tensors, self._pruned = live, len(live)
        return [r() for r in live.values()]


def storage_of(t):
    """``t``'s storage, made with ``t`` as its root when it has none yet."""
    st = t._storage
    if st is None:
        st = t._storage = Storage(t)
        t._chain = ()
    return st


def version(t):
    st = t._storage
    return 0 if st is None else st.version


def contiguous_strides(shape):
    st, acc = [], 1
    for d in reversed(shape):
        st.append(acc)
        acc *= d
    return tuple(reversed(st))


def geometry(t):
    """(strides, offset) of ``t``'s elements in its storage's buffer."""
    if t._storage is None or not t._chain:
        return contiguous_strides(t.shape), 0
    shape, (strides, offset) = t._storage.shape, (contiguous_strides(t._storage.shape), 0)
    for op, attrs in t._chain:
        strides, offset, shape = step_geometry(op.name, attrs, shape, strides, offset)
    return strides, offset


def step_geometry(name, attrs, shape, strides, offset):
    """The geometry after one view step; strides None when a reshape can't be a view."""
    if name == "detach":
        return strides, offset, shape
    if name == "permute":
        d = attrs["dims"]
        return tuple(strides[i] for i in d), offset, tuple(shape[i] for i in d)
    if name == "expand":
        new = tuple(attrs["shape"])
        lead = len(new) - len(shape)
        st = [0] * lead + [0 if s == 1 and n != 1 else t
                           for s, n, t in zip(shape, new[lead:], strides)]
        return tuple(st), offset, new
    if name == "slice":
        off = offset + sum(s * t for s, t in zip(attrs["starts"], strides))
        return tuple(t * k for t, k in zip(strides, attrs["steps"])), off, tuple(attrs["shape"])
    if name == "reshape":
        new = tuple(attrs["shape"])
        return view_strides(shape, strides, new), offset, new
    raise ValueError(f"storage: {name} is not a view op")


def step_shape(name, attrs, shape):
    if name == "permute":
        return tuple(shape[i] for i in attrs["dims"])
    return shape if name == "detach" else tuple(attrs["shape"])


def replay(backend, st, chain, dtype):
    """The buffer of the view reached by ``chain`` from the storage's buffer, computed by
    the backend's view kernels (no autograd)."""
    buf, shape = st.buf, st.shape
    for op, attrs in chain:
        if op is DETACH:
            continue
        out = step_shape(op.name, attrs, shape)
        buf = backend.run(op, [buf], [shape], out, dtype, attrs)
        shape = out
    return buf


def view_strides(shape, strides, new_shape):
    """Strides for ``new_shape`` over the same elements, or None when the elements can't be
    reached with strides (PyTorch's rule for ``view``: each group of dims that merges or
    splits must be contiguous within itself)."""
    if strides is None:
        return None
    numel = 1
    for d in shape:
        numel *= d
    if numel == 0 or not shape:
        return contiguous_strides(new_shape)
    out = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = strides[-1]
    tensor_numel, view_numel = 1, 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                out[view_d] = view_numel * chunk_base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base = strides[d - 1]
                tensor_numel, view_numel = 1, 1
    if view_d != -1:
        return None
    return tuple(out)


def link_view(out, x, op, attrs):
    """Make ``out`` (just computed by view op ``op`` from ``x``) a view sharing ``x``'s
    storage -- unless it is a reshape that strides can't express (then it is a copy, as
    PyTorch's ``reshape`` of such a tensor is)."""
    if op.name == "reshape" and x._chain:
        strides, _ = geometry(x)
        if view_strides(x.shape, strides, tuple(attrs["shape"])) is None:
            return
    st = storage_of(x)
    out._storage = st
    out._chain = x._chain + ((op, attrs),)
    st.add(out)
