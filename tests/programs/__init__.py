"""Published PyTorch programs, run unchanged but for their imports, on torch or on webdl.

Each ``tests/programs/<name>.py`` is a published program's model code (and its loss and
training step where the file has them) kept verbatim; its header names the repository,
path, commit and license. Its torch imports are comments: ``load(name, lib)`` runs the file
with the names those imports made (``torch``, ``nn``, ``F``, ``optim``, ``init``) bound to
``lib`` -- the ``torch`` module or ``webdl`` -- so the SAME file runs on both.

``RUNS`` says how the tests drive each program: which of its models to build and with
what small configuration, the inputs (seeded numpy), the optimizer (the program's own),
and one training step (the program's own code wherever the file has it). ``compare(run,
ref)`` copies ``ref``'s weights into ``run`` and measures how far the two are apart:
forward outputs and loss, every parameter's gradient after the first step, the losses of
ten steps, and the whole state (parameters and buffers) after them.

Imports only numpy and the standard library: the same code runs on CPython (webdl against
PyTorch, tests/test_programs.py) and inside Pyodide (WebGL against webdl's numpy backend,
tests/test_browser_programs.py).

Determinism: dropout is off (nanoGPT's config has dropout=0.0; mnist's two Dropout layers
are given p=0). The programs' own random draws during training (dcgan's torch.randn noise,
the VAE's torch.randn_like in reparameterize) come from one seeded numpy stream on both
sides (``Noise``): webdl's generator is not PyTorch's, and these are draws, not semantics.
"""
import os
import sys
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


# --- running a program file -----------------------------------------------------------------
def load(name, lib, **names):
    """Run ``tests/programs/<name>.py`` with its torch imports bound to ``lib`` (``torch`` or
    ``webdl``) and ``names`` as extra globals (what the left-out parts of a script would
    have made: ``args``, ``device``...). Returns the program as a module."""
    path = os.path.join(HERE, name + ".py")
    mod = types.ModuleType(f"programs.{name}.{lib.__name__}")
    mod.__file__ = path
    mod.__dict__.update(torch=lib, nn=lib.nn, F=lib.nn.functional, optim=lib.optim,
                        init=lib.nn.init)
    mod.__dict__.update(names)
    with open(path) as f:
        code = compile(f.read(), path, "exec")
    sys.modules[mod.__name__] = mod    # dataclasses looks a class's module up by name
    exec(code, mod.__dict__)
    return mod


class Swap(types.ModuleType):
    """A library module with some of its attributes replaced: what a program sees as
    ``torch`` (or ``F``) when the test supplies its random draws or watches its loss."""

    def __init__(self, lib, **replaced):
        super().__init__(lib.__name__)
        self.__dict__.update(replaced)
        self.__wrapped__ = lib

    def __getattr__(self, name):
        return getattr(self.__wrapped__, name)


class Noise:
    """``randn``/``randn_like`` from one seeded numpy stream, the same numbers in every
    library (float32, on the requested device)."""

    def __init__(self, lib, seed):
        self.lib, self.rng = lib, np.random.default_rng(seed)

    def randn(self, *size, device=None, dtype=None, requires_grad=False):
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        return self.lib.tensor(self.rng.standard_normal(size).astype(np.float32),
                               device=device)

    def randn_like(self, t, dtype=None, device=None):
        return self.lib.tensor(self.rng.standard_normal(tuple(t.shape)).astype(np.float32),
                               device=device or t.device)


def recording(fn, into):
    """``fn`` that also appends each result to the list ``into`` (to read a program's
    losses out of its own training loop)."""
    def wrapped(*args, **kwargs):
        out = fn(*args, **kwargs)
        into.append(out)
        return out
    return wrapped


class Loader(list):
    """A list of (input, target) batches with ``.dataset``, as the programs' loops use a
    DataLoader (they iterate it and print ``len(loader.dataset)``)."""

    def __init__(self, batches):
        super().__init__(batches)
        self.dataset = [None] * sum(int(b[0].shape[0]) for b in batches)


# --- the programs, as the tests run them ----------------------------------------------------
class Run:
    """One program built in one library on one device. Subclasses set ``models`` (name ->
    module) and implement ``forward() -> (outputs, loss)`` and ``step() -> [losses]``; those
    whose step is a function of tensors alone also ``train(*train_args()) -> loss`` (the same
    step, its loss not read back: what ``webdl.compile`` can record and replay)."""
    steps = 10

    def train_args(self):
        """The tensors ``train`` takes, or None where the program has no such step (its step
        reads values back, draws noise on the host, or its optimizer counts on the host)."""
        return None

    def __init__(self, lib, device):
        self.lib, self.device = lib, device
        lib.manual_seed(0)
        self.rng = np.random.default_rng(0)

    def t(self, arr):
        return self.lib.tensor(arr, device=self.device)


