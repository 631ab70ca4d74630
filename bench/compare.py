"""`make bench-compare BASE=<rev>`: this tree's functions against the same functions at an earlier
revision, on this machine, written to bench/results/compare.md. For a change to the code (not to
the release profile, which `make bench-variants` covers): did init, our time per warm invocation,
CPU or memory move beyond the machine's noise?

BASE is checked out in a git worktree (target/compare/base-src) and built there with the release
profile; this tree's release binaries are built in target/release. This machine's speed drifts
over minutes, so the two are never timed one after the other: every round runs both, in a
shuffled order, through the same harness (this tree's lambda-bench), and each figure is compared
with BASE's in the same round (the median of those ratios is the "vs base" column).

    python bench/compare.py BASE [ROUNDS (8)]
"""

import json
import os
import pathlib
import platform
import random
import shutil
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "target/release/lambda-bench"
WORK = ROOT / "target/compare"
# (column, how to read it from a function's summary in lambda-bench's JSON)
MEASURES = [
    ("init (ms)", lambda f: f["init_ms"]["median"]),
    ("init ours (ms)", lambda f: f["init_ours_ms"]["median"]),
    ("init CPU (ms)", lambda f: f["init_cpu_ms"]["median"]),
    ("warm p50 ours (ms)", lambda f: f["warm_ms"]["overhead_p50"]),
    ("CPU per warm invoke (ms)", lambda f: f["warm_cpu_ms"]["median"]),
    ("peak RSS (MiB)", lambda f: f["peak_rss_mib"]["median"]),
]


def functions():
    """The binaries template.yaml builds, as `make bench` finds them."""
    text = (ROOT / "template.yaml").read_text()
    return [line.split()[1] for line in text.splitlines() if line.startswith("        Binary: ")]


def git(*args, cwd=ROOT):
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def build(src, target_dir, fns):
    cmd = ["cargo", "build", "--release", "--target-dir", str(target_dir)]
    for f in fns:
        cmd += ["-p", f]
    subprocess.run(cmd, cwd=src, check=True)


def run(name, bins, out):
    cmd = [str(BENCH), "run", "--label", name, "--bins", str(bins), "--out", str(out),
           "--runs", "5", "--warm", "20"]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    fns = json.loads((out / f"{name}.json").read_text())["functions"]
    return {f["binary"]: f for f in fns}


def main():
    base = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    base_rev = git("rev-parse", "--short", base)
    head_rev = git("rev-parse", "--short", "HEAD")
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    fns = functions()

    src = WORK / "base-src"
    if src.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(src)], cwd=ROOT, check=False)
        shutil.rmtree(src, ignore_errors=True)
    subprocess.run(["git", "worktree", "add", "--detach", str(src), base], cwd=ROOT, check=True)
    try:
        print(f"== build base {base_rev}", flush=True)
        build(src, WORK / "base-target", fns)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(src)], cwd=ROOT, check=False)
    print(f"== build this tree ({head_rev}{dirty})", flush=True)
    build(ROOT, ROOT / "target", fns)
    builds = {"base": WORK / "base-target/release", "head": ROOT / "target/release"}

    # results[round][build][function] = summary
    results = []
    for r in range(rounds):
        order = list(builds)
        random.shuffle(order)
        print(f"== round {r + 1}/{rounds}: {', '.join(order)}", flush=True)
        out = WORK / "rounds" / str(r)
        out.mkdir(parents=True, exist_ok=True)
        results.append({name: run(name, builds[name], out) for name in order})

    lines = [
        "# This tree against an earlier revision",
        "",
        f"`make bench-compare BASE={base}`: `{head_rev}`{dirty} against `{base_rev}`, "
        f"{rounds} round{'s' if rounds != 1 else ''} on {os.cpu_count()} cores "
        f"({platform.machine()}), each running both builds once in a shuffled order: 5 cold "
        "starts per function, each followed by 20 warm invocations, against moto on loopback. "
        "Figures are medians over the rounds; \"vs base\" is the median of each round's ratio to "
        "the base build's figure.",
        "",
    ]
    head = ["function", "build"] + [m for m, _ in MEASURES]
    lines += ["| " + " | ".join(head) + " |", "|---|---" + "|--:" * len(MEASURES) + "|"]
    for fn in fns:
        for name, rev in (("base", base_rev), ("head", head_rev)):
            row = [fn, f"{name} `{rev}`"]
            for _, read in MEASURES:
                values = [read(rnd[name][fn]) for rnd in results]
                cell = f"{statistics.median(values):.2f}"
                if name == "head":
                    ratio = statistics.median(
                        read(rnd["head"][fn]) / read(rnd["base"][fn]) for rnd in results
                    )
                    cell += f" ({(ratio - 1) * 100:+.0f}%)"
                row.append(cell)
            lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    path = ROOT / "bench/results/compare.md"
    path.write_text("\n".join(lines))
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
