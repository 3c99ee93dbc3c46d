"""Kernel choice per GPU.

Where a kernel family has variants whose speed depends on the GPU -- WebGL's matmul (one
naive draw, or the packed kernel's passes), its convolution (the packed kernel with 2, 4 or
8 output columns per fragment, one per render target, or the direct kernel) -- the backend
asks ``KernelChoice.choose`` which to run. The first time a *shape class* (a key the kernel
makes from the sizes that matter, coarsely bucketed) is seen on a renderer, each variant is
run on the real operands and timed, and the fastest is kept: in memory, and in webdl's
worker also in the browser's storage (IndexedDB, keyed by the renderer string), so that a
later page on the same GPU does not measure again.

Modes (``webdlConfig.kernels``, the page's ``?kernels=``):

- ``measure``: as above (the default on a hardware WebGL renderer; on WebGPU only when
  asked: on the H100 the first two measuring methods chose worse variants than the built-in
  ones for esrgan-slim, and the present one, measured there on 2026-11-28, was no better
  than them: esrgan-slim x2 128 / 256 and medium 1.08 / 1.10 / 0.92 against TensorFlow.js,
  built in 1.12 / 0.93 / 0.89);
- ``default``: the built-in choices, which were measured on SwiftShader when the kernels
  were written (the default on a software renderer, so its results don't move and the test
  suite's draw counts are fixed);
- ``family=variant,...``: those families forced (tests check each variant this way); the
  other families as on a renderer of that kind.

A measurement is bounded: operands past a family's size window keep the built-in choice
(their kernels were written for them); each variant is timed by what one more run adds to
a batch of runs between syncs (one run each where the built-in one takes longer than
``SLOW_S``), and another variant must beat the built-in one by ``MARGIN``, with a batch
that is faster too, to replace it.
``webdl.backend_info()`` lists what was chosen and the times measured.
"""
import json
import time


def bucket(n, step=1):
    """The class of a positive count: its bit length (a power of two a class), divided by
    ``step`` (2: a power of four a class)."""
    return (max(int(n), 1).bit_length() + step - 1) // step


def software(renderer):
    """Whether a renderer string names a software rasteriser (the names the bench's browser
    helper also knows: tools/webdl_tools/browser.py, which does not import webdl)."""
    r = (renderer or "").lower()
    return any(s in r for s in ("swiftshader", "llvmpipe", "softpipe", "software",
                                "microsoft basic"))


