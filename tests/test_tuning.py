"""Kernel choice per GPU (webdl/backends/tuning.py) on CPython: which variant is kept, when
it measures, what it keeps and reloads. The browser side (real timings on WebGL, the
kept choices in IndexedDB) is in test_browser_tuning.py."""
import json

import pytest

from webdl.backends.tuning import KernelChoice, bucket, software

FAMILIES = {"matmul": ("naive", "packed"), "conv2d": ("direct", "packed4", "packed8")}
GPU = "ANGLE (NVIDIA, Vulkan 1.3.0 (NVIDIA H100 80GB HBM3), NVIDIA)"
SOFT = "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)"


class Timed:
    """A clock and a kernel: each run of a variant advances the clock by its cost, and
    each wait for the GPU by ``wait`` (2**-9 s, about 2 ms: binary fractions keep the sums
    exact)."""

    def __init__(self, cost, wait=2 ** -9):
        self.cost, self.wait, self.now, self.runs = cost, wait, 0.0, []

    def clock(self):
        return self.now

    def run(self, v):
        self.runs.append(v)
        self.now += self.cost[v]

    def sync(self):
        self.now += self.wait


def make(cost, renderer=GPU, **kw):
    t = Timed(cost)
    saved = {}
    kc = KernelChoice(FAMILIES, renderer, clock=t.clock,
                      save=lambda r, text: saved.update({r: json.loads(text)}), **kw)
    return kc, t, saved


def test_measures_once_keeps_the_fastest_and_saves_it():
    kc, t, saved = make({"naive": 2 ** -8, "packed": 2 ** -11})
    v = kc.choose("matmul", "17k7", ("naive", "packed"), "naive", t.run, t.sync)
    assert v == "packed"
    # the built-in variant first: a warm run, one timed, 8 timed (what one more adds: 3.9
    # ms, so batches of k = 2), then each variant: a warm run (not the built-in one, warm
    # already), REPS single runs and REPS batches of k
    assert t.runs == ["naive"] * (1 + 1 + 8 + 3 * kc.REPS) + ["packed"] * (1 + 3 * kc.REPS)
    # the wait for the GPU is not counted
    assert kc.timings["matmul:17k7"] == {"naive": 3.906, "packed": 0.488}
    assert saved == {GPU: {"matmul:17k7": "packed"}}
    t.runs.clear()
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "naive", t.run, t.sync) == "packed"
    assert t.runs == []         # known: not measured again
    assert kc.report()["chosen"] == {"matmul:17k7": "packed"}


def test_fast_variants_are_timed_in_batches():
    kc, t, _ = make({"naive": 2 ** -8, "packed": 2 ** -11})
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "packed", t.run, t.sync) == "packed"
    # 0.49 ms a run: batches of 8, the same for every variant
    assert t.runs == ["packed"] * (1 + 1 + 8 + 9 * kc.REPS) + ["naive"] * (1 + 9 * kc.REPS)
    assert kc.timings["matmul:17k7"] == {"naive": 3.906, "packed": 0.488}


def test_slow_variants_are_timed_once():
    kc, t, _ = make({"naive": 0.5, "packed": 0.03})
    assert kc.choose("matmul", "25k9", ("naive", "packed"), "packed", t.run, t.sync) == "packed"
    assert t.runs == ["packed", "packed", "naive", "naive"]


def test_the_built_in_choice_stays_unless_clearly_slower():
    kc, t, _ = make({"naive": 0.00104, "packed": 0.001})     # 4% apart: noise
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "naive", t.run, t.sync) == "naive"
    kc, t, _ = make({"naive": 0.0012, "packed": 0.001})      # 20%
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "naive", t.run, t.sync) == "packed"


def test_kept_choices_load_for_their_renderer_only():
    stored = json.dumps({GPU: {"conv2d:20t9s1w5": "direct"}, "other": {"matmul:9k3": "naive"}})
    kc, t, _ = make({"direct": 1, "packed4": 0.5, "packed8": 1}, stored=stored)
    assert kc.choose("conv2d", "20t9s1w5", ("direct", "packed4", "packed8"), "packed8",
                     t.run, t.sync) == "direct"
    assert t.runs == []
    assert "matmul:9k3" not in kc.chosen
    # a kept variant this shape can't run is measured again
    assert kc.choose("conv2d", "20t9s1w5", ("packed4", "packed8"), "packed8", t.run,
                     t.sync) == "packed4"
    # unreadable storage: nothing loaded, no error
    assert make({}, stored="{not json")[0].chosen == {}


