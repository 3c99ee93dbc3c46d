"""webdl.save/webdl.load in safetensors, checked both ways with the safetensors package."""
import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file
from safetensors.torch import save_file as torch_save_file

import webdl
import models


def test_save_is_read_by_safetensors(tmp_path):
    sd = {"w": webdl.randn(3, 4), "i": webdl.arange(5), "m": webdl.tensor([True, False])}
    path = tmp_path / "a.safetensors"
    webdl.save(sd, str(path))
    back = load_file(str(path))
    for k, v in sd.items():
        np.testing.assert_array_equal(back[k], v.numpy())
        assert back[k].dtype == v.numpy().dtype


def test_load_reads_safetensors_files(tmp_path):
    arrs = {"a": np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32),
            "b": np.arange(4, dtype=np.int64), "h": np.ones(3, dtype=np.float16)}
    path = tmp_path / "b.safetensors"
    save_file(arrs, str(path))
    got = webdl.load(str(path))
    for k, v in arrs.items():
        np.testing.assert_array_equal(got[k].numpy(), v.astype(np.float32 if v.dtype.kind == "f"
                                                                else v.dtype))


def test_pytorch_trained_weights_load_into_webdl(tmp_path):
    torch.manual_seed(0)
    net_t = models.cnn(torch)
    x, y = models.bars(n=16)
    models.train(torch, net_t, x, y, steps=3)
    path = tmp_path / "torch.safetensors"
    torch_save_file({k: v.contiguous() for k, v in net_t.state_dict().items()}, str(path))
    net_w = models.cnn(webdl)
    net_w.load_state_dict(webdl.load(str(path)))
    net_w.eval()
    net_t.eval()
    np.testing.assert_allclose(net_w(webdl.tensor(x)).detach().numpy(),
                               net_t(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_load_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(ValueError, match="malformed safetensors header"):
        webdl.load(str(bad))
    webdl.save({"w": webdl.randn(100)}, str(tmp_path / "t.safetensors"))
    raw = (tmp_path / "t.safetensors").read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(raw[:-40])
    with pytest.raises(ValueError, match="'w'.*truncated"):
        webdl.load(str(tmp_path / "trunc.safetensors"))
    with pytest.raises(OSError, match="missing.safetensors"):
        webdl.load(str(tmp_path / "missing.safetensors"))


def test_foreign_dtypes_load_as_webdls_storage_types(tmp_path):
    """Files from PyTorch in other dtypes: floats come back float32 (bfloat16 and float16
    exactly, float64 rounded as torch's .float() rounds), integers int64, bools bool."""
    g = torch.Generator().manual_seed(0)
    src = {"bf16": torch.randn(5, generator=g).to(torch.bfloat16),
           "f16": torch.randn(2, 3, generator=g).half(),
           "f64": torch.randn(4, generator=g, dtype=torch.float64),
           "i32": torch.tensor([-(2 ** 31), 2 ** 31 - 1], dtype=torch.int32),
           "u8": torch.tensor([0, 255], dtype=torch.uint8),
           "i8": torch.tensor([-128, 127], dtype=torch.int8),
           "b": torch.tensor([True, False]), "scalar": torch.tensor(3.5, dtype=torch.float64)}
    path = tmp_path / "torch_dtypes.safetensors"
    torch_save_file(src, str(path))
    got = webdl.load(path)
    assert set(got) == set(src)
    for k, v in src.items():
        want = v.float() if v.is_floating_point() else (v if v.dtype == torch.bool else v.long())
        assert got[k].dtype == (webdl.float32 if v.is_floating_point() else
                                webdl.bool if v.dtype == torch.bool else webdl.int64), k
        assert tuple(got[k].shape) == tuple(v.shape), k
        np.testing.assert_array_equal(got[k].numpy(), want.numpy(), err_msg=k)


def test_torch_reads_webdl_state_dict_through_safetensors(tmp_path):
    from safetensors.torch import load_file as torch_load_file
    net_w = models.cnn(webdl)
    path = tmp_path / "w.safetensors"
    webdl.save(net_w.state_dict(), path)
    net_t = models.cnn(torch)
    res = net_t.load_state_dict(torch_load_file(str(path)))
    assert not res.missing_keys and not res.unexpected_keys
    x, _ = models.bars(n=4)
    net_w.eval(), net_t.eval()
    np.testing.assert_allclose(net_t(torch.tensor(x)).detach().numpy(),
                               net_w(webdl.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
