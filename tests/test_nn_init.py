"""webdl.nn.init: gains and fans equal PyTorch's; the distributions are right (sample
mean, std and bounds against the formulas, orthogonality), seeded and reproducible. The
random numbers themselves are webdl's own, not PyTorch's."""
import math
import warnings

import numpy as np
import pytest
import torch

import webdl
from webdl.nn import init

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                  "leaky_relu", "selu"]


@pytest.mark.parametrize("name", NONLINEARITIES)
def test_calculate_gain_matches_torch(name):
    assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name)
    if name == "leaky_relu":
        for slope in (0, 0.2, 1, math.sqrt(5)):
            assert init.calculate_gain(name, slope) == \
                torch.nn.init.calculate_gain(name, slope)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a, a.mean(), a.std()


SHAPES = [(300, 400), (256, 64, 3, 3), (4000, 50)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("leaky_relu", 0), ("leaky_relu", math.sqrt(5)),
                                            ("leaky_relu", 0.2), ("relu", 0), ("tanh", 0),
                                            ("selu", 0), ("linear", 0), ("sigmoid", 0)])
def test_kaiming(shape, mode, nonlinearity, a):
    webdl.manual_seed(0)
    tw = torch.empty(shape)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(tw)
    fan = fan_in if mode == "fan_in" else fan_out
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    n = math.prod(shape)
    w = webdl.empty(*shape)
    assert init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity) is w
    arr, mean, sd = _stats(w)
    bound = math.sqrt(3) * std
    assert arr.min() >= -bound and arr.max() <= bound
    assert arr.max() > 0.99 * bound and arr.min() < -0.99 * bound
    assert abs(mean) < 5 * std / math.sqrt(n)
    assert sd == pytest.approx(std, rel=0.02)
    init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    arr, mean, sd = _stats(w)
    assert abs(mean) < 5 * std / math.sqrt(n)
    assert sd == pytest.approx(std, rel=0.02)


def test_kaiming_mode_is_case_insensitive_and_checked():
    w = webdl.empty(20, 30)
    init.kaiming_normal_(w, mode="FAN_OUT")
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(w, mode="fan_avg")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_uniform_(webdl.empty(5))


def test_zero_element_warns_and_returns():
    for m in (init, torch.nn.init):
        with pytest.warns(UserWarning, match="zero-element"):
            m.kaiming_uniform_(webdl.empty(0, 3) if m is init else torch.empty(0, 3))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 0.5, init.calculate_gain("relu")])
def test_xavier(shape, gain):
    webdl.manual_seed(1)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    n = math.prod(shape)
    w = webdl.empty(*shape)
    init.xavier_uniform_(w, gain=gain)
    arr, mean, sd = _stats(w)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    assert arr.min() >= -a and arr.max() <= a and arr.max() > 0.99 * a
    assert abs(mean) < 5 * std / math.sqrt(n) and sd == pytest.approx(std, rel=0.02)
    init.xavier_normal_(w, gain=gain)
    arr, mean, sd = _stats(w)
    assert abs(mean) < 5 * std / math.sqrt(n) and sd == pytest.approx(std, rel=0.02)


def test_uniform_normal_constant():
    webdl.manual_seed(2)
    w = webdl.empty(200, 500)
    init.uniform_(w, -3.0, 5.0)
    arr, mean, sd = _stats(w)
    assert arr.min() >= -3 and arr.max() <= 5
    assert mean == pytest.approx(1.0, abs=0.03) and sd == pytest.approx(8 / math.sqrt(12), rel=0.01)
    init.normal_(w, mean=2.0, std=0.5)
    arr, mean, sd = _stats(w)
    assert mean == pytest.approx(2.0, abs=0.005) and sd == pytest.approx(0.5, rel=0.01)
    assert init.constant_(w, 0.3).detach().numpy().tolist() == \
        np.full((200, 500), 0.3, np.float32).tolist()
    assert (init.ones_(w).detach().numpy() == 1).all()
    assert (init.zeros_(w).detach().numpy() == 0).all()
    i = init.constant_(webdl.zeros(3, dtype=webdl.int64), 4)
    assert i.dtype == webdl.int64 and i.tolist() == [4, 4, 4]


def _truncnorm_moments(mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    Phi = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))              # noqa: E731
    z = Phi(be) - Phi(al)
    mu = mean + std * (phi(al) - phi(be)) / z
    xphi = lambda x: 0.0 if math.isinf(x) else x * phi(x)          # noqa: E731
    var = std ** 2 * (1 + (xphi(al) - xphi(be)) / z - ((phi(al) - phi(be)) / z) ** 2)
    return mu, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -2.0, 2.0),
                                          (0.5, 2.0, -1.0, 3.0), (0.0, 1.0, 2.0, 3.0),
                                          (0.0, 1.0, -6.0, -4.5), (1.0, 0.1, 1.35, 2.0),
                                          (0.0, 1.0, 0.0, math.inf)])
