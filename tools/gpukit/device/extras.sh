#!/bin/bash
# gpukit, GPU-machine side: one round of extra cases only (an A/B in one page), then per case
# its ratio, medians, draws, profile and kernel times (webdl's "W", TensorFlow.js's "T").
#   bash .gpu/kit/extras.sh CASES.json [query]      (query: default device=webgpu&kernels=default)
# CASES.json: GPU_EXTRA's list (README.md), e.g. [{"id": "x gen", "kind": "generate", "args":
# {"compiled": 1}, "reps": 3, "warmup": 1, "profile": true, "kernels": true}]; backend knobs as
# "args": {"backend": {"conv_few": 0}} (numbers, not true/false: they become Python kwargs),
# kernel variants forced as "args": {"backend": {"kernels": {"conv2d": "t32x8"}}}. Keep the
# file under .gpu/kit/ (carried, and not committed; pack.sh re-makes that folder, so write
# it after packing): bash .gpu/kit/extras.sh .gpu/kit/x.json
# Knobs: GPU_ROUNDS (1), GPU_ONLY ("x ": the extras alone; "" for the whole bench too), TAIL (40
# lines of the driver's output), GPU_RUN_TIMEOUT (400 s).
KIT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ -f "$1" ] || { echo "extras.sh: no such file: $1" >&2; exit 2; }
export GPU_BACKENDS=${GPU_BACKENDS:-vulkan} GPU_QUERY="${2:-device=webgpu&kernels=default}"
export GPU_EXTRA_FLAGS="${GPU_EXTRA_FLAGS:---enable-unsafe-webgpu --disable-gpu-compositing --enable-webgpu-developer-features}"
export GPU_ROUNDS=${GPU_ROUNDS:-1} GPU_ONLY="${GPU_ONLY-x }" GPU_RUN_TIMEOUT=${GPU_RUN_TIMEOUT:-400}
GPU_EXTRA="$(cat "$1")" bash "$KIT/run.sh" | tail -"${TAIL:-40}"
python3 - <<'PY'
import json, os
out = os.path.join(os.environ.get("OUT") or "gpukit-out", os.environ.get("GPU_OUT_SUB", ""))
d = json.load(open(os.path.join(out, "results.json")))
for run in d["runs"]:
    print(run.get("clocks"))
    for r in run["rows"]:
        w, t = r.get("webdl") or {}, r.get("tfjs") or {}
        print(r["id"], round(r.get("ratio") or 0, 2), w.get("median"), t.get("median"),
              "draws", r.get("draws"))
        if r.get("profile"):
            print("   profile", r["profile"])
        for key, tag in (("kernels", "W"), ("tfKernels", "T")):
            ks = r.get(key) or []
            if isinstance(ks, list) and ks:
                print(f"   {tag} total {sum(k[2] for k in ks):.3f} ms:",
                      "; ".join(f"{k[0]} {k[1]} {k[2]:.3f}" for k in ks))
PY
