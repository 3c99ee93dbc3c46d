"""Attention and transformer layers against PyTorch from the same weights: outputs,
attention weights and every gradient, over masks (boolean, float, causal, key padding)
and flags (batch_first, kdim/vdim, add_bias_kv, add_zero_attn, norm_first, activations)."""
import numpy as np
import pytest
import torch

import webdl
import webdl.nn as wnn
import webdl.nn.functional as WF

TOL = 2e-5


def _close(a, b, what):
    a = a.detach().numpy()
    b = b.detach().numpy()
    finite = b[np.isfinite(b)]
    scale = max(1.0, float(np.abs(finite).max()) if finite.size else 1.0)
    assert a.shape == b.shape, f"{what}: {a.shape} vs {b.shape}"
    np.testing.assert_allclose(a, b, rtol=0, atol=TOL * scale, err_msg=what)


def _leaves(rng, *shapes):
    arrs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return ([torch.tensor(a, requires_grad=True) for a in arrs],
            [webdl.tensor(a, requires_grad=True) for a in arrs])


def _load(t, w):
    w.load_state_dict({k: webdl.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    assert list(w.state_dict()) == list(t.state_dict())


def _backward_both(touts, wouts, rng):
    cot = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in touts]
    sum((o * torch.tensor(c)).sum() for o, c in zip(touts, cot)).backward()
    sum((o * webdl.tensor(c)).sum() for o, c in zip(wouts, cot)).backward()


MASKS = ["none", "bool", "float", "causal"]


@pytest.mark.parametrize("mask", MASKS)
def test_sdpa_like_torch(mask):
    rng = np.random.default_rng(0)
    (tq, tk, tv), (wq, wk, wv) = _leaves(rng, (2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7))
    kw_t, kw_w = {}, {}
    if mask == "bool":
        m = rng.random((5, 6)) > 0.3
        m[:, 0] = True
        kw_t["attn_mask"], kw_w["attn_mask"] = torch.tensor(m), webdl.tensor(m)
    elif mask == "float":
        m = rng.standard_normal((2, 1, 5, 6)).astype(np.float32)
        kw_t["attn_mask"], kw_w["attn_mask"] = torch.tensor(m), webdl.tensor(m)
    elif mask == "causal":
        kw_t["is_causal"] = kw_w["is_causal"] = True
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, scale=0.3, **kw_t)
    wo = WF.scaled_dot_product_attention(wq, wk, wv, scale=0.3, **kw_w)
    _close(wo, to, "sdpa")
    _backward_both([to], [wo], rng)
    for a, b, n in ((wq, tq, "q"), (wk, tk, "k"), (wv, tv, "v")):
        _close(a.grad, b.grad, n)


MHA = [dict(), dict(batch_first=True), dict(kdim=3, vdim=5), dict(add_bias_kv=True),
       dict(add_zero_attn=True, bias=False)]


@pytest.mark.parametrize("kw", MHA, ids=[str(k) for k in MHA])
@pytest.mark.parametrize("masks", ["none", "attn_bool", "key_padding", "both_float"])
def test_multihead_attention_like_torch(kw, masks):
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(8, 2, **kw)
    w = wnn.MultiheadAttention(8, 2, **kw)
    _load(t, w)
    rng = np.random.default_rng(1)
    bf = kw.get("batch_first", False)
    L, S, N = 4, 5, 3
    qs = (N, L, 8) if bf else (L, N, 8)
    ks = (N, S, kw.get("kdim", 8)) if bf else (S, N, kw.get("kdim", 8))
    vs = (N, S, kw.get("vdim", 8)) if bf else (S, N, kw.get("vdim", 8))
    (tq, tk, tv), (wq, wk, wv) = _leaves(rng, qs, ks, vs)
    mt, mw = {}, {}
    if masks in ("attn_bool", "both_float"):
        m = rng.random((L, S)) > 0.6
        m[:, 0] = False
        if masks == "both_float":
            m = np.where(m, -2.0, 0.5).astype(np.float32)
        mt["attn_mask"], mw["attn_mask"] = torch.tensor(m), webdl.tensor(m)
    if masks in ("key_padding", "both_float"):
        kp = np.zeros((N, S), bool)
        kp[0, 3:] = True
        kp[2, 1] = True
        if masks == "both_float":
            kp = np.where(kp, -1.5, 0.0).astype(np.float32)
        mt["key_padding_mask"], mw["key_padding_mask"] = torch.tensor(kp), webdl.tensor(kp)
    for avg in (True, False):
        to, tw = t(tq, tk, tv, average_attn_weights=avg, **mt)
        wo, ww = w(wq, wk, wv, average_attn_weights=avg, **mw)
        _close(wo, to, "output")
        _close(ww, tw, "weights")
    _backward_both([to, tw], [wo, ww], rng)
    for a, b, n in ((wq, tq, "q"), (wk, tk, "k"), (wv, tv, "v")):
        _close(a.grad, b.grad, n)
    for (name, p), (_, q) in zip(w.named_parameters(), t.named_parameters()):
        _close(p.grad, q.grad, name)


