"""Recurrent layers with PyTorch's parameter names, shapes, initialisation and semantics:
``RNN`` (tanh, relu), ``LSTM`` (with ``proj_size``), ``GRU``, their ``*Cell``s, and packed
sequences (``webdl.nn.utils.rnn``).

A layer projects the inputs of every time step at once (one matmul for the sequence),
then each step is one matmul for the hidden state and one fused elementwise chain for the
gates and the state update (the WebGL backend fuses the chain into one kernel). Sequences
of different lengths (a PackedSequence) run padded: a step past a sequence's end keeps its
state, and the reverse direction reads each sequence backwards from its own last step.

One direction of one layer is one autograd node (:class:`Recurrence`, as cuDNN's): its
forward runs the steps without recording a graph, its backward runs them in reverse with
the gradient formulas below, and the weight gradients of all steps are one matmul each. A
step is a function of tensors alone, so on WebGL and WebGPU its GPU work is recorded once
and replayed for the other steps (``webdl.replay``): a step costs one crossing to the bridge
instead of the Python of its twenty-odd ops. (LSTM with ``proj_size`` runs op by op.)
"""
import math

import numpy as np

from ...autograd import _record, is_grad_enabled, no_grad
from ...functions.elementwise import where
from ...functions.shape import cat, stack
from ...ops.base import Op
from ...replay import Replayed
from ...tensor import Tensor, tensor, zeros
from .. import functional as F
from .. import init
from ..module import Module, Parameter
from ..utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# --- the fused recurrence: each step's forward and backward as functions of tensors ----------
# ``gx``: the step's input projection (biases included, but GRU's b_hh), ``h``/``c``: the
# state before the step, ``w``: weight_hh transposed (forward) or as is (backward), ``m``: the
# step's mask (N, 1), 1.0 where the sequence goes on (packed sequences only).
def _keep(m, new, old):
    return old + m * (new - old)


def _lstm_gates(pre):
    i, f, g, o = pre.chunk(4, -1)
    return i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()


def _lstm_fwd(gx, h, c, w, m=None):
    pre = gx + h.matmul(w)
    i, f, g, o = _lstm_gates(pre)
    c2 = f * c + i * g
    h2 = o * c2.tanh()
    if m is not None:
        h2, c2 = _keep(m, h2, h), _keep(m, c2, c)
    Tensor._realize_all(h2, c2)     # one kernel for both (WebGL: two render targets)
    return h2, c2, pre


def _lstm_bwd(dy, dh, dc, pre, c, w, m=None):
    """-> (dh, dc) for the step before, d(pre)."""
    dh = dy + dh
    if m is not None:
        dh_pass, dc_pass = dh - dh * m, dc - dc * m
        dh, dc = dh * m, dc * m
    i, f, g, o = _lstm_gates(pre)
    tc = (f * c + i * g).tanh()
    dc = dc + dh * o * (1.0 - tc * tc)
    # dh and dc first, in one kernel: the five parts inline them, and each part's chain
    # with them inlined is past the fusion's size limit (drawn alone: four kernels, each
    # recomputing the gates, where this makes two)
    Tensor._realize_all(dh, dc)
    parts = [dc * g * i * (1.0 - i), dc * c * f * (1.0 - f), dc * i * (1.0 - g * g),
             dh * tc * o * (1.0 - o), dc * f]
    Tensor._realize_all(*parts)     # one kernel for the five
    dpre = cat(parts[:4], -1)
    dh_prev, dc_prev = dpre.matmul(w), parts[4]
    if m is not None:
        dh_prev, dc_prev = dh_prev + dh_pass, dc_prev + dc_pass
    return dh_prev, dc_prev, dpre


