#!/usr/bin/env python3
"""Schemathesis against the local API with moto behind it (`make schemathesis`, part of `make test`).

Starts moto and the local-api binary on free loopback ports, signs a user in for the protected
routes, and runs schemathesis from the openapi.yaml the local API serves, with a bounded number of
examples per operation and a time limit. Then a second run over the admin routes alone, as a
member of the `admin` group (with its access token): the first reaches them as a user of no
group, whom the platform refuses before any handler runs. Fails on any 5xx and on any answer the
spec does not describe (status, content type, headers, body schema). Both servers are stopped by
PID.

Environment: SCHEMATHESIS_EXAMPLES (default 40 per operation), SCHEMATHESIS_MAX_TIME (seconds,
default 150; the admin run has a third of it), SCHEMATHESIS_SEED (default 6).
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def moto_call(moto_port, operation, body):
    """Cognito's `operation` straight at moto (what an operator does in the console)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{moto_port}/",
        data=json.dumps(body).encode(),
        headers={
            "content-type": "application/x-amz-json-1.1",
            "x-amz-target": f"AWSCognitoIdentityProviderService.{operation}",
        },
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def signed_up(base, user):
    """Registers and confirms `user` with the code from the local mailbox."""
    post(base, "/register", user)
    with urllib.request.urlopen(f"{base}/_local/mailbox?username={user['username']}") as res:
        code = json.load(res)[0]["code"]
    post(base, "/confirm_user", {"username": user["username"], "confirmation_code": code})


def schemathesis(base, authorization, examples, max_time, seed, extra=()):
    """One schemathesis run with `authorization` on every request; its exit code."""
    cmd = [
        str(VENV_BIN / "schemathesis"), "run", f"{base}/openapi.yaml",
        "--url", base,
        "--header", f"Authorization: {authorization}",
        "--checks", CHECKS,
        "--max-examples", examples,
        "--max-time", max_time,
        "--seed", seed,
        # One worker: with two, hypothesis's lambda descriptions call ast.parse from two
        # threads, which CPython 3.11 can fail ("AST constructor recursion depth mismatch").
        "--workers", "1",
        "--phases", "examples,coverage,fuzzing",
        "--request-timeout", "15",
        "--suppress-health-check", "all",
        *extra,
    ]
    print("+", " ".join(c if "Authorization" not in c else "--header 'Authorization: …'" for c in cmd), flush=True)
    run = subprocess.run(cmd, env=dict(os.environ, NO_COLOR="1"), text=True, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=int(max_time) + 120)
    output = run.stdout.replace(authorization, "<token>")
    # Reproductions can carry 16 KiB bodies: long lines are cut here, kept whole in the log.
    print("\n".join(line if len(line) < 300 else line[:300] + " …" for line in output.splitlines()))
    cases = re.search(r"(\d+) generated", output)
    print(f"schemathesis: exit {run.returncode}; test cases: {cases.group(1) if cases else '?'}")
    return run.returncode, output


def post(base, path, body):
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def main():
    examples = os.environ.get("SCHEMATHESIS_EXAMPLES", "40")
    max_time = os.environ.get("SCHEMATHESIS_MAX_TIME", "150")
    seed = os.environ.get("SCHEMATHESIS_SEED", "6")
    local_api = ROOT / "target" / "debug" / "local-api"
    moto_port, api_port = free_port(), free_port()
    base = f"http://127.0.0.1:{api_port}"
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        LOCAL_BOOTSTRAP="1",
        LOCAL_API_ADDR=f"127.0.0.1:{api_port}",
        TEMPLATE=str(ROOT / "template.yaml"),
        RUST_LOG="warn",
    )
    log_dir = ROOT / "target" / "schemathesis"
    log_dir.mkdir(parents=True, exist_ok=True)
    children = []
    try:
        children.append(subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
            env=dict(os.environ, MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP="true"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        ))
        wait_for(f"http://127.0.0.1:{moto_port}/moto-api/")
        with open(log_dir / "local-api.log", "w") as log:
            children.append(subprocess.Popen(
                [str(local_api)], env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            ))
        wait_for(f"{base}/openapi.yaml")

        user = {"username": "schemathesis@example.com", "password": "Correct-Horse-9!"}
        signed_up(base, user)
        token = post(base, "/login", user)["id_token"]
        code, output = schemathesis(base, token, examples, max_time, seed)
        (log_dir / "schemathesis.log").write_text(output)

        # The admin routes as an administrator: put in the group straight at the pool, as the
        # first one is, then signed in (the token names the group).
        admin = {"username": "schemathesis-admin@example.com", "password": user["password"]}
        signed_up(base, admin)
        pool = moto_call(moto_port, "ListUserPools", {"MaxResults": 10})["UserPools"][0]["Id"]
        moto_call(moto_port, "AdminAddUserToGroup",
                  {"UserPoolId": pool, "Username": admin["username"], "GroupName": "admin"})
        access = post(base, "/login", admin)["access_token"]
        admin_time = str(max(30, int(max_time) // 3))
        admin_code, output = schemathesis(base, f"Bearer {access}", examples, admin_time, seed,
                                          ("--include-path-regex", "^/admin"))
        (log_dir / "schemathesis-admin.log").write_text(output)
        return code or admin_code
    finally:
        for child in reversed(children):
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
