#!/usr/bin/env python3
"""A stand-in for bench_w4a8 in qqq-tune's driver test: --list-shapes, and
--tune runs that write a tuning part and CSV rows like the harness's
(tile_m = the bucket's M up to 64, split_k = 2 for shape b). FAKE_FAIL=S
makes the run of shape S fail after writing part of its CSV."""
import json
import os
import sys

SHAPES = {"a": (256, 512), "b": (512, 256)}


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


if "--list-shapes" in sys.argv:
    for name, (n, k) in SHAPES.items():
        print(name, n, k)
    sys.exit(0)
shape = arg("--shape")
n, k = SHAPES[shape] if shape in SHAPES else map(int, shape.split("x"))
buckets = [int(b) for b in arg("--bucket", "16,32,64,128,256,512,1024,0").split(",")]
groups = [int(arg("--group"))] if "--group" in sys.argv else [0, 128]
gpu = os.environ.get("FAKE_GPU", "Test GPU")
with open(arg("--csv"), "w") as csv:
    csv.write("gpu,shape,N,K,group,M,config,qqq_us\n")
    if os.environ.get("FAKE_FAIL") == shape:
        print(f"no correct configuration for N={n} K={k} G=0 bucket {buckets[0]}")
        sys.exit(1)
    for g in groups:
        for b in sorted(buckets, key=lambda b: b or 4096):
            csv.write(f'"{gpu}",{shape},{n},{k},{g},{b or 4096},cfg,1.00\n')
entries = [{"arch": "sm_90a", "n": n, "k": k, "group": g, "max_m": b,
            "tile_m": min(b or 4096, 64), "tile_n": 64, "tile_k": 256,
            "stages": 4, "warps": 4, "split_k": 2 if shape == "b" else 1,
            "swap_ab": True, "time_us": 1.0}
           for g in groups for b in buckets]
out = arg("--tuning-out")
with open(out + ".tmp", "w") as f:
    json.dump({"format": "qqq-tuning-v1", "gpu": gpu, "entries": entries}, f)
os.replace(out + ".tmp", out)
print(f"wrote {out} ({len(entries)} entries)")
