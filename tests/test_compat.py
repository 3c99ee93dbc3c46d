"""What CPU-only PyTorch programs mention without needing it: CUDA queries, backend flags,
mixed precision switched off, PyTorch's dtype names. Each answer is compared with PyTorch's
own on this machine, which has no CUDA either."""
import importlib
import warnings

import numpy as np
import pytest
import torch

import webdl


def test_torch_has_no_cuda_here_either():
    assert torch.cuda.is_available() is False    # the premise of the comparisons below


def test_cuda_queries_answer_like_cpu_only_pytorch():
    for name in ("is_available", "device_count", "is_initialized", "is_bf16_supported",
                 "memory_allocated", "max_memory_allocated", "empty_cache"):
        assert getattr(webdl.cuda, name)() == getattr(torch.cuda, name)(), name
    for name in ("manual_seed", "manual_seed_all"):
        assert getattr(webdl.cuda, name)(0) is getattr(torch.cuda, name)(0) is None
    state = webdl.randn(3).numpy()
    webdl.manual_seed(5)
    a = webdl.randn(3).numpy()
    webdl.manual_seed(5)
    webdl.cuda.manual_seed_all(123)                  # seeds nothing extra
    np.testing.assert_array_equal(webdl.randn(3).numpy(), a)
    assert state.shape == (3,)
    for name in ("current_device", "synchronize", "get_device_name"):
        with pytest.raises(AssertionError):         # PyTorch refuses these without CUDA ...
            getattr(torch.cuda, name)()
        with pytest.raises(RuntimeError, match="no CUDA.*'cpu'.*'webgl'"):   # ... so do we
            getattr(webdl.cuda, name)()
    with pytest.raises(AttributeError, match="no CUDA"):
        webdl.cuda.nonexistent_function


def test_cuda_device_requests_raise_naming_webdls_devices():
    x = webdl.ones(2)
    assert x.is_cuda is torch.ones(2).is_cuda is False
    for call in (lambda: x.cuda(), lambda: x.to("cuda"), lambda: x.to("cuda:0"),
                 lambda: webdl.device("cuda"), lambda: webdl.zeros(2, device="cuda"),
                 lambda: webdl.nn.Linear(2, 2).cuda(), lambda: webdl.nn.Linear(2, 2).to("cuda")):
        with pytest.raises(RuntimeError, match="'cuda(:0)?' \\(available here: cpu.*webgl"):
            call()
    net = webdl.nn.Linear(2, 2)
    before = net.weight.detach().numpy().copy()
    with pytest.raises(RuntimeError):
        net.to("cuda")
    assert net.weight.device == webdl.device("cpu")   # nothing moved, nothing lost
    np.testing.assert_array_equal(net.weight.detach().numpy(), before)


def test_backend_flags_accepted_with_pytorchs_defaults():
    wb, tb = webdl.backends, torch.backends
    assert wb.cudnn.is_available() is tb.cudnn.is_available() is False
    assert wb.mps.is_available() is tb.mps.is_available() is False
    assert wb.mps.is_built() is tb.mps.is_built()
    assert wb.cuda.is_built() is tb.cuda.is_built() is False
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(wb.cudnn, name) == getattr(tb.cudnn, name), name
    assert wb.cuda.matmul.allow_tf32 == tb.cuda.matmul.allow_tf32
    saved = (wb.cudnn.benchmark, wb.cudnn.deterministic, wb.cuda.matmul.allow_tf32)
    try:
        wb.cudnn.benchmark = True
        wb.cudnn.deterministic = True
        wb.cuda.matmul.allow_tf32 = True
        wb.cudnn.allow_tf32 = True
        assert wb.cudnn.benchmark and wb.cuda.matmul.allow_tf32
        cudnn = importlib.import_module("webdl.backends.cudnn")   # import ... as cudnn
        assert cudnn is wb.cudnn and cudnn.benchmark
        from webdl.backends import cuda, mps  # noqa: F401
        x = webdl.randn(4, 4)
        np.testing.assert_array_equal((x @ x).numpy(), x.numpy() @ x.numpy())
    finally:
        wb.cudnn.benchmark, wb.cudnn.deterministic, wb.cuda.matmul.allow_tf32 = saved
    assert webdl.backends.device("cpu") == webdl.device("cpu")   # the registry is intact
    webdl.set_float32_matmul_precision("high")
    assert webdl.get_float32_matmul_precision() == "high"
    webdl.set_float32_matmul_precision("highest")
    with pytest.raises(ValueError):
        webdl.set_float32_matmul_precision("fast")


