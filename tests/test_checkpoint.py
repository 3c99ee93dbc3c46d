"""Training checkpoints with webdl.save/webdl.load, and Module.state_dict/load_state_dict,
against PyTorch (the same program with torch.save/torch.load) and the safetensors package."""
import collections
import io
import os

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import load_file

import webdl
import models


def _train(m, model, opt, x, y, steps):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = m.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _twins(make, seed=0):
    """The same model in webdl and PyTorch, with PyTorch's initial weights."""
    torch.manual_seed(seed)
    mt = make(torch)
    mw = make(webdl)
    mw.load_state_dict({k: v.numpy() for k, v in mt.state_dict().items()})
    return mw, mt


def _bn_mlp(m):
    """An MLP with BatchNorm (no bias before it: a bias that BatchNorm cancels gets noise
    gradients that Adam amplifies, and the two libraries' runs drift apart)."""
    nn = m.nn
    return nn.Sequential(nn.Linear(2, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                         nn.Linear(16, 3))


@pytest.mark.parametrize("make,data", [(models.mlp, models.blobs), (_bn_mlp, models.blobs)],
                         ids=["mlp-adam", "batchnorm-mlp-adam"])
def test_training_checkpoint_resumes_like_pytorch(tmp_path, make, data):
    """Train 3 steps, save {model, optimizer, iter_num, config}, train 3 more; a fresh
    model and optimizer loaded from the file then train exactly as the uninterrupted run,
    and both follow PyTorch doing the same with torch.save/torch.load."""
    xn, yn = data(n=32)
    mw, mt = _twins(make)
    ow = webdl.optim.Adam(mw.parameters(), lr=1e-2)
    ot = torch.optim.Adam(mt.parameters(), lr=1e-2)
    xw, yw, xt, yt = webdl.tensor(xn), webdl.tensor(yn), torch.tensor(xn), torch.tensor(yn)
    lw = _train(webdl, mw, ow, xw, yw, 3)
    lt = _train(torch, mt, ot, xt, yt, 3)
    config = {"lr": 1e-2, "betas": (0.9, 0.999), "name": "run", "compile": False,
              "dropout": 0.0, "warmup": None}
    webdl.save({"model": mw.state_dict(), "optimizer": ow.state_dict(), "iter_num": 3,
                "config": config}, tmp_path / "ckpt.safetensors")
    torch.save({"model": mt.state_dict(), "optimizer": ot.state_dict(), "iter_num": 3,
                "config": config}, tmp_path / "ckpt.pt")
    lw_cont = _train(webdl, mw, ow, xw, yw, 3)
    lt += _train(torch, mt, ot, xt, yt, 3)

    ck = webdl.load(tmp_path / "ckpt.safetensors", map_location="cpu")
    ckt = torch.load(tmp_path / "ckpt.pt", map_location="cpu", weights_only=True)
    assert ck["iter_num"] == ckt["iter_num"] == 3 and type(ck["iter_num"]) is int
    assert ck["config"] == ckt["config"] == config
    assert type(ck["config"]["betas"]) is tuple
    assert type(ck["model"]) is type(ckt["model"]) is collections.OrderedDict
    assert list(ck["model"]) == list(ckt["model"])
    for k, v in ck["model"].items():
        assert tuple(v.shape) == tuple(ckt["model"][k].shape), k   # 0-d stays 0-d
        np.testing.assert_allclose(v.numpy(), ckt["model"][k].numpy(), rtol=1e-4, atol=1e-5)
    assert sorted(ck["optimizer"]["state"]) == sorted(ckt["optimizer"]["state"])
    for i, st in ck["optimizer"]["state"].items():
        for name in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(st[name].numpy(), ckt["optimizer"]["state"][i][name],
                                       rtol=1e-4, atol=1e-6)
        assert int(st["step"]) == int(ckt["optimizer"]["state"][i]["step"]) == 3

    mw2 = make(webdl)
    ow2 = webdl.optim.Adam(mw2.parameters(), lr=0.5)
    assert repr(mw2.load_state_dict(ck["model"])) == "<All keys matched successfully>"
    ow2.load_state_dict(ck["optimizer"])
    assert ow2.param_groups[0]["lr"] == 1e-2
    lw2 = _train(webdl, mw2, ow2, xw, yw, 3)
    assert lw2 == lw_cont                                   # identical to not stopping
    for a, b in zip(mw.state_dict().values(), mw2.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(lw + lw2, lt, rtol=1e-4, atol=1e-5)   # and PyTorch's run


def test_batchnorm_model_reloads_its_own_checkpoint(tmp_path):
    """num_batches_tracked is 0-d: it stays 0-d through the file (it came back (1,) before,
    and the model refused its own checkpoint)."""
    mw, mt = _twins(_bn_mlp)
    xn, yn = models.blobs(n=16)
    models.train(webdl, mw, xn, yn, steps=2)
    models.train(torch, mt, xn, yn, steps=2)
    path = tmp_path / "bn.safetensors"
    webdl.save(mw.state_dict(), path)
    raw = load_file(str(path))                  # the safetensors package's view
    assert raw["1.num_batches_tracked"].shape == ()
    assert raw["1.num_batches_tracked"] == mt.state_dict()["1.num_batches_tracked"].item() == 2
    fresh = _bn_mlp(webdl)
    fresh.load_state_dict(webdl.load(path))
    fresh.eval(), mw.eval(), mt.eval()
    x = webdl.tensor(xn)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), mw(x).detach().numpy())
    np.testing.assert_allclose(fresh(x).detach().numpy(),
                               mt(torch.tensor(xn)).detach().numpy(), rtol=1e-4, atol=1e-5)
    fresh.train()
    models.train(webdl, fresh, xn, yn, steps=1)         # and training goes on
    assert fresh.state_dict()["1.num_batches_tracked"].item() == 3
    # PyTorch loads the same file (through safetensors) strictly
    mt2 = _bn_mlp(torch)
    mt2.load_state_dict({k: torch.from_numpy(v) for k, v in raw.items()})
    assert mt2.state_dict()["1.num_batches_tracked"].shape == ()


