"""Published PyTorch programs (tests/programs/: pytorch/examples' MNIST CNN, VAE and DCGAN,
the CIFAR ResNet-20 of akamaster/pytorch_resnet_cifar10, karpathy/makemore's six
character-level language models, karpathy/nanoGPT's GPT) run unchanged but for their
imports on webdl's numpy backend and on PyTorch, from the same weights and inputs.

Agreement, each relative to the reference's scale (|a - b| / max(1, max |b|)):
- the forward outputs and the loss within 1e-4;
- after the first training step, every parameter's gradient within 1e-4;
- ten training steps of the program's own optimizer: each step's losses within 1e-4;
- after them, BatchNorm's running statistics within 1e-4, and the parameters within 1e-2
  (see programs.compare: Adam turns gradients that are zero up to rounding, like
  attention's key bias, into steps of the learning rate's size in either library).
Dropout is off (p=0) so both sides are deterministic; the programs' own random draws come
from one seeded numpy stream (see tests/programs/__init__.py). The same programs run on
WebGL in the browser in tests/test_browser_programs.py.
"""
import contextlib
import functools
import io

import pytest
import torch

import webdl
import programs

TOL = 1e-4
PARAMS_TOL = 1e-2


@functools.lru_cache(maxsize=None)
def report(name):
    cls = programs.RUNS[name]
    with contextlib.redirect_stdout(io.StringIO()):     # the programs print as they train
        ref = cls(torch, "cpu")
        run = cls(webdl, "cpu")
        return programs.compare(run, ref)


@pytest.mark.parametrize("name", list(programs.RUNS))
def test_forward_matches_pytorch(name):
    rep = report(name)
    assert rep["outputs"] <= TOL and rep["loss"] <= TOL, (rep["outputs"], rep["loss"])


@pytest.mark.parametrize("name", list(programs.RUNS))
def test_gradients_match_pytorch(name):
    rep = report(name)
    assert rep["grads"] and not rep["no_grad"], rep["no_grad"]
    bad = {k: v for k, v in rep["grads"].items() if not v <= TOL}
    assert not bad, bad


@pytest.mark.parametrize("name", list(programs.RUNS))
def test_ten_training_steps_match_pytorch(name):
    rep = report(name)
    assert len(rep["losses"]) == 10
    assert rep["loss_steps"] <= TOL, (rep["losses"], rep["ref_losses"])
    assert rep["ref_losses"][-1] != rep["ref_losses"][0]          # the steps did train
    assert rep["buffers"] <= TOL and rep["params"] <= PARAMS_TOL, (rep["buffers"],
                                                                   rep["params"])


def test_report_programs(capsys):
    rows = [(n, report(n)) for n in programs.RUNS]
    with capsys.disabled():
        print("\nprograms, webdl (numpy) against PyTorch, largest relative differences:")
        print(f"  {'program':22} {'outputs':>9} {'loss':>9} {'grads':>9} {'10 steps':>9} "
              f"{'buffers':>9} {'params':>9}")
        for n, r in rows:
            print(f"  {n:22} {r['outputs']:9.2e} {r['loss']:9.2e} {max(r['grads'].values()):9.2e}"
                  f" {r['loss_steps']:9.2e} {r['buffers']:9.2e} {r['params']:9.2e}")
