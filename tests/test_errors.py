"""Bad input raises a Python error naming the op and the shapes/keys, before any work."""
import numpy as np
import pytest
import torch

import webdl
import webdl.nn.functional as F


# each case makes its own inputs, so no case sees what another one did to them
def x23():
    return webdl.randn(2, 3)


def x45():
    return webdl.randn(4, 5)


def img():
    return webdl.randn(1, 3, 8, 8)


# raised before the backend runs anything
CASES = [
    (lambda: x23() + x45(), ValueError,
     r"add: shapes \(2, 3\) and \(4, 5\) are not broadcastable"),
    (lambda: x23() @ x45(), ValueError,
     r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be multiplied"),
    (lambda: x23().sum(dim=2), IndexError, r"sum: dim 2 is out of range for a tensor of 2 dims"),
    (lambda: x23().softmax(-3), IndexError, r"softmax: dim -3 is out of range"),
    (lambda: x23().reshape(4, 2), ValueError, r"reshape: shape \(4, 2\) is invalid for input "
                                              r"of size 6"),
    (lambda: x23().permute(0, 0), ValueError, r"permute: repeated dim"),
    (lambda: x23().expand(4, 3), ValueError, r"expand: the expanded size 4 must match the "
                                             r"existing size 2"),
    (lambda: webdl.cat([x23(), x45()]), ValueError,
     r"cat: tensors must have the same shape except in dim 0; got \(2, 3\) and \(4, 5\)"),
    (lambda: x23()[5], IndexError, r"index 5 is out of bounds for dim 0 with size 2"),
    (lambda: x23()[0, 0, 0], IndexError, r"too many indices"),
    (lambda: x23()[::-1], ValueError, r"slice step must be positive"),
    (lambda: F.conv2d(img(), webdl.randn(4, 2, 3, 3)), ValueError,
     r"conv2d: input shape \(1, 3, 8, 8\) with groups=1 expects weight of shape \(4, 3, 3, 3\), "
     r"got \(4, 2, 3, 3\)"),
    (lambda: F.conv2d(webdl.randn(8, 8), webdl.randn(1, 1, 3, 3)), ValueError,
     r"conv2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got shape \(8, 8\)"),
    (lambda: F.conv2d(webdl.randn(1, 1, 2, 2), webdl.randn(1, 1, 3, 3)), ValueError,
     r"conv2d: input of shape \(1, 1, 2, 2\) \(padded 2x2\) is smaller than the kernel 3x3"),
    (lambda: F.conv2d(img(), webdl.randn(4, 3, 3, 3), stride=2, padding="same"), ValueError,
     r"padding='same' is not supported for strided"),
    (lambda: F.max_pool2d(img(), 2, padding=2), ValueError,
     r"max_pool2d: padding \(2, 2\) should be at most half"),
    (lambda: F.linear(x23(), webdl.randn(4, 5)), ValueError,
     r"linear: input shape \(2, 3\) and weight shape \(4, 5\) don't match"),
    (lambda: F.cross_entropy(x23(), webdl.tensor([0, 7])), IndexError,
     r"cross_entropy: target 7 is out of bounds for 3 classes"),
    (lambda: F.cross_entropy(x23(), webdl.tensor([0, 1, 2])), ValueError,
     r"input of shape \(2, 3\) expects target of shape \(2,\), got \(3,\)"),
    (lambda: F.cross_entropy(x23(), webdl.tensor([True, False])), TypeError,
     r"target must be int64 class indices, got webdl.bool"),
    (lambda: F.mse_loss(x23(), x45()), ValueError, r"mse_loss: shapes \(2, 3\) and \(4, 5\)"),
    (lambda: F.embedding(webdl.tensor([0.5]), webdl.randn(3, 2)), TypeError,
     r"embedding: indices must be int64, got webdl.float32"),
    (lambda: F.layer_norm(x23(), (4,)), ValueError,
     r"layer_norm: input shape \(2, 3\) doesn't end with normalized_shape \(4,\)"),
    (lambda: webdl.nn.BatchNorm2d(4)(img()), ValueError,
     r"BatchNorm2d: expected 4 channels, got input shape \(1, 3, 8, 8\)"),
    (lambda: webdl.nn.Linear(3, 2)(x45()), ValueError, r"linear: input shape \(4, 5\)"),
    (lambda: x23().backward(), RuntimeError,
     r"backward: this tensor \(shape \(2, 3\)\) does not require grad"),
    (lambda: webdl.arange(3).requires_grad_(), RuntimeError, r"only float tensors can require "
                                                             r"grad"),
    (lambda: webdl.tensor(["a"]), TypeError, r"tensor: can't"),
    (lambda: webdl.tensor([1.0]).to("float128"), RuntimeError, r"unknown device 'float128'"),
    (lambda: webdl.optim.Adam([]), ValueError, r"Adam: got an empty parameter list"),
    (lambda: webdl.optim.SGD([webdl.zeros(2)], lr=0.1), ValueError, r"does not require grad"),
    (lambda: F.interpolate(img(), scale_factor=2, mode="lanczos"), NotImplementedError,
     r"interpolate: mode 'lanczos' is not supported"),
    (lambda: F.pad(webdl.randn(1, 2, 3), (3, 3), mode="reflect"), ValueError,
     r"pad: padding \(3, 3\) should be less than the size 3 of dim 2 in reflect mode"),
    (lambda: webdl.gather(x23(), 1, webdl.tensor([[0, 3]])), IndexError,
     r"gather: index 3 is out of bounds for size 3"),
    # PyTorch: index_select and embedding take 0..size-1 ("index out of range in self")
    (lambda: webdl.index_select(x23(), 1, webdl.tensor([0, -1])), IndexError,
     r"index_select: index -1 is out of bounds for size 3"),
    (lambda: F.embedding(webdl.tensor([2, -1]), webdl.randn(3, 2)), IndexError,
     r"index_select: index -1 is out of bounds for size 3"),
    (lambda: F.embedding(webdl.tensor([-1]), webdl.randn(3, 2), max_norm=1.0), IndexError,
     r"embedding: index -1 is out of range for 3 rows"),
]
# raised once the graph is built: backward() sees the output's shape only then
LATE_CASES = [
    (lambda: (x23().requires_grad_() * 2).backward(), RuntimeError,
     r"grad can be implicitly created only for scalar outputs; this output has shape \(2, 3\)"),
]


@pytest.mark.parametrize("i", range(len(CASES + LATE_CASES)))
def test_bad_input_message(i):
    fn, exc, pattern = (CASES + LATE_CASES)[i]
    with pytest.raises(exc, match=pattern):
        fn()


def test_error_raised_before_work():
    """Validation happens before the backend runs anything."""
    from webdl.backends import device
    backend = device("cpu").backend
    calls = []
    orig = backend.run
    backend.run = lambda *a, **k: calls.append(a[0].name) or orig(*a, **k)
    try:
        for fn, exc, _ in CASES:
            calls.clear()
            with pytest.raises(exc):
                fn()
            assert calls == [], calls
    finally:
        backend.run = orig


def test_negative_indices_as_pytorch():
    """index_select and embedding refuse a negative index as PyTorch does; a tensor index
    (``x[t]``) counts it from the end, as PyTorch's advanced indexing does."""
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    for fn in (lambda m, x, i: m.index_select(x, 0, i),
               lambda m, x, i: m.nn.functional.embedding(i, x)):
        with pytest.raises(IndexError):
            fn(torch, torch.tensor(a), torch.tensor([1, -1]))
        with pytest.raises(IndexError):
            fn(webdl, webdl.tensor(a), webdl.tensor([1, -1]))
    want = torch.tensor(a)[torch.tensor([-1, 0, -4])].numpy()
    assert np.array_equal(webdl.tensor(a)[webdl.tensor([-1, 0, -4])].numpy(), want)