def test_old_checkpoint_with_one_element_scalar_still_loads():
    """Files written before the fix hold num_batches_tracked as shape (1,): PyTorch's own
    rule loads a 1-element tensor into a 0-d one; anything larger is a shape mismatch."""
    bn = webdl.nn.BatchNorm1d(3)
    sd = dict(bn.state_dict())
    sd["num_batches_tracked"] = webdl.tensor([7])
    bn.load_state_dict(sd)
    assert bn.num_batches_tracked.shape == () and bn.num_batches_tracked.item() == 7
    bt = torch.nn.BatchNorm1d(3)
    bt.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()})
    assert bt.num_batches_tracked.item() == 7
    sd["num_batches_tracked"] = webdl.tensor([7, 8])
    with pytest.raises(RuntimeError, match=r"num_batches_tracked: checkpoint \(2,\) vs model"):
        bn.load_state_dict(sd)


def test_plain_state_dict_is_an_ordinary_safetensors_file(tmp_path):
    sd = {"w": webdl.randn(3, 4), "i": webdl.arange(5), "m": webdl.tensor([True, False]),
          "s": webdl.tensor(2.5), "e": webdl.zeros(0, 3)}
    sd["tied"] = sd["w"]                              # one tensor under two keys
    path = tmp_path / "plain.safetensors"
    webdl.save(sd, path)
    back = load_file(str(path))
    assert set(back) == set(sd)
    for k, v in sd.items():
        np.testing.assert_array_equal(back[k], v.numpy())
        assert back[k].dtype == v.numpy().dtype and back[k].shape == tuple(v.shape)
    with safe_open(str(path), "np") as f:
        assert f.metadata()["format"] == "pt"
    got = webdl.load(path)
    assert type(got) is dict and list(got) == list(sd)
    assert got["w"] is got["tied"]                    # shared in, shared out
    assert got["s"].shape == () and got["e"].shape == (0, 3)


