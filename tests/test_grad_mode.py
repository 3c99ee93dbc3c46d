"""webdl.inference_mode and webdl.set_grad_enabled against torch: the grad and inference
modes inside nested contexts, decorators (bare, called, on generators), plain calls, and
restoring the previous mode on exceptions."""
import pytest
import torch

import webdl


def _probe(m):
    x = m.ones(2, requires_grad=True)
    return (m.is_grad_enabled(), m.is_inference_mode_enabled(), (x * 2).requires_grad)


@pytest.fixture(autouse=True)
def _restore_modes():
    yield
    for m in (webdl, torch):
        m.set_grad_enabled(True)


# each scenario: context factories, each called when its context is entered
SCENARIOS = {
    "inference": lambda m: [m.inference_mode],
    "inference-off": lambda m: [lambda: m.inference_mode(False)],
    "no_grad/inference-off": lambda m: [m.no_grad, lambda: m.inference_mode(False)],
    "inference/inference-off": lambda m: [m.inference_mode, lambda: m.inference_mode(False)],
    "inference/no_grad": lambda m: [m.inference_mode, m.no_grad],
    "inference/inference": lambda m: [m.inference_mode, m.inference_mode],
    "set-false": lambda m: [lambda: m.set_grad_enabled(False)],
    "set-true-in-no_grad": lambda m: [m.no_grad, lambda: m.set_grad_enabled(True)],
    "set-false/inference-off": lambda m: [lambda: m.set_grad_enabled(False),
                                          lambda: m.inference_mode(False)],
    "inference/set-false": lambda m: [m.inference_mode, lambda: m.set_grad_enabled(False)],
}


def _nested(m, factories):
    if not factories:
        return _probe(m)
    with factories[0]():
        inner = _nested(m, factories[1:])
    return inner


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_nested_modes_match_torch(name):
    assert _nested(webdl, SCENARIOS[name](webdl)) == _nested(torch, SCENARIOS[name](torch))
    assert webdl.is_grad_enabled() and not webdl.is_inference_mode_enabled()


def test_inference_mode_decorators():
    for m in (webdl, torch):
        @m.inference_mode
        def bare():
            return _probe(m)

        @m.inference_mode()
        def called():
            return _probe(m)

        @m.inference_mode(False)
        def off():
            return _probe(m)
        assert bare() == called() == (False, True, False)
        with m.no_grad():
            assert off() == (True, False, True)
        assert bare.__name__ == "bare"
        assert _probe(m) == (True, False, True)


def test_set_grad_enabled_plain_call_context_and_decorator():
    for m in (webdl, torch):
        r = m.set_grad_enabled(False)
        assert not m.is_grad_enabled()
        m.set_grad_enabled(True)
        assert m.is_grad_enabled()
        with m.set_grad_enabled(False):
            assert not m.is_grad_enabled()
        assert m.is_grad_enabled()
        with m.no_grad():
            with m.set_grad_enabled(True):
                assert _probe(m)[2]
            assert not m.is_grad_enabled()

        @m.set_grad_enabled(False)
        def f():
            return m.is_grad_enabled()
        assert m.is_grad_enabled()           # decorating doesn't switch the mode
        assert f() is False and m.is_grad_enabled()
        assert "set_grad_enabled(mode=False)" in repr(r)


def test_modes_restored_after_exception():
    for m in (webdl, torch):
        for make in (lambda: m.inference_mode(), lambda: m.set_grad_enabled(False)):
            with pytest.raises(KeyError):
                with make():
                    raise KeyError("x")
            assert m.is_grad_enabled() and not m.is_inference_mode_enabled()


def test_generator_functions_run_in_the_mode():
    for m in (webdl, torch):
        @m.inference_mode()
        def gen():
            got = yield _probe(m)
            yield (got, _probe(m))

        @m.set_grad_enabled(False)
        def gen2():
            yield m.is_grad_enabled()
        g = gen()
        assert next(g) == (False, True, False)
        assert _probe(m) == (True, False, True)          # outside between resumptions
        assert g.send(7) == (7, (False, True, False))
        assert list(gen2()) == [False] and m.is_grad_enabled()


def test_inference_mode_evaluation_matches_no_grad():
    net = webdl.nn.Linear(3, 2)
    x = webdl.randn(4, 3)
    with webdl.inference_mode():
        y = net(x)
    assert not y.requires_grad and y.grad_fn is None
    with webdl.no_grad():
        assert y.tolist() == net(x).tolist()
