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

- ``measure``: as above (the default on a hardware renderer);
- ``default``: the built-in choices, which were measured on SwiftShader when the kernels
  were written (the default on a software renderer, so its results don't move and the test
  suite's draw counts are fixed);
- ``family=variant,...``: those families forced (tests check each variant this way); the
  other families as on a renderer of that kind.

A measurement is bounded: operands past a family's size window keep the built-in choice
(their kernels were written for them), and a variant whose warm run takes longer than
``SLOW_S`` is timed once only. ``webdl.backend_info()`` lists what was chosen and the
times measured.
"""
import json
import math
import time


def bucket(n):
    """The power-of-two class of a positive count (its bit length)."""
    return max(int(n), 1).bit_length()


def software(renderer):
    """Whether a renderer string names a software rasteriser."""
    r = (renderer or "").lower()
    return any(s in r for s in ("swiftshader", "llvmpipe", "softpipe", "software"))


class KernelChoice:
    REPS = 3            # timed runs of each variant after a warm one; the fastest counts
    SLOW_S = 0.02       # a variant whose warm run takes longer is timed once

    def __init__(self, families, renderer, mode=None, stored=None, save=None,
                 clock=time.perf_counter):
        """``families``: {family: its variants}; ``renderer``: the key; ``mode``: see the
        module (None: by renderer); ``stored``: the JSON text of {renderer: {class: variant}}
        the host kept; ``save(renderer, json_text)``: keeps this renderer's choices (None:
        memory only)."""
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
        self.measure = (mode or ("default" if software(renderer) else "measure")) == "measure"
        self.chosen = {}
        self.timings = {}       # class -> {variant: ms}, for what this session measured
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
        (its result dropped) and ``sync()`` waits until the GPU has done it."""
        forced = self.forced.get(family)
        if forced is not None:      # where it can't run this shape: the built-in choice
            return forced if forced in variants else default
        key = f"{family}:{cls}"
        got = self.chosen.get(key)
        if got in variants:
            return got
        if not self.measure or not may_measure or len(variants) < 2:
            return default
        times = {}
        self.measuring = True
        try:
            for v in [default] + [v for v in variants if v != default]:
                run(v)      # compiled and warm
                sync()
                best = math.inf
                for _ in range(self.REPS):
                    t0 = self._clock()
                    run(v)
                    sync()
                    best = min(best, self._clock() - t0)
                    if best > self.SLOW_S:
                        break
                times[v] = best
        finally:
            self.measuring = False
        choice = min(times, key=times.get)
        self.chosen[key] = choice
        self.timings[key] = {v: round(t * 1e3, 3) for v, t in times.items()}
        if self._save is not None:
            try:
                self._save(self.renderer, json.dumps(self.chosen))
            except Exception:  # noqa: BLE001 - storage full or gone: the choice stays in memory
                pass
        return choice

    def report(self):
        """What ``backend_info()`` shows: the mode, forced families, the choices and the
        times this session measured (ms per variant)."""
        return {"mode": "measure" if self.measure else "default", "forced": dict(self.forced),
                "chosen": dict(self.chosen), "measured": dict(self.timings)}