def test_shared_tensors_are_stored_once_and_come_back_shared(tmp_path):
    emb = webdl.nn.Embedding(10, 4)
    head = webdl.nn.Linear(4, 10, bias=False)
    head.weight = emb.weight                          # weight tying
    model = webdl.nn.Sequential(emb, head)
    t = webdl.randn(5)
    obj = {"model": model.state_dict(), "a": [t, (t, {"again": t})]}
    webdl.save(obj, tmp_path / "s.safetensors")
    with safe_open(str(tmp_path / "s.safetensors"), "np") as f:
        assert sorted(f.keys()) == ["a.0", "model.0.weight"]   # each buffer once
    got = webdl.load(tmp_path / "s.safetensors")
    assert got["a"][0] is got["a"][1][0] is got["a"][1][1]["again"]
    sd = got["model"]
    assert list(sd) == list(model.state_dict()) == ["0.weight", "1.weight"]
    assert sd["0.weight"]._buf is sd["1.weight"]._buf
    np.testing.assert_array_equal(sd["1.weight"].numpy(), emb.weight.detach().numpy())


def test_every_kind_of_value_round_trips(tmp_path):
    p = webdl.nn.Parameter(webdl.randn(2, 2))
    g = webdl.randn(3, requires_grad=True)
    obj = collections.OrderedDict([
        ("ints", [0, -1, 2 ** 62, True, False]), ("floats", [0.1, -0.0, 1e300, 3.0]),
        ("specials", (float("inf"), float("-inf"))), ("nan", float("nan")),
        ("text", "héllo \"quoted\" {json}"), ("none", None), ("empty", ([], (), {})),
        (1, "int key"), (2.5, "float key"), ((1, "a"), "tuple key"), (None, "none key"),
        ("np", np.arange(6, dtype=np.uint16).reshape(2, 3)), ("npf", np.float32(1.5)),
        ("npb", np.bool_(True)), ("np64", np.array([1e-300, 2.0])),
        ("size", webdl.Size([2, 3])), ("dtype", webdl.int64), ("dev", webdl.device("cpu")),
        ("param", p), ("leaf", g), ("ints_t", webdl.tensor([[1, 2]])),
        ("bool_t", webdl.tensor(True)), ("scalar", webdl.tensor(-0.5)),
    ])
    f = io.BytesIO()
    webdl.save(obj, f)
    f.seek(0)
    got = webdl.load(f)
    assert type(got) is collections.OrderedDict and list(got) == list(obj)
    for k in ("ints", "floats", "specials", "text", "none", "empty", 1, 2.5, (1, "a"), None):
        assert got[k] == obj[k] and type(got[k]) is type(obj[k])
    assert [type(v) for v in got["ints"]] == [int, int, int, bool, bool]
    assert str(got["floats"][1]) == "-0.0" and got["nan"] != got["nan"]
    for k in ("np", "npf", "npb", "np64"):
        assert type(got[k]) is type(obj[k]) and got[k].dtype == obj[k].dtype
        np.testing.assert_array_equal(got[k], obj[k])
    assert type(got["size"]) is webdl.Size and got["size"] == (2, 3)
    assert got["dtype"] is webdl.int64 and got["dev"] == webdl.device("cpu")
    assert isinstance(got["param"], webdl.nn.Parameter) and got["param"].requires_grad
    assert got["leaf"].requires_grad and got["leaf"].is_leaf
    for k in ("param", "leaf", "ints_t", "bool_t", "scalar"):
        assert got[k].dtype == obj[k].dtype and got[k].shape == obj[k].shape
        np.testing.assert_array_equal(got[k].detach().numpy(), obj[k].detach().numpy())
    assert not got["ints_t"].requires_grad


