"""Reading the benchmark's CSV files (bench_w4a8 rows, qqq-tune candidate
lists) for its scripts, and their geometric mean: exits naming the file
when it cannot be read, and the file and line when a row lacks a column or
holds a bad number."""
import csv
import math
import sys


def read_rows(path, parse, what):
    """parse(row) for every row of the CSV at path (each row a dict by the
    header); a KeyError, ValueError or TypeError from parse exits with
    `PATH:LINE: not WHAT`."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit(f"{path}: {e.strerror}")
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            out.append(parse(row))
        except (KeyError, ValueError, TypeError):
            sys.exit(f"{path}:{line}: not {what}")
    return out


def read_qqq_times(path):
    """{(shape, group, M): (config, qqq_us)} of a bench_w4a8 CSV, for the
    scripts that compare runs row by row."""
    return dict(read_rows(
        path,
        lambda r: ((r["shape"], int(r["group"]), int(r["M"])),
                   (r["config"], float(r["qqq_us"]))),
        "a bench_w4a8 row (needs shape, group, M, config, qqq_us)"))


def gmean(values):
    values = list(values)
    return math.exp(sum(math.log(x) for x in values) / len(values))
