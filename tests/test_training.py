"""Training end to end: models learn, and webdl follows PyTorch step for step."""
import numpy as np
import torch

import webdl
import models


def test_mlp_learns_blobs():
    webdl.manual_seed(0)
    x, y = models.blobs()
    net = models.mlp(webdl)
    losses = models.train(webdl, net, x, y, steps=150, lr=1e-2)
    assert losses[0] > 0.5
    assert losses[-1] < 0.1, losses[-1]          # stated threshold: cross-entropy < 0.1
    assert models.accuracy(webdl, net, x, y) > 0.95


def test_cnn_learns_bars():
    webdl.manual_seed(0)
    x, y = models.bars()
    net = models.cnn(webdl)
    losses = models.train(webdl, net, x, y, steps=40, lr=2e-2, batch=32)
    assert np.mean(losses[-4:]) < 0.15, losses[-4:]   # stated threshold: < 0.15
    assert models.accuracy(webdl, net, x, y) > 0.95


def _same_run(make, data, steps, **kw):
    webdl.manual_seed(0)
    net_w = make(webdl)
    state = models.numpy_state(net_w)
    net_t = make(torch)
    models.copy_weights(state, net_t, torch)
    lw = models.train(webdl, net_w, *data, steps=steps, **kw)
    lt = models.train(torch, net_t, *data, steps=steps, **kw)
    return np.array(lw), np.array(lt)


def test_adam_20_steps_match_pytorch_mlp():
    lw, lt = _same_run(models.mlp, models.blobs(), 20, lr=1e-2)
    assert np.abs(lw - lt).max() < 1e-4, np.abs(lw - lt).max()


def test_adam_20_steps_match_pytorch_cnn():
    lw, lt = _same_run(models.cnn, models.bars(n=32), 20, lr=1e-2)
    assert np.abs(lw - lt).max() < 1e-4, np.abs(lw - lt).max()


def test_sgd_momentum_20_steps_match_pytorch():
    lw, lt = _same_run(models.mlp, models.blobs(), 20, lr=5e-2, opt="sgd")
    assert np.abs(lw - lt).max() < 1e-4, np.abs(lw - lt).max()