def test_paths_and_file_objects(tmp_path):
    sd = {"w": webdl.randn(2)}
    for target in (str(tmp_path / "a.st"), tmp_path / "b.st"):
        webdl.save(sd, target)
        np.testing.assert_array_equal(webdl.load(target)["w"].numpy(), sd["w"].numpy())
    with open(tmp_path / "c.st", "wb") as fh:
        webdl.save({"nested": [sd]}, fh)
    with open(tmp_path / "c.st", "rb") as fh:
        np.testing.assert_array_equal(webdl.load(fh)["nested"][0]["w"].numpy(),
                                      sd["w"].numpy())
    with open(tmp_path / "c.st", "r") as fh:
        with pytest.raises(TypeError, match="binary mode"):
            webdl.load(fh)
    assert sorted(os.listdir(tmp_path)) == ["a.st", "b.st", "c.st"]   # no temporary left


def test_map_location_and_weights_only(tmp_path):
    path = tmp_path / "m.st"
    webdl.save({"a": [webdl.ones(2)]}, path)
    for loc in (None, "cpu", webdl.device("cpu"), {"cpu": "cpu"},
                lambda storage, loc: storage):
        for wo in (None, True, False):
            got = webdl.load(path, map_location=loc, weights_only=wo)
            assert got["a"][0].device == webdl.device("cpu")
    with pytest.raises(RuntimeError, match="'cuda' \\(available here: cpu.*webgl"):
        webdl.load(path, map_location="cuda")
    with pytest.raises(RuntimeError, match="cuda"):
        webdl.load(path, map_location={"cpu": "cuda:0"})


def _rewrite(raw, fn):
    """A copy of a safetensors file with its header JSON changed by ``fn``."""
    import json
    import struct
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    fn(header)
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + raw[8 + n:]


def test_bad_files_raise_naming_file_and_problem(tmp_path):
    good = tmp_path / "good.st"
    webdl.save({"w": webdl.randn(10), "opt": {"step": 1, "m": webdl.zeros(3)}}, good)
    raw = good.read_bytes()
    plain = tmp_path / "plain.st"
    webdl.save({"w": webdl.randn(10)}, plain)

    def check(name, data, pattern, exc=ValueError):
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(exc, match=pattern) as info:
            webdl.load(p)
        assert name in str(info.value)

    import json

    def set_structure(h, text):
        h["__metadata__"]["webdl.structure"] = text

    check("text.st", b"hello, this is not a checkpoint at all", "not a safetensors file")
    check("short.st", b"\x01\x02", r"not a safetensors file \(only 2 bytes\)")
    check("empty.st", b"", "not a safetensors file")
    check("trunc.st", raw[:-5], "'opt.m' .*truncated")
    check("trunc_header.st", raw[:40], "truncated")
    check("json.st", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ",
          "malformed safetensors header")
    check("lies.st", _rewrite(raw, lambda h: h["w"].update(shape=[11])),
          r"'w'.*lies about its size.*\(11,\)")
    check("dtype.st", _rewrite(raw, lambda h: h["w"].update(dtype="Q8")),
          "'w'.*unknown dtype 'Q8'")
    check("overlap.st", _rewrite(raw, lambda h: h["opt.m"].update(
        data_offsets=[0, 12])), "overlapping or gapped")
    check("trailing.st", raw + b"\0" * 8, "8 bytes after its last tensor")
    check("entry.st", _rewrite(raw, lambda h: h["w"].pop("shape")), "entry 'w' needs")
    check("meta.st", _rewrite(raw, lambda h: h.update(__metadata__={"a": 1})),
          "__metadata__ must map strings to strings")
    check("missing.st", _rewrite(raw, lambda h: set_structure(h, json.dumps(
        {"objects": [{"name": "nope"}], "root": {"tensor": 0}}))),
        "refers to tensor 'nope', which the file does not hold")
    check("badref.st", _rewrite(raw, lambda h: set_structure(h, json.dumps(
        {"objects": [], "root": [{"tensor": 3}]}))), "malformed webdl structure")
    check("tag.st", _rewrite(raw, lambda h: set_structure(h, json.dumps(
        {"objects": [], "root": {"pickle": "os.system"}}))), "unknown entry 'pickle'")
    check("structjson.st", _rewrite(raw, lambda h: set_structure(h, "{oops")),
          "malformed webdl structure")
    check("version.st", _rewrite(raw, lambda h: h["__metadata__"].update(
        {"webdl.format": "99"})), "format '99'")
    # the plain file too: its entries are checked the same way
    check("plain_trunc.st", plain.read_bytes()[:-1], "'w'.*truncated")


