"""The softmax primitive (ops.reduce.Softmax) on the host: clear errors for masks and
inputs it can't take (its values and gradients are conformance cases in opinfo.py)."""
import pytest

import webdl
from webdl.functions.reduction import masked_softmax


def test_bad_masks_raise():
    x = webdl.randn(2, 3, 4)
    with pytest.raises(ValueError, match="not broadcastable"):
        masked_softmax(x, webdl.zeros(5))
    with pytest.raises(TypeError, match="bool or floating point"):
        masked_softmax(x, webdl.zeros(4, dtype=webdl.long))
    with pytest.raises(TypeError, match="must be a Tensor"):
        masked_softmax(x, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="causal mask needs"):
        masked_softmax(webdl.randn(4), causal=True)
    with pytest.raises(TypeError, match="floating point input"):
        masked_softmax(webdl.ones(4, dtype=webdl.long))
