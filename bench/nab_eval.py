#!/usr/bin/python3
"""nab_eval.py -- run rarr's anomaly detector over the Numenta Anomaly Benchmark.

    bench/nab_eval.py --nab DIR [--out /tmp/rarr-nab] [--rule 'OPTIONS'] [--half A|B|split]

DIR is a checkout of the corpus (https://github.com/numenta/NAB); give it
explicitly, the built-in default is only where the authors keep one.

Each series is replayed from scratch as JSON events {"timestamp": ..., "value": ...}
with `--step` = the series' median interval, through

    metric v sum=value
    anomaly v window=<one step> direction=both OPTIONS

Every `firing` record marks one detection at the last row before the record's
time (the row whose step was just scored). The results are written as NAB
result files (timestamp,alert) and scored with the corpus's own scorer
(score.py, standard / reward_low_FP_rate / reward_low_FN_rate). Needs
Debian's python3 with numpy (apt-get install python3-numpy) and a build in
build/.

Halves, for tuning on one part of the corpus and reporting on the other: the
data files sorted by relative path, half A the even indices (0, 2, ...), half
B the odd ones. `--half A` (or B) runs and scores only that half; `--half
split` runs every file and scores A, B and all. A half is scored with the
scorer's --files, so its null, perfect and windows are that half's own.
"""
import argparse, csv, shutil, datetime as dt, glob, json, os, statistics, subprocess, sys, tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nab", default="../shared/nab")
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "rarr-nab"))
    ap.add_argument("--rule", default="", help="extra anomaly options, e.g. 'sensitivity=low'")
    ap.add_argument("--rarr", default="build/rarr")
    ap.add_argument("--half", choices=["A", "B", "split", "all"], default="all",
                    help="A/B: only the even/odd files by sorted path; split: all, scored per half")
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.nab, "data", "*", "*.csv")))
    rels = [os.path.relpath(p, os.path.join(a.nab, "data")) for p in files]
    halves = {"A": rels[0::2], "B": rels[1::2]}
    if a.half in halves:
        files = files[0 if a.half == "A" else 1::2]
    if os.path.isdir(a.out):
        shutil.rmtree(a.out)  # no stale results from an earlier run
    fired = 0
    for path in files:
        rel = os.path.relpath(path, os.path.join(a.nab, "data"))
        with open(path) as f:
            rows = [(dt.datetime.strptime(r["timestamp"], "%Y-%m-%d %H:%M:%S"), float(r["value"]))
                    for r in csv.DictReader(f)]
        gaps = [(b[0] - a_[0]).total_seconds() for a_, b in zip(rows, rows[1:])]
        step = max(1, int(statistics.median(g for g in gaps if g > 0)))
        lines = "".join(json.dumps({"timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": v}) + "\n"
                        for t, v in rows)
        with tempfile.NamedTemporaryFile("w", suffix=".rarr", delete=False) as rf:
            rf.write(f"metric v sum=value\nanomaly v window={step}s direction=both {a.rule}\n")
            rules = rf.name
        out = subprocess.run([a.rarr, "-q", "-f", "json", "--step", f"{step}s", "--lateness", "0s",
                              "-r", rules], input=lines, capture_output=True, text=True)
        os.unlink(rules)
        if out.returncode != 0:
            sys.exit(f"rarr failed on {rel}: {out.stderr}")
        res = os.path.join(a.out, rel)
        os.makedirs(os.path.dirname(res), exist_ok=True)
        with open(res, "w") as f:
            f.write("timestamp,alert\n")
            for l in out.stdout.splitlines():
                r = json.loads(l)
                if r["type"] == "anomaly" and r["state"] == "firing" and r["metric"] == "v":
                    # The record's time is the end of the scored step: mark the row before it.
                    t = dt.datetime.fromisoformat(r["time"].replace("Z", "")) - dt.timedelta(seconds=1)
                    f.write(f"{t.strftime('%Y-%m-%d %H:%M:%S')},1\n")
                    fired += 1
    print(f"{len(files)} series, {fired} firings; results in {a.out}", flush=True)
    score = ["/usr/bin/python3", os.path.join(a.nab, "score.py"), "--nab", a.nab,
             "--results", a.out, "--mode", "alert", "--snap", "prev"]
    for name in (["A", "B", "all"] if a.half == "split" else [a.half]):
        sel = [] if name == "all" else ["--files", ",".join(halves[name])]
        print(f"-- half {name}" if name != "all" else "-- all files", flush=True)
        subprocess.run(score + sel, check=True)


if __name__ == "__main__":
    main()
