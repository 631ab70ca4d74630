"""template.yaml as CloudFormation will see it: transformed offline by aws-sam-translator (no
credentials, no network), then checked for what the deployed stack must have. Part of
`make lint-template`; prints what it checked."""

import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent


class ManagedPolicies:
    """The managed policies SAM may attach, by name: offline, no IAM look-up."""

    def load(self):
        base = "arn:aws:iam::aws:policy/"
        return {
            "AWSLambdaBasicExecutionRole": base + "service-role/AWSLambdaBasicExecutionRole",
            "AWSXrayWriteOnlyAccess": base + "AWSXrayWriteOnlyAccess",
        }


def transformed():
    text = (ROOT / "template.yaml").read_text()
    # SAM wants an S3 location for code it does not build itself.
    text = text.replace("CodeUri: .", "CodeUri: s3://bucket/key")
    return transform(yaml_parse(text), {}, ManagedPolicies())


# The parameters that cap a route at a Cognito quota category.
QUOTA_LIMITS = {
    "SignInRateLimit",
    "SignUpRateLimit",
    "PasswordRateLimit",
    "AccountReadRateLimit",
    "AccountUpdateRateLimit",
}

# The routes that spend no Cognito quota: DynamoDB and Lambda bear them (ApiRateLimit).
NO_COGNITO_QUOTA = {
    ("GET", "/books"),
    ("GET", "/books/{id}"),
    ("POST", "/books"),
    ("PUT", "/books/{id}"),
    ("DELETE", "/books/{id}"),
    ("GET", "/me/activity"),
    ("GET", "/me/sessions"),
}


# The alarms whose firing during a deploy sends the traffic back to the previous build.
ROLLBACK_ALARMS = {"FunctionErrorsAlarm", "Api5xxAlarm", "ApiLatencyAlarm"}


def fail(message):
    print(f"check-transformed-template: {message}", file=sys.stderr)
    sys.exit(1)


# The routes that send mail: the stage's lower throttle and the firewall's strict per-IP limit
# apply to them. The public ones among them are also public POST routes.
MAIL_ROUTES = {
    ("POST", "/register"),
    ("POST", "/resend_code"),
    ("POST", "/forgot_password"),
    ("PATCH", "/me"),
    ("POST", "/me/verify_email/resend"),
}


# The signed-in routes that take a password, a code, a refresh token or a passkey's credential
# (or mail a code to prove the caller with): the firewall's strict per-IP limit applies to them
# too.
SECRET_ROUTES = {
    ("POST", "/passkeys/register/start"),
    ("POST", "/passkeys/register/finish"),
    ("DELETE", "/me"),
    ("POST", "/change_password"),
    ("POST", "/logout"),
    ("POST", "/me/verify_email"),
    ("POST", "/mfa/totp/setup"),
    ("POST", "/mfa/totp/verify"),
    ("POST", "/mfa/totp/disable"),
}


