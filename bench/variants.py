"""`make bench-variants`: the release profile in Cargo.toml against the alternatives it was chosen
over, on confirm (Cognito) and books (DynamoDB), written to bench/results/variants.md.

Each variant is the same code built with other CARGO_PROFILE_RELEASE_* settings, in its own
target dir (target/variants/NAME), so a first run rebuilds every dependency once per variant.
This machine's speed drifts over minutes, so variants are never timed one after the other:
every round runs each variant once, in a shuffled order, and each figure is compared with the
shipped build's in the same round (the median of those ratios is the "vs shipped" column).

    python bench/variants.py [ROUNDS (12)]
"""

import json
import os
import pathlib
import platform
import random
import statistics
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "target/release/lambda-bench"
FUNCTIONS = ["confirm", "books"]
SHIPPED = "shipped"
# name -> (what it is, profile overrides)
VARIANTS = {
    SHIPPED: ("Cargo.toml's release profile", {}),
    "opt-3": ("opt-level 3", {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "3"}),
    "opt-z": ("opt-level \"z\"", {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "z"}),
    "thin-cg16": (
        "thin LTO, 16 codegen units",
        {"CARGO_PROFILE_RELEASE_LTO": "thin", "CARGO_PROFILE_RELEASE_CODEGEN_UNITS": "16"},
    ),
}
# (column, how to read it from a function's summary in lambda-bench's JSON)
MEASURES = [
    ("init ours (ms)", lambda f: f["init_ours_ms"]["median"]),
    ("init CPU (ms)", lambda f: f["init_cpu_ms"]["median"]),
    ("warm p50 ours (ms)", lambda f: f["warm_ms"]["overhead_p50"]),
    ("CPU per warm invoke (ms)", lambda f: f["warm_cpu_ms"]["median"]),
    ("peak RSS (MiB)", lambda f: f["peak_rss_mib"]["median"]),
]


def target(name):
    return ROOT / "target/variants" / name


def build(name):
    overrides = VARIANTS[name][1]
    env = dict(os.environ, **overrides)
    cmd = ["cargo", "build", "--release", "--target-dir", str(target(name))]
    for f in FUNCTIONS:
        cmd += ["-p", f]
    settings = " ".join(f"{k}={v}" for k, v in overrides.items())
    print(f"== build {name}: {settings}", flush=True)
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)


def run(name, out):
    cmd = [str(BENCH), "run", "--label", name, "--only", ",".join(FUNCTIONS),
           "--bins", str(target(name) / "release"), "--out", str(out),
           "--runs", "5", "--warm", "20"]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    fns = json.loads((out / f"{name}.json").read_text())["functions"]
    return {f["binary"]: f for f in fns}


def sizes(name, fn):
    """The stripped binary and the zip Lambda would get (deflate, as `bootstrap`), in MiB."""
    data = (target(name) / "release" / fn).read_bytes()
    zipped = target(name) / f"{fn}.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bootstrap", data)
    return len(data) / 2**20, zipped.stat().st_size / 2**20


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    for name in VARIANTS:
        build(name)
    # results[round][variant][function] = summary
    results = []
    for r in range(rounds):
        order = list(VARIANTS)
        random.shuffle(order)
        print(f"== round {r + 1}/{rounds}: {', '.join(order)}", flush=True)
        out = target("rounds") / str(r)
        out.mkdir(parents=True, exist_ok=True)
        results.append({name: run(name, out) for name in order})

    lines = [
        "# Release-profile variants",
        "",
        f"`make bench-variants`: {rounds} round{'s' if rounds != 1 else ''} on "
        f"{os.cpu_count()} cores ({platform.machine()}), "
        "each running every variant once in a shuffled order: 5 cold starts, each followed by "
        "20 warm invocations, against moto on loopback. Figures are medians over the rounds; "
        "\"vs shipped\" is the median of each round's ratio to the shipped build's figure. "
        f"Sizes are {platform.machine()} (the zip is the binary deflated as `bootstrap`).",
        "",
    ]
    for fn in FUNCTIONS:
        lines += [f"## {fn}", ""]
        head = ["variant", "binary (MiB)", "zip (MiB)"] + [m for m, _ in MEASURES]
        lines += ["| " + " | ".join(head) + " |", "|---" + "|--:" * (len(head) - 1) + "|"]
        for name, (what, _) in VARIANTS.items():
            binary, zipped = sizes(name, fn)
            row = [f"{name}: {what}", f"{binary:.2f}", f"{zipped:.2f}"]
            for _, read in MEASURES:
                values = [read(rnd[name][fn]) for rnd in results]
                cell = f"{statistics.median(values):.2f}"
                if name != SHIPPED:
                    ratio = statistics.median(
                        read(rnd[name][fn]) / read(rnd[SHIPPED][fn]) for rnd in results
                    )
                    cell += f" ({(ratio - 1) * 100:+.0f}%)"
                row.append(cell)
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    path = ROOT / "bench/results/variants.md"
    path.write_text("\n".join(lines))
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