class KernelChoice:
    REPS = 3            # timed batches of each size, each variant; the fastest counts
    SLOW_S = 0.02       # where the built-in variant's run takes longer, each is timed once
    BATCH_S, BATCH_MAX = 0.004, 64      # the runs of a batch (see _measure)
    MARGIN = 0.1        # another variant replaces the built-in one if this much faster

    def __init__(self, families, renderer, mode=None, stored=None, save=None,
                 clock=time.perf_counter, measures=True):
        """``families``: {family: its variants}; ``renderer``: the key; ``mode``: see the
        module (None: ``measure`` on a hardware renderer where ``measures``, else
        ``default``); ``stored``: the JSON text of {renderer: {class: variant}} the host
        kept; ``save(renderer, json_text)``: keeps this renderer's choices (None: memory
        only)."""
        self.families = families
        self.renderer = renderer or "?"
        self.forced = {}
        mode = (mode or "").strip()
        if mode and mode not in ("measure", "default"):
            for part in mode.split(","):
                family, sep, variant = part.partition("=")
                if not sep or not family.strip() or not variant.strip():
                    raise ValueError(f"kernels={mode!r}: expected 'measure', 'default' or "
                                     "'family=variant,...' (e.g. 'matmul=naive')")
                self.force(family.strip(), variant.strip())
            mode = ""
        if not mode:
            mode = "measure" if measures and not software(renderer) else "default"
        self.measure = mode == "measure"
        self.chosen = {}
        self.timings = {}       # class -> {variant: ms}, for what this session measured
        self.batches = {}       # class -> {variant: ms of its batch and sync} (see choose)
        self._save = save
        self._clock = clock
        self.measuring = False  # while variants are timed (kernels skip their caches)
        if stored and self.measure:
            try:
                mine = json.loads(stored).get(self.renderer, {})
            except (ValueError, AttributeError):
                mine = {}
            if isinstance(mine, dict):
                self.chosen.update({k: v for k, v in mine.items() if isinstance(v, str)})

    def force(self, family, variant=None):
        """Run ``variant`` for every shape of ``family`` that it can run (None: choose
        again)."""
        if family not in self.families:
            raise ValueError(f"kernels: no kernel family '{family}' (families: "
                             f"{', '.join(self.families)})")
        if variant is not None and variant not in self.families[family]:
            raise ValueError(f"kernels: '{variant}' is not a variant of {family} (its "
                             f"variants: {', '.join(self.families[family])})")
        if variant is None:
            self.forced.pop(family, None)
        else:
            self.forced[family] = variant

    def choose(self, family, cls, variants, default, run, sync, may_measure=True):
        """The variant of ``family`` to run for shape class ``cls`` (``variants``: those
        that can run it): forced, remembered, the built-in ``default`` (not measuring, or
        ``may_measure`` false: a shape outside the family's size window, a record being
        made), or measured now: ``run(variant)`` does a variant's work on the real operands
        (and returns its result) and ``sync()`` waits until the GPU has done it."""
        forced = self.forced.get(family)
        if forced is not None:      # where it can't run this shape: the built-in choice
            return forced if forced in variants else default
        key = f"{family}:{cls}"
        got = self.chosen.get(key)
        if got in variants:
            return got
        if not self.measure or not may_measure or len(variants) < 2:
            return default
        self.measuring = True
        try:
            times, batches = self._measure(variants, default, run, sync)
        finally:
            self.measuring = False
        # a variant must beat the built-in one by the margin in what one run adds, and its
        # batch as sent must be faster too: where the difference of batches failed (a time
        # of 0: a batch of k no slower than one run), the batches still compare
        choice = min((v for v in times if batches[v] < batches[default]), key=times.get,
                     default=default)
        if times[default] <= times[choice] * (1 + self.MARGIN):
            choice = default
        self.chosen[key] = choice
        self.timings[key] = {v: round(t * 1e3, 3) for v, t in times.items()}
        self.batches[key] = {v: round(t * 1e3, 3) for v, t in batches.items()}
        if self._save is not None:
            try:
                self._save(self.renderer, json.dumps(self.chosen))
            except Exception:  # noqa: BLE001 - storage full or gone: the choice stays in memory
                pass
        return choice

    def _measure(self, variants, default, run, sync):
        """({variant: seconds per run}, {variant: seconds of its batch}): what one more
        run adds to a stream of runs sent back to back, host and GPU together -- (time of k
        runs and a sync - time of one run and a sync) / (k - 1), the fastest of REPS -- and
        the time of the k runs and the sync. The difference takes off the wait for the GPU,
        which on the H100 (0.5-3 ms on WebGPU, more after real work than idle) would
        otherwise swamp a kernel of microseconds; where that wait jitters it can come out at
        0 (the H100's GL driver: a direct convolution of 7.5 ms a run measured 0 and was
        chosen, esrgan-medium x2 128 went from 79 to 137 ms), which the batch times catch.
        k is the same for every variant: as many runs of the built-in one as take about
        BATCH_S."""
        sync()              # the work sent before: done
        self._time(run, default, 1, sync)       # compiled and warm
        one = self._time(run, default, 1, sync)
        if one > self.SLOW_S:      # slow kernels (a software renderer): one run each
            times = {default: one}
            for v in variants:
                if v != default:
                    self._time(run, v, 1, sync)
                    times[v] = self._time(run, v, 1, sync)
            return times, times
        per = max((self._time(run, default, 8, sync) - one) / 7, 1e-6)
        k = max(2, min(self.BATCH_MAX, int(self.BATCH_S / per)))
        times, batches = {}, {}
        for v in [default] + [v for v in variants if v != default]:
            if v != default:
                self._time(run, v, 1, sync)
            t1 = min(self._time(run, v, 1, sync) for _ in range(self.REPS))
            tk = batches[v] = min(self._time(run, v, k, sync) for _ in range(self.REPS))
            times[v] = max(tk - t1, 0.0) / (k - 1)
        return times, batches

    def _time(self, run, v, k, sync):
        """Seconds for ``k`` runs of variant ``v`` and a sync. The last run's result lives
        until the sync: WebGL's waits by reading the last texture drawn."""
        t0 = self._clock()
        for _ in range(k):
            out = run(v)
        sync()
        t = self._clock() - t0
        del out
        return t

    def report(self):
        """What ``backend_info()`` shows: the mode, forced families, the choices and the
        times this session measured (ms per variant; ``batches``: ms of each variant's
        batch and sync)."""
        return {"mode": "measure" if self.measure else "default", "forced": dict(self.forced),
                "chosen": dict(self.chosen), "measured": dict(self.timings),
                "batches": dict(self.batches)}