def test_pytorch_files_are_refused_with_a_way_to_convert(tmp_path):
    sd = torch.nn.Linear(2, 2).state_dict()
    torch.save(sd, tmp_path / "new.pt")
    torch.save(sd, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    np.savez(tmp_path / "arrays.npz", a=np.ones(2))
    for name in ("new.pt", "legacy.pt"):
        with pytest.raises(ValueError, match=rf"'.*{name}'.*does not unpickle.*safetensors"):
            webdl.load(tmp_path / name)
    with pytest.raises(ValueError, match="arrays.npz' is a zip archive, not a safetensors"):
        webdl.load(tmp_path / "arrays.npz")
    with pytest.raises(OSError, match="nothing.st"):
        webdl.load(tmp_path / "nothing.st")


def test_save_refuses_objects_and_never_leaves_half_a_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.st"
    webdl.save({"w": webdl.ones(3)}, path)
    before = path.read_bytes()
    model = models.mlp(webdl)
    opt = webdl.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"whole Sequential module.*model\.state_dict\(\)"):
        webdl.save(model, path)
    with pytest.raises(TypeError, match=r"Linear at obj\['layers'\]\[0\].*state_dict"):
        webdl.save({"layers": [model[0]]}, path)
    with pytest.raises(TypeError, match=r"SGD at obj\['opt'\].*obj\['opt'\]\.state_dict\(\)"):
        webdl.save({"opt": opt}, path)
    with pytest.raises(TypeError, match=r"set at obj\['x'\]"):
        webdl.save({"x": {1, 2}}, path)
    with pytest.raises(TypeError, match=r"function at obj\[0\]"):
        webdl.save([lambda: 0], path)
    with pytest.raises(TypeError, match="object"):
        webdl.save({"a": np.array(["text"], dtype=object)}, path)
    with pytest.raises(RuntimeError, match="not a leaf.*detach"):
        webdl.save({"y": webdl.ones(2, requires_grad=True) * 2}, path)
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        webdl.save(loop, path)

    import webdl.serialization as ser

    def failing(entries):
        yield b"partial"
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(ser, "_chunks", failing)
    with pytest.raises(OSError, match="keep.st.*No space left"):
        webdl.save({"w": webdl.zeros(3)}, path)
    assert path.read_bytes() == before                  # the old file is intact
    assert os.listdir(tmp_path) == ["keep.st"]          # and no temporary is left


# --- Module.state_dict / load_state_dict -------------------------------------------------
class _Net:
    """The same module in webdl and PyTorch: a shared submodule, buffers persistent or not."""

    @staticmethod
    def make(m):
        class Net(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = m.nn.Linear(3, 2)
                self.bn = m.nn.BatchNorm1d(2)
                self.again = self.fc                     # one module under two names
                self.register_buffer("stats", m.zeros(2))
                self.register_buffer("cache", m.ones(2), persistent=False)

            def forward(self, x):
                return self.bn(self.fc(x)) + self.stats
        return Net()


def test_state_dict_keys_like_pytorch():
    nw, nt = _Net.make(webdl), _Net.make(torch)
    assert list(nw.state_dict()) == list(nt.state_dict())
    assert "cache" not in nw.state_dict() and "cache" in dict(nw.named_buffers())
    for m in (nw, nt):                                   # re-registering as persistent
        m.register_buffer("cache", m.cache, persistent=True)
    assert list(nw.state_dict()) == list(nt.state_dict())
    for m in (nw, nt):
        del m.stats
    assert list(nw.state_dict()) == list(nt.state_dict())


def test_register_buffer_errors_like_pytorch():
    for m in (webdl, torch):
        net = m.nn.Linear(2, 2)
        with pytest.raises(KeyError):
            net.register_buffer("a.b", m.zeros(1))
        with pytest.raises(KeyError):
            net.register_buffer("weight", m.zeros(1))
        with pytest.raises(TypeError):
            net.register_buffer("x", [1, 2])
        net.register_buffer("none", None)
        assert "none" not in net.state_dict()


def test_load_state_dict_returns_missing_and_unexpected_like_pytorch():
    nw, nt = _Net.make(webdl), _Net.make(torch)
    full = {k: v.numpy() for k, v in nt.state_dict().items()}
    sd = {k: v for k, v in full.items() if k != "bn.bias"}
    sd["extra.weight"] = np.zeros(2, np.float32)
    sd["fc.nope"] = np.zeros(1, np.float32)
    sd["cache"] = np.zeros(2, np.float32)               # non-persistent: unexpected
    rw = nw.load_state_dict(sd, strict=False)
    rt = nt.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    assert rw.missing_keys == rt.missing_keys == ["bn.bias"]
    assert sorted(rw.unexpected_keys) == sorted(rt.unexpected_keys)
    missing, unexpected = rw                            # a named tuple
    assert (missing, unexpected) == (rw.missing_keys, rw.unexpected_keys)
    for k, v in nw.state_dict().items():                # what matched was loaded
        np.testing.assert_array_equal(v.numpy(), nt.state_dict()[k].numpy())
    assert repr(nw.load_state_dict(full)) == repr(nt.load_state_dict(
        {k: torch.from_numpy(v) for k, v in full.items()})) == "<All keys matched successfully>"
    with pytest.raises(RuntimeError, match=r"missing keys: bn\.bias.*unexpected keys: "):
        nw.load_state_dict(sd)
    with pytest.raises(RuntimeError):
        nt.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})