class MNIST(Run):
    """pytorch/examples mnist: Net, the program's train() and test() once per step (main()
    runs them once an epoch; here an epoch is one batch), StepLR(gamma=0.7) after each.
    Optimizer: the program's own, Adadelta(lr=1.0). Dropout: both layers p=0."""

    def __init__(self, lib, device):
        super().__init__(lib, device)
        self.losses = []
        F = Swap(lib.nn.functional, nll_loss=recording(lib.nn.functional.nll_loss, self.losses))
        self.mod = load("mnist", lib, F=F)
        x = self.rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
        y = self.rng.integers(0, 10, 4)
        self.x, self.y = self.t(x), self.t(y)
        self.model = self.mod.Net().to(device)
        self.model.dropout1.p = self.model.dropout2.p = 0.0
        self.models = {"net": self.model}
        self.opt = lib.optim.Adadelta(self.model.parameters(), lr=1.0)
        self.scheduler = lib.optim.lr_scheduler.StepLR(self.opt, step_size=1, gamma=0.7)
        self.args = types.SimpleNamespace(log_interval=1, dry_run=False)
        self.loader = Loader([(self.x, self.y)])
        self.epoch = 0

    def forward(self):
        out = self.model(self.x)
        return [out], self.lib.nn.functional.nll_loss(out, self.y)

    def step(self):
        self.epoch += 1
        del self.losses[:]
        self.mod.train(self.args, self.model, self.device, self.loader, self.opt, self.epoch)
        self.mod.test(self.model, self.device, self.loader)
        self.scheduler.step()
        train_loss, test_loss = self.losses        # nll_loss as train() and test() called it
        return [train_loss.item(), test_loss.item()]


class ResNet(Run):
    """akamaster/pytorch_resnet_cifar10: resnet20() (option A shortcuts: strided slices and
    channel zero-padding), trainer.py's SGD (lr=0.1, momentum=0.9, weight_decay=1e-4, its
    defaults) and training step; nn.CrossEntropyLoss as trainer.py's criterion. Inputs
    4x3x16x16 (the model pools over whatever size comes; CIFAR's 32x32 only costs more)."""

    def __init__(self, lib, device):
        super().__init__(lib, device)
        self.mod = load("resnet", lib)
        self.x = self.t(self.rng.standard_normal((4, 3, 16, 16)).astype(np.float32))
        self.y = self.t(self.rng.integers(0, 10, 4))
        self.model = self.mod.resnet20().to(device)
        self.models = {"model": self.model}
        self.criterion = lib.nn.CrossEntropyLoss()
        args = types.SimpleNamespace(lr=0.1, momentum=0.9, weight_decay=1e-4)
        self.opt = self.mod.make_optimizer(self.model, args)

    def forward(self):
        out = self.model(self.x)
        return [out], self.criterion(out, self.y)

    def step(self):
        return [self.train(self.x, self.y).item()]

    def train(self, x, y):
        return self.mod.train_step(self.model, self.criterion, self.opt, x, y)[1]

    def train_args(self):
        return self.x, self.y


class VAE(Run):
    """pytorch/examples vae: VAE, its Adam(lr=1e-3), loss_function (summed BCE + KL) and
    train(epoch) run once per step on a one-batch loader of 4 MNIST-sized images."""

    def __init__(self, lib, device):
        super().__init__(lib, device)
        noise = Noise(lib, 1)
        args = types.SimpleNamespace(log_interval=1, batch_size=4)
        self.mod = load("vae", lib, torch=Swap(lib, randn_like=noise.randn_like),
                        device=device, args=args)
        x = (self.rng.random((4, 1, 28, 28)) * 0.9 + 0.05).astype(np.float32)
        self.x = self.t(x)
        self.mod.train_loader = Loader([(self.x, self.t(np.zeros(4, np.int64)))])
        self.loss_function = self.mod.loss_function
        self.losses = []
        self.mod.loss_function = recording(self.loss_function, self.losses)
        self.models = {"model": self.mod.model}
        self.epoch = 0

    def forward(self):
        recon, mu, logvar = self.mod.model(self.x)
        return [recon, mu, logvar], self.loss_function(recon, self.x, mu, logvar)

    def step(self):
        self.epoch += 1
        self.mod.train(self.epoch)
        return [self.losses[-1].item()]


