"""Recurrent and attention layers on WebGL and WebGPU in headless Chromium, against the numpy
backend in the same page from the same weights: outputs and every gradient within 1e-3. The
sequences are long enough (7 steps) that a recurrent layer's steps are replayed (recorded on
the second, replayed from the third), forward and backward."""
import pytest

CODE = """
import json, numpy as np, webdl
import webdl.nn as nn
from webdl.nn.utils.rnn import pack_padded_sequence

def run(make, inputs, dev):
    webdl.manual_seed(0)
    m = make().to(dev)
    xs = [webdl.tensor(a, device=dev, requires_grad=a.dtype == np.float32) for a in inputs]
    out = m(*xs)
    flat = lambda o: [o.data] if hasattr(o, 'batch_sizes') else (
        [v for p in o for v in flat(p)] if isinstance(o, tuple) else [o])
    outs = [o for o in flat(out) if o is not None]
    sum((o * (k + 1.0)).sum() for k, o in enumerate(outs)).backward()
    vals = [o.detach().cpu().numpy() for o in outs]
    vals += [x.grad.cpu().numpy() for x in xs if x.requires_grad]
    vals += [p.grad.cpu().numpy() for p in m.parameters()]
    return vals

def compare(make, *inputs):
    a = run(make, inputs, 'cpu')
    return {dev: max(float(np.abs(x - y).max() / max(1.0, np.abs(x).max()))
                     for x, y in zip(a, run(make, inputs, dev))) for dev in ('webgl', 'webgpu')}

rng = np.random.default_rng(0)
x = rng.standard_normal((7, 3, 5)).astype(np.float32)
res = {}
res['lstm'] = compare(lambda: nn.LSTM(5, 8, num_layers=2, bidirectional=True), x)
res['gru_bf'] = compare(lambda: nn.GRU(5, 6, batch_first=True), x)
res['rnn_relu_proj'] = compare(lambda: nn.LSTM(5, 8, proj_size=4), x)

class Packed(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(5, 4, bidirectional=True)
    def forward(self, x):
        return self.rnn(pack_padded_sequence(x, [7, 4, 2]))
res['packed'] = compare(Packed, x)
res['rnn_relu'] = compare(lambda: nn.RNN(5, 6, nonlinearity='relu', num_layers=2,
                                         bidirectional=True), x)

class PackedState(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(5, 4, num_layers=2)
    def forward(self, x, h, c):
        return self.rnn(pack_padded_sequence(x, [7, 5, 1]), (h, c))
s0 = rng.standard_normal((2, 3, 4)).astype(np.float32)
res['lstm_masked_state'] = compare(PackedState, x, s0, s0 * 0.5)
q = rng.standard_normal((4, 2, 8)).astype(np.float32)
res['mha'] = compare(lambda: nn.MultiheadAttention(8, 2), q, q, q)
class Causal(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                                    norm_first=True), 2)
    def forward(self, x):
        return self.enc(x, mask=nn.Transformer.generate_square_subsequent_mask(4, device=x.device))
res['encoder_causal'] = compare(Causal, q)
res['decoder'] = compare(lambda: nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0), q, q)
json.dumps(res)
"""


@pytest.fixture(scope="module")
def gpu_layers(browser):
    return browser.check(CODE)


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
@pytest.mark.parametrize("name", ["lstm", "gru_bf", "rnn_relu_proj", "packed", "rnn_relu",
                                  "lstm_masked_state", "mha", "encoder_causal", "decoder"])
def test_layer_on_gpu_matches_numpy(gpu_layers, name, device):
    assert gpu_layers[name][device] < 1e-3, gpu_layers
