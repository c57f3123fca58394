#!/usr/bin/env python3
"""A stand-in for bench_w4a8 in the runners' tests (tools/qqq-tune and
bench/gpu/run_table.sh): --list-shapes; --tune runs that write a tuning
part and CSV rows like the harness's (tile_m = the bucket's M up to 64,
split_k = 2 for shape b, token tiles first for shape b at M = 256); benchmark runs (--max-m / --bucket) that write
CSV rows for their M. FAKE_FAIL=S fails the run of shape S, or a benchmark
run whose --bucket is S, after writing part of its CSV. A --tune run with
--configs (the driver's incumbents) prints how many entries it was given."""
import json
import os
import sys

SHAPES = {"a": (256, 512), "b": (512, 256)}
MS = [1, 16, 32, 64, 128, 256, 512, 1024, 4096]


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


if "--list-shapes" in sys.argv:
    for name, (n, k) in SHAPES.items():
        print(name, n, k)
    sys.exit(0)
gpu = os.environ.get("FAKE_GPU", "Test GPU")
groups = [int(arg("--group"))] if "--group" in sys.argv else [0, 128]
bucket_arg = arg("--bucket")
buckets = [int(b) for b in (bucket_arg or "16,32,64,128,256,512,1024,0").split(",")]
if "--tune" not in sys.argv:  # one part of the benchmark table
    ms = ([b or 4096 for b in buckets] if bucket_arg
          else [m for m in MS if m <= int(arg("--max-m", "4096"))])
    with open(arg("--csv"), "w") as csv:
        csv.write("gpu,shape,N,K,group,M,config,qqq_us\n")
        if os.environ.get("FAKE_FAIL") == bucket_arg:
            sys.exit(f"bucket {bucket_arg}: 1 WRONG")
        for shape, (n, k) in SHAPES.items():
            for g in groups:
                for m in ms:
                    csv.write(f'"{gpu}",{shape},{n},{k},{g},{m},cfg,1.00\n')
    print(f"configs {arg('--configs')}")
    sys.exit(0)
shape = arg("--shape")
n, k = SHAPES[shape] if shape in SHAPES else map(int, shape.split("x"))
if "--configs" in sys.argv:  # a re-search's incumbents (the table's entries)
    with open(arg("--configs")) as f:
        given = [line for line in f if line.strip() and line[0] != "#"]
    print(f"given entries: {len(given)}, first: {given[0].strip()}")
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
            "swap_ab": True, "time_us": 1.0,
            **({"token_tiles_first": True} if shape == "b" and b == 256 else {})}
           for g in groups for b in buckets]
if "--candidates-csv" in sys.argv:  # the default and the chosen one
    with open(arg("--candidates-csv"), "w") as f:
        f.write("gpu,N,K,group,max_m,tile_m,tile_n,tile_k,stages,warps,"
                "split_k,stream_k,token_tiles_first,default,status,us\n")
        for e in entries:
            for default, split, us in ((1, 1, 1.5), (0, e["split_k"], 1.0)):
                f.write(f'"{gpu}",{n},{k},{e["group"]},{e["max_m"]},'
                        f'{e["tile_m"]},64,256,4,4,{split},0,0,{default},ok,'
                        f'{us}\n')
out = arg("--tuning-out")
with open(out + ".tmp", "w") as f:
    json.dump({"format": "qqq-tuning-v1", "gpu": gpu, "entries": entries}, f)
os.replace(out + ".tmp", out)
print(f"wrote {out} ({len(entries)} entries)")