def test_trunc_normal(mean, std, a, b):
    webdl.manual_seed(3)
    w = webdl.empty(500, 400)
    init.trunc_normal_(w, mean=mean, std=std, a=a, b=b)
    arr, m, s = _stats(w)
    mu, sd = _truncnorm_moments(mean, std, a, b)
    assert arr.min() >= np.float32(a) and arr.max() <= np.float32(b)
    assert m == pytest.approx(mu, abs=5 * sd / math.sqrt(arr.size) + 1e-6)
    assert s == pytest.approx(sd, rel=0.01)
    # the histogram against the truncated normal's CDF, bin by bin
    Phi = lambda x: 0.5 * math.erfc(-(x - mean) / std / math.sqrt(2))  # noqa: E731
    edges = np.linspace(max(a, mean - 6 * std), min(b, mean + 6 * std), 21)
    hist, _ = np.histogram(arr, bins=edges)
    z = Phi(b) - Phi(a)
    expected = np.array([Phi(hi) - Phi(lo) for lo, hi in zip(edges[:-1], edges[1:])]) / z
    expected *= arr.size
    big = expected > 20
    assert big.sum() >= 5
    assert (np.abs(hist[big] - expected[big]) < 5 * np.sqrt(expected[big]) + 1).all()


def test_ndtri_matches_torch():
    p = np.concatenate([np.logspace(-300, -1, 200), np.linspace(0.01, 0.99, 99),
                        1 - np.logspace(-16, -2, 50)])
    ref = torch.special.ndtri(torch.tensor(p, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(init._ndtri(p), ref, rtol=2e-9)


@pytest.mark.parametrize("shape", [(50, 50), (30, 80), (80, 30), (16, 4, 3, 3), (5, 1)])
@pytest.mark.parametrize("gain", [1, 2.5])
def test_orthogonal(shape, gain):
    webdl.manual_seed(4)
    w = webdl.empty(*shape)
    assert init.orthogonal_(w, gain=gain) is w
    q = w.detach().numpy().reshape(shape[0], -1).astype(np.float64)
    rows, cols = q.shape
    gram = q.T @ q if rows >= cols else q @ q.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-5 * gain ** 2)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(webdl.empty(4))


def test_orthogonal_is_haar_distributed():
    """With R's signs taken out, the entries of a random orthogonal matrix have mean 0 and
    variance 1/n (a plain QR without the sign fix would bias the diagonal)."""
    webdl.manual_seed(5)
    n, trials = 8, 400
    diag = []
    for _ in range(trials):
        diag.append(np.diag(init.orthogonal_(webdl.empty(n, n)).detach().numpy()))
    diag = np.array(diag)
    assert abs(diag.mean()) < 4 / math.sqrt(n * n * trials) * math.sqrt(n)
    assert diag.var() == pytest.approx(1 / n, rel=0.15)


def test_eye_and_dirac_match_torch():
    for shape in ((3, 5), (4, 4), (6, 2)):
        np.testing.assert_array_equal(init.eye_(webdl.empty(*shape)).detach().numpy(),
                                      torch.nn.init.eye_(torch.empty(shape)).numpy())
    for shape, groups in (((4, 3, 5), 1), ((6, 4, 3, 3), 2), ((4, 2, 3, 3, 3), 1),
                          ((8, 6, 2, 2), 4), ((3, 16, 5, 5), 1)):
        np.testing.assert_array_equal(
            init.dirac_(webdl.empty(*shape), groups).detach().numpy(),
            torch.nn.init.dirac_(torch.empty(shape), groups).numpy())
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(webdl.empty(2, 2, 2))
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        init.dirac_(webdl.empty(2, 2))
    with pytest.raises(ValueError, match="divisible by groups"):
        init.dirac_(webdl.empty(5, 2, 3, 3), groups=2)


def test_sparse():
    webdl.manual_seed(6)
    w = init.sparse_(webdl.empty(100, 300), sparsity=0.25, std=0.5)
    arr = w.detach().numpy()
    assert ((arr == 0).sum(axis=0) == 25).all()
    nz = arr[arr != 0].astype(np.float64)
    assert nz.std() == pytest.approx(0.5, rel=0.02) and abs(nz.mean()) < 0.02


def test_seeded_and_generator():
    def draw(**kw):
        return init.kaiming_uniform_(webdl.empty(5, 7), **kw).detach().numpy()
    webdl.manual_seed(7)
    a = draw()
    webdl.manual_seed(7)
    assert (draw() == a).all()
    g1 = webdl.Generator().manual_seed(3)
    g2 = webdl.Generator().manual_seed(3)
    for fn in (lambda g: init.uniform_(webdl.empty(4, 4), generator=g),
               lambda g: init.normal_(webdl.empty(4, 4), generator=g),
               lambda g: init.trunc_normal_(webdl.empty(4, 4), generator=g),
               lambda g: init.xavier_normal_(webdl.empty(4, 4), generator=g),
               lambda g: init.kaiming_normal_(webdl.empty(4, 4), generator=g),
               lambda g: init.orthogonal_(webdl.empty(4, 4), generator=g)):
        assert (fn(g1).detach().numpy() == fn(g2).detach().numpy()).all()


def test_parameters_stay_leaves_and_keep_requires_grad():
    lin = webdl.nn.Linear(4, 3)
    init.xavier_uniform_(lin.weight)
    init.zeros_(lin.bias)
    assert lin.weight.requires_grad and lin.weight.is_leaf and lin.bias.tolist() == [0, 0, 0]


def test_deprecated_aliases():
    with pytest.warns(FutureWarning, match="nn.init.xavier_uniform` is now deprecated"):
        init.xavier_uniform(webdl.empty(3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.xavier_uniform_(webdl.empty(3, 3))