def test_software_renderers_and_records_keep_the_built_in_choice():
    kc, t, saved = make({"naive": 1.0, "packed": 0.001}, renderer=SOFT)
    assert not kc.measure
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "naive", t.run, t.sync) == "naive"
    kc, t, saved = make({"naive": 1.0, "packed": 0.001})
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "naive", t.run, t.sync,
                     may_measure=False) == "naive"
    assert t.runs == [] and saved == {} and kc.chosen == {}
    kc, t, _ = make({"naive": 1.0, "packed": 0.001}, renderer=SOFT, mode="measure")
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "naive", t.run, t.sync) == "packed"
    kc, t, _ = make({"naive": 1.0, "packed": 0.001}, mode="default")
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "naive", t.run, t.sync) == "naive"
    # a backend that measures only when asked (WebGPU's)
    assert not make({}, measures=False)[0].measure
    assert make({}, measures=False, mode="measure")[0].measure


def test_forced_variants():
    kc, t, _ = make({"naive": 0.001, "packed": 1.0}, mode="matmul=packed, conv2d=direct")
    assert kc.forced == {"matmul": "packed", "conv2d": "direct"}
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "naive", t.run, t.sync) == "packed"
    # where the forced variant can't run this shape: the built-in one
    assert kc.choose("conv2d", "9t9s1w2", ("packed4",), "packed4", t.run, t.sync) == "packed4"
    assert t.runs == []
    kc.force("matmul", None)
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "packed", t.run, t.sync) == "naive"
    with pytest.raises(ValueError, match="'tiled' is not a variant of matmul"):
        kc.force("matmul", "tiled")
    with pytest.raises(ValueError, match="no kernel family 'softmax'"):
        kc.force("softmax", "x")
    with pytest.raises(ValueError, match="expected 'measure', 'default' or"):
        make({}, mode="matmul")


def test_a_failing_store_keeps_the_choice_in_memory():
    def full(r, text):
        raise RuntimeError("QuotaExceededError")
    t = Timed({"naive": 0.002, "packed": 0.001})
    kc = KernelChoice(FAMILIES, GPU, save=full, clock=t.clock)
    assert kc.choose("matmul", "17k7", ("naive", "packed"), "naive", t.run, t.sync) == "packed"
    assert kc.chosen == {"matmul:17k7": "packed"}


def test_helpers():
    assert [bucket(n) for n in (0, 1, 2, 3, 4, 1 << 20)] == [1, 1, 2, 2, 3, 21]
    assert [bucket(n, 2) for n in (1, 2, 3, 4, 7, 8, 16, 1 << 20)] == [1, 1, 1, 2, 2, 2, 3, 11]
    assert software(SOFT) and software("llvmpipe (LLVM 15.0.7, 256 bits)")
    assert not software(GPU) and not software(None)


class Jittery(Timed):
    """A GPU whose wait after a single run is long and after a batch short (the H100's GL
    driver at times): the difference of batches says 0 for ``slow``."""

    def __init__(self, cost, slow):
        super().__init__(cost)
        self.slow, self.pending = slow, 0

    def run(self, v):
        super().run(v)
        self.pending += 1

    def sync(self):
        # a lone run of `slow` waits as long as its batch: (tk - t1) comes out <= 0
        if self.pending == 1 and self.runs[-1] == self.slow:
            self.now += self.cost[self.slow] * 8
        self.now += self.wait
        self.pending = 0


def test_a_variant_measured_at_zero_does_not_win():
    """On the H100's GL driver a direct convolution of 7.5 ms a run measured 0 (a batch no
    slower than one run) and replaced the packed kernel: esrgan-medium 79 -> 137 ms. A
    variant whose batch is slower than the built-in one's can't be chosen, and the fastest
    of the others is."""
    cost = {"direct": 2 ** -7, "packed4": 2 ** -11, "packed8": 2 ** -10}
    t = Jittery(cost, "direct")
    kc = KernelChoice(FAMILIES, GPU, clock=t.clock)
    v = kc.choose("conv2d", "28t1s1w8", ("direct", "packed4", "packed8"), "packed8", t.run,
                  t.sync)
    assert kc.timings["conv2d:28t1s1w8"]["direct"] == 0.0     # the failed difference
    assert v == "packed4"                                      # 2x faster than packed8
    t = Jittery({"direct": 2 ** -7, "packed8": 2 ** -10}, "direct")
    kc = KernelChoice(FAMILIES, GPU, clock=t.clock)
    assert kc.choose("conv2d", "28t1s1w8", ("direct", "packed8"), "packed8", t.run,
                     t.sync) == "packed8"
