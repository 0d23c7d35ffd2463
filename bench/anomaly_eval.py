#!/usr/bin/env python3
"""anomaly_eval.py -- replay generated seasonal traffic with injected incidents
through rarr's anomaly rules and report recall, detection delay and false alarms.

    bench/anomaly_eval.py [--seeds 1,2,3] [--rate 3000] [--season daily] [--weeks 3]

Each run: build/loggen makes WEEKS weeks of combined log (daily and weekly cycle,
weekend dip, sessions and Poisson noise, 2 % growth a week) with one incident of
each kind in the last week, on one metric each or on all traffic; rarr replays it with an `anomaly` rule per metric. A firing on
the incident's metric between its start and start + deadline is a hit (delay =
firing time - start); every other firing after the first week is a false alarm
(firings on metrics the incident drags along -- dashboard views in a login
outage -- are not counted either way). Needs a build in build/ and python3.
"""
import argparse, json, os, subprocess, sys, tempfile, datetime as dt

RULES = """
metric login_views     rarr=retention   request~'^GET /login\\b'
metric dashboard_views rarr=retention   request~'^GET /(dashboard|home)\\b'  status~'^2'
metric signups         rarr=activation  request~'^POST /signup\\b'  status~'^20[01]$'
metric marketing_views rarr=referral    request~'^GET /(pricing|features|blog|landing)\\b'  status~'^[23]'
anomaly login_views     window={w} season={s} sensitivity={sens}
anomaly dashboard_views window={w} season={s} sensitivity={sens}
anomaly signups         window={w} season={s} sensitivity={sens}
anomaly marketing_views window={w} season={s} sensitivity={sens}
"""
METRIC = {"login": "login_views", "dashboard": "dashboard_views", "signup": "signups",
          "marketing": "marketing_views", "all": "lines"}
# kind, metric, day offset in the last week, hour, duration, deadline (minutes)
INCIDENTS = [
    ("drop", "marketing", 0, 14, "1h", 5),
    ("drop", "login", 1, 11, "1h", 15),  # loggen keeps some login follow-ups: a 75 % drop
    ("half", "marketing", 2, 10, "3h", 60),
    ("half", "login", 3, 15, "3h", 60),
    ("spike", "signup", 4, 13, "30m", 15),
    ("spike", "marketing", 5, 16, "30m", 15),
    ("decline", "marketing", 6, 8, "8h", 480),  # by 30 % over 8 hours
    ("drop", "all", 6, 16, "1h", 15),           # the whole site: one "lines" record
]
SENS = "medium"
GROWTH = 2.0  # percent per week
START = dt.datetime(2026, 5, 4, tzinfo=dt.timezone.utc)  # a Monday


def ts(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def run(seed, rate, season, weeks, window, incidents):
    last = (weeks - 1) * 7
    args = ["build/loggen", "--seed", str(seed), "--rate", str(rate), "--duration", f"{weeks}w",
            "--growth", str(GROWTH)]
    for kind, metric, day, hour, dur, _ in incidents:
        args += ["--incident", f"{kind}:{last + day}d{hour}h:{dur}:{metric}"]
    with tempfile.NamedTemporaryFile("w", suffix=".rarr", delete=False) as f:
        f.write(RULES.format(w=window, s=season, sens=SENS))
        rules = f.name
    gen = subprocess.Popen(args, stdout=subprocess.PIPE)
    out = subprocess.run(["build/rarr", "-q", "--emit=all", "-r", rules], stdin=gen.stdout,
                         capture_output=True, text=True, check=True).stdout
    gen.wait()
    os.unlink(rules)
    recs = [json.loads(l) for l in out.splitlines()]
    per_min = {}
    for r in recs:
        if r["type"] == "metric":
            per_min[(r["metric"], r["time"])] = r["value"]
    return [f for f in recs if f["type"] == "anomaly" and f["state"] == "firing"], per_min


def volume(per_min, metric, t0):
    """Events per hour of 'metric' in the hour starting at t0, one week earlier."""
    t = t0 - dt.timedelta(days=7)
    return sum(per_min.get((metric, (t + dt.timedelta(minutes=m + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")),
                           0) for m in range(60))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--rate", type=int, default=3000)
    ap.add_argument("--season", default="daily")
    ap.add_argument("--weeks", type=int, default=3)
    ap.add_argument("--window", default="1h")
    ap.add_argument("--sensitivity", default="medium")
    ap.add_argument("--growth", type=float, default=2.0, help="traffic growth, percent a week")
    ap.add_argument("--clean", action="store_true", help="no incidents: false alarms only")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    global SENS, GROWTH
    SENS = a.sensitivity
    GROWTH = a.growth
    hits, delays, vols, fa, metric_weeks = {}, {}, {}, 0, 0
    for seed in [int(s) for s in a.seeds.split(",")]:
        incidents = [] if a.clean else INCIDENTS
        fir, per_min = run(seed, a.rate, a.season, a.weeks, a.window, incidents)
        last = START + dt.timedelta(days=(a.weeks - 1) * 7)
        windows = []
        for kind, metric, day, hour, dur, deadline in incidents:
            t0 = last + dt.timedelta(days=day, hours=hour)
            d = int(dur[:-1]) * (60 if dur.endswith("h") else 1)
            windows.append((kind, METRIC[metric], t0, t0 + dt.timedelta(minutes=d), deadline))
        used = set()
        for kind, metric, t0, t1, deadline in windows:
            key = f"{kind} {metric}"
            hits.setdefault(key, [0, 0])[1] += 1
            vols.setdefault(key, []).append(volume(per_min, metric, t0))
            for i, f in enumerate(fir):
                t = ts(f["time"])
                if f["metric"] == metric and t0 <= t <= t1 + dt.timedelta(minutes=60):
                    used.add(i)
                    dl = (t - t0).total_seconds() / 60
                    if a.v:
                        print("hit?", seed, key, f["time"], f"{dl:.0f} min", f["window"], f["value"], f["expected"])
                    if dl <= deadline:
                        hits[key][0] += 1
                        delays.setdefault(key, []).append(dl)
                        break
        for i, f in enumerate(fir):
            t = ts(f["time"])
            if i in used or t < START + dt.timedelta(days=7):
                continue
            # firings on other metrics during an incident (dragged along) are not false alarms
            if any(t0 <= t <= t1 + dt.timedelta(minutes=60) for _, _, t0, t1, _ in windows):
                continue
            fa += 1
            if a.v:
                print("false alarm:", seed, f["time"], f["metric"], f["window"], f["value"],
                      f["expected"], f["score"])
        metric_weeks += 4 * (a.weeks - 1)
    print(f"rate {a.rate}/h at peak, season={a.season}, window={a.window}, "
          f"sensitivity={a.sensitivity}, seeds {a.seeds}")
    for key, (h, n) in hits.items():
        ds = sorted(delays.get(key, []))
        med = ds[len(ds) // 2] if ds else float("nan")
        worst = ds[-1] if ds else float("nan")
        vol = sorted(vols[key])[len(vols[key]) // 2]
        print(f"  {key:24s} ~{vol:5.0f}/h  recall {h}/{n}  delay median {med:.0f} min, "
              f"worst {worst:.0f} min")
    if hits:
        tot = sum(h for h, _ in hits.values()), sum(n for _, n in hits.values())
        print(f"  recall over all kinds: {tot[0]}/{tot[1]}")
    print(f"  false alarms: {fa} in {metric_weeks} metric-weeks "
          f"({fa / max(metric_weeks, 1):.2f} per metric-week), weeks 2..{a.weeks}")


if __name__ == "__main__":
    main()