def test_multihead_attention_unbatched_and_no_weights():
    torch.manual_seed(0)
    t, w = torch.nn.MultiheadAttention(6, 3), wnn.MultiheadAttention(6, 3)
    _load(t, w)
    x = np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32)
    to, tw = t(torch.tensor(x), torch.tensor(x), torch.tensor(x))
    wo, ww = w(webdl.tensor(x), webdl.tensor(x), webdl.tensor(x))
    _close(wo, to, "unbatched")
    _close(ww, tw, "unbatched weights")
    assert w(webdl.tensor(x), webdl.tensor(x), webdl.tensor(x), need_weights=False)[1] is None


LAYERS = [dict(), dict(norm_first=True), dict(activation="gelu", batch_first=True),
          dict(activation=torch.nn.functional.silu)]


def _act(kw, lib):
    if callable(kw.get("activation")):
        return {**kw, "activation": (torch.nn.functional.silu if lib is torch
                                     else WF.silu)}
    return kw


@pytest.mark.parametrize("kw", LAYERS, ids=["post", "norm_first", "gelu_bf", "callable"])
def test_encoder_decoder_layers_like_torch(kw):
    torch.manual_seed(0)
    te = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **_act(kw, torch))
    we = wnn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **_act(kw, webdl))
    td = torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, **_act(kw, torch))
    wd = wnn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, **_act(kw, webdl))
    _load(te, we)
    _load(td, wd)
    rng = np.random.default_rng(3)
    bf = kw.get("batch_first", False)
    (ts, tt), (ws, wt) = _leaves(rng, (2, 5, 8) if bf else (5, 2, 8),
                                 (2, 4, 8) if bf else (4, 2, 8))
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    wmask = wnn.Transformer.generate_square_subsequent_mask(4)
    _close(wmask, tmask, "square subsequent mask")
    kp = np.zeros((2, 5), bool)
    kp[1, 4] = True
    tm = te(ts, src_key_padding_mask=torch.tensor(kp))
    wm = we(ws, src_key_padding_mask=webdl.tensor(kp))
    _close(wm, tm, "encoder layer")
    to = td(tt, tm, tgt_mask=tmask, memory_key_padding_mask=torch.tensor(kp))
    wo = wd(wt, wm, tgt_mask=wmask, memory_key_padding_mask=webdl.tensor(kp))
    _close(wo, to, "decoder layer")
    _backward_both([to], [wo], rng)
    _close(ws.grad, ts.grad, "src grad")
    _close(wt.grad, tt.grad, "tgt grad")
    for m1, m2 in ((we, te), (wd, td)):
        for (name, p), (_, q) in zip(m1.named_parameters(), m2.named_parameters()):
            _close(p.grad, q.grad, name)


def test_transformer_like_torch():
    torch.manual_seed(0)
    t = torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0)
    w = wnn.Transformer(8, 2, 2, 2, 16, dropout=0.0)
    _load(t, w)
    rng = np.random.default_rng(4)
    (ts, tt), (ws, wt) = _leaves(rng, (6, 2, 8), (5, 2, 8))
    mask = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    to = t(ts, tt, tgt_mask=torch.tensor(mask))
    wo = w(ws, wt, tgt_mask=webdl.tensor(mask))
    _close(wo, to, "transformer")
    _backward_both([to], [wo], rng)
    _close(ws.grad, ts.grad, "src grad")
    for (name, p), (_, q) in zip(w.named_parameters(), t.named_parameters()):
        _close(p.grad, q.grad, name)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        wnn.MultiheadAttention(6, 4)
    m = wnn.MultiheadAttention(4, 2)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        m(webdl.zeros(3, 1, 4), webdl.zeros(2, 1, 4), webdl.zeros(2, 1, 4),
          attn_mask=webdl.zeros(3, 3))
    with pytest.raises(ValueError, match="don't fit"):
        WF.scaled_dot_product_attention(webdl.zeros(2, 4), webdl.zeros(3, 5), webdl.zeros(3, 4))


@pytest.mark.parametrize("shared", ["self", "memory"])
def test_multihead_attention_batch_first_with_shared_inputs(shared):
    """batch_first with one tensor passed as query, key and value (self-attention: the
    packed projection, one transpose) or as key and value (a decoder's memory): outputs,
    weights and every gradient against PyTorch."""
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    w = wnn.MultiheadAttention(8, 2, batch_first=True)
    _load(t, w)
    rng = np.random.default_rng(3)
    (tx, tm), (wx, wm) = _leaves(rng, (3, 4, 8), (3, 5, 8))
    if shared == "self":
        to, tw = t(tx, tx, tx)
        wo, ww = w(wx, wx, wx)
    else:
        to, tw = t(tx, tm, tm)
        wo, ww = w(wx, wm, wm)
    _close(wo, to, "output")
    _close(ww, tw, "weights")
    _backward_both([to, tw], [wo, ww], rng)
    _close(wx.grad, tx.grad, "x")
    if shared == "memory":
        _close(wm.grad, tm.grad, "memory")
    for (name, p), (_, q) in zip(w.named_parameters(), t.named_parameters()):
        _close(p.grad, q.grad, name)