class DCGAN(Run):
    """pytorch/examples dcgan: Generator and Discriminator for 64x64 images with small
    widths (nz=8, ngf=ndf=4, nc=3), the program's weights_init, BCELoss, Adam(lr=2e-4,
    beta1=0.5) pair and training step (D on real and fake, then G), batch 4."""

    def __init__(self, lib, device):
        super().__init__(lib, device)
        noise = Noise(lib, 2)
        opt = types.SimpleNamespace(ngpu=1, nz=8, ngf=4, ndf=4, netG="", netD="", lr=0.0002,
                                    beta1=0.5, batchSize=4)
        self.mod = load("dcgan", lib, torch=Swap(lib, randn=noise.randn), opt=opt,
                        device=device, nc=3)
        self.x = self.t(np.tanh(self.rng.standard_normal((4, 3, 64, 64))).astype(np.float32))
        self.models = {"netG": self.mod.netG, "netD": self.mod.netD}

    def forward(self):
        fake = self.mod.netG(self.mod.fixed_noise)
        out = self.mod.netD(self.x)
        ones = self.lib.ones(4, device=self.device)
        return [fake, out], self.mod.criterion(out, ones)

    def step(self):
        errD, errG = self.mod.train_step((self.x,))
        return [errD.item(), errG.item()]


NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia"]


def char_dataset(words=NAMES):
    """makemore's CharDataset encoding of a few names (the first of its names.txt), in numpy:
    x = <START>, chars...; y = chars..., <STOP>, then -1 (masked in the loss)."""
    chars = sorted(set("".join(words)))
    stoi = {ch: i + 1 for i, ch in enumerate(chars)}
    L = max(len(w) for w in words)
    x = np.zeros((len(words), L + 1), np.int64)
    y = np.zeros((len(words), L + 1), np.int64)
    for i, w in enumerate(words):
        ix = [stoi[c] for c in w]
        x[i, 1:1 + len(ix)] = ix
        y[i, :len(ix)] = ix
        y[i, len(ix) + 1:] = -1
    return x, y, len(chars) + 1, L + 1


class Makemore(Run):
    """karpathy/makemore: one of its six models (n_layer=2, n_head=2, n_embd=n_embd2=16),
    its AdamW(betas=(0.9, 0.99), eps=1e-8) with --learning-rate 1e-2 --weight-decay 0.01,
    and its training step, on 8 names encoded as its CharDataset does."""
    kind = None

    def __init__(self, lib, device):
        super().__init__(lib, device)
        self.mod = load("makemore", lib)
        x, y, vocab_size, block_size = char_dataset()
        self.X, self.Y = self.t(x), self.t(y)
        config = self.mod.ModelConfig(vocab_size=vocab_size, block_size=block_size, n_layer=2,
                                      n_head=2, n_embd=16, n_embd2=16)
        m = self.mod
        self.model = {"transformer": lambda: m.Transformer(config),
                      "bigram": lambda: m.Bigram(config), "mlp": lambda: m.MLP(config),
                      "rnn": lambda: m.RNN(config, cell_type="rnn"),
                      "gru": lambda: m.RNN(config, cell_type="gru"),
                      "bow": lambda: m.BoW(config)}[self.kind]().to(device)
        self.models = {"model": self.model}
        args = types.SimpleNamespace(learning_rate=1e-2, weight_decay=0.01)
        self.opt = self.mod.make_optimizer(self.model, args)

    def forward(self):
        logits, loss = self.model(self.X, self.Y)
        return [logits], loss

    def step(self):
        return [self.train(self.X, self.Y).item()]

    def train(self, X, Y):
        return self.mod.train_step(self.model, self.opt, X, Y)[1]

    def train_args(self):
        return self.X, self.Y


class NanoGPT(Run):
    """karpathy/nanoGPT: GPT (block_size=8, vocab_size=32, n_layer=2, n_head=2, n_embd=16,
    dropout=0.0, bias as given), its configure_optimizers (AdamW, weight decay on the 2-D
    weights only) with train.py's weight_decay=0.1, betas=(0.9, 0.95) and learning rate
    1e-3 (config/train_shakespeare_char.py), and train.py's step without its GradScaler and
    autocast (no-ops on a CPU) and gradient clipping. Forward also checks the inference
    path (logits of the last position only, ``x[:, [-1], :]``)."""
    bias = True

    def __init__(self, lib, device):
        super().__init__(lib, device)
        self.mod = load("nanogpt", lib)
        x = self.rng.integers(0, 32, (4, 8))
        y = np.concatenate([x[:, 1:], self.rng.integers(0, 32, (4, 1))], 1)
        y[:, -2:][self.rng.random((4, 2)) < 0.5] = -1     # ignore_index=-1 positions
        self.X, self.Y = self.t(x), self.t(y)
        config = self.mod.GPTConfig(block_size=8, vocab_size=32, n_layer=2, n_head=2,
                                    n_embd=16, dropout=0.0, bias=self.bias)
        self.model = self.mod.GPT(config).to(device)
        self.models = {"model": self.model}
        self.opt = self.model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu")

    def forward(self):
        logits, loss = self.model(self.X, self.Y)
        last, none = self.model(self.X)
        assert none is None
        return [logits, last], loss

    def step(self):
        # train.py's order is forward, backward, step, zero_grad(set_to_none=True); zeroing
        # first instead leaves the gradients to compare after the step (same updates)
        return [self.train(self.X, self.Y).item()]

    def train(self, X, Y):
        self.opt.zero_grad(set_to_none=True)
        logits, loss = self.model(X, Y)
        loss.backward()
        self.opt.step()
        return loss

    def train_args(self):
        return self.X, self.Y