def _gru_fwd(gx, h, w, b, m=None):
    gh = h.matmul(w) if b is None else h.matmul(w) + b
    xr, xz, xn = gx.chunk(3, -1)
    hr, hz, hn = gh.chunk(3, -1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    h2 = n + z * (h - n)
    return (h2 if m is None else _keep(m, h2, h)), gh


def _gru_bwd(dy, dh, gx, gh, h, w, m=None):
    """-> dh for the step before, d(gx), d(gh)."""
    dh = dy + dh
    if m is not None:
        dh_pass = dh - dh * m
        dh = dh * m
    xr, xz, xn = gx.chunk(3, -1)
    hr, hz, hn = gh.chunk(3, -1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    dn = dh * (1.0 - z) * (1.0 - n * n)
    dr = dn * hn * r * (1.0 - r)
    dz = dh * (h - n) * z * (1.0 - z)
    dnr = dn * r
    Tensor._realize_all(dr, dz, dn, dnr)
    dgh = cat([dr, dz, dnr], -1)
    dh_prev = dgh.matmul(w) + dh * z
    if m is not None:
        dh_prev = dh_prev + dh_pass
    return dh_prev, cat([dr, dz, dn], -1), dgh


def _rnn_fwd(gx, h, w, m=None, relu=False):
    pre = gx + h.matmul(w)
    h2 = pre.relu() if relu else pre.tanh()
    return (h2 if m is None else _keep(m, h2, h)), pre


def _rnn_bwd(dy, dh, pre, w, m=None, relu=False):
    """-> dh for the step before, d(pre)."""
    dh = dy + dh
    if m is not None:
        dh_pass = dh - dh * m
        dh = dh * m
    if relu:
        dpre = where(pre > 0, dh, 0.0)
    else:
        t = pre.tanh()
        dpre = dh * (1.0 - t * t)
    dh_prev = dpre.matmul(w)
    return (dh_prev if m is None else dh_prev + dh_pass), dpre


def _no_bias(fn):
    return lambda *a: fn(*a[:3], None, *a[3:])


# (forward, backward) of each mode, with and without GRU's bias: each a Replayed per arity
_STEPS = {
    "LSTM": (Replayed(_lstm_fwd), Replayed(_lstm_bwd)),
    "GRU": (Replayed(_gru_fwd), Replayed(_gru_bwd)),
    "GRU_NOBIAS": (Replayed(_no_bias(_gru_fwd)), Replayed(_gru_bwd)),
    "RNN_TANH": (Replayed(_rnn_fwd), Replayed(_rnn_bwd)),
    "RNN_RELU": (Replayed(lambda gx, h, w, m=None: _rnn_fwd(gx, h, w, m, True)),
                 Replayed(lambda dy, dh, pre, w, m=None: _rnn_bwd(dy, dh, pre, w, m, True))),
}


def _rows(x, t, n):
    """Rows t*n .. t*n+n of a 2-D tensor: one time step of a (L*N, F) sequence."""
    return x.narrow(0, t * n, n)


class Recurrence(Op):
    """One direction of one recurrent layer over a sequence, as one graph node. Inputs: the
    input projections ``gx`` (L, N, G), ``weight_hh`` (G, H), ``h0`` (N, H), then ``c0``
    (LSTM) or ``bias_hh`` (GRU with bias); output: the states after each step (L, N, H), for
    an LSTM with the last cell state appended (L + 1, N, H). ``attrs`` keeps what the steps
    saved for the backward pass."""
    name = "recurrence"
    saves = (1, 2, "out")       # weight_hh, h0 and the states: modified in place, refused
    __slots__ = ()

    def backward(self, g):
        a = self.attrs
        mode, n, steps, masks = a["mode"], a["batch"], a["steps"], a["masks"]
        gx, w, h0 = self.inputs[:3]
        hid = w.shape[1]
        bwd = _STEPS[a["kind"]][1]
        g2 = g.reshape(-1, hid)
        dh = h0.new_zeros(h0.shape)
        dc = _rows(g2, steps, n) if mode == "LSTM" else None
        saved = a["saved"]
        dg, dgh = [None] * steps, [None] * steps
        for t in reversed(range(steps)):
            m = () if masks is None else (_rows(masks, t, n),)
            dy = _rows(g2, t, n)
            if mode == "LSTM":
                dh, dc, dg[t] = bwd(dy, dh, dc, saved[0][t], saved[1][t], w, *m)
            elif mode == "GRU":
                dh, dg[t], dgh[t] = bwd(dy, dh, saved[0][t], saved[1][t],
                                         _prev(self.out, h0, t, n), w, *m)
            else:
                dh, dg[t] = bwd(dy, dh, saved[0][t], w, *m)
        dgx = cat(dg, 0)
        dhh = cat(dgh, 0) if mode == "GRU" else dgx
        h_prev = cat([h0, self.out.reshape(-1, hid).narrow(0, 0, (steps - 1) * n)], 0) \
            if steps > 1 else h0
        grads = [dgx.reshape(gx.shape), dhh.t().matmul(h_prev), dh]
        if mode == "LSTM":
            grads.append(dc)
        elif len(self.inputs) > 3:
            grads.append(dhh.sum(0))
        return tuple(grads)


def _prev(out, h0, t, n):
    """The state before step t: h0, or the output of step t - 1."""
    return h0 if t == 0 else out[t - 1]


def _recurrence(mode, gx, w_hh, h0, c0, b_hh, masks):
    """One direction of one layer: the states after each step (L, N, H), the last state and
    an LSTM's last cell state (``gx``: the input projections (L, N, G), every bias added but
    GRU's ``bias_hh``; ``masks``: (L * N, 1), 1.0 where a sequence goes on, or None). With
    a gradient wanted, the three are views of the Recurrence node's one output."""
    steps, n = gx.shape[0], gx.shape[1]
    kind = "GRU_NOBIAS" if mode == "GRU" and b_hh is None else mode
    fwd = _STEPS[kind][0]
    extra = [] if b_hh is None else [b_hh]
    inputs = (gx, w_hh, h0) + ((c0,) if mode == "LSTM" else tuple(extra))
    graph = is_grad_enabled() and any(t.requires_grad for t in inputs)
    with no_grad():
        w_t = w_hh.t().contiguous()
        gx2 = gx.reshape(steps * n, -1)
        h, c = h0, c0
        hs, saved = [], ([], [])
        for t in range(steps):
            m = () if masks is None else (_rows(masks, t, n),)
            x = _rows(gx2, t, n)
            if mode == "LSTM":
                saved[1].append(c)
                h, c, pre = fwd(x, h, c, w_t, *m)
                saved[0].append(pre)
            elif mode == "GRU":
                h, gh = fwd(x, h, w_t, *extra, *m)
                saved[0].append(x)
                saved[1].append(gh)
            else:
                h, pre = fwd(x, h, w_t, *m)
                saved[0].append(pre)
            hs.append(h)
        if not graph:
            # no graph: tensors of their own (a call webdl.compile records returns them)
            return stack(hs, 0), h, c
        out = cat(hs + ([c] if mode == "LSTM" else []), 0).reshape(len(hs) + (mode == "LSTM"),
                                                                     n, -1)
    out = _record(Recurrence, inputs, {"mode": mode, "kind": kind, "batch": n, "steps": steps,
                                       "masks": masks, "saved": saved}, out)
    return out[:steps], out[steps - 1], (out[steps] if mode == "LSTM" else None)


def _cell_step(mode, gx, h, c, w_hh, b_hh, w_hr):
    """One step op by op (a ``*Cell``, or an LSTM with ``proj_size``), with the step
    functions above: ``gx`` is the input's projection (bias_ih included); returns (h', c')."""
    w = w_hh.t()
    if mode == "GRU":
        return _gru_fwd(gx, h, w, b_hh)[0], None
    if b_hh is not None:
        gx = gx + b_hh
    if mode == "LSTM":
        h2, c2, _ = _lstm_fwd(gx, h, c, w)
        return (F.linear(h2, w_hr) if w_hr is not None else h2), c2
    return _rnn_fwd(gx, h, w, relu=mode == "RNN_RELU")[0], None


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(f"{type(self).__name__}: dropout should be a number in range "
                             f"[0, 1], got {dropout}")
        if proj_size < 0 or (proj_size and mode != "LSTM"):
            raise ValueError(f"{type(self).__name__}: proj_size should be a non-negative "
                             f"integer (LSTM only), got {proj_size}")
        if proj_size >= hidden_size and proj_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError(f"{type(self).__name__}: hidden_size and num_layers must be "
                             f"positive, got {hidden_size} and {num_layers}")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        dirs = 2 if bidirectional else 1
        out = proj_size or hidden_size
        gate = _GATES[mode] * hidden_size
        for layer in range(num_layers):
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                inp = input_size if layer == 0 else out * dirs
                shapes = {"weight_ih": (gate, inp), "weight_hh": (gate, out)}
                if bias:
                    shapes.update(bias_ih=(gate,), bias_hh=(gate,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for name, shape in shapes.items():
                    self.register_parameter(name + sfx, Parameter(zeros(*shape, device=device)))
        self.reset_parameters()

    def reset_parameters(self):
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def _weights(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        get = lambda n: getattr(self, n + sfx, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def forward(self, input, hx=None):  # noqa: A002
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:      # run padded, in the original batch order, with each one's length
            x, lengths = pad_packed_sequence(input)
            lengths = lengths.tolist()
        else:
            x, lengths = input, None
            if x.ndim not in (2, 3):
                raise ValueError(f"{name}: expected input of 2 (unbatched) or 3 dims, got "
                                 f"shape {tuple(x.shape)}")
        unbatched = not packed and x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
            if hx is not None:
                hx = tuple(h.unsqueeze(1) for h in hx) if isinstance(hx, tuple) else \
                    hx.unsqueeze(1)
        elif self.batch_first and not packed:
            x = x.transpose(0, 1)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input size {x.shape[-1]} doesn't match input_size "
                             f"{self.input_size} (input shape {tuple(input.shape)})")
        seq, batch = x.shape[0], x.shape[1]
        dirs = 2 if self.bidirectional else 1
        out_size = self.proj_size or self.hidden_size
        h0, c0 = self._initial(hx, batch, dirs, out_size, x)
        hs, cs = [], []
        mask = None
        if lengths is not None and min(lengths) < seq:
            steps = np.arange(seq).reshape(seq, 1, 1) < np.asarray(lengths).reshape(1, -1, 1)
            mask = tensor(steps, device=x.device)               # (L, N, 1): step is real
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                seq_in = _reverse_each(layer_in, lengths) if d else layer_in
                y, h, c = self._run_direction(seq_in, layer, d, h0[k],
                                              c0[k] if c0 is not None else None, mask)
                outs.append(_reverse_each(y, lengths) if d else y)
                hs.append(h)
                cs.append(c)
            layer_in = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        out = layer_in
        if mask is not None:
            out = out * mask
        h_n = stack(hs, 0)
        c_n = stack(cs, 0) if self.mode == "LSTM" else None
        if packed:
            out = PackedSequence(_pack_like(out, lengths, input), input.batch_sizes,
                                 input.sorted_indices, input.unsorted_indices)
        elif unbatched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, ((h_n, c_n) if self.mode == "LSTM" else h_n)

    def _initial(self, hx, batch, dirs, out_size, x):
        n = self.num_layers * dirs
        if self.mode == "LSTM":
            if hx is None:
                return (zeros(n, batch, out_size, device=x.device),
                        zeros(n, batch, self.hidden_size, device=x.device))
            h0, c0 = hx
            self._check_hidden(h0, (n, batch, out_size), "h0")
            self._check_hidden(c0, (n, batch, self.hidden_size), "c0")
            return h0, c0
        if hx is None:
            return zeros(n, batch, out_size, device=x.device), None
        self._check_hidden(hx, (n, batch, out_size), "hx")
        return hx, None

    def _check_hidden(self, h, shape, what):
        if tuple(h.shape) != shape:
            raise RuntimeError(f"{type(self).__name__}: expected {what} of size {list(shape)}, "
                               f"got {list(h.shape)}")

    def _run_direction(self, x, layer, d, h, c, mask):
        """One direction of one layer over the sequence: (outputs (L, N, H), h_n, c_n)."""
        w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d)
        gx = F.linear(x, w_ih, b_ih)                     # every step's input projection
        if w_hr is None:
            if b_hh is not None and self.mode != "GRU":
                gx = gx + b_hh
                b_hh = None
            masks = None if mask is None else \
                mask.to(gx.dtype).expand(x.shape[0], x.shape[1], 1).reshape(-1, 1)
            return _recurrence(self.mode, gx, w_hh, h, c, b_hh, masks)
        outs = []
        for t in range(x.shape[0]):
            h2, c2 = _cell_step(self.mode, gx[t], h, c, w_hh, b_hh, w_hr)
            if mask is not None:                         # past a sequence's end: keep state
                h2 = where(mask[t], h2, h)
                c2 = where(mask[t], c2, c) if c2 is not None else None
            h, c = h2, c2
            outs.append(h)
        return stack(outs, 0), h, c

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


def _pack_like(out, lengths, packed):
    """The data of ``out`` (L, N, H) packed in the same order as ``packed``."""
    order = packed.sorted_indices.tolist() if packed.sorted_indices is not None else \
        list(range(out.shape[1]))
    return pack_padded_sequence(out.index_select(1, tensor(order, device=out.device)),
                                [lengths[b] for b in order]).data


def _reverse_each(x, lengths):
    """Each sequence of x (L, N, H) reversed within its own length (padding stays last)."""
    seq = x.shape[0]
    if lengths is None or min(lengths) == seq:
        return x.flip(0)
    idx = np.zeros((seq, len(lengths)), dtype=np.int64)
    for b, n in enumerate(lengths):
        idx[:n, b] = np.arange(n - 1, -1, -1)
        idx[n:, b] = np.arange(n, seq)
    index = tensor(idx.reshape(seq, len(lengths), 1), device=x.device).expand(x.shape)
    return x.gather(0, index)


class RNN(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity '{nonlinearity}' (tanh or relu)")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device=device)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device)


class GRU(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device)


class RNNCellBase(Module):
    def __init__(self, mode, input_size, hidden_size, bias=True, device=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, \
            hidden_size, bias
        gate = _GATES[mode] * hidden_size
        self.weight_ih = Parameter(zeros(gate, input_size, device=device))
        self.weight_hh = Parameter(zeros(gate, hidden_size, device=device))
        if bias:
            self.bias_ih = Parameter(zeros(gate, device=device))
            self.bias_hh = Parameter(zeros(gate, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        k = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def forward(self, input, hx=None):  # noqa: A002
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input of 1 (unbatched) or 2 dims, got shape "
                             f"{tuple(input.shape)}")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        if hx is None:
            h = zeros(x.shape[0], self.hidden_size, device=x.device)
            hx = (h, h) if self.mode == "LSTM" else h
        elif unbatched:
            hx = tuple(v.unsqueeze(0) for v in hx) if isinstance(hx, tuple) else hx.unsqueeze(0)
        h, c = (hx if self.mode == "LSTM" else (hx, None))
        h2, c2 = _cell_step(self.mode, F.linear(x, self.weight_ih, self.bias_ih), h, c,
                            self.weight_hh, self.bias_hh, None)
        if unbatched:
            h2, c2 = h2.squeeze(0), (c2.squeeze(0) if c2 is not None else None)
        return (h2, c2) if self.mode == "LSTM" else h2

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity '{nonlinearity}' (tanh or relu)")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, bias, device)
        self.nonlinearity = nonlinearity


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device)


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, device)