def routes(resources):
    """(method, path) -> (public, function logical id), from the REST API's body SAM made."""
    (api,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    found = {}
    for path, methods in api["Properties"]["Body"]["paths"].items():
        for method, op in methods.items():
            if method == "options":
                continue
            security = op.get("security") or [{"NONE": []}]
            public = all(list(s) == ["NONE"] for s in security)
            uri = json.dumps(op["x-amazon-apigateway-integration"]["uri"])
            # The function's `live` alias (AutoPublishAlias), or the function itself.
            function = re.search(r"functions/\$\{(\w+?)(?:\.Arn|Aliaslive)\}", uri)
            found[(method.upper(), path)] = (public, function and function.group(1))
    return found


def transformed_text(value, transformations):
    for t in sorted(transformations, key=lambda t: t["Priority"]):
        kind = t["Type"]
        if kind == "URL_DECODE":
            value = unquote(value)
        elif kind == "LOWERCASE":
            value = value.lower()
        elif kind != "NONE":
            fail(f"the checker does not know the text transformation {kind}")
    return value


def matches(statement, method, path):
    """Whether a WAF statement matches a request: the few kinds the template uses."""
    (kind, body), = statement.items()
    if kind == "OrStatement":
        return any(matches(s, method, path) for s in body["Statements"])
    if kind == "AndStatement":
        return all(matches(s, method, path) for s in body["Statements"])
    if kind == "NotStatement":
        return not matches(body["Statement"], method, path)
    (field,) = body["FieldToMatch"]
    value = {"UriPath": path, "Method": method}.get(field) or fail(f"unknown field {field}")
    value = transformed_text(value, body["TextTransformations"])
    if kind == "RegexMatchStatement":
        return re.search(body["RegexString"], value) is not None
    if kind == "ByteMatchStatement":
        needle = body["SearchString"]
        return {
            "EXACTLY": value == needle,
            "STARTS_WITH": value.startswith(needle),
            "ENDS_WITH": value.endswith(needle),
            "CONTAINS": needle in value,
        }[body["PositionalConstraint"]]
    fail(f"the checker does not know the statement {kind}")


def main():
    t = transformed()
    resources = t["Resources"]
    of_type = lambda kind: {k: v for k, v in resources.items() if v["Type"] == kind}

    # The firewall is on the stage SAM generates.
    stages = of_type("AWS::ApiGateway::Stage")
    associations = of_type("AWS::WAFv2::WebACLAssociation")
    if len(stages) != 1 or len(associations) != 1:
        fail(f"want one stage and one web ACL association, got {list(stages)} {list(associations)}")
    (stage_id,) = stages
    arn = json.dumps(next(iter(associations.values()))["Properties"]["ResourceArn"])
    if "${" + stage_id + "}" not in arn:
        fail(f"the web ACL association is not on {stage_id}: {arn}")
    if "AccessLogSetting" not in stages[stage_id]["Properties"]:
        fail("the stage writes no access log")

    # Users and books survive the stack. (The sessions table holds only revocations that expire
    # within the hour.)
    for rid, protection in [
        ("UserPool", "DeletionProtection"),
        ("BooksTable", "DeletionProtectionEnabled"),
    ]:
        r = resources.get(rid) or fail(f"no {rid}")
        if r.get("DeletionPolicy") != "Retain" or r.get("UpdateReplacePolicy") != "Retain":
            fail(f"{rid} is not retained")
        if protection not in r["Properties"]:
            fail(f"{rid} has no {protection}")

    # No function holds the client secret: at most its ARN, and only the functions that sign in
    # may read it.
    functions = of_type("AWS::Lambda::Function")
    for fid, f in functions.items():
        variables = f["Properties"].get("Environment", {}).get("Variables", {})
        for name, value in variables.items():
            shown = json.dumps(value)
            if name == "COGNITO_CLIENT_SECRET" or "ClientSecret\"" in shown and "GetAtt" in shown:
                fail(f"{fid} gets the client secret in its environment ({name})")
        role = resources[f["Properties"]["Role"]["Fn::GetAtt"][0]]
        policies = json.dumps(role["Properties"].get("Policies", []))
        reads_secret = "secretsmanager:GetSecretValue" in policies
        if reads_secret != ("COGNITO_CLIENT_SECRET_ARN" in variables):
            fail(f"{fid}: GetSecretValue granted={reads_secret}, but it reads the secret="
                 f"{'COGNITO_CLIENT_SECRET_ARN' in variables}")
        if "secretsmanager:*" in policies or '"Resource": "*"' in policies:
            fail(f"{fid}'s role grants too much: {policies}")

    # Safe deploys: every function has its `live` alias, moved by a CodeDeploy deployment group
    # with the rollback alarms and automatic rollback; whatever invokes a function (the API,
    # the stream, the rules, the schedules) invokes the alias, never $LATEST.
    aliases = of_type("AWS::Lambda::Alias")
    groups = of_type("AWS::CodeDeploy::DeploymentGroup")
    for fid in functions:
        alias_id = fid + "Aliaslive"
        alias = aliases.get(alias_id) or fail(f"{fid} has no live alias")
        update = alias.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate")
        if not update:
            fail(f"{alias_id} is not moved by CodeDeploy")
        group = groups.get(fid + "DeploymentGroup") or fail(f"{fid} has no deployment group")
        alarms = group["Properties"].get("AlarmConfiguration", {})
        named = {json.dumps(a["Name"]) for a in alarms.get("Alarms", [])}
        wanted = {json.dumps({"Ref": a}) for a in ROLLBACK_ALARMS}
        if not alarms.get("Enabled") or named != wanted:
            fail(f"{fid}'s deployment group rolls back on {sorted(named)}, not {sorted(wanted)}")
        events = set(group["Properties"].get("AutoRollbackConfiguration", {}).get("Events", []))
        if not {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= events:
            fail(f"{fid}'s deployment group does not roll back on failure and alarm: {events}")
    invokers = {**of_type("AWS::Lambda::Permission"), **of_type("AWS::Lambda::EventSourceMapping")}
    for iid, invoker in invokers.items():
        target = json.dumps(invoker["Properties"]["FunctionName"])
        if "Aliaslive" not in target:
            fail(f"{iid} invokes {target}, not a live alias")
    for rid, rule in of_type("AWS::Events::Rule").items():
        for target in rule["Properties"].get("Targets", []):
            if "Aliaslive" not in json.dumps(target["Arn"]):
                fail(f"{rid} targets {target['Arn']}, not a live alias")

    # Every table is on demand, with point-in-time recovery and explicit deletion policies; one
    # whose items do not all expire (no TTL) is retained and deletion-protected.
    tables = of_type("AWS::DynamoDB::Table")
    for tid, table in tables.items():
        p = table["Properties"]
        if p.get("BillingMode") != "PAY_PER_REQUEST":
            fail(f"{tid} is not on demand")
        if p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is not True:
            fail(f"{tid} has no point-in-time recovery")
        if not table.get("DeletionPolicy") or table.get("DeletionPolicy") != table.get("UpdateReplacePolicy"):
            fail(f"{tid}: DeletionPolicy and UpdateReplacePolicy must be set, and alike")
        expires = p.get("TimeToLiveSpecification", {}).get("Enabled") is True
        if not expires and (table["DeletionPolicy"] != "Retain" or "DeletionProtectionEnabled" not in p):
            fail(f"{tid} keeps items for good, but is not retained and protected")

    # The app client may not change the e-mail address with an access token alone: PATCH /me
    # does it with AdminUpdateUserAttributes, after the password and the second factor.
    client = resources.get("UserPoolClient") or fail("no UserPoolClient")
    if "email" in client["Properties"].get("WriteAttributes", []):
        fail("the app client's WriteAttributes has email: a stolen access token could change it")

    served = routes(resources)
    # Each route's own throttle, on routes that exist (a typo in a ResourcePath would leave the
    # route on the default): the mail routes' lower one on exactly the mail routes, and every
    # route that spends a Cognito quota capped by one of the quota parameters; only the routes
    # that call no Cognito quota (the books, the activity and session lists) on the default.
    settings = stages[stage_id]["Properties"].get("MethodSettings", [])
    throttled, mailed = set(), set()
    for s in settings:
        if s["ResourcePath"] == "/*":
            if s.get("ThrottlingRateLimit") != {"Ref": "ApiRateLimit"}:
                fail("the default throttle is not ApiRateLimit")
            continue
        # "/~1me~1verify_email" is the resource /me/verify_email.
        route = (s["HttpMethod"], s["ResourcePath"][1:].replace("~1", "/"))
        if route not in served:
            fail(f"a throttle for {route}, which is no route")
        rate = s.get("ThrottlingRateLimit", {}).get("Ref")
        if rate == "MailRouteRateLimit":
            if s.get("ThrottlingBurstLimit") != {"Ref": "MailRouteBurstLimit"}:
                fail(f"{route}'s burst is not the mail routes' one")
            mailed.add(route)
        elif rate not in QUOTA_LIMITS or s.get("ThrottlingBurstLimit") != {"Ref": rate}:
            fail(f"{route}'s throttle is not a Cognito quota's parameter: {s}")
        throttled.add(route)
    if mailed != MAIL_ROUTES:
        fail(f"the mail routes' throttle is on {sorted(mailed)}, not {sorted(MAIL_ROUTES)}")
    unthrottled = {route for route in served if route not in throttled}
    if unthrottled != NO_COGNITO_QUOTA:
        fail(f"on the default throttle: {sorted(unthrottled)}, not {sorted(NO_COGNITO_QUOTA)}")

    # The firewall's strict per-IP limit: exactly the public POST routes, the mail routes and
    # the signed-in routes that take a secret, whatever the stage prefix; GET /me and the other
    # signed-in routes only under the loose one.
    (acl,) = of_type("AWS::WAFv2::WebACL").values()
    # A rule behind a condition (the sign-up fraud rule) is an Fn::If: its "true" branch.
    listed = [r["Fn::If"][1] if "Fn::If" in r else r for r in acl["Properties"]["Rules"]]
    rules = {r["Name"]: r for r in listed}
    fraud = rules.get("sign-up-fraud") or fail("no sign-up fraud rule (SignUpProtection=ACFP)")
    group = fraud["Statement"]["ManagedRuleGroupStatement"]
    if group["Name"] != "AWSManagedRulesACFPRuleSet":
        fail(f"the sign-up fraud rule uses {group['Name']}")
    priorities = [r["Priority"] for r in listed]
    if len(set(priorities)) != len(priorities):
        fail(f"two firewall rules share a priority: {sorted(priorities)}")
    scope = rules["credential-routes-per-ip"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    for (method, path), (public, _) in served.items():
        strict = (
            (method == "POST" and public)
            or (method, path) in MAIL_ROUTES
            or (method, path) in SECRET_ROUTES
        )
        path = path.replace("{id}", "me")
        for seen in [path, f"/Prod{path}", f"/Prod{path}/"]:
            if matches(scope, method, seen) != strict:
                fail(f"the strict per-IP limit {'misses' if strict else 'counts'} {method} {seen}")
    for method, path in [("GET", "/Prod/books/login-guide"), ("GET", "/Prod/me"), ("PUT", "/Prod/me")]:
        if matches(scope, method, path):
            fail(f"the strict per-IP limit counts {method} {path}")

    # Every function behind the authorizer knows the stack's app client, to refuse the tokens of
    # another client of the pool.
    guarded = {f for (public, f) in served.values() if not public}
    for fid in guarded:
        variables = functions[fid]["Properties"].get("Environment", {}).get("Variables", {})
        if "COGNITO_CLIENT_ID" not in variables:
            fail(f"{fid} serves a protected route without COGNITO_CLIENT_ID")

    print(
        f"check-transformed-template: {len(resources)} resources; web ACL on {stage_id}, access "
        f"log on; pool and table retained and protected; {len(functions)} functions, none with "
        f"the client secret in its environment; {len(aliases)} live aliases behind CodeDeploy, "
        f"rolled back on {len(ROLLBACK_ALARMS)} alarms; {len(tables)} tables hardened; the mail "
        f"routes' throttle on {len(MAIL_ROUTES)} routes, {len(throttled) - len(MAIL_ROUTES)} at "
        f"their Cognito quota; the strict per-IP limit on the public POST, mail and "
        f"{len(SECRET_ROUTES)} secret-taking routes; {len(guarded)} functions "
        "behind the authorizer know the app client; no e-mail change with an access token alone"
    )


if __name__ == "__main__":
    main()