def test_load_state_dict_errors_change_nothing():
    nw = _Net.make(webdl)
    before = {k: v.numpy().copy() for k, v in nw.state_dict().items()}
    good = {k: np.full(v.shape, 3.0, np.float32) for k, v in before.items()}
    for bad, pattern in (({"fc.weight": np.zeros((5, 5), np.float32)}, r"shape mismatch"),
                         ({"fc.bias": "text"}, r"fc\.bias: expected a Tensor or an array"),
                         ({"fc.bias": 3.0}, r"fc\.bias: expected a Tensor")):
        for strict in (True, False):
            with pytest.raises(RuntimeError, match=pattern):
                nw.load_state_dict({**good, **bad}, strict=strict)
            for k, v in nw.state_dict().items():
                np.testing.assert_array_equal(v.numpy(), before[k])
    with pytest.raises(TypeError, match="dict-like"):
        nw.load_state_dict([("fc.bias", np.zeros(2))])


def test_load_state_dict_takes_either_librarys_tensors_through_numpy():
    xn, yn = models.bars(n=16)
    torch.manual_seed(1)
    mt = models.cnn(torch)
    models.train(torch, mt, xn, yn, steps=2)
    mw = models.cnn(webdl)
    mw.load_state_dict({k: v.numpy() for k, v in mt.state_dict().items()})   # numpy
    mw2 = models.cnn(webdl)
    mw2.load_state_dict(mt.state_dict())                 # PyTorch tensors, read as arrays
    mt2 = models.cnn(torch)
    mt2.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in mw.state_dict().items()})
    for m in (mt, mw, mw2, mt2):
        m.eval()
    ref = mt(torch.tensor(xn)).detach().numpy()
    for out in (mw(webdl.tensor(xn)).detach().numpy(), mw2(webdl.tensor(xn)).detach().numpy()):
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(mt2(torch.tensor(xn)).detach().numpy(), ref)
    assert mw.state_dict()["1.num_batches_tracked"].dtype == webdl.int64


def test_load_state_dict_assign():
    net = webdl.nn.Linear(2, 3)
    old = net.weight
    w = np.arange(6, dtype=np.float32).reshape(3, 2)
    net.load_state_dict({"weight": w, "bias": np.zeros(3, np.float32)}, assign=True)
    assert net.weight is not old and isinstance(net.weight, webdl.nn.Parameter)
    assert net.weight.requires_grad
    np.testing.assert_array_equal(net.weight.detach().numpy(), w)
    assert [p is net.weight for p in net.parameters()] == [True, False]
