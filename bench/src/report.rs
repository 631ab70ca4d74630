//! bench/results/report.md: the `default` run against the budgets, the other runs beside it,
//! and Criterion's micro-benchmarks.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

/// Budgets from issue 7 (medians of cold starts, backend on loopback).
const INIT_MS: f64 = 10.0;
const OVERHEAD_MS: f64 = 1.0;
const RSS_MIB: f64 = 20.0;
const ZIP_BYTES: f64 = 5.0 * 1024.0 * 1024.0;

/// What the figures were measured on.
pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    json!({ "cpu": cpu, "cores": cores, "arch": std::env::consts::ARCH })
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn f2(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:.2}")
    }
}

fn mib(bytes: &Value) -> String {
    bytes
        .as_f64()
        .map_or("–".into(), |b| format!("{:.2}", b / 1024.0 / 1024.0))
}

fn mark(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

/// DynamoDB on demand, us-east-1: USD per million write request units.
const WRITE_UNIT_USD_PER_MILLION: f64 = 0.625;
/// EventBridge custom events, USD per million.
const BUS_USD_PER_MILLION: f64 = 1.0;
/// Lambda requests (0.20 USD per million) for batches of one event: the most it can be.
const LAMBDA_USD_PER_MILLION_EVENTS: f64 = 0.2;

pub fn write(out: &Path, criterion: &Path) {
    let mut runs: Vec<Value> = std::fs::read_dir(out)
        .expect("bench/results")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).ok()?).ok())
        .collect();
    runs.sort_by_key(|r| {
        (
            r["label"] != "default",
            r["label"].as_str().map(str::to_owned),
        )
    });
    let default = runs
        .iter()
        .find(|r| r["label"] == "default")
        .expect("bench/results/default.json: run `lambda-bench run` first");

    let mut md = String::new();
    let m = &default["machine"];
    let _ = writeln!(
        md,
        "# Benchmarks\n\nWritten by `make bench`. {} cores ({}), {}; the backend is moto on \
         loopback. Each function's release binary runs as Lambda runs it (its own process per \
         cold start, a local Runtime API, Lambda's variables); {} cold starts per function, each \
         followed by {} warm invocations. Times in ms, medians unless marked.\n",
        m["cores"],
        m["cpu"].as_str().unwrap_or("?"),
        m["arch"].as_str().unwrap_or("?"),
        default["runs"],
        default["warm_per_run"],
    );
    let _ = writeln!(
        md,
        "- **init**: process start to the first `GET /runtime/invocation/next`; **init ours** = \
         init − the time the pre-warm call spent waiting on moto; **init CPU**: CPU time the \
         process used in init (all threads, `/proc/PID/task/*/schedstat`).\n\
         - **first**: the cold start's invocation, from hand-over to answer; **backend**: the part \
         spent waiting on moto (timed by a proxy in front of it); **ours** = first − backend.\n\
         - **warm p50 / p99**: the later invocations; **ours p50** = latency − backend, per \
         invocation.\n\
         - **CPU/invoke**: the function's CPU time per warm invocation, whatever the machine \
         around it does.\n\
         - **RSS**: peak resident set (`VmHWM`) after all invocations of a cold start.\n\
         - sizes: the stripped release binary (x86_64, as measured here) and, from \
         `cargo lambda build --release --arm64`, the arm64 binary and its zip.\n"
    );
    let _ = writeln!(
        md,
        "| function | init | init ours | init CPU | first | first backend | first ours | warm p50 | warm p99 | warm backend p50 | ours p50 | ours p99 | CPU/invoke | RSS MiB | x86_64 MiB | arm64 MiB | arm64 zip MiB | answers |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
    );
    for f in default["functions"].as_array().into_iter().flatten() {
        let statuses: Vec<String> = f["statuses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}×{v}"))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            f["binary"].as_str().unwrap_or("?"),
            f2(num(&f["init_ms"]["median"])),
            f2(num(&f["init_ours_ms"]["median"])),
            f2(num(&f["init_cpu_ms"]["median"])),
            f2(num(&f["first_invoke_ms"]["median"])),
            f2(num(&f["first_invoke_ms"]["backend_median"])),
            f2(num(&f["first_invoke_ms"]["overhead_median"])),
            f2(num(&f["warm_ms"]["p50"])),
            f2(num(&f["warm_ms"]["p99"])),
            f2(num(&f["warm_ms"]["backend_p50"])),
            f2(num(&f["warm_ms"]["overhead_p50"])),
            f2(num(&f["warm_ms"]["overhead_p99"])),
            f2(num(&f["warm_cpu_ms"]["median"])),
            f2(num(&f["peak_rss_mib"]["median"])),
            mib(&f["size_bytes"]["x86_64_binary"]),
            mib(&f["size_bytes"]["arm64_binary"]),
            mib(&f["size_bytes"]["arm64_zip"]),
            statuses.join(" "),
        );
    }

    let _ = writeln!(
        md,
        "\n## Budgets\n\nInit is checked twice: as measured, and without the time the pre-warm call waits \
         for moto's answer (moto takes about 5 ms per call; a regional endpoint answers in about \
         one round trip once the connection is open).\n\n\
         | function | init ≤ {INIT_MS} ms | init ours ≤ {INIT_MS} ms | ours ≤ {OVERHEAD_MS} ms (warm p50) | RSS ≤ {RSS_MIB} MiB | zip ≤ 5 MiB (arm64) |\n|---|---|---|---|---|---|"
    );
    for f in default["functions"].as_array().into_iter().flatten() {
        let init = num(&f["init_ms"]["median"]);
        let init_ours = num(&f["init_ours_ms"]["median"]);
        let ours = num(&f["warm_ms"]["overhead_p50"]);
        let rss = num(&f["peak_rss_mib"]["median"]);
        let zip = num(&f["size_bytes"]["arm64_zip"]);
        let _ = writeln!(
            md,
            "| {} | {} {} | {} {} | {} {} | {} {} | {} {} |",
            f["binary"].as_str().unwrap_or("?"),
            mark(init <= INIT_MS),
            f2(init),
            mark(init_ours <= INIT_MS),
            f2(init_ours),
            mark(ours <= OVERHEAD_MS),
            f2(ours),
            mark(rss <= RSS_MIB),
            f2(rss),
            if zip.is_nan() {
                "–"
            } else {
                mark(zip <= ZIP_BYTES)
            },
            mib(&f["size_bytes"]["arm64_zip"]),
        );
    }

    let _ = writeln!(
        md,
        "\nEvery fixture of `events/` is replayed, against moto with the local Cognito in front \
         of it (real codes, the SECRET_HASH checked, the operations moto lacks)."
    );

    let audit = &default["audit"];
    if audit["events"].as_u64().is_some_and(|n| n > 0) {
        let units = audit["write_units_max"].as_u64().unwrap_or(1);
        let dynamodb = units as f64 * WRITE_UNIT_USD_PER_MILLION;
        let _ = writeln!(
            md,
            "\n## Cost per auth event\n\nThe run wrote {} events to the audit table; their items \
             measure {} bytes on average and {} at most, so each PutItem takes {units} write \
             unit(s). Per million events, at on-demand list prices in us-east-1:\n\n\
             | item | USD per million events |\n|---|--:|\n\
             | the audit table's write ({units} unit(s) at {WRITE_UNIT_USD_PER_MILLION} per million) | {:.3} |\n\
             | the event bus (PutEvents, one entry each) | {BUS_USD_PER_MILLION:.2} |\n\
             | the events function's invocations: one per batch of up to 10 events, 0.20 USD per million (at most one per event) | {LAMBDA_USD_PER_MILLION_EVENTS:.2} |\n\
             | **total**, before the function's duration and the items' storage | **{:.3}** |\n\n\
             Reading the table's stream is free for Lambda; an alert adds SES's 0.10 USD per \
             thousand e-mails, and a read and a write of its mark.",
            audit["events"],
            f2(num(&audit["mean_bytes"])),
            audit["max_bytes"],
            dynamodb,
            dynamodb + BUS_USD_PER_MILLION + LAMBDA_USD_PER_MILLION_EVENTS,
        );
    }

    if runs.len() > 1 {
        let _ = writeln!(
            md,
            "\n## Variants\n\nThe same harness with one thing changed (`lambda-bench run --label …`).\n\n\
             | variant | what changed | function | init | init backend | first | first ours | warm p50 | ours p50 | CPU/invoke | RSS MiB |\n\
             |---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
        );
        for r in &runs {
            let mut what: Vec<String> = r["set"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(|s| format!("`{s}`")))
                .collect();
            if r["backend"] != "moto" {
                what.push(format!("backend {}", r["backend"].as_str().unwrap_or("?")));
            }
            for f in r["functions"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    r["label"].as_str().unwrap_or("?"),
                    if what.is_empty() {
                        "–".into()
                    } else {
                        what.join(", ")
                    },
                    f["binary"].as_str().unwrap_or("?"),
                    f2(num(&f["init_ms"]["median"])),
                    f2(num(&f["init_backend_ms"]["median"])),
                    f2(num(&f["first_invoke_ms"]["median"])),
                    f2(num(&f["first_invoke_ms"]["overhead_median"])),
                    f2(num(&f["warm_ms"]["p50"])),
                    f2(num(&f["warm_ms"]["overhead_p50"])),
                    f2(num(&f["warm_cpu_ms"]["median"])),
                    f2(num(&f["peak_rss_mib"]["median"])),
                );
            }
        }
    }

    let micro = criterion_estimates(criterion);
    if !micro.is_empty() {
        let _ = writeln!(
            md,
            "\n## Micro-benchmarks (Criterion)\n\n`cargo bench -p platform -p auth -p books -p local-api`; \
             median time per call.\n\n| benchmark | median |\n|---|--:|"
        );
        for (id, ns) in micro {
            let t = if ns >= 1e6 {
                format!("{:.2} ms", ns / 1e6)
            } else if ns >= 1e3 {
                format!("{:.2} µs", ns / 1e3)
            } else {
                format!("{ns:.0} ns")
            };
            let _ = writeln!(md, "| `{id}` | {t} |");
        }
    }
    let path = out.join("report.md");
    std::fs::write(&path, md).expect("write report.md");
    eprintln!("wrote {}", path.display());
}

/// (benchmark id, median ns) from Criterion's `*/new/{benchmark,estimates}.json`.
fn criterion_estimates(dir: &Path) -> Vec<(String, f64)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() && p.file_name().is_some_and(|n| n != "report" && n != "base") {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "estimates.json")
                && d.file_name().is_some_and(|n| n == "new")
            {
                let read = |f: &str| -> Option<Value> {
                    serde_json::from_str(&std::fs::read_to_string(d.join(f)).ok()?).ok()
                };
                if let (Some(b), Some(est)) = (read("benchmark.json"), read("estimates.json")) {
                    let id = b["full_id"].as_str().unwrap_or("?").to_owned();
                    found.push((id, num(&est["median"]["point_estimate"])));
                }
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}
