"""Recurrent layers against PyTorch from the same weights: outputs, final states and every
gradient (inputs, initial states, parameters), over each flag, and packed sequences."""
import numpy as np
import pytest
import torch

import webdl
import webdl.nn as wnn
from webdl.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

TOL = 1e-4


def _pair(cls, *args, **kw):
    torch.manual_seed(0)
    t = getattr(torch.nn, cls)(*args, **kw)
    w = getattr(wnn, cls)(*args, **kw)
    missing = w.load_state_dict({k: webdl.tensor(v.detach().numpy())
                                 for k, v in t.state_dict().items()})
    assert list(w.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        assert tuple(w.state_dict()[k].shape) == tuple(v.shape), k
    return t, w, missing


def _close(a, b, what):
    a = a.detach().numpy() if hasattr(a, "detach") else a
    b = b.detach().numpy()
    scale = max(1.0, float(np.abs(b).max()) if b.size else 1.0)
    assert a.shape == b.shape, f"{what}: {a.shape} vs {b.shape}"
    assert np.abs(a - b).max() <= TOL * scale, f"{what}: max diff {np.abs(a - b).max()}"


def _leaf(arr, lib):
    return lib.tensor(arr, requires_grad=True)


def _flatten(out):
    if isinstance(out, tuple):
        return [o for v in out for o in _flatten(v)]
    return [out]


CONFIGS = [
    ("RNN", dict(), False), ("RNN", dict(nonlinearity="relu", num_layers=2), False),
    ("RNN", dict(bidirectional=True, batch_first=True), False), ("RNN", dict(bias=False), True),
    ("LSTM", dict(), False), ("LSTM", dict(num_layers=2, bidirectional=True), True),
    ("LSTM", dict(proj_size=3), True), ("LSTM", dict(batch_first=True, proj_size=2,
                                                     num_layers=2), False),
    ("GRU", dict(), True), ("GRU", dict(num_layers=3, bidirectional=True, batch_first=True),
                            False),
]


@pytest.mark.parametrize("cls,kw,with_state", CONFIGS, ids=[f"{c}{k}{s}" for c, k, s in CONFIGS])
def test_layer_like_torch(cls, kw, with_state):
    t, w, _ = _pair(cls, 4, 5, **kw)
    rng = np.random.default_rng(1)
    seq, batch = 6, 3
    shape = (batch, seq, 4) if kw.get("batch_first") else (seq, batch, 4)
    x = rng.standard_normal(shape).astype(np.float32)
    dirs = 2 if kw.get("bidirectional") else 1
    n = dirs * kw.get("num_layers", 1)
    out_size = kw.get("proj_size") or 5
    tx, wx = _leaf(x, torch), _leaf(x, webdl)
    targs, wargs = [tx], [wx]
    states = []
    if with_state:
        h0 = rng.standard_normal((n, batch, out_size)).astype(np.float32)
        states.append(h0)
        if cls == "LSTM":
            states.append(rng.standard_normal((n, batch, 5)).astype(np.float32))
        ts = [_leaf(s, torch) for s in states]
        ws = [_leaf(s, webdl) for s in states]
        targs.append(tuple(ts) if cls == "LSTM" else ts[0])
        wargs.append(tuple(ws) if cls == "LSTM" else ws[0])
    tout, wout = _flatten(t(*targs)), _flatten(w(*wargs))
    for k, (a, b) in enumerate(zip(wout, tout)):
        _close(a, b, f"output {k}")
    cot = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in tout]
    sum((o * torch.tensor(c)).sum() for o, c in zip(tout, cot)).backward()
    sum((o * webdl.tensor(c)).sum() for o, c in zip(wout, cot)).backward()
    _close(wx.grad, tx.grad, "input grad")
    if with_state:
        for a, b in zip(ws, ts):
            _close(a.grad, b.grad, "state grad")
    for (name, p), (_, q) in zip(w.named_parameters(), t.named_parameters()):
        _close(p.grad, q.grad, f"grad of {name}")


