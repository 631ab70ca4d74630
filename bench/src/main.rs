//! `make bench`: cold starts, latency, memory and size of every function of template.yaml.
//!
//! Each function's release binary runs as Lambda runs it: a fresh process per cold start, with
//! `AWS_LAMBDA_RUNTIME_API` pointing at a local Runtime API, the usual Lambda variables, and the
//! backend (moto) on loopback behind a proxy that times every backend call. Nothing leaves
//! 127.0.0.1.
//!
//! ```text
//! lambda-bench run [--label L] [--runs 20] [--warm 10] [--backend moto|refused|silent]
//!                  [--init-only] [--set KEY=VALUE]... [--only BIN,BIN]
//!                  [--bins DIR (target/release)] [--out DIR (bench/results)]
//! lambda-bench report        # bench/results/*.json + Criterion's estimates -> report.md
//! ```

mod events;
mod report;
mod runtime;
mod seed;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::{Moto, free_port, workspace_root};

use crate::events::{Function, Seed};
use crate::runtime::{BackendClock, Invocation, Proxy, Runtime, Seen};

const REGION: &str = "us-east-1";

struct Args {
    label: String,
    runs: usize,
    warm: usize,
    backend: String,
    init_only: bool,
    set: Vec<(String, String)>,
    only: Option<Vec<String>>,
    bins: PathBuf,
    out: PathBuf,
}

fn args() -> (String, Args) {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_else(|| "run".into());
    let root = workspace_root();
    let mut a = Args {
        label: "default".into(),
        runs: 20,
        warm: 10,
        backend: "moto".into(),
        init_only: false,
        set: Vec::new(),
        only: None,
        bins: root.join("target/release"),
        out: root.join("bench/results"),
    };
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--label" => a.label = val(),
            "--runs" => a.runs = val().parse().expect("--runs N"),
            "--warm" => a.warm = val().parse().expect("--warm N"),
            "--backend" => a.backend = val(),
            "--init-only" => a.init_only = true,
            "--set" => {
                let kv = val();
                let (k, v) = kv.split_once('=').expect("--set KEY=VALUE");
                a.set.push((k.into(), v.into()));
            }
            "--only" => a.only = Some(val().split(',').map(str::to_owned).collect()),
            "--bins" => a.bins = val().into(),
            "--out" => a.out = val().into(),
            other => panic!("unknown flag {other}"),
        }
    }
    (cmd, a)
}

#[tokio::main]
async fn main() {
    let (cmd, args) = args();
    match cmd.as_str() {
        "run" => run(args).await,
        "report" => report::write(&args.out, &workspace_root().join("target/criterion")),
        other => panic!("unknown command {other}: run or report"),
    }
}

/// One cold start's measurements.
#[derive(Default)]
struct Cold {
    init: Duration,
    init_backend: Duration,
    /// (latency, backend time, backend calls, status) per invocation; the first is the cold one.
    invokes: Vec<(Duration, Duration, u64, u16)>,
    peak_rss_kib: u64,
    /// CPU time the process used until it asked for its first invocation.
    init_cpu: Duration,
    /// CPU time per warm invocation (all of the warm ones, divided by their number).
    warm_cpu: Option<Duration>,
}