def test_accelerator_reports_none():
    assert webdl.accelerator.is_available() is torch.accelerator.is_available() is False
    assert webdl.accelerator.device_count() == torch.accelerator.device_count() == 0
    assert webdl.accelerator.current_accelerator() is torch.accelerator.current_accelerator()
    with pytest.raises(RuntimeError):
        torch.accelerator.current_device_index()
    with pytest.raises(RuntimeError, match="no accelerator"):
        webdl.accelerator.current_device_index()
    # the PyTorch tutorial's device choice runs and picks the CPU
    acc = webdl.accelerator
    device = acc.current_accelerator().type if acc.is_available() else "cpu"
    assert webdl.ones(1, device=device).device == webdl.device("cpu")


def _sgd_run(m, scaler, steps=3, inf_at=None):
    w = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
    opt = m.optim.SGD([w], lr=0.1)
    rets = []
    for i in range(steps):
        opt.zero_grad()
        loss = ((w * w).sum() * (float("inf") if i == inf_at else 1.0))
        scaler.scale(loss).backward()
        rets.append(scaler.step(opt))
        scaler.update()
        rets.append(scaler.get_scale())
    return w.detach().numpy(), rets, scaler.state_dict()


def test_disabled_grad_scaler_is_a_no_op_like_pytorchs():
    for make_w, make_t in ((lambda: webdl.cuda.amp.GradScaler(enabled=False),
                            lambda: torch.amp.GradScaler("cuda", enabled=False)),
                           (lambda: webdl.amp.GradScaler(enabled=False),
                            lambda: torch.amp.GradScaler(enabled=False)),
                           (lambda: webdl.amp.GradScaler("cpu", enabled=False),
                            lambda: torch.amp.GradScaler("cpu", enabled=False))):
        sw, st = make_w(), make_t()
        loss = webdl.tensor(2.0, requires_grad=True)
        assert sw.scale(loss) is loss
        assert sw.is_enabled() is st.is_enabled() is False
        assert sw.state_dict() == st.state_dict() == {}
        ww, rw, sdw = _sgd_run(webdl, sw)
        wt, rt, sdt = _sgd_run(torch, st)
        np.testing.assert_allclose(ww, wt, rtol=1e-6)
        assert rw == rt and sdw == sdt
        sw.unscale_(None)                               # no-ops when disabled
        sw.load_state_dict({})


def test_enabled_cuda_scaler_and_autocast_disable_themselves_like_pytorch():
    """Without CUDA, PyTorch warns and turns a CUDA GradScaler/autocast off (nanoGPT on a
    CPU builds GradScaler(enabled=True) this way); webdl does the same."""
    for make_w, make_t in ((lambda: webdl.cuda.amp.GradScaler(),
                            lambda: torch.cuda.amp.GradScaler()),
                           (lambda: webdl.amp.GradScaler("cuda", enabled=True),
                            lambda: torch.amp.GradScaler("cuda", enabled=True))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            with pytest.warns(UserWarning):
                st = make_t()
        with pytest.warns(UserWarning, match="no CUDA.*Disabling"):
            sw = make_w()
        assert sw.is_enabled() is st.is_enabled() is False
        ww, rw, _ = _sgd_run(webdl, sw)
        wt, rt, _ = _sgd_run(torch, st)
        np.testing.assert_allclose(ww, wt, rtol=1e-6)
        assert rw == rt
    for make_w, make_t in ((lambda: webdl.autocast("cuda"), lambda: torch.autocast("cuda")),
                           (lambda: webdl.cuda.amp.autocast(),
                            lambda: torch.cuda.amp.autocast())):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ct = make_t()
        with pytest.warns(UserWarning, match="no CUDA.*Disabling autocast"):
            cw = make_w()
        with cw, ct:
            assert webdl.is_autocast_enabled() is torch.is_autocast_enabled() is False


def test_cpu_grad_scaler_scales_and_skips_like_pytorchs():
    for inf_at in (None, 1):
        sw = webdl.amp.GradScaler("cpu", init_scale=4.0, growth_interval=2)
        st = torch.amp.GradScaler("cpu", init_scale=4.0, growth_interval=2)
        ww, rw, sdw = _sgd_run(webdl, sw, steps=5, inf_at=inf_at)
        wt, rt, sdt = _sgd_run(torch, st, steps=5, inf_at=inf_at)
        np.testing.assert_allclose(ww, wt, rtol=1e-6)
        assert rw == rt and sdw == sdt
    sw = webdl.amp.GradScaler("cpu")
    assert sw.get_scale() == torch.amp.GradScaler("cpu").get_scale() == 65536.0
    loss = webdl.tensor(1.5)
    assert sw.scale(loss).item() == 1.5 * 65536
    assert [t.item() for t in sw.scale([loss, loss])] == [98304.0] * 2
    w = webdl.ones(2, requires_grad=True)
    opt = webdl.optim.SGD([w], lr=0.1)
    sw.scale((w * 2).sum()).backward()
    sw.unscale_(opt)
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0])   # true gradients to clip
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        sw.unscale_(opt)
    sw.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        sw.step(opt)
    sw.update()
    sw2 = webdl.amp.GradScaler("cpu")
    sw2.load_state_dict(sw.state_dict())
    assert sw2.state_dict() == sw.state_dict()


