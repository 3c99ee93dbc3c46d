"""Issue #12's layers at module level, against PyTorch: the state_dict of a fresh webdl layer
has PyTorch's keys and shapes; a PyTorch layer's state_dict (randomised) loads into the webdl
layer, after which outputs, input and parameter gradients and the updated buffers match
within 1e-5 in training and in eval mode. Also constructor checks and reprs."""
import warnings

import numpy as np
import pytest
import torch

import webdl
import webdl.nn as wnn

TOL = dict(rtol=1e-5, atol=1e-5)


def _randomise(layer, seed):
    """Give every float parameter and buffer of a PyTorch layer random values (variances
    positive) so loading them checks that each lands where it belongs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(layer.named_parameters()) + list(layer.named_buffers()):
            if t.dtype.is_floating_point:
                r = torch.rand(t.shape, generator=g) if "var" in name else \
                    torch.randn(t.shape, generator=g)
                t.copy_(r + 0.5 if "var" in name else r)


def _load(make, seed=0):
    tl = make(torch)
    _randomise(tl, seed)
    wl = make(webdl)
    sd_t = tl.state_dict()
    sd_w = wl.state_dict()
    assert list(sd_w) == list(sd_t)
    for k in sd_t:
        assert tuple(sd_w[k].shape) == tuple(sd_t[k].shape), k
    wl.load_state_dict({k: webdl.tensor(v.numpy()) for k, v in sd_t.items()})
    return wl, tl


def _inputs(shapes, seed, kinds=None):
    rng = np.random.default_rng(seed)
    out = []
    for i, s in enumerate(shapes):
        kind = (kinds or {}).get(i, "float")
        if kind == "float":
            out.append(rng.standard_normal(s).astype(np.float32))
        else:                                          # ("index", high)
            out.append(rng.integers(0, kind[1], size=s).astype(np.int64))
    return out


def _run(layer, lib, arrays, call):
    xs = []
    for a in arrays:
        t = lib.tensor(a)
        if a.dtype.kind == "f":
            t.requires_grad_(True)
        xs.append(t)
    out = call(layer, *xs)
    outs = out if isinstance(out, tuple) else (out,)
    rng = np.random.default_rng(7)
    total = None
    for o in outs:
        if o.dtype.is_floating_point and o.requires_grad:
            w = lib.tensor(rng.standard_normal(tuple(o.shape)).astype(np.float32))
            term = (o * w).sum()
            total = term if total is None else total + term
    if total is not None:
        total.backward()
    return ([o.detach().numpy() for o in outs],
            [x.grad.numpy() if x.grad is not None else None for x in xs],
            {k: (p.grad.numpy() if p.grad is not None else None)
             for k, p in layer.named_parameters()},
            {k: b.numpy() for k, b in layer.named_buffers() if b is not None})


def check_layer(make, shapes, modes=("train", "eval"), call=None, kinds=None, seed=0):
    call = call or (lambda layer, *xs: layer(*xs))
    wl, tl = _load(make, seed)
    for i, mode in enumerate(modes):
        for layer in (wl, tl):
            layer.train(mode == "train")
        arrays = _inputs(shapes, seed + i, kinds)
        got, ref = _run(wl, webdl, arrays, call), _run(tl, torch, arrays, call)
        for a, b in zip(got[0], ref[0]):
            assert a.dtype.kind == b.dtype.kind
            np.testing.assert_allclose(a, b, **TOL, err_msg=f"{mode} output")
        for a, b in zip(got[1], ref[1]):
            assert (a is None) == (b is None), f"{mode}: input grad presence"
            if a is not None:
                np.testing.assert_allclose(a, b, **TOL, err_msg=f"{mode} input grad")
        assert list(got[2]) == list(ref[2])
        for k in ref[2]:
            assert (got[2][k] is None) == (ref[2][k] is None), f"{mode}: grad of {k}"
            if ref[2][k] is not None:
                np.testing.assert_allclose(got[2][k], ref[2][k], **TOL,
                                           err_msg=f"{mode} grad of {k}")
        assert list(got[3]) == list(ref[3])
        for k in ref[3]:
            np.testing.assert_allclose(got[3][k], ref[3][k], **TOL, err_msg=f"{mode} buffer {k}")
        for layer in (wl, tl):
            layer.zero_grad()
    return wl, tl


# --- normalisation ---------------------------------------------------------------------------
NORM = {
    "GroupNorm": (lambda m: m.nn.GroupNorm(3, 6), [(2, 6, 4, 3)]),
    "GroupNorm_no_affine": (lambda m: m.nn.GroupNorm(2, 4, eps=1e-3, affine=False), [(3, 4, 5)]),
    "GroupNorm_no_bias": (lambda m: m.nn.GroupNorm(2, 4, bias=False), [(3, 4, 5)]),
    "InstanceNorm1d": (lambda m: m.nn.InstanceNorm1d(3), [(2, 3, 8)]),
    "InstanceNorm1d_affine_unbatched": (lambda m: m.nn.InstanceNorm1d(3, affine=True), [(3, 8)]),
    "InstanceNorm2d_affine": (lambda m: m.nn.InstanceNorm2d(4, affine=True), [(2, 4, 5, 3)]),
    "InstanceNorm2d_tracked": (lambda m: m.nn.InstanceNorm2d(3, track_running_stats=True,
                                                             momentum=0.2), [(4, 3, 3, 5)]),
    "InstanceNorm2d_tracked_affine": (
        lambda m: m.nn.InstanceNorm2d(3, affine=True, track_running_stats=True), [(2, 3, 4, 4)]),
    "InstanceNorm2d_tracked_unbatched": (
        lambda m: m.nn.InstanceNorm2d(2, affine=True, track_running_stats=True), [(2, 4, 4)]),
    "InstanceNorm2d_momentum_none": (
        lambda m: m.nn.InstanceNorm2d(2, track_running_stats=True, momentum=None),
        [(2, 2, 3, 3)]),
    "InstanceNorm3d": (lambda m: m.nn.InstanceNorm3d(2, affine=True, track_running_stats=True),
                       [(2, 2, 3, 2, 4)]),
    "LayerNorm_shape3": (lambda m: m.nn.LayerNorm((2, 3, 4)), [(5, 2, 3, 4)]),
    "LayerNorm_no_affine": (lambda m: m.nn.LayerNorm([3, 4], elementwise_affine=False),
                            [(2, 3, 4)]),
    "LayerNorm_no_bias": (lambda m: m.nn.LayerNorm(6, bias=False, eps=1e-3), [(2, 6)]),
    "RMSNorm": (lambda m: m.nn.RMSNorm([3, 4]), [(2, 3, 4)]),
    "RMSNorm_eps_no_affine": (lambda m: m.nn.RMSNorm(4, eps=1e-2, elementwise_affine=False),
                              [(3, 4)]),
    "BatchNorm2d_momentum_none": (lambda m: m.nn.BatchNorm2d(3, momentum=None), [(4, 3, 2, 2)]),
    "BatchNorm3d": (lambda m: m.nn.BatchNorm3d(2), [(3, 2, 2, 3, 2)]),
    "BatchNorm1d_no_affine": (lambda m: m.nn.BatchNorm1d(3, affine=False), [(4, 3, 5)]),
}


@pytest.mark.parametrize("name", list(NORM))
def test_norm_layers(name):
    make, shapes = NORM[name]
    check_layer(make, shapes)


def test_batchnorm_momentum_none_is_a_cumulative_average():
    wl, tl = _load(lambda m: m.nn.BatchNorm1d(3, momentum=None))
    for step in range(3):
        x = np.random.default_rng(step).standard_normal((5, 3)).astype(np.float32)
        wl(webdl.tensor(x))
        tl(torch.tensor(x))
    np.testing.assert_allclose(wl.running_mean.numpy(), tl.running_mean.numpy(), **TOL)
    np.testing.assert_allclose(wl.running_var.numpy(), tl.running_var.numpy(), **TOL)
    assert wl.num_batches_tracked.item() == tl.num_batches_tracked.item() == 3


def test_instance_norm_keeps_num_batches_tracked():
    """PyTorch registers num_batches_tracked for a tracking InstanceNorm but never counts."""
    wl, tl = check_layer(lambda m: m.nn.InstanceNorm2d(2, track_running_stats=True),
                         [(2, 2, 3, 3)], modes=("train", "train"))
    assert wl.num_batches_tracked.item() == tl.num_batches_tracked.item()


def test_norm_errors_and_reprs():
    with pytest.raises(ValueError, match="divisible by num_groups"):
        wnn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        wnn.functional.group_norm(webdl.randn(2, 6, 3), 4)
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        wnn.InstanceNorm2d(3)(webdl.randn(2, 3, 4, 4, 1))
    with pytest.raises(ValueError, match="to match num_features"):
        wnn.InstanceNorm2d(3, affine=True)(webdl.randn(2, 4, 4, 4))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        wnn.InstanceNorm1d(3)(webdl.randn(2, 3, 1))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        wnn.InstanceNorm2d(3)(webdl.randn(2, 4, 4, 4))
    assert any("does not match num_features" in str(x.message) for x in w)
    for make in (lambda m: m.nn.GroupNorm(2, 4), lambda m: m.nn.GroupNorm(2, 4, affine=False),
                 lambda m: m.nn.InstanceNorm2d(3), lambda m: m.nn.InstanceNorm1d(3, affine=True),
                 lambda m: m.nn.LayerNorm(4, bias=False), lambda m: m.nn.RMSNorm([2, 3]),
                 lambda m: m.nn.LayerNorm(4, elementwise_affine=False),
                 lambda m: m.nn.BatchNorm2d(3, affine=False), lambda m: m.nn.BatchNorm3d(3)):
        assert repr(make(webdl)) == repr(make(torch))


# --- embeddings --------------------------------------------------------------------------------
EMB = {
    "plain": (lambda m: m.nn.Embedding(7, 3), [(2, 5)]),
    "padding_idx": (lambda m: m.nn.Embedding(6, 4, padding_idx=2), [(3, 4)]),
    "padding_idx_negative": (lambda m: m.nn.Embedding(6, 4, padding_idx=-1), [(3, 4)]),
    "max_norm": (lambda m: m.nn.Embedding(5, 4, max_norm=1.0), [(2, 6)]),
    "max_norm_l1_freq": (lambda m: m.nn.Embedding(5, 3, max_norm=2.0, norm_type=1.0,
                                                  scale_grad_by_freq=True), [(4, 4)]),
}


@pytest.mark.parametrize("name", list(EMB))
def test_embedding_layers(name):
    make, shapes = EMB[name]
    num = make(torch).num_embeddings
    wl, tl = check_layer(make, shapes, kinds={0: ("index", num)})
    # max_norm renormalised the weight in place: the loaded weights moved the same way
    np.testing.assert_allclose(wl.weight.detach().numpy(), tl.weight.detach().numpy(), **TOL)


def test_embedding_constructor():
    for kw in ({}, dict(padding_idx=-2), dict(max_norm=1.0, norm_type=1.0),
               dict(scale_grad_by_freq=True, sparse=True)):
        assert repr(wnn.Embedding(5, 3, **kw)) == repr(torch.nn.Embedding(5, 3, **kw))
    e = wnn.Embedding(5, 3, padding_idx=-1)
    assert e.padding_idx == 4
    assert not e.weight.detach().numpy()[4].any() and e.weight.detach().numpy()[0].any()
    w = webdl.randn(4, 2)
    frozen = wnn.Embedding.from_pretrained(w)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(webdl.tensor([3, 0])).numpy(), w.numpy()[[3, 0]])
    assert wnn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    with pytest.raises(ValueError, match="padding_idx"):
        wnn.Embedding(5, 3, padding_idx=5)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        wnn.Embedding(5, 3, sparse=True)(webdl.tensor([1, 2]))
    with webdl.no_grad():      # inference with sparse=True is the dense lookup
        wnn.Embedding(5, 3, sparse=True)(webdl.tensor([1, 2]))


# --- pooling and resampling --------------------------------------------------------------------
POOL_REPRS = [
    lambda m: m.nn.MaxPool1d(3), lambda m: m.nn.MaxPool1d(3, 2, 1, 2, True, True),
    lambda m: m.nn.MaxPool2d((2, 3), return_indices=True), lambda m: m.nn.AvgPool1d(3, 2, 1),
    lambda m: m.nn.AvgPool2d(3, 2, 1, True, False, 2), lambda m: m.nn.MaxUnpool1d(2),
    lambda m: m.nn.MaxUnpool2d(2, 1), lambda m: m.nn.MaxUnpool2d((2, 3)),
    lambda m: m.nn.AdaptiveAvgPool1d(3), lambda m: m.nn.AdaptiveMaxPool2d((3, None), True),
    lambda m: m.nn.AdaptiveAvgPool3d(2), lambda m: m.nn.AdaptiveMaxPool1d(4),
    lambda m: m.nn.Upsample(scale_factor=2), lambda m: m.nn.Upsample(size=(3, 4), mode="bilinear"),
    lambda m: m.nn.Upsample(scale_factor=(2, 3)),
    lambda m: m.nn.UpsamplingBilinear2d(scale_factor=2),
    lambda m: m.nn.UpsamplingNearest2d(size=4),
]


@pytest.mark.parametrize("i", range(len(POOL_REPRS)))
def test_pool_and_upsample_reprs(i):
    assert repr(POOL_REPRS[i](webdl)) == repr(POOL_REPRS[i](torch))


def test_pool_indices_are_int64_and_round_trip():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32)
    for lib in (webdl, torch):
        pool = lib.nn.MaxPool2d(2, stride=2, return_indices=True)
        unpool = lib.nn.MaxUnpool2d(2, stride=2)
        v, i = pool(lib.tensor(x))
        assert i.dtype == lib.int64
        y = unpool(v, i, output_size=(6, 5)).numpy()
        if lib is webdl:
            got = y
        else:
            np.testing.assert_array_equal(got, y)
    for fn in (lambda m: m.nn.functional.max_pool1d(m.tensor(x[0]), 2, return_indices=True),
               lambda m: m.nn.functional.adaptive_max_pool2d(m.tensor(x), (4, 3), True),
               lambda m: m.nn.functional.adaptive_max_pool1d(m.tensor(x[0]), 3, True)):
        (vw, iw), (vt, it) = fn(webdl), fn(torch)
        assert iw.dtype == webdl.int64
        np.testing.assert_array_equal(iw.numpy(), it.numpy())
        np.testing.assert_allclose(vw.numpy(), vt.numpy(), **TOL)


def test_pool_errors():
    F = wnn.functional
    x = webdl.randn(1, 2, 4, 4)
    v, i = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(ValueError, match="invalid output_size"):
        F.max_unpool2d(v, i, 2, output_size=(7, 4))
    with pytest.raises(IndexError, match="invalid max index"):
        F.max_unpool2d(v, i * 10, 2)
    with pytest.raises(ValueError, match="indices"):
        F.max_unpool2d(v, i[:, :1], 2)
    with pytest.raises(ValueError, match="too small"):
        F.max_pool1d(webdl.randn(2, 3, 4), 3, 1, 0, 2)
    with pytest.raises(ValueError, match="half of the kernel"):
        F.max_pool2d(x, 3, padding=2)


def test_interpolate_errors():
    F = wnn.functional
    x = webdl.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="needs 3D input"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(NotImplementedError, match="needs 5D input"):
        F.interpolate(x, scale_factor=2, mode="trilinear")
    with pytest.raises(ValueError, match="not meaningful"):
        F.interpolate(x, size=3, recompute_scale_factor=True)
    with pytest.raises(ValueError, match="only one of"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(NotImplementedError, match="mode 'lanczos' is not supported"):
        F.interpolate(x, scale_factor=2, mode="lanczos")
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True)
    # a 3-D input is (N, C, L), as in PyTorch, not an unbatched image
    assert tuple(F.interpolate(webdl.randn(2, 3, 4), scale_factor=2).shape) == (2, 3, 8)


# --- convolutions -----------------------------------------------------------------------------
CONV = {
    "Conv1d": (lambda m: m.nn.Conv1d(3, 4, 3, stride=2, padding=1), [(2, 3, 9)]),
    "Conv1d_same_groups_nobias": (lambda m: m.nn.Conv1d(4, 6, 4, padding="same", groups=2,
                                                        bias=False, dilation=2), [(2, 4, 7)]),
    "Conv1d_circular_unbatched": (lambda m: m.nn.Conv1d(2, 3, 3, padding=2,
                                                        padding_mode="circular"), [(2, 6)]),
    "Conv2d_reflect": (lambda m: m.nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
                       [(2, 3, 5, 6)]),
    "Conv2d_replicate_same": (lambda m: m.nn.Conv2d(2, 3, (3, 4), padding="same",
                                                    padding_mode="replicate"), [(1, 2, 6, 5)]),
    "Conv2d_circular_stride": (lambda m: m.nn.Conv2d(2, 2, 3, stride=2, padding=(1, 2),
                                                     padding_mode="circular"), [(2, 2, 7, 6)]),
    "ConvTranspose1d": (lambda m: m.nn.ConvTranspose1d(3, 4, 3, stride=2, padding=1,
                                                       output_padding=1), [(2, 3, 5)]),
    "ConvTranspose1d_groups_dil": (lambda m: m.nn.ConvTranspose1d(4, 2, 3, groups=2,
                                                                  dilation=2), [(4, 5)]),
    "ConvTranspose2d_all": (lambda m: m.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1,
                                                           output_padding=1, groups=2,
                                                           dilation=2), [(2, 4, 3, 4)]),
}


@pytest.mark.parametrize("name", list(CONV))
def test_conv_layers(name):
    make, shapes = CONV[name]
    check_layer(make, shapes, modes=("train",))
    assert repr(make(webdl)) == repr(make(torch))


def test_conv_transpose_output_size():
    for make, shape, size in (
            (lambda m: m.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), (1, 2, 4, 5), (8, 9)),
            (lambda m: m.nn.ConvTranspose2d(2, 3, 3, stride=3), (2, 4, 4), (3, 12, 14)),
            (lambda m: m.nn.ConvTranspose1d(2, 3, 3, stride=2), (1, 2, 4), [1, 3, 10])):
        check_layer(make, [shape], modes=("train",),
                    call=lambda layer, x, size=size: layer(x, output_size=size))
    with pytest.raises(ValueError, match="valid sizes range from 7 to 8"):
        wnn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)(webdl.randn(1, 2, 4, 5),
                                                          output_size=(9, 9))


def test_conv_constructor_errors():
    with pytest.raises(ValueError, match="padding_mode"):
        wnn.Conv2d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        wnn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="strided"):
        wnn.Conv1d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="invalid padding string"):
        wnn.Conv2d(2, 2, 3, padding="full")
    with pytest.raises(ValueError, match="divisible by groups"):
        wnn.Conv1d(3, 2, 3, groups=2)


# --- dropout, padding, shape layers -------------------------------------------------------------
@pytest.mark.parametrize("name,shape", [("Dropout1d", (40, 50, 7)), ("Dropout1d", (2000, 3)),
                                        ("Dropout2d", (40, 50, 3, 2)),
                                        ("Dropout3d", (40, 50, 2, 2, 2)),
                                        ("Dropout3d", (2000, 2, 2, 2))])
def test_channel_dropout_drops_whole_channels(name, shape):
    webdl.manual_seed(0)
    layer = getattr(wnn, name)(p=0.3)
    x = webdl.ones(*shape)
    y = layer(x).numpy()
    batched = len(shape) == {"Dropout1d": 3, "Dropout2d": 4, "Dropout3d": 5}[name]
    per_channel = y.reshape(shape[0] * shape[1], -1) if batched else y.reshape(shape[0], -1)
    # every channel is all zeros or all 1/(1-p)
    assert np.all((per_channel == 0).all(1) | np.isclose(per_channel, 1 / 0.7).all(1))
    frac = (per_channel[:, 0] == 0).mean()
    assert 0.25 < frac < 0.35, frac
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_dropout_gradient_follows_the_mask():
    webdl.manual_seed(1)
    x = webdl.ones(8, 6, 3, 3, requires_grad=True)
    y = wnn.functional.dropout2d(x, 0.5)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())


PAD_REPRS = [lambda m: m.nn.ZeroPad2d(1), lambda m: m.nn.ZeroPad1d((1, 2)),
             lambda m: m.nn.ConstantPad2d((1, 2, 0, 1), 3.5), lambda m: m.nn.ConstantPad1d(2, 1),
             lambda m: m.nn.ReflectionPad2d(2), lambda m: m.nn.ReplicationPad1d(1),
             lambda m: m.nn.CircularPad2d(1), lambda m: m.nn.ReflectionPad3d(1),
             lambda m: m.nn.Identity(3, a=2), lambda m: m.nn.Unflatten(1, (2, 3)),
             lambda m: m.nn.Unflatten(1, [2, 3]), lambda m: m.nn.Dropout2d(0.3),
             lambda m: m.nn.Dropout(0.2, True), lambda m: m.nn.PixelUnshuffle(2)]


@pytest.mark.parametrize("i", range(len(PAD_REPRS)))
def test_layer_reprs(i):
    assert repr(PAD_REPRS[i](webdl)) == repr(PAD_REPRS[i](torch))


def test_reflection_pad_needs_its_dims():
    with pytest.raises(ValueError, match="expected a 3D or 4D input"):
        wnn.ReflectionPad2d(1)(webdl.randn(4, 4))


# --- every layer: state_dict keys and shapes, outputs and gradients -----------------------------
ALL = {
    "Identity": (lambda m: m.nn.Identity(), (2, 3)),
    "Linear": (lambda m: m.nn.Linear(3, 4), (2, 3)),
    "Conv1d": (lambda m: m.nn.Conv1d(2, 3, 3), (2, 2, 6)),
    "Conv2d": (lambda m: m.nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), (1, 2, 4, 4)),
    "ConvTranspose1d": (lambda m: m.nn.ConvTranspose1d(2, 3, 3, 2), (1, 2, 4)),
    "ConvTranspose2d": (lambda m: m.nn.ConvTranspose2d(2, 3, 3, 2, 1, 1), (1, 2, 3, 3)),
    "MaxPool1d": (lambda m: m.nn.MaxPool1d(2), (2, 3, 6)),
    "MaxPool2d": (lambda m: m.nn.MaxPool2d(2, return_indices=True), (2, 3, 4, 4)),
    "AvgPool1d": (lambda m: m.nn.AvgPool1d(3, 2, 1), (2, 3, 7)),
    "AvgPool2d": (lambda m: m.nn.AvgPool2d(2), (2, 3, 4, 4)),
    "AdaptiveAvgPool1d": (lambda m: m.nn.AdaptiveAvgPool1d(3), (2, 3, 7)),
    "AdaptiveAvgPool2d": (lambda m: m.nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
    "AdaptiveAvgPool3d": (lambda m: m.nn.AdaptiveAvgPool3d(2), (1, 2, 3, 4, 5)),
    "AdaptiveMaxPool1d": (lambda m: m.nn.AdaptiveMaxPool1d(3, True), (2, 3, 7)),
    "AdaptiveMaxPool2d": (lambda m: m.nn.AdaptiveMaxPool2d((2, 3)), (2, 3, 5, 7)),
    "BatchNorm1d": (lambda m: m.nn.BatchNorm1d(3), (4, 3)),
    "BatchNorm2d": (lambda m: m.nn.BatchNorm2d(3), (2, 3, 2, 2)),
    "BatchNorm3d": (lambda m: m.nn.BatchNorm3d(3), (2, 3, 2, 2, 2)),
    "InstanceNorm1d": (lambda m: m.nn.InstanceNorm1d(3, affine=True), (2, 3, 5)),
    "InstanceNorm2d": (lambda m: m.nn.InstanceNorm2d(3, track_running_stats=True), (2, 3, 3, 3)),
    "InstanceNorm3d": (lambda m: m.nn.InstanceNorm3d(3), (2, 3, 2, 2, 2)),
    "GroupNorm": (lambda m: m.nn.GroupNorm(1, 3), (2, 3, 4)),
    "LayerNorm": (lambda m: m.nn.LayerNorm([3, 4]), (2, 3, 4)),
    "RMSNorm": (lambda m: m.nn.RMSNorm(4), (2, 3, 4)),
    "Upsample": (lambda m: m.nn.Upsample(scale_factor=1.5, mode="bicubic"), (1, 2, 3, 4)),
    "UpsamplingNearest2d": (lambda m: m.nn.UpsamplingNearest2d(scale_factor=2), (1, 2, 3, 4)),
    "UpsamplingBilinear2d": (lambda m: m.nn.UpsamplingBilinear2d((5, 5)), (1, 2, 3, 4)),
    "PixelShuffle": (lambda m: m.nn.PixelShuffle(2), (1, 8, 2, 3)),
    "PixelUnshuffle": (lambda m: m.nn.PixelUnshuffle(2), (1, 2, 4, 6)),
    "Flatten": (lambda m: m.nn.Flatten(), (2, 3, 4)),
    "Unflatten": (lambda m: m.nn.Unflatten(1, (3, 4)), (2, 12)),
    "Dropout": (lambda m: m.nn.Dropout(0.5), (2, 3)),
    "Dropout1d": (lambda m: m.nn.Dropout1d(0.5), (2, 3, 4)),
    "Dropout2d": (lambda m: m.nn.Dropout2d(0.5), (2, 3, 4, 4)),
    "Dropout3d": (lambda m: m.nn.Dropout3d(0.5), (2, 3, 2, 2, 2)),
    "PReLU": (lambda m: m.nn.PReLU(3), (2, 3, 4)),
    "Softmax": (lambda m: m.nn.Softmax(1), (2, 3)),
    "Softmin": (lambda m: m.nn.Softmin(0), (2, 3)),
    "LogSoftmax": (lambda m: m.nn.LogSoftmax(-1), (2, 3)),
    "Softmax2d": (lambda m: m.nn.Softmax2d(), (2, 3, 2, 2)),
    "GLU": (lambda m: m.nn.GLU(), (2, 6)),
    "Threshold": (lambda m: m.nn.Threshold(0.1, -1.0), (2, 5)),
    "Hardtanh": (lambda m: m.nn.Hardtanh(-0.5, 0.5), (2, 5)),
    "Hardshrink": (lambda m: m.nn.Hardshrink(0.3), (2, 5)),
    "Softshrink": (lambda m: m.nn.Softshrink(0.3), (2, 5)),
    "LeakyReLU": (lambda m: m.nn.LeakyReLU(0.2), (2, 5)),
    "ELU": (lambda m: m.nn.ELU(0.5), (2, 5)),
    "CELU": (lambda m: m.nn.CELU(0.5), (2, 5)),
    "GELU": (lambda m: m.nn.GELU("tanh"), (2, 5)),
    "Softplus": (lambda m: m.nn.Softplus(2.0, 5.0), (2, 5)),
    "Embedding": (lambda m: m.nn.Embedding(5, 3, padding_idx=0), (2, 4)),
}
for _name in ("ReLU", "ReLU6", "SiLU", "Mish", "Hardswish", "Hardsigmoid", "SELU", "Sigmoid",
              "Tanh", "Softsign", "Tanhshrink", "LogSigmoid"):
    ALL[_name] = ((lambda n: lambda m: getattr(m.nn, n)())(_name), (2, 5))
for _n in (1, 2, 3):
    for _kind, _args in (("ZeroPad", (1,)), ("ConstantPad", (1, 0.5)), ("ReflectionPad", (1,)),
                         ("ReplicationPad", (1,)), ("CircularPad", (1,))):
        ALL[f"{_kind}{_n}d"] = ((lambda k, a: lambda m: getattr(m.nn, k)(*a))(
            f"{_kind}{_n}d", _args), (2, 3) + (3,) * _n)
UNARY_INPUT_EXCLUDED = {"MaxUnpool1d", "MaxUnpool2d", "Sequential", "ModuleList", "ModuleDict",
                        "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss",
                        "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
                        # recurrent and attention layers: tests/test_rnn.py, test_attention.py
                        "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
                        "MultiheadAttention", "Transformer", "TransformerEncoder",
                        "TransformerDecoder", "TransformerEncoderLayer",
                        "TransformerDecoderLayer"}


def test_every_layer_is_checked():
    """Each layer webdl.nn exports has a row in ALL (or a test of its own)."""
    missing = set(wnn.modules.__all__) - set(ALL) - UNARY_INPUT_EXCLUDED
    assert not missing, sorted(missing)


@pytest.mark.parametrize("name", sorted(ALL))
def test_layer_state_dict_and_outputs(name):
    make, shape = ALL[name]
    kinds = {0: ("index", 5)} if name == "Embedding" else None
    # dropout is random: compare it in eval mode only
    modes = ("eval",) if name.startswith("Dropout") else ("train", "eval")
    check_layer(make, [shape], modes=modes, kinds=kinds)
    assert repr(make(webdl)) == repr(make(torch))