async fn run(args: Args) {
    let root = workspace_root();
    // Passkeys on, with the local relying party, as `make dev` runs them.
    let overrides = std::collections::HashMap::from([(
        local_api::PASSKEY_RELYING_PARTY_PARAMETER.to_owned(),
        local_api::LOCAL_RELYING_PARTY.to_owned(),
    )]);
    let template = local_api::template::Template::load(&root.join("template.yaml"), &overrides)
        .expect("template.yaml parses");
    let mut functions = events::discover(&template, &root.join("events"));
    if let Some(only) = &args.only {
        functions.retain(|f| only.contains(&f.binary));
    }
    assert!(!functions.is_empty(), "no functions with fixtures found");
    let globals = lambda_globals(&root.join("template.yaml"));

    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let created = local_api::bootstrap::create(&template, &sdk, "bench")
        .await
        .expect("create the pool, client and table from template.yaml");
    // The local Cognito in front of moto, as `make dev` runs it: real codes in its mailbox.
    let local = local_cognito::LocalCognito::start(&moto.endpoint, &sdk)
        .await
        .expect("the local Cognito starts");
    let per_run = args.warm + 1;
    let uses = |stem: &str| -> usize {
        functions
            .iter()
            .map(|f| f.uses(stem, args.runs, per_run))
            .sum()
    };
    let needs = seed::Needs {
        confirms: uses("confirm_user"),
        resets: uses("account_reset_password"),
        sign_outs: uses("account_logout") + uses("account_end_other_sessions"),
        deletions: uses("account_delete_me"),
        verifications: uses("account_verify_email"),
        resends: uses("account_resend_email_code"),
        challenges: uses("login_challenge"),
        enrolments: uses("mfa_verify"),
        disables: uses("mfa_disable"),
        recoveries: uses("login_recover"),
        passkey_finishes: uses("passkeys_register_finish"),
        passkey_deletions: uses("passkeys_delete"),
        refreshes: uses("refresh"),
    };
    let cognito_sdk = sdk.to_builder().endpoint_url(&local.endpoint).build();
    // The pool's passkey relying party, which only the local Cognito keeps.
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&cognito_sdk);
    local_api::bootstrap::configure_passkeys(&template, &idp, &created.pool_id)
        .await
        .expect("the relying party is set");
    let mut seed = seed::seed(&cognito_sdk, &sdk, &created, local.mailbox(), needs).await;

    // Every backend call goes through a proxy that times it: one in front of moto (DynamoDB,
    // Secrets Manager), one in front of the local Cognito, on one clock.
    let clock = Arc::new(BackendClock::default());
    let proxy = Proxy::start(&moto.endpoint, clock.clone()).await;
    let cognito_proxy = Proxy::start(&local.endpoint, clock.clone()).await;
    // A port nobody listens on, and one whose connections are never answered.
    let silent = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("a loopback listener");
    let (endpoint, cognito_endpoint) = match args.backend.as_str() {
        "moto" => (proxy.endpoint.clone(), cognito_proxy.endpoint.clone()),
        "refused" => {
            let refused = format!("http://127.0.0.1:{}", free_port());
            (refused.clone(), refused)
        }
        "silent" => {
            let silent = format!("http://{}", silent.local_addr().unwrap());
            (silent.clone(), silent)
        }
        other => panic!("unknown backend {other}: moto, refused or silent"),
    };

    let values: BTreeMap<&str, String> = [
        ("COGNITO_CLIENT_ID", created.client_id.clone()),
        (
            "COGNITO_CLIENT_SECRET_ARN",
            created.client_secret_arn.clone().unwrap_or_default(),
        ),
        ("COGNITO_USER_POOL_ID", created.pool_id.clone()),
        ("BOOKS_TABLE", created.table.clone()),
        ("SESSIONS_TABLE", created.sessions_table.clone()),
        ("RECOVERY_CODES_TABLE", created.recovery_table.clone()),
        (
            "RECOVERY_CODE_PEPPER_ARN",
            created.recovery_pepper_arn.clone(),
        ),
        ("LIMITS_TABLE", created.limits_table.clone()),
        ("AUDIT_TABLE", created.audit_table.clone()),
        ("AUDIT_RETENTION_DAYS", "365".into()),
        // No SES identity in the bench: the alerts are off, as in a stack without one.
        ("ALERT_MAIL_FROM", String::new()),
        ("ALERT_MAIL_IDENTITY_ARN", String::new()),
        ("MFA_ISSUER", mfa::DEFAULT_ISSUER.to_owned()),
        (mfa::MFA_CONFIGURATION_VAR, "OPTIONAL".to_owned()),
        (auth::passwordless::PASSWORDLESS_VAR, "true".to_owned()),
        ("ALLOWED_ORIGIN", "https://shop.example.com".into()),
        ("REFRESH_TOKEN_GRACE_SECONDS", "10".into()),
        ("SESSION_IDLE_TIMEOUT_SECONDS", "0".into()),
        // The seeded sign-ins must stay recent for the whole run: a day.
        ("REAUTH_WINDOW_SECONDS", "86400".into()),
    ]
    .into();

    let logs = root.join("target/bench-logs");
    std::fs::create_dir_all(&logs).expect("target/bench-logs");
    let mut results = Vec::new();
    for f in &functions {
        let bin = args.bins.join(&f.binary);
        let bin = std::fs::canonicalize(&bin).unwrap_or_else(|_| {
            panic!(
                "{} is missing: build it with cargo build --release",
                bin.display()
            )
        });
        let mut env: Vec<(String, String)> = globals.clone();
        env.extend([
            ("AWS_LAMBDA_FUNCTION_NAME".into(), f.logical_id.clone()),
            ("AWS_ENDPOINT_URL".into(), endpoint.clone()),
            // The SDK's standard per-service override: Cognito calls go to the local Cognito.
            (
                "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER".into(),
                cognito_endpoint.clone(),
            ),
        ]);
        for name in &f.env_names {
            let v = values
                .get(name.as_str())
                .unwrap_or_else(|| panic!("no value for {}'s {name}", f.logical_id));
            env.push((name.clone(), v.clone()));
        }
        env.extend(args.set.iter().cloned());
        let log = logs.join(format!("{}-{}.log", args.label, f.binary));
        let mut colds = Vec::new();
        for r in 0..args.runs {
            let cold = cold_start(f, &bin, &env, &log, &clock, &mut seed, r, &args).await;
            colds.push(cold);
        }
        let summary = summarise(f, &bin, &colds);
        eprintln!("{}: {}", f.binary, summary);
        results.push(summary);
    }

    // What the run's invocations wrote to the audit table (the seeding's events included):
    // the size of each event's item, hence its write units.
    let audit = audit_items(&sdk, &created.audit_table).await;

    std::fs::create_dir_all(&args.out).expect("bench/results");
    let doc = json!({
        "label": args.label,
        "backend": args.backend,
        "runs": args.runs,
        "warm_per_run": if args.init_only { 0 } else { args.warm },
        "set": args.set.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "machine": report::machine(),
        "functions": results,
        "audit": audit,
    });
    let path = args.out.join(format!("{}.json", args.label));
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).expect("write results");
    eprintln!("wrote {}", path.display());
}

