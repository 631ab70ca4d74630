"""Draws bench/results/chart.png from bench/results/default.json: init and warm p50 per
function, with our own share of the warm latency (latency minus time waiting on moto)."""

import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")  # no display
import matplotlib.pyplot as plt  # noqa: E402

results = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
run = json.loads((results / "default.json").read_text())
fns = run["functions"]
names = [f["binary"] for f in fns]
init = [f["init_ms"]["median"] for f in fns]
p50 = [f["warm_ms"]["p50"] for f in fns]
ours = [f["warm_ms"]["overhead_p50"] for f in fns]

fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
x = range(len(names))
w = 0.38
b1 = ax.bar([i - w / 2 for i in x], init, w, label="init (median of cold starts)", color="#4c72b0")
b2 = ax.bar([i + w / 2 for i in x], p50, w, label="warm invoke p50 (incl. moto)", color="#dd8452")
ax.bar([i + w / 2 for i in x], ours, w, label="  of which ours (p50 − moto)", color="#8c3b0c")
ax.bar_label(b1, fmt="%.2f", fontsize=8)
ax.bar_label(b2, fmt="%.2f", fontsize=8)
ax.axhline(10, color="#4c72b0", linestyle=":", linewidth=1)
ax.text(len(names) - 0.5, 10, "init budget 10 ms", color="#4c72b0", fontsize=8, ha="right", va="bottom")
ax.set_xticks(list(x), names)
ax.set_ylabel("ms")
ax.set_title(f"Cold start and warm latency per function ({run['runs']} cold starts each, moto on loopback)", fontsize=10)
# Room above the tallest bar for the legend, in one row, so that it covers no bar or label.
ax.set_ylim(0, max(init + p50) * 1.3)
ax.legend(fontsize=8, loc="upper center", ncol=3, frameon=False)
ax.spines[["top", "right"]].set_visible(False)
fig.tight_layout()
fig.savefig(results / "chart.png")
print(f"wrote {results / 'chart.png'}")