def _variant(cls, name, **attrs):
    return type(f"{cls.__name__}_{name}", (cls,), attrs)


RUNS = {
    "mnist": MNIST,
    "resnet20": ResNet,
    "vae": VAE,
    "dcgan": DCGAN,
    **{f"makemore_{k}": _variant(Makemore, k, kind=k)
       for k in ("transformer", "mlp", "rnn", "gru", "bow", "bigram")},
    "nanogpt": NanoGPT,
    "nanogpt_nobias": _variant(NanoGPT, "nobias", bias=False),
}


# --- comparing two runs ---------------------------------------------------------------------
def _np(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def rel_err(a, b):
    """max |a - b| relative to the reference's scale, max(1, max |b|)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.abs(a - b).max() / max(1.0, float(np.abs(b).max())))


def copy_state(src, dst):
    """Load every model of run ``src`` into the same model of run ``dst``. Keys only
    ``dst`` has (nanoGPT's causal-mask buffer, made where the library has no
    scaled_dot_product_attention) keep ``dst``'s own values."""
    for name, sm in src.models.items():
        dm = dst.models[name]
        sd = dict(dm.state_dict())
        for k, v in sm.state_dict().items():
            sd[k] = dst.lib.tensor(v.detach().numpy(), device=dst.device)
        dm.load_state_dict(sd)


def compare(run, ref, steps=None):
    """Copy ``ref``'s weights into ``run``, train both, and return the largest relative
    differences (``rel_err``) between them: ``outputs`` and ``loss`` of the forward pass,
    ``grads`` (per parameter) after the first training step, ``loss_steps`` over every
    step's losses (also given as ``losses`` and ``ref_losses``), and after the last step
    ``buffers`` (BatchNorm's running statistics) and ``params``. Parameters can drift apart
    more than the losses: where a gradient is zero up to rounding (the key bias of
    attention: softmax ignores a constant added to a row) Adam turns each library's
    rounding noise into steps of the learning rate's size."""
    steps = steps or run.steps
    copy_state(ref, run)
    rep = {}
    outs, loss = run.forward()
    routs, rloss = ref.forward()
    rep["outputs"] = max(rel_err(_np(a), _np(b)) for a, b in zip(outs, routs)) \
        if len(outs) == len(routs) else float("inf")
    rep["loss"] = rel_err(loss.item(), rloss.item())
    rep["losses"], rep["ref_losses"], rep["grads"], rep["no_grad"] = [], [], {}, []
    for i in range(steps):
        got, want = run.step(), ref.step()
        rep["losses"].append(got)
        rep["ref_losses"].append(want)
        if i == 0:
            for name, rm in ref.models.items():
                params = dict(run.models[name].named_parameters())
                for k, p in rm.named_parameters():
                    q = params.get(k)
                    if q is None or (p.grad is None) != (q.grad is None):
                        rep["grads"][f"{name}.{k}"] = float("inf")
                    elif p.grad is None:
                        rep["grads"][f"{name}.{k}"] = 0.0      # unused by both
                        rep["no_grad"].append(f"{name}.{k}")
                    else:
                        rep["grads"][f"{name}.{k}"] = rel_err(_np(q.grad), _np(p.grad))
    rep["loss_steps"] = max(rel_err(a, b) for g, w in zip(rep["losses"], rep["ref_losses"])
                            for a, b in zip(g, w))
    rep["params"] = rep["buffers"] = 0.0
    for name, rm in ref.models.items():
        mp, mb = dict(run.models[name].named_parameters()), dict(run.models[name].named_buffers())
        for k, v in rm.named_parameters():
            rep["params"] = max(rep["params"], rel_err(_np(mp[k]), _np(v)))
        for k, v in rm.named_buffers():
            rep["buffers"] = max(rep["buffers"], rel_err(_np(mb[k]), _np(v)))
    return rep