def test_unbatched_input():
    t, w, _ = _pair("GRU", 3, 4, num_layers=2)
    x = np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32)
    for a, b in zip(_flatten(w(webdl.tensor(x))), _flatten(t(torch.tensor(x)))):
        _close(a, b, "unbatched")


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_like_torch(cls):
    t, w, _ = _pair(cls, 4, 3)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    h = rng.standard_normal((2, 3)).astype(np.float32)
    tx, wx, th, wh = _leaf(x, torch), _leaf(x, webdl), _leaf(h, torch), _leaf(h, webdl)
    if cls == "LSTMCell":
        c = rng.standard_normal((2, 3)).astype(np.float32)
        tc, wc = _leaf(c, torch), _leaf(c, webdl)
        tout, wout = t(tx, (th, tc)), w(wx, (wh, wc))
    else:
        tout, wout = t(tx, th), w(wx, wh)
    for a, b in zip(_flatten(wout), _flatten(tout)):
        _close(a, b, cls)
    sum(o.sum() * (k + 1) for k, o in enumerate(_flatten(tout))).backward()
    sum(o.sum() * (k + 1) for k, o in enumerate(_flatten(wout))).backward()
    _close(wx.grad, tx.grad, "x grad")
    _close(wh.grad, th.grad, "h grad")
    for (name, p), (_, q) in zip(w.named_parameters(), t.named_parameters()):
        _close(p.grad, q.grad, name)
    _close(w(wx[0]) if cls != "LSTMCell" else w(wx[0])[0],
           t(tx[0]) if cls != "LSTMCell" else t(tx[0])[0], "unbatched cell")


@pytest.mark.parametrize("cls,bidirectional,enforce_sorted",
                         [("LSTM", False, True), ("GRU", True, False), ("RNN", True, True)])
def test_packed_sequences_like_torch(cls, bidirectional, enforce_sorted):
    t, w, _ = _pair(cls, 3, 4, num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(4)
    lengths = [5, 4, 2] if enforce_sorted else [2, 5, 3]
    x = rng.standard_normal((5, 3, 3)).astype(np.float32)
    tx, wx = _leaf(x, torch), _leaf(x, webdl)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, enforce_sorted=enforce_sorted)
    wp = pack_padded_sequence(wx, lengths, enforce_sorted=enforce_sorted)
    _close(wp.data, tp.data, "packed data")
    assert wp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    tout, th = t(tp)
    wout, wh = w(wp)
    _close(wout.data, tout.data, "packed output")
    for a, b in zip(_flatten(wh), _flatten(th)):
        _close(a, b, "final state")
    tpad, tlen = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=True, total_length=6)
    wpad, wlen = pad_packed_sequence(wout, batch_first=True, total_length=6)
    _close(wpad, tpad, "padded")
    assert wlen.tolist() == tlen.tolist()
    (tpad.sum() + sum(h.sum() for h in _flatten(th))).backward()
    (wpad.sum() + sum(h.sum() for h in _flatten(wh))).backward()
    _close(wx.grad, tx.grad, "input grad through packing")
    for (name, p), (_, q) in zip(w.named_parameters(), t.named_parameters()):
        _close(p.grad, q.grad, name)


def test_pad_sequence_like_torch():
    rng = np.random.default_rng(5)
    seqs = [rng.standard_normal((n, 2)).astype(np.float32) for n in (3, 1, 4)]
    for kw in (dict(), dict(batch_first=True, padding_value=-1.0),
               dict(batch_first=True, padding_side="left")):
        _close(pad_sequence([webdl.tensor(s) for s in seqs], **kw),
               torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], **kw), str(kw))


def test_bad_input_is_named():
    lstm = wnn.LSTM(4, 3)
    with pytest.raises(ValueError, match="input size 5 doesn't match input_size 4"):
        lstm(webdl.zeros(2, 1, 5))
    with pytest.raises(RuntimeError, match=r"expected h0 of size \[1, 1, 3\]"):
        lstm(webdl.zeros(2, 1, 4), (webdl.zeros(1, 2, 3), webdl.zeros(1, 1, 3)))
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        pack_padded_sequence(webdl.zeros(3, 2, 1), [1, 3])
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        wnn.LSTM(2, 3, proj_size=3)