/// The audit table's items: how many, and their sizes as DynamoDB counts them (each attribute's
/// name and value, in bytes), which set the write units each event's PutItem takes.
async fn audit_items(sdk: &aws_config::SdkConfig, table: &str) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue;
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let mut sizes = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("the audit table scans");
        for item in out.items() {
            let size: usize = item
                .iter()
                .map(|(name, value)| {
                    name.len()
                        + match value {
                            AttributeValue::S(s) => s.len(),
                            // DynamoDB: about one byte per two digits, plus one.
                            AttributeValue::N(n) => n.len().div_ceil(2) + 1,
                            _ => 0,
                        }
                })
                .sum();
            sizes.push(size);
        }
        match out.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
    }
    let events = sizes.len();
    let max = sizes.iter().copied().max().unwrap_or(0);
    let mean = if events == 0 {
        0.0
    } else {
        sizes.iter().sum::<usize>() as f64 / events as f64
    };
    json!({
        "events": events,
        "mean_bytes": mean,
        "max_bytes": max,
        // A write unit is 1 KB of item.
        "write_units_max": max.div_ceil(1024).max(1),
    })
}

/// The variables Lambda sets for every function of the template (from its Globals), and
/// credentials such as an execution role would give.
fn lambda_globals(template: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(template).expect("template.yaml");
    let t: serde_yaml::Value = serde_yaml::from_str(&text).expect("template.yaml parses");
    let g = &t["Globals"]["Function"];
    let memory = g["MemorySize"].as_u64().unwrap_or(128).to_string();
    let log_format = g["LoggingConfig"]["LogFormat"]
        .as_str()
        .unwrap_or("Text")
        .to_owned();
    let log_level = g["LoggingConfig"]["ApplicationLogLevel"]
        .as_str()
        .unwrap_or("INFO")
        .to_owned();
    [
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench".into()),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/21/[$LATEST]bench".into(),
        ),
        ("AWS_LAMBDA_LOG_FORMAT", log_format),
        ("AWS_LAMBDA_LOG_LEVEL", log_level),
        ("AWS_REGION", REGION.into()),
        ("AWS_DEFAULT_REGION", REGION.into()),
        ("AWS_ACCESS_KEY_ID", "ASIABENCHBENCHBENCH1".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench-secret".into()),
        ("AWS_SESSION_TOKEN", "bench-session-token".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("_HANDLER", "bootstrap".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[allow(clippy::too_many_arguments)]
async fn cold_start(
    f: &Function,
    bin: &Path,
    env: &[(String, String)],
    log: &Path,
    clock: &Arc<BackendClock>,
    seed: &mut Seed,
    run: usize,
    args: &Args,
) -> Cold {
    let arn = format!(
        "arn:aws:lambda:{REGION}:123456789012:function:{}",
        f.logical_id
    );
    let mut rt = Runtime::start(clock.clone(), arn).await;
    let mut rt_env = env.to_vec();
    rt_env.push(("AWS_LAMBDA_RUNTIME_API".into(), rt.addr.to_string()));
    // A cold start happens because a request is waiting.
    let invokes = if args.init_only { 0 } else { 1 + args.warm };
    let mut pending = (0..invokes).map(|n| (n, f.event(seed, run, n)));
    if let Some((n, ev)) = pending.next() {
        rt.invoke(Invocation {
            id: format!("{run}-{n}"),
            event: ev.to_string().into_bytes(),
        });
    }
    let logfile = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    let backend_before = clock.read().0;
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .envs(rt_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(logfile.try_clone().expect("log file"))
        .stderr(logfile)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let pid = child.id();

    let mut cold = Cold::default();
    let mut dispatched: Option<(Instant, (Duration, u64))> = None;
    let mut first_next = true;
    let deadline = Duration::from_secs(30);
    let mut remaining = invokes;
    let mut cpu_after_first = Duration::ZERO;
    loop {
        if !first_next && remaining == 0 {
            break;
        }
        let seen = tokio::time::timeout(deadline, rt.seen.recv())
            .await
            .unwrap_or_else(|_| panic!("{} did not answer in {deadline:?}", f.binary))
            .expect("runtime server");
        match seen {
            Seen::Next { at } if first_next => {
                first_next = false;
                cold.init = at - started;
                cold.init_backend = clock.read().0.saturating_sub(backend_before);
                cold.init_cpu = cpu_time(pid);
            }
            Seen::Next { .. } => {}
            Seen::Dispatched { at, backend } => dispatched = Some((at, backend)),
            Seen::Answered {
                at,
                backend,
                body,
                error,
                id,
            } => {
                let (d_at, d_backend) = dispatched.take().expect("answer after dispatch");
                let status = if error {
                    eprintln!(
                        "{} answered {id} with an error: {}",
                        f.binary,
                        String::from_utf8_lossy(&body)
                    );
                    0
                } else {
                    serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|v| v["statusCode"].as_u64())
                        .unwrap_or(0) as u16
                };
                cold.invokes.push((
                    at - d_at,
                    backend.0.saturating_sub(d_backend.0),
                    backend.1 - d_backend.1,
                    status,
                ));
                remaining -= 1;
                if cold.invokes.len() == 1 {
                    cpu_after_first = cpu_time(pid);
                }
                if let Some((n, ev)) = pending.next() {
                    rt.invoke(Invocation {
                        id: format!("{run}-{n}"),
                        event: ev.to_string().into_bytes(),
                    });
                }
            }
            Seen::InitError { body } => {
                panic!(
                    "{} failed to start: {}",
                    f.binary,
                    String::from_utf8_lossy(&body)
                )
            }
        }
    }
    cold.peak_rss_kib = peak_rss_kib(pid);
    if cold.invokes.len() > 1 {
        let warm = (cold.invokes.len() - 1) as u32;
        cold.warm_cpu = Some(cpu_time(pid).saturating_sub(cpu_after_first) / warm);
    }
    let _ = child.kill();
    let _ = child.wait();
    cold
}

/// VmHWM: the process's peak resident set, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The CPU time all of the process's threads have used so far (`/proc/PID/task/*/schedstat`,
/// nanoseconds on the CPU): what the function itself costs, whatever else the machine does.
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The value at `q` (0..=1) of sorted `v`, nearest rank.
fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

fn summarise(f: &Function, bin: &Path, colds: &[Cold]) -> Value {
    let mut init: Vec<f64> = colds.iter().map(|c| ms(c.init)).collect();
    let mut init_backend: Vec<f64> = colds.iter().map(|c| ms(c.init_backend)).collect();
    let mut init_ours: Vec<f64> = colds
        .iter()
        .map(|c| ms(c.init.saturating_sub(c.init_backend)))
        .collect();
    let mut init_cpu: Vec<f64> = colds.iter().map(|c| ms(c.init_cpu)).collect();
    let mut warm_cpu: Vec<f64> = colds.iter().filter_map(|c| c.warm_cpu.map(ms)).collect();
    let firsts: Vec<_> = colds.iter().filter_map(|c| c.invokes.first()).collect();
    let warms: Vec<_> = colds
        .iter()
        .flat_map(|c| c.invokes.iter().skip(1))
        .collect();
    let lat = |v: &[&(Duration, Duration, u64, u16)]| v.iter().map(|x| ms(x.0)).collect::<Vec<_>>();
    let back =
        |v: &[&(Duration, Duration, u64, u16)]| v.iter().map(|x| ms(x.1)).collect::<Vec<_>>();
    let over = |v: &[&(Duration, Duration, u64, u16)]| {
        v.iter()
            .map(|x| ms(x.0.saturating_sub(x.1)))
            .collect::<Vec<_>>()
    };
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, _, s) in colds.iter().flat_map(|c| &c.invokes) {
        *statuses.entry(s.to_string()).or_default() += 1;
    }
    let calls: u64 = warms.iter().map(|x| x.2).sum();
    let mut rss: Vec<f64> = colds
        .iter()
        .map(|c| c.peak_rss_kib as f64 / 1024.0)
        .collect();
    let arm = workspace_root().join("target/lambda").join(&f.binary);
    json!({
        "function": f.logical_id,
        "binary": f.binary,
        "events": f.events.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(),
        "cold_starts": colds.len(),
        "init_ms": { "median": quantile(&mut init, 0.5), "p90": quantile(&mut init, 0.9), "max": quantile(&mut init, 1.0) },
        "init_backend_ms": { "median": quantile(&mut init_backend, 0.5) },
        "init_ours_ms": { "median": quantile(&mut init_ours, 0.5), "p90": quantile(&mut init_ours, 0.9) },
        "init_cpu_ms": { "median": quantile(&mut init_cpu, 0.5) },
        "warm_cpu_ms": { "median": quantile(&mut warm_cpu, 0.5) },
        "first_invoke_ms": {
            "median": quantile(&mut lat(&firsts), 0.5),
            "backend_median": quantile(&mut back(&firsts), 0.5),
            "overhead_median": quantile(&mut over(&firsts), 0.5),
        },
        "warm_ms": {
            "n": warms.len(),
            "p50": quantile(&mut lat(&warms), 0.5),
            "p99": quantile(&mut lat(&warms), 0.99),
            "backend_p50": quantile(&mut back(&warms), 0.5),
            "overhead_p50": quantile(&mut over(&warms), 0.5),
            "overhead_p99": quantile(&mut over(&warms), 0.99),
            "backend_calls_per_invoke": if warms.is_empty() { 0.0 } else { calls as f64 / warms.len() as f64 },
        },
        "peak_rss_mib": { "median": quantile(&mut rss, 0.5), "max": quantile(&mut rss, 1.0) },
        "statuses": statuses,
        "size_bytes": {
            "x86_64_binary": file_size(bin),
            "arm64_binary": file_size(&arm.join("bootstrap")),
            "arm64_zip": file_size(&arm.join("bootstrap.zip")),
        },
    })
}