def test_autocast_on_webdls_devices():
    with webdl.autocast("cpu", enabled=False):
        assert webdl.ones(2).dtype == webdl.float32
    with webdl.amp.autocast(device_type="cpu", dtype=webdl.bfloat16, enabled=False) as ctx:
        assert ctx.fast_dtype is webdl.bfloat16

    @webdl.autocast("cpu", enabled=False)
    def f(x):
        return x * 2
    assert f(webdl.ones(1)).item() == 2.0
    for dev in ("cpu", "webgl"):
        with pytest.raises(NotImplementedError, match="no mixed precision.*float32"):
            webdl.autocast(dev)
        with pytest.raises(NotImplementedError, match="no mixed precision"):
            webdl.amp.autocast(device_type=dev, dtype=webdl.float16, enabled=True)
    with pytest.raises(ValueError, match="unknown device_type"):
        webdl.autocast("tpu")


# --- dtype names -------------------------------------------------------------------------
NAMES = ["float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long",
         "int32", "int", "int16", "short", "int8", "uint8", "bool"]


def test_pytorchs_dtype_names_exist_and_name_the_stored_types():
    for name in NAMES:
        d = getattr(webdl, name)
        assert isinstance(d, webdl.dtype), name
        assert d.is_floating_point == getattr(torch, name).is_floating_point, name
        assert d in (webdl.float32, webdl.int64, webdl.bool), name
        assert webdl.zeros(2, dtype=d).dtype is d                  # creation accepts them
        assert webdl.zeros(2, dtype=getattr(torch, name)).dtype is d
    assert webdl.float16 is webdl.bfloat16 is webdl.double is webdl.float32
    assert webdl.uint8 is webdl.int is webdl.int64


def test_half_double_bfloat16_keep_float32_values():
    xn = np.array([1 / 3, 1e-8, 70000.0, -2.5], dtype=np.float32)
    x = webdl.tensor(xn)
    for y in (x.half(), x.bfloat16(), x.double(), x.to(webdl.float16),
              x.to(torch.bfloat16), x.to(dtype=webdl.float64)):
        assert y.dtype is webdl.float32
        np.testing.assert_array_equal(y.numpy(), xn)    # not rounded to 16 bits: float32
    i = webdl.tensor([1, 2])
    assert i.half().dtype is webdl.float32 and i.half().tolist() == [1.0, 2.0]
    assert webdl.tensor([1.7]).to(webdl.uint8).dtype is webdl.int64
    net = webdl.nn.Linear(2, 2)
    assert net.half() is net and net.double() is net and net.bfloat16() is net
    assert net.weight.dtype is webdl.float32


def test_finfo_iinfo_report_what_is_stored():
    for name in ("float32", "float16", "bfloat16", "float64", "half", "double"):
        fw = webdl.finfo(getattr(webdl, name))
        ft = torch.finfo(torch.float32)         # what webdl stores for every float name
        for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution",
                      "dtype"):
            assert getattr(fw, field) == getattr(ft, field), (name, field)
        assert repr(fw) == repr(ft)
    assert repr(webdl.finfo()) == repr(torch.finfo())
    assert webdl.finfo(torch.float16).eps == torch.finfo(torch.float32).eps
    for name in ("int64", "int32", "int16", "int8", "uint8", "long"):
        iw, it = webdl.iinfo(getattr(webdl, name)), torch.iinfo(torch.int64)
        assert (iw.bits, iw.max, iw.min, iw.dtype) == (it.bits, it.max, it.min, it.dtype)
        assert repr(iw) == repr(it)
    for bad in (webdl.int64, webdl.bool):
        with pytest.raises(TypeError, match="not a floating point type"):
            webdl.finfo(bad)
    for bad in (webdl.float32, webdl.bool):
        with pytest.raises(TypeError, match="not an integer type"):
            webdl.iinfo(bad)
    x = webdl.tensor([webdl.finfo(webdl.float16).max])     # what a "float16" really holds
    assert np.isfinite(x.numpy()).all() and x.item() > 65504
