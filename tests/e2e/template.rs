//! The deployed stack's wiring, read from `template.yaml`: every route reaches a binary of this
//! workspace and has sample events, the auth routes are public and the books writes are not, and
//! API Gateway's own error answers carry the same CORS headers as the handlers' answers.
//!
//! CloudFormation's short tags (`!Ref`, `!GetAtt`, `!Sub`, `!If`) parse as
//! `serde_yaml::Value::Tagged`, so expected values are written as YAML too and compared whole.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use integration_tests::workspace_root;
use platform::cors::{ALLOW_HEADERS, ALLOW_METHODS};
use serde_yaml::{Mapping, Value};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Access {
    Public,
    /// Needs a token the Cognito user pool authorizer accepts: an id token.
    Cognito,
    /// Needs an access token with the `aws.cognito.signin.user.admin` scope, which the function
    /// passes on to Cognito.
    CognitoAccessToken,
}

/// The routes the README and the books issue promise: (binary, method, path, access).
const ROUTES: &[(&str, &str, &str, Access)] = &[
    ("register", "POST", "/register", Access::Public),
    ("confirm", "POST", "/confirm_user", Access::Public),
    ("login", "POST", "/login", Access::Public),
    ("login", "POST", "/login/start", Access::Public),
    (
        "passkeys",
        "POST",
        "/passkeys/register/start",
        Access::CognitoAccessToken,
    ),
    (
        "passkeys",
        "POST",
        "/passkeys/register/finish",
        Access::CognitoAccessToken,
    ),
    ("passkeys", "GET", "/passkeys", Access::CognitoAccessToken),
    (
        "passkeys",
        "DELETE",
        "/passkeys/{id}",
        Access::CognitoAccessToken,
    ),
    ("mfa", "POST", "/login/challenge", Access::Public),
    ("mfa", "POST", "/mfa/totp/setup", Access::CognitoAccessToken),
    (
        "mfa",
        "POST",
        "/mfa/totp/verify",
        Access::CognitoAccessToken,
    ),
    ("mfa", "GET", "/mfa", Access::CognitoAccessToken),
    (
        "mfa",
        "POST",
        "/mfa/totp/disable",
        Access::CognitoAccessToken,
    ),
    ("mfa", "POST", "/login/recover", Access::Public),
    ("refresh", "POST", "/refresh", Access::Public),
    ("books", "GET", "/books", Access::Public),
    ("books", "GET", "/books/{id}", Access::Public),
    ("books", "POST", "/books", Access::Cognito),
    ("books", "PUT", "/books/{id}", Access::Cognito),
    ("books", "DELETE", "/books/{id}", Access::Cognito),
    ("account", "POST", "/resend_code", Access::Public),
    ("account", "POST", "/forgot_password", Access::Public),
    ("account", "POST", "/reset_password", Access::Public),
    (
        "account",
        "POST",
        "/change_password",
        Access::CognitoAccessToken,
    ),
    ("account", "POST", "/logout", Access::CognitoAccessToken),
    ("account", "GET", "/me", Access::Cognito),
    ("account", "PATCH", "/me", Access::CognitoAccessToken),
    ("account", "DELETE", "/me", Access::CognitoAccessToken),
    (
        "account",
        "POST",
        "/me/verify_email",
        Access::CognitoAccessToken,
    ),
    (
        "account",
        "POST",
        "/me/verify_email/resend",
        Access::CognitoAccessToken,
    ),
    ("account", "GET", "/me/sessions", Access::CognitoAccessToken),
    ("account", "GET", "/me/activity", Access::CognitoAccessToken),
    ("admin", "GET", "/admin/users", Access::CognitoAccessToken),
    (
        "admin",
        "GET",
        "/admin/users/{username}",
        Access::CognitoAccessToken,
    ),
    (
        "admin",
        "DELETE",
        "/admin/users/{username}",
        Access::CognitoAccessToken,
    ),
    (
        "admin",
        "POST",
        "/admin/users/{username}/disable",
        Access::CognitoAccessToken,
    ),
    (
        "admin",
        "POST",
        "/admin/users/{username}/enable",
        Access::CognitoAccessToken,
    ),
    (
        "admin",
        "POST",
        "/admin/users/{username}/sign_out",
        Access::CognitoAccessToken,
    ),
    (
        "admin",
        "POST",
        "/admin/users/{username}/reset_mfa",
        Access::CognitoAccessToken,
    ),
    (
        "admin",
        "PUT",
        "/admin/users/{username}/groups/{group}",
        Access::CognitoAccessToken,
    ),
    (
        "admin",
        "DELETE",
        "/admin/users/{username}/groups/{group}",
        Access::CognitoAccessToken,
    ),
    ("admin", "GET", "/admin/audit", Access::CognitoAccessToken),
    (
        "account",
        "DELETE",
        "/me/sessions",
        Access::CognitoAccessToken,
    ),
    (
        "account",
        "DELETE",
        "/me/sessions/{id}",
        Access::CognitoAccessToken,
    ),
];

const AUTH_BINARIES: &[&str] = &["register", "confirm", "login", "refresh"];
/// The functions that call Cognito as the app client.
const COGNITO_BINARIES: &[&str] = &["register", "confirm", "login", "refresh", "account", "mfa"];

/// The one authorizer the template defines.
const AUTHORIZER: &str = "CognitoAuthorizer";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    binary: String,
    method: String,
    path: String,
    access: Access,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}, {:?})",
            self.method, self.path, self.binary, self.access
        )
    }
}

fn template() -> Value {
    let path = workspace_root().join("template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("template.yaml is not YAML: {e}"))
}

/// A YAML snippet, tags and all, to compare a template value with.
fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("bad YAML in the test {text:?}: {e}"))
}

/// The value under a CloudFormation tag (`!If [..]` gives the list).
fn untagged(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => &tagged.value,
        other => other,
    }
}

fn mapping<'a>(value: &'a Value, what: &str) -> &'a Mapping {
    value
        .as_mapping()
        .unwrap_or_else(|| panic!("{what} is not a mapping: {value:?}"))
}

fn string<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a plain string: {value:?}"))
}

/// The `AWS::Serverless::Function` resources, by logical id.
fn functions(t: &Value) -> Vec<(String, &Value)> {
    let functions: Vec<_> = mapping(&t["Resources"], "Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| (string(id, "a resource id").to_owned(), r))
        .collect();
    assert!(!functions.is_empty(), "template.yaml has no functions");
    functions
}

fn binary<'a>(id: &str, function: &'a Value) -> &'a str {
    string(
        &function["Metadata"]["BuildProperties"]["Binary"],
        &format!("{id}'s Metadata.BuildProperties.Binary"),
    )
}

fn function_by_binary<'a>(t: &'a Value, bin: &str) -> &'a Value {
    functions(t)
        .into_iter()
        .find(|(id, f)| binary(id, f) == bin)
        .unwrap_or_else(|| panic!("no function builds the binary {bin}"))
        .1
}

fn api(t: &Value) -> &Value {
    let api = &t["Resources"]["Api"];
    assert_eq!(api["Type"], "AWS::Serverless::Api", "the resource Api");
    api
}

/// Every `Type: Api` event of every function, with the authorizer that applies to it.
fn routes(t: &Value) -> Vec<Route> {
    let auth = &api(t)["Properties"]["Auth"];
    let default = auth["DefaultAuthorizer"].as_str();
    let mut routes = Vec::new();
    for (id, function) in functions(t) {
        let bin = binary(&id, function);
        let events = mapping(&function["Properties"]["Events"], &format!("{id}'s Events"));
        for (name, event) in events {
            let what = format!("{id}'s event {}", string(name, "an event name"));
            if event["Type"] != "Api" {
                continue;
            }
            let props = &event["Properties"];
            assert_eq!(
                props["RestApiId"],
                yaml("!Ref Api"),
                "{what} must be on the one API (RestApiId: !Ref Api)"
            );
            let authorizer = match props["Auth"]["Authorizer"].as_str() {
                Some("NONE") => None,
                Some(name) => Some(name),
                None => default,
            };
            let scopes = props["Auth"]["AuthorizationScopes"].as_sequence();
            let access = match authorizer {
                None => Access::Public,
                Some(AUTHORIZER) if scopes.is_some() => {
                    assert_eq!(
                        props["Auth"]["AuthorizationScopes"],
                        yaml("[aws.cognito.signin.user.admin]"),
                        "{what}: the one scope Cognito's own user APIs need"
                    );
                    Access::CognitoAccessToken
                }
                Some(AUTHORIZER) => Access::Cognito,
                Some(other) => panic!("{what} uses the unknown authorizer {other}"),
            };
            routes.push(Route {
                binary: bin.to_owned(),
                method: string(&props["Method"], &format!("{what}'s Method")).to_uppercase(),
                path: string(&props["Path"], &format!("{what}'s Path")).to_owned(),
                access,
            });
        }
    }
    routes
}

fn route_of(t: &Value, method: &str, path: &str) -> Route {
    routes(t)
        .into_iter()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("template.yaml has no route {method} {path}"))
}

/// The (httpMethod, resource) pairs of the sample events in `events/`.
fn sample_events() -> BTreeSet<(String, String)> {
    let dir = workspace_root().join("events");
    let mut pairs = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("an events/ folder") {
        let path = entry.expect("a readable events/ entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable event");
        let event: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        if let (Some(method), Some(resource)) =
            (event["httpMethod"].as_str(), event["resource"].as_str())
        {
            pairs.insert((method.to_uppercase(), resource.to_owned()));
        }
    }
    pairs
}

/// The `[package] name` of a Cargo manifest, read without a TOML parser: the first `name = "…"`
/// after the `[package]` header.
fn package_name(manifest: &str) -> Option<&str> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            let value = value.trim_start().strip_prefix('=')?.trim();
            return value.strip_prefix('"')?.strip_suffix('"');
        }
    }
    None
}

#[test]
fn the_template_serves_exactly_the_documented_routes_with_the_documented_access() {
    let t = template();
    let actual: BTreeSet<Route> = routes(&t).into_iter().collect();
    let expected: BTreeSet<Route> = ROUTES
        .iter()
        .map(|&(binary, method, path, access)| Route {
            binary: binary.into(),
            method: method.into(),
            path: path.into(),
            access,
        })
        .collect();
    let missing: Vec<_> = expected.difference(&actual).map(Route::to_string).collect();
    let unexpected: Vec<_> = actual.difference(&expected).map(Route::to_string).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "routes in the template differ from the documented ones:\n  missing {missing:?}\n  \
         unexpected {unexpected:?}"
    );
}

/// Each function's route table (`ROUTES`, what its code serves), as (method, resource), by
/// binary name.
fn route_tables() -> BTreeMap<&'static str, BTreeSet<(String, String)>> {
    fn rows<S>(routes: &[platform::Route<S>]) -> BTreeSet<(String, String)> {
        routes
            .iter()
            .map(|r| (r.method.to_string(), r.resource.to_owned()))
            .collect()
    }
    BTreeMap::from([
        ("register", rows(register::ROUTES)),
        ("confirm", rows(confirm::ROUTES)),
        ("login", rows(login::ROUTES)),
        ("refresh", rows(refresh::ROUTES)),
        ("account", rows(account::ROUTES)),
        ("mfa", rows(mfa::ROUTES)),
        ("passkeys", rows(passkeys::ROUTES)),
        ("books", rows(books::ROUTES)),
        ("admin", rows(admin::ROUTES)),
    ])
}

#[test]
fn each_functions_route_table_is_exactly_what_the_template_routes_to_it() {
    let t = template();
    let mut routed: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in routes(&t) {
        routed
            .entry(r.binary)
            .or_default()
            .insert((r.method, r.path));
    }
    let tables = route_tables();
    assert_eq!(
        routed.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        tables.keys().copied().collect::<BTreeSet<_>>(),
        "the functions template.yaml routes to, and those with a route table here"
    );
    for (bin, table) in &tables {
        let events = &routed[*bin];
        let not_routed: Vec<_> = table.difference(events).collect();
        let not_served: Vec<_> = events.difference(table).collect();
        assert!(
            not_routed.is_empty() && not_served.is_empty(),
            "{bin}: in ROUTES but no event of the template: {not_routed:?}; \
             an event of the template but not in ROUTES: {not_served:?}"
        );
    }
}

#[test]
fn every_function_builds_a_binary_crate_of_this_workspace_from_the_workspace_root() {
    let t = template();
    let root = workspace_root();
    for (id, function) in functions(&t) {
        let bin = binary(&id, function);
        assert_eq!(
            function["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id}'s BuildMethod"
        );
        // The workspace root, so shared crates build once for all functions.
        assert_eq!(function["Properties"]["CodeUri"], ".", "{id}'s CodeUri");
        let crate_dir = root.join("functions").join(bin);
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap_or_else(|e| {
            panic!("{id} builds the binary {bin}, but functions/{bin}/Cargo.toml: {e}")
        });
        assert_eq!(
            package_name(&manifest),
            Some(bin),
            "functions/{bin}/Cargo.toml's package name (cargo names the binary after it)"
        );
        assert!(
            crate_dir.join("src/main.rs").is_file(),
            "functions/{bin} has no src/main.rs, so no binary named {bin}"
        );
    }
}

#[test]
fn every_route_has_a_sample_event_in_events() {
    let t = template();
    let events = sample_events();
    let without: Vec<String> = routes(&t)
        .iter()
        .filter(|r| !events.contains(&(r.method.clone(), r.path.clone())))
        .map(Route::to_string)
        .collect();
    assert!(
        without.is_empty(),
        "routes with no event in events/ whose httpMethod and resource match: {without:?}"
    );
}

#[test]
fn auth_routes_are_public() {
    let t = template();
    for &(bin, method, path, _) in ROUTES.iter().filter(|r| AUTH_BINARIES.contains(&r.0)) {
        let route = route_of(&t, method, path);
        assert_eq!(route.binary, bin, "{route}");
        assert_eq!(route.access, Access::Public, "{route} must need no token");
    }
}

#[test]
fn books_reads_are_public_and_books_writes_need_a_cognito_token() {
    let t = template();
    for (method, path) in [("GET", "/books"), ("GET", "/books/{id}")] {
        let route = route_of(&t, method, path);
        assert_eq!(route.access, Access::Public, "{route}");
    }
    for (method, path) in [
        ("POST", "/books"),
        ("PUT", "/books/{id}"),
        ("DELETE", "/books/{id}"),
    ] {
        let route = route_of(&t, method, path);
        assert_eq!(route.access, Access::Cognito, "{route} must need a token");
    }
}

#[test]
fn the_authorizer_checks_the_authorization_header_against_the_user_pool_but_not_on_preflight() {
    let t = template();
    let auth = &api(&t)["Properties"]["Auth"];
    assert_eq!(auth["DefaultAuthorizer"], AUTHORIZER);
    // A browser's OPTIONS preflight carries no token; it must reach the CORS mock, not a 401.
    assert_eq!(auth["AddDefaultAuthorizerToCorsPreflight"], false);
    let authorizer = &auth["Authorizers"][AUTHORIZER];
    assert_eq!(authorizer["Identity"]["Header"], "Authorization");
    assert_eq!(
        authorizer["UserPoolArn"],
        yaml("!If [CreateUserPool, !GetAtt UserPool.Arn, !Ref ExistingUserPoolArn]")
    );
}

#[test]
fn gateway_error_answers_carry_the_same_cors_headers_as_the_handlers() {
    let t = template();
    let responses = &api(&t)["Properties"]["GatewayResponses"];
    for kind in ["DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "WAF_FILTERED"] {
        let headers = &responses[kind]["ResponseParameters"]["Headers"];
        assert_eq!(
            headers["Access-Control-Allow-Origin"],
            yaml(r#"!Sub "'${AllowedOrigin}'""#),
            "{kind}'s Access-Control-Allow-Origin"
        );
        assert_eq!(
            headers["Access-Control-Allow-Methods"],
            format!("'{ALLOW_METHODS}'").as_str(),
            "{kind}'s Access-Control-Allow-Methods"
        );
        assert_eq!(
            headers["Access-Control-Allow-Headers"],
            format!("'{ALLOW_HEADERS}'").as_str(),
            "{kind}'s Access-Control-Allow-Headers"
        );
    }
}

#[test]
fn the_stages_throttle_answers_with_retry_after_as_openapi_promises() {
    let t = template();
    let throttled = &api(&t)["Properties"]["GatewayResponses"]["THROTTLED"];
    assert_eq!(
        throttled["ResponseParameters"]["Headers"]["Retry-After"],
        "'1'"
    );
    let spec: Value = serde_yaml::from_str(
        &std::fs::read_to_string(workspace_root().join("openapi.yaml")).unwrap(),
    )
    .unwrap();
    let promised = &spec["components"]["responses"]["TooManyRequests"]["headers"];
    assert!(promised.get("Retry-After").is_some(), "{promised:?}");
}

#[test]
fn each_route_is_throttled_at_the_cognito_quota_its_calls_spend_and_mail_routes_lower() {
    let t = template();
    let params = &t["Parameters"];
    // Cognito's default quotas per account and region, as AWS documents them (requests a
    // second): what each parameter defaults to.
    let quotas = [
        ("SignInRateLimit", 120),       // UserAuthentication
        ("SignUpRateLimit", 50),        // UserCreation
        ("PasswordRateLimit", 30),      // UserAccountRecovery
        ("AccountReadRateLimit", 120),  // UserRead
        ("AccountUpdateRateLimit", 25), // UserUpdate, UserResourceUpdate
    ];
    for (param, quota) in quotas {
        assert_eq!(params[param]["Default"], quota, "{param}");
    }
    // The mail routes spend UserCreation (50), UserResourceRead (50), UserAccountRecovery (30)
    // and UserUpdate (25): their limit may not pass the lowest.
    assert_eq!(params["MailRouteRateLimit"]["MaxValue"], 25);
    assert!(params["MailRouteRateLimit"]["Default"].as_u64() <= Some(25));
    let group = |route: &Route| -> &str {
        let (m, p) = (route.method.as_str(), route.path.as_str());
        match (m, p) {
            (
                "POST",
                "/register" | "/resend_code" | "/forgot_password" | "/me/verify_email/resend",
            )
            | ("PATCH", "/me") => "MailRouteRateLimit",
            (
                "POST",
                "/login" | "/login/start" | "/login/challenge" | "/login/recover" | "/refresh",
            ) => "SignInRateLimit",
            ("POST", "/confirm_user") => "SignUpRateLimit",
            ("POST", "/reset_password" | "/change_password") => "PasswordRateLimit",
            ("GET", "/me" | "/mfa" | "/passkeys") => "AccountReadRateLimit",
            (_, p) if p.starts_with("/books") => "ApiRateLimit",
            ("GET", "/me/activity" | "/me/sessions") => "ApiRateLimit",
            _ => "AccountUpdateRateLimit",
        }
    };
    let settings = api(&t)["Properties"]["MethodSettings"]
        .as_sequence()
        .expect("MethodSettings");
    let find = |path: &str, method: &str| {
        settings
            .iter()
            .find(|s| s["ResourcePath"] == path && s["HttpMethod"] == method)
    };
    let default = find("/*", "*").expect("a default throttle");
    assert_eq!(default["ThrottlingRateLimit"], yaml("!Ref ApiRateLimit"));
    assert_eq!(default["ThrottlingBurstLimit"], yaml("!Ref ApiBurstLimit"));
    let served = routes(&t);
    for route in &served {
        let expected = group(route);
        let setting = find(
            &format!("/{}", route.path.replace('/', "~1")),
            &route.method,
        );
        let Some(setting) = setting else {
            assert_eq!(
                expected, "ApiRateLimit",
                "{route} has no throttle of its own"
            );
            continue;
        };
        assert_ne!(expected, "ApiRateLimit", "{route}: the default would do");
        assert_eq!(
            setting["ThrottlingRateLimit"],
            yaml(&format!("!Ref {expected}")),
            "{route}"
        );
        let burst = if expected == "MailRouteRateLimit" {
            "MailRouteBurstLimit"
        } else {
            expected
        };
        assert_eq!(
            setting["ThrottlingBurstLimit"],
            yaml(&format!("!Ref {burst}")),
            "{route}"
        );
    }
    // No setting for a path that is no route (a typo would leave that route on the default).
    assert_eq!(
        settings.len(),
        1 + served.iter().filter(|r| group(r) != "ApiRateLimit").count()
    );
}

#[test]
fn cognito_sees_the_callers_context_and_threat_protection_is_a_parameter_off_by_default() {
    let t = template();
    let client = &t["Resources"]["UserPoolClient"]["Properties"];
    assert_eq!(client["EnablePropagateAdditionalUserContextData"], true);
    assert_eq!(
        client["GenerateSecret"], true,
        "context data needs a client secret"
    );
    let pool = &t["Resources"]["UserPool"]["Properties"];
    assert_eq!(
        pool["UserPoolAddOns"]["AdvancedSecurityMode"],
        yaml("!Ref ThreatProtection")
    );
    // The plan is explicit (it decides the bill), and threat protection asserts Plus.
    assert_eq!(pool["UserPoolTier"], yaml("!Ref UserPoolTier"));
    let tier = &t["Parameters"]["UserPoolTier"];
    assert_eq!(tier["Default"], "ESSENTIALS");
    assert_eq!(tier["AllowedValues"], yaml("[LITE, ESSENTIALS, PLUS]"));
    let rule = &t["Rules"]["ThreatProtectionNeedsPlus"];
    assert_eq!(
        rule["Assertions"][0]["Assert"],
        yaml("!Equals [!Ref UserPoolTier, PLUS]")
    );
    let param = &t["Parameters"]["ThreatProtection"];
    assert_eq!(param["Default"], "OFF");
    assert_eq!(param["AllowedValues"], yaml("[OFF, AUDIT, ENFORCED]"));
}

#[test]
fn the_api_is_regional() {
    let t = template();
    assert_eq!(
        api(&t)["Properties"]["EndpointConfiguration"],
        yaml("{Type: REGIONAL}")
    );
}

#[test]
fn allowed_origin_takes_only_a_star_or_a_scheme_host_and_port() {
    let t = template();
    let param = &t["Parameters"]["AllowedOrigin"];
    let pattern = regex::Regex::new(string(&param["AllowedPattern"], "AllowedPattern")).unwrap();
    for ok in [
        "*",
        "https://app.example.com",
        "http://127.0.0.1:8080",
        "http://localhost:3000",
        string(&param["Default"], "Default"),
    ] {
        assert!(pattern.is_match(ok), "{ok:?}");
    }
    for bad in [
        "",
        "'",
        "https://app.example.com'",
        "https://app.example.com/",
        "https://app.example.com/path",
        "app.example.com",
        "https://a b.com",
        "https://a.com, https://b.com",
        "ftp://a.com",
        "**",
    ] {
        assert!(!pattern.is_match(bad), "{bad:?}");
    }
}

#[test]
fn the_preflight_allows_the_same_origin_methods_and_headers_as_the_handlers() {
    let t = template();
    let cors = &api(&t)["Properties"]["Cors"];
    assert_eq!(cors["AllowOrigin"], yaml(r#"!Sub "'${AllowedOrigin}'""#));
    assert_eq!(cors["AllowMethods"], format!("'{ALLOW_METHODS}'").as_str());
    assert_eq!(cors["AllowHeaders"], format!("'{ALLOW_HEADERS}'").as_str());
}

#[test]
fn every_function_is_a_rust_bootstrap_on_al2023_with_json_logs() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Architectures"], yaml("[!Ref Architecture]"));
    assert_eq!(t["Parameters"]["Architecture"]["Default"], "arm64");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(globals["Tracing"], "Active");
    for (id, function) in functions(&t) {
        for key in ["Runtime", "Handler", "Architectures", "Tracing"] {
            assert!(
                function["Properties"].get(key).is_none(),
                "{id} overrides the global {key}"
            );
        }
    }
}

#[test]
fn each_function_logs_to_a_group_of_its_own_and_every_log_group_outlives_the_stack_for_log_retention_days()
 {
    let t = template();
    for (id, function) in functions(&t) {
        let name = id
            .strip_suffix("Function")
            .expect("functions are named *Function");
        let group = format!("{name}Logs");
        // Only the log group: format and levels stay the global ones.
        assert_eq!(
            function["Properties"]["LoggingConfig"],
            yaml(&format!("{{LogGroup: !Ref {group}}}")),
            "{id}"
        );
        let resource = &t["Resources"][group.as_str()];
        assert_eq!(resource["Type"], "AWS::Logs::LogGroup", "{group}");
        assert_eq!(
            resource["Properties"]["RetentionInDays"],
            yaml("!Ref LogRetentionDays"),
            "{group}"
        );
        assert!(
            resource["Properties"].get("LogGroupName").is_none(),
            "{group}"
        );
    }
    // Every log group is part of the audit trail (a function logs an event the audit table
    // could not take; the access and firewall logs say who called what): each outlives the
    // stack, expiring by LogRetentionDays, under a name no later stack of the same name meets.
    for (id, resource) in mapping(&t["Resources"], "Resources") {
        if resource["Type"] != "AWS::Logs::LogGroup" {
            continue;
        }
        for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
            assert_eq!(resource[policy], "Retain", "{id:?} goes with the stack");
        }
        assert_eq!(
            resource["Properties"]["RetentionInDays"],
            yaml("!Ref LogRetentionDays"),
            "{id:?}"
        );
        if let Some(name) = resource["Properties"].get("LogGroupName") {
            let text = format!("{name:?}");
            assert!(text.contains("AWS::StackId"), "{id:?}: {text}");
        }
    }
    assert_eq!(t["Parameters"]["LogRetentionDays"]["Default"], 30);
}

#[test]
fn the_pool_and_the_table_survive_the_stack_and_are_protected_unless_turned_off() {
    let t = template();
    for (resource, protection) in [
        (
            "UserPool",
            "DeletionProtection: !If [ProtectData, ACTIVE, INACTIVE]",
        ),
        (
            "BooksTable",
            "DeletionProtectionEnabled: !If [ProtectData, true, false]",
        ),
    ] {
        let r = &t["Resources"][resource];
        assert_eq!(r["DeletionPolicy"], "Retain", "{resource}");
        assert_eq!(r["UpdateReplacePolicy"], "Retain", "{resource}");
        let (key, value) = protection.split_once(": ").unwrap();
        assert_eq!(r["Properties"][key], yaml(value), "{resource}");
    }
    assert_eq!(t["Parameters"]["DataProtection"]["Default"], "true");
    assert_eq!(
        t["Conditions"]["ProtectData"],
        yaml(r#"!Equals [!Ref DataProtection, "true"]"#)
    );
}

#[test]
fn the_stack_policy_refuses_replacing_or_deleting_the_pool_and_every_table_and_allows_the_rest() {
    let t = template();
    let policy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("stack-policy.json")).unwrap(),
    )
    .expect("stack-policy.json is JSON");
    let statements = policy["Statement"].as_array().unwrap();
    // Without an Allow, a stack policy refuses every update.
    assert!(
        statements
            .iter()
            .any(|s| s["Effect"] == "Allow" && s["Action"] == "Update:*" && s["Resource"] == "*"),
        "{policy}"
    );
    let deny: Vec<&serde_json::Value> = statements
        .iter()
        .filter(|s| s["Effect"] == "Deny")
        .collect();
    assert_eq!(deny.len(), 1, "{policy}");
    assert_eq!(
        deny[0]["Action"],
        serde_json::json!(["Update:Replace", "Update:Delete"])
    );
    let guarded: BTreeSet<String> = (deny[0]["Resource"].as_array().unwrap().iter())
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    let data: BTreeSet<String> = mapping(&t["Resources"], "Resources")
        .iter()
        .filter(|(_, r)| {
            matches!(
                r["Type"].as_str(),
                Some("AWS::Cognito::UserPool" | "AWS::DynamoDB::Table")
            )
            // A secret the data cannot be read without: the recovery codes' pepper.
            || (r["Type"] == "AWS::SecretsManager::Secret" && r["DeletionPolicy"] == "Retain")
        })
        .map(|(id, _)| format!("LogicalResourceId/{}", id.as_str().unwrap()))
        .collect();
    assert!(data.contains("LogicalResourceId/RecoveryCodePepper"));
    assert_eq!(
        guarded, data,
        "the pool, every table and the pepper, nothing else"
    );
    // `make stack-policy` applies it.
    let makefile = std::fs::read_to_string(workspace_root().join("Makefile")).unwrap();
    assert!(makefile.contains("set-stack-policy") && makefile.contains("file://stack-policy.json"));
}

#[test]
fn the_stage_is_traced() {
    let t = template();
    assert_eq!(api(&t)["Properties"]["TracingEnabled"], true);
}

#[test]
fn each_function_gets_the_configuration_its_code_reads_and_never_the_client_secret_itself() {
    let t = template();
    assert!(
        t["Parameters"]
            .get("ExistingUserPoolClientSecret")
            .is_none(),
        "a bring-your-own secret comes as a Secrets Manager ARN"
    );
    let arn = &t["Parameters"]["ExistingUserPoolClientSecretArn"];
    assert_eq!(arn["Default"], "", "empty: the client has no secret");
    assert_eq!(
        t["Resources"]["ClientSecret"]["Properties"]["SecretString"],
        yaml("!GetAtt UserPoolClient.ClientSecret"),
        "the stack stores the secret of the client it creates"
    );
    for bin in COGNITO_BINARIES {
        let vars = &function_by_binary(&t, bin)["Properties"]["Environment"]["Variables"];
        assert_eq!(
            vars["COGNITO_CLIENT_ID"],
            yaml("!If [CreateUserPoolClient, !Ref UserPoolClient, !Ref ExistingUserPoolClientId]"),
            "{bin}'s COGNITO_CLIENT_ID"
        );
        assert!(
            vars.get(auth::config::PLAIN_SECRET_VAR).is_none(),
            "{bin} gets the secret in plain"
        );
        assert_eq!(
            vars[auth::config::SECRET_ARN_VAR],
            yaml(
                "!If [CreateUserPoolClient, !Ref ClientSecret, \
                 !If [HasExistingClientSecret, !Ref ExistingUserPoolClientSecretArn, \
                 !Ref AWS::NoValue]]"
            ),
            "{bin}'s COGNITO_CLIENT_SECRET_ARN"
        );
        assert_eq!(vars["ALLOWED_ORIGIN"], yaml("!Ref AllowedOrigin"), "{bin}");
    }
    // The recovery codes' pepper: its ARN, and leave to read it, to the functions that issue or
    // check codes; no other function has either.
    let pepper = &t["Resources"]["RecoveryCodePepper"];
    assert_eq!(pepper["Type"], "AWS::SecretsManager::Secret");
    assert_eq!(
        pepper["DeletionPolicy"], "Retain",
        "without it no code checks"
    );
    assert_eq!(pepper["UpdateReplacePolicy"], "Retain");
    let generated = &pepper["Properties"]["GenerateSecretString"];
    assert!(generated["PasswordLength"].as_u64().unwrap() >= 32);
    for (id, function) in functions(&t) {
        let bin = binary(&id, function);
        let checks_codes = ["account", "mfa", "passkeys"].contains(&bin);
        let var = &function["Properties"]["Environment"]["Variables"]
            [auth::stored_secret::RECOVERY_CODE_PEPPER.var];
        let grant = yaml(
            "AWSSecretsManagerGetSecretValuePolicy:
               SecretArn: !Ref RecoveryCodePepper",
        );
        let granted = function["Properties"]["Policies"]
            .as_sequence()
            .is_some_and(|p| p.contains(&grant));
        if checks_codes {
            assert_eq!(*var, yaml("!Ref RecoveryCodePepper"), "{bin}");
            assert!(granted, "{bin} may read the pepper");
        } else {
            assert!(var.is_null() && !granted, "{bin} has no use for the pepper");
        }
        assert!(
            function["Properties"]["Environment"]["Variables"]
                .get(auth::stored_secret::PLAIN_PEPPER_VAR)
                .is_none(),
            "{bin} gets the pepper in plain"
        );
    }
    let vars = &function_by_binary(&t, "books")["Properties"]["Environment"]["Variables"];
    assert_eq!(vars["BOOKS_TABLE"], yaml("!Ref BooksTable"));
    assert_eq!(vars["ALLOWED_ORIGIN"], yaml("!Ref AllowedOrigin"));
    for name in [auth::config::PLAIN_SECRET_VAR, auth::config::SECRET_ARN_VAR] {
        assert!(vars.get(name).is_none(), "books has no use for {name}");
    }
}

#[test]
fn each_function_may_make_only_the_aws_calls_its_code_makes() {
    let t = template();
    for bin in COGNITO_BINARIES {
        let props = &function_by_binary(&t, bin)["Properties"];
        // SignUp, ConfirmSignUp, InitiateAuth, ResendConfirmationCode, ForgotPassword and
        // ConfirmForgotPassword are app-client calls, and ChangePassword and GlobalSignOut are
        // authorized by the user's access token: no IAM permission needed. Only the secret is.
        assert!(props.get("Role").is_none(), "{bin} has its own Role");
        assert_eq!(
            props["Policies"][0],
            yaml(
                "!If
                   - HasClientSecret
                   - AWSSecretsManagerGetSecretValuePolicy:
                       SecretArn: !If [CreateUserPoolClient, !Ref ClientSecret, !Ref ExistingUserPoolClientSecretArn]
                   - !Ref AWS::NoValue"
            ),
            "{bin} may read the client secret, that one only"
        );
    }
    // Books: the calls its store makes, on the table and its indexes, and the revocation check
    // (one GetItem on the sessions table).
    let books = dynamodb_grants(&t, "books");
    let mut expected: BTreeSet<(String, String)> =
        sdk_calls("crates/tables/src/books/mod.rs", ".dynamodb")
            .into_iter()
            .map(|call| {
                let resource = if call == "Query" {
                    resource(r#"!Sub "${BooksTable.Arn}/index/*""#)
                } else {
                    resource("!GetAtt BooksTable.Arn")
                };
                (call, resource)
            })
            .collect();
    expected.insert(("GetItem".into(), resource("!GetAtt SessionsTable.Arn")));
    assert_eq!(books, expected, "books: exactly the calls its code makes");

    // Account: the sessions table's calls (crates/tables), deleting a user's books (the
    // by_owner index, then each book) and recovery codes, a recovery code used as the proof
    // (read, then one conditional update), and the limits' counters (taken, read, reset).
    let calls = |file: &str, table: &str, only: &[&str]| -> BTreeSet<(String, String)> {
        sdk_calls(file, ".client")
            .into_iter()
            .filter(|call| only.is_empty() || only.contains(&call.as_str()))
            .map(|call| (call, resource(&format!("!GetAtt {table}.Arn"))))
            .collect()
    };
    let account = dynamodb_grants(&t, "account");
    // The check, the list and the ending of sessions (deletes, in transactions).
    let mut expected = sessions_grants(&["GetItem", "Query", "DeleteItem"]);
    expected.insert((
        "Query".into(),
        resource(r#"!Sub "${BooksTable.Arn}/index/by_owner""#),
    ));
    expected.insert(("DeleteItem".into(), resource("!GetAtt BooksTable.Arn")));
    expected.extend(calls(
        "crates/tables/src/recovery.rs",
        "RecoveryCodesTable",
        &["GetItem", "UpdateItem", "DeleteItem"],
    ));
    expected.extend(calls(
        "crates/tables/src/limits.rs",
        "LimitsTable",
        &["GetItem", "UpdateItem", "DeleteItem"],
    ));
    // Its events appended, and the caller's read back (GET /me/activity).
    expected.extend(calls("crates/tables/src/audit.rs", "AuditTable", &[]));
    assert_eq!(
        account, expected,
        "account: exactly the calls its code makes"
    );
    // The events function only reads a user's recent sign-ins (a new device's alert), and
    // reads and writes the marks of the alerts it sent.
    let mut expected = calls("crates/tables/src/audit.rs", "AuditTable", &["Query"]);
    expected.extend(calls(
        "crates/tables/src/limits.rs",
        "LimitsTable",
        &["GetItem", "PutItem"],
    ));
    assert_eq!(
        dynamodb_grants(&t, "events"),
        expected,
        "events: reads the audit table, marks its alerts"
    );
    // The admin API: events appended and queried (the table and its type index), a deleted
    // user's books, sessions and recovery codes, and the check.
    let mut expected = calls("crates/tables/src/audit.rs", "AuditTable", &[]);
    expected.insert((
        "Query".into(),
        resource(r#"!Sub "${AuditTable.Arn}/index/by_type""#),
    ));
    expected.insert((
        "Query".into(),
        resource(r#"!Sub "${BooksTable.Arn}/index/by_owner""#),
    ));
    expected.insert(("DeleteItem".into(), resource("!GetAtt BooksTable.Arn")));
    expected.extend(sessions_grants(&["GetItem", "Query", "DeleteItem"]));
    expected.insert((
        "DeleteItem".into(),
        resource("!GetAtt RecoveryCodesTable.Arn"),
    ));
    assert_eq!(dynamodb_grants(&t, "admin"), expected, "admin");
    // The operator function: a user's sessions ended, a deleted user's books and recovery
    // codes, and the action's event appended.
    let mut expected = calls("crates/tables/src/audit.rs", "AuditTable", &["PutItem"]);
    expected.insert((
        "Query".into(),
        resource(r#"!Sub "${BooksTable.Arn}/index/by_owner""#),
    ));
    expected.insert(("DeleteItem".into(), resource("!GetAtt BooksTable.Arn")));
    expected.extend(sessions_grants(&["GetItem", "Query", "DeleteItem"]));
    expected.insert((
        "DeleteItem".into(),
        resource("!GetAtt RecoveryCodesTable.Arn"),
    ));
    assert_eq!(dynamodb_grants(&t, "operator"), expected, "operator");
    // Every other function that records events may only append them.
    let appends = calls("crates/tables/src/audit.rs", "AuditTable", &["PutItem"]);
    for bin in ["register", "confirm", "passkeys"] {
        let audit: BTreeSet<_> = dynamodb_grants(&t, bin)
            .into_iter()
            .filter(|(_, resource)| resource.contains("AuditTable"))
            .collect();
        assert_eq!(audit, appends, "{bin}: appends events, nothing else");
    }

    // MFA: the recovery codes' and the limits' calls (counters and set-up grants), and the
    // revocation check.
    let mfa = dynamodb_grants(&t, "mfa");
    let mut expected = calls("crates/tables/src/recovery.rs", "RecoveryCodesTable", &[]);
    expected.extend(calls("crates/tables/src/limits.rs", "LimitsTable", &[]));
    // The check, sign-ins recorded (puts, in a transaction), the other sessions ended.
    expected.extend(sessions_grants(&[
        "GetItem",
        "PutItem",
        "Query",
        "DeleteItem",
    ]));
    expected.extend(appends.clone());
    assert_eq!(mfa, expected, "mfa: exactly the calls its code makes");
    // Login records sign-ins and ends the sessions past the limit; refresh reads a token and
    // its session, rotates (an update and a put), and ends a reused or idle session.
    let mut expected = sessions_grants(&["GetItem", "PutItem", "Query", "DeleteItem"]);
    expected.extend(calls(
        "crates/tables/src/limits.rs",
        "LimitsTable",
        &["GetItem", "UpdateItem"],
    ));
    expected.extend(appends.clone());
    assert_eq!(dynamodb_grants(&t, "login"), expected, "login");
    let mut expected =
        sessions_grants(&["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"]);
    expected.extend(appends.clone());
    assert_eq!(dynamodb_grants(&t, "refresh"), expected, "refresh");
    // The admin permissions, each on this pool only, each after a proof the function checked:
    // the authenticator deleted after a recovery code (mfa); an e-mail change after the
    // password, and every session ended after a reset (account). AdminGetUser reads the `sub`
    // an event is kept under: a confirmed user's (confirm), a refused sign-in's (login, mfa).
    let pool = yaml("!If [CreateUserPool, !GetAtt UserPool.Arn, !Ref ExistingUserPoolArn]");
    for (id, function) in functions(&t) {
        let statements: Vec<&Value> = function["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("Statement").and_then(Value::as_sequence))
            .flatten()
            .collect();
        let mut admin = BTreeSet::new();
        for statement in statements {
            let actions: Vec<&str> = match &statement["Action"] {
                Value::String(a) => vec![a.as_str()],
                Value::Sequence(list) => list.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            for action in actions
                .into_iter()
                .filter(|a| a.starts_with("cognito-idp:"))
            {
                assert_eq!(
                    statement["Resource"], pool,
                    "{id}: {action} on this pool only"
                );
                admin.insert(action.to_owned());
            }
        }
        let expected: BTreeSet<String> = match binary(&id, function) {
            "mfa" => [
                "cognito-idp:AdminDeleteSoftwareToken",
                "cognito-idp:AdminGetUser",
            ]
            .map(String::from)
            .into(),
            // The admin API: Cognito's admin operations it makes, each on this pool only.
            "admin" => [
                "cognito-idp:ListUsers",
                "cognito-idp:AdminGetUser",
                "cognito-idp:AdminListGroupsForUser",
                "cognito-idp:AdminDisableUser",
                "cognito-idp:AdminEnableUser",
                "cognito-idp:AdminUserGlobalSignOut",
                "cognito-idp:AdminSetUserMFAPreference",
                "cognito-idp:AdminDeleteUser",
                "cognito-idp:AdminAddUserToGroup",
                "cognito-idp:AdminRemoveUserFromGroup",
            ]
            .map(String::from)
            .into(),
            // The operator function: the user an operator's action named, by name or by sub.
            "operator" => ["cognito-idp:AdminGetUser", "cognito-idp:ListUsers"]
                .map(String::from)
                .into(),
            // The events function: the address an alert goes to.
            "confirm" | "login" | "events" => ["cognito-idp:AdminGetUser"].map(String::from).into(),
            // The user export: the users, the groups and their members; nothing it could change.
            "backup" => [
                "cognito-idp:ListUsers",
                "cognito-idp:ListGroups",
                "cognito-idp:ListUsersInGroup",
            ]
            .map(String::from)
            .into(),
            // The sweep: the unconfirmed accounts, each read again, then deleted.
            "sweeper" => [
                "cognito-idp:ListUsers",
                "cognito-idp:AdminGetUser",
                "cognito-idp:AdminDeleteUser",
            ]
            .map(String::from)
            .into(),
            "account" => [
                "cognito-idp:AdminUpdateUserAttributes",
                "cognito-idp:AdminGetUser",
                "cognito-idp:AdminUserGlobalSignOut",
            ]
            .map(String::from)
            .into(),
            _ => BTreeSet::new(),
        };
        assert_eq!(admin, expected, "{id}'s Cognito admin permissions");
    }
    // The user export reads the recovery codes' keys (a Scan, no other table) and writes under
    // exports/ of its bucket, nothing else.
    assert_eq!(
        dynamodb_grants(&t, "backup"),
        BTreeSet::from([(
            "Scan".to_owned(),
            resource("!GetAtt RecoveryCodesTable.Arn")
        )])
    );
    let export_code =
        std::fs::read_to_string(workspace_root().join("crates/tables/src/export.rs")).unwrap();
    assert!(
        export_code.contains(".scan()")
            && export_code.contains("projection_expression(\"username\")")
    );
    let statements: Vec<&Value> = function_by_binary(&t, "backup")["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
        .collect();
    let s3: Vec<&&Value> = statements
        .iter()
        .filter(|s| format!("{:?}", s["Action"]).contains("s3:"))
        .collect();
    assert_eq!(s3.len(), 1);
    assert_eq!(s3[0]["Action"], "s3:PutObject");
    assert_eq!(
        s3[0]["Resource"],
        yaml(r#"!Sub "${UserExportBucket.Arn}/exports/*""#)
    );
}

/// `actions` on the sessions table, each one the table's code makes: a call on its client
/// (`GetItem`, `Query`) or an item of a transaction (`PutItem`, `UpdateItem`, `DeleteItem`,
/// which IAM checks one by one: TransactWriteItems has no permission of its own).
fn sessions_grants(actions: &[&str]) -> BTreeSet<(String, String)> {
    let file = "crates/tables/src/sessions.rs";
    let code = std::fs::read_to_string(workspace_root().join(file)).unwrap();
    let mut made = sdk_calls(file, ".client");
    for (builder, action) in [
        ("Put::builder()", "PutItem"),
        ("Update::builder()", "UpdateItem"),
        ("Delete::builder()", "DeleteItem"),
    ] {
        if code.contains(builder) {
            made.insert(action.to_owned());
        }
    }
    actions
        .iter()
        .map(|action| {
            assert!(
                made.contains(*action),
                "the sessions code makes no {action}: {made:?}"
            );
            ((*action).to_owned(), resource("!GetAtt SessionsTable.Arn"))
        })
        .collect()
}

/// A policy resource, as [`dynamodb_grants`] lists it.
fn resource(text: &str) -> String {
    format!("{:?}", yaml(text))
}

/// The DynamoDB actions `bin`'s inline policies grant, each with its resource.
fn dynamodb_grants(t: &Value, bin: &str) -> BTreeSet<(String, String)> {
    let props = &function_by_binary(t, bin)["Properties"];
    assert!(props.get("Role").is_none(), "{bin} has its own Role");
    let mut granted = BTreeSet::new();
    for policy in props["Policies"].as_sequence().expect("Policies") {
        let Some(statements) = policy.get("Statement").and_then(Value::as_sequence) else {
            continue;
        };
        for statement in statements {
            assert_eq!(statement["Effect"], "Allow");
            let actions = match &statement["Action"] {
                Value::Sequence(list) => list.iter().map(|a| string(a, "Action")).collect(),
                one => vec![string(one, "Action")],
            };
            for action in actions {
                // The Cognito admin permission is checked on its own.
                let Some(action) = action.strip_prefix("dynamodb:") else {
                    continue;
                };
                granted.insert((action.to_owned(), format!("{:?}", statement["Resource"])));
            }
        }
    }
    granted
}

/// The SDK operations a file calls on `client` (`.client.get_item()` is `GetItem`).
fn sdk_calls(file: &str, client: &str) -> BTreeSet<String> {
    let code = std::fs::read_to_string(workspace_root().join(file)).unwrap();
    code.split(client)
        .skip(1)
        .filter_map(|rest| {
            let call = rest.trim_start().strip_prefix('.')?;
            let name = call.split('(').next()?;
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return None;
            }
            Some(
                name.split('_')
                    .map(|w| w[..1].to_uppercase() + &w[1..])
                    .collect::<String>(),
            )
        })
        .collect()
}

#[test]
fn package_name_reads_the_package_section_only() {
    let manifest = "[workspace]\nname = \"no\"\n[package]\nversion = \"1\"\nname = \"books\"\n";
    assert_eq!(package_name(manifest), Some("books"));
    assert_eq!(package_name("[dependencies]\nname = \"x\"\n"), None);
}

/// The firewall's web ACL, and its rules by name.
fn web_acl(t: &Value) -> (&Value, BTreeMap<&str, &Value>) {
    let acl = &t["Resources"]["WebAcl"];
    assert_eq!(acl["Type"], "AWS::WAFv2::WebACL");
    assert_eq!(acl["Condition"], "UseFirewall");
    let rules = acl["Properties"]["Rules"]
        .as_sequence()
        .expect("Rules")
        .iter()
        // A rule behind a condition is `!If [condition, rule, !Ref AWS::NoValue]`.
        .map(|r| match r {
            Value::Tagged(tagged) if tagged.tag == "!If" => &tagged.value[1],
            rule => rule,
        })
        .map(|r| (string(&r["Name"], "rule name"), r))
        .collect();
    (acl, rules)
}

#[test]
fn the_firewall_is_on_by_default_on_the_stage_with_aws_managed_groups_that_block() {
    let t = template();
    assert_eq!(t["Parameters"]["Firewall"]["Default"], "true");
    let association = &t["Resources"]["FirewallAssociation"]["Properties"];
    assert_eq!(association["WebACLArn"], yaml("!GetAtt WebAcl.Arn"));
    let arn = string(untagged(&association["ResourceArn"]), "ResourceArn");
    assert!(
        arn.ends_with("/restapis/${Api}/stages/${Api.Stage}"),
        "{arn}"
    );
    let (acl, rules) = web_acl(&t);
    assert_eq!(acl["Properties"]["Scope"], "REGIONAL");
    // WAF takes a log group's ARN only without the `:*` that `!GetAtt <group>.Arn` ends with.
    let logging = &t["Resources"]["FirewallLogging"]["Properties"];
    let destination = string(
        untagged(&logging["LogDestinationConfigs"][0]),
        "destination",
    );
    assert!(
        destination.ends_with(":log-group:${FirewallLogs}"),
        "{destination}"
    );
    assert_eq!(
        logging["RedactedFields"],
        yaml("[{SingleHeader: {Name: authorization}}]"),
        "no token in the firewall's log"
    );
    assert_eq!(
        api(&t)["Properties"]["EndpointConfiguration"]["Type"],
        "REGIONAL",
        "a web ACL can be associated only with a regional stage"
    );
    for group in [
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    ] {
        let rule = rules
            .values()
            .find(|r| r["Statement"]["ManagedRuleGroupStatement"]["Name"] == group)
            .unwrap_or_else(|| panic!("no rule uses {group}"));
        assert_eq!(
            rule["OverrideAction"],
            yaml("None: {}"),
            "{group} blocks, not only counts"
        );
    }
}

/// The month's cost tells the alarm topic before it surprises: the actual cost past 80% of the
/// budget, the forecast past 100%; the topic lets AWS Budgets (and the alarms) publish, for this
/// account only.
#[test]
fn a_monthly_budget_tells_the_alarm_topic_of_the_actual_and_the_forecast_cost() {
    let t = template();
    let budget = &t["Resources"]["CostBudget"];
    assert_eq!(budget["Type"], "AWS::Budgets::Budget");
    assert_eq!(budget["Condition"], "HasBudget");
    assert_eq!(
        t["Conditions"]["HasBudget"],
        yaml(r#"!Not [!Equals [!Ref MonthlyBudgetUsd, "0"]]"#)
    );
    assert!(t["Parameters"]["MonthlyBudgetUsd"]["Default"].as_u64() > Some(0));
    let props = &budget["Properties"];
    assert_eq!(props["Budget"]["BudgetType"], "COST");
    assert_eq!(props["Budget"]["TimeUnit"], "MONTHLY");
    assert_eq!(
        props["Budget"]["BudgetLimit"]["Amount"],
        yaml("!Ref MonthlyBudgetUsd")
    );
    let told: BTreeSet<(String, u64)> = props["NotificationsWithSubscribers"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|n| {
            assert_eq!(
                n["Subscribers"],
                yaml("[{SubscriptionType: SNS, Address: !Ref AlarmTopic}]")
            );
            let notification = &n["Notification"];
            assert_eq!(notification["ThresholdType"], "PERCENTAGE");
            (
                string(&notification["NotificationType"], "type").to_owned(),
                notification["Threshold"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        told,
        BTreeSet::from([("ACTUAL".to_owned(), 80), ("FORECASTED".to_owned(), 100)])
    );
    let policy = &t["Resources"]["AlarmTopicPolicy"]["Properties"];
    assert_eq!(policy["Topics"], yaml("[!Ref AlarmTopic]"));
    let publishers: BTreeSet<&str> = policy["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|statement| {
            assert_eq!(statement["Action"], "sns:Publish");
            assert_eq!(
                statement["Condition"]["StringEquals"]["aws:SourceAccount"],
                yaml("!Ref AWS::AccountId"),
                "this account only"
            );
            string(&statement["Principal"]["Service"], "service")
        })
        .collect();
    assert_eq!(
        publishers,
        BTreeSet::from(["budgets.amazonaws.com", "cloudwatch.amazonaws.com"])
    );
}

/// A blocked request must be readable by a browser: JSON and CORS. The rate rules answer 429
/// with Retry-After (their window); every other block answers 403 `request_blocked` without
/// one, since the same request would be blocked again. Rate rules and the body rule answer with
/// their custom response; the managed groups' blocks with WAF_FILTERED.
#[test]
fn every_firewall_block_answers_json_with_cors_429_with_retry_after_only_for_rate_limits() {
    let t = template();
    let (acl, rules) = web_acl(&t);
    let bodies = &acl["Properties"]["CustomResponseBodies"];
    let spec: Value = serde_yaml::from_str(
        &std::fs::read_to_string(workspace_root().join("openapi.yaml")).unwrap(),
    )
    .unwrap();
    let codes = &spec["components"]["schemas"]["FirewallError"]["properties"]["error"]["properties"]
        ["code"]["enum"];
    let mut blocking = BTreeSet::new();
    for (name, rule) in &rules {
        let Some(block) = rule["Action"].get("Block") else {
            continue;
        };
        blocking.insert(*name);
        let rate = rule["Statement"].get("RateBasedStatement").is_some();
        let response = &block["CustomResponse"];
        assert_eq!(
            response["ResponseCode"],
            if rate { 429 } else { 403 },
            "{name}"
        );
        let body = &bodies[string(&response["CustomResponseBodyKey"], "body key")];
        assert_eq!(body["ContentType"], "APPLICATION_JSON", "{name}");
        let json: serde_json::Value =
            serde_json::from_str(string(&body["Content"], "Content")).expect("JSON");
        let code = json["error"]["code"].as_str().expect("error.code");
        assert_eq!(
            code,
            if rate {
                "too_many_requests"
            } else {
                "request_blocked"
            },
            "{name}"
        );
        assert!(json["error"]["message"].is_string(), "{name}: {json}");
        assert!(
            codes.as_sequence().unwrap().iter().any(|c| c == code),
            "{name}: {code} is not in openapi.yaml's FirewallError"
        );
        let headers: BTreeMap<&str, &Value> = response["ResponseHeaders"]
            .as_sequence()
            .expect("ResponseHeaders")
            .iter()
            .map(|h| (string(&h["Name"], "header"), &h["Value"]))
            .collect();
        assert_eq!(
            headers["Access-Control-Allow-Origin"],
            &yaml("!Ref AllowedOrigin")
        );
        assert_eq!(
            headers["Access-Control-Allow-Methods"], ALLOW_METHODS,
            "{name}"
        );
        assert_eq!(
            headers["Access-Control-Allow-Headers"], ALLOW_HEADERS,
            "{name}"
        );
        match headers.get("Retry-After") {
            Some(after) if rate => assert!(after.as_str().unwrap().parse::<u32>().is_ok()),
            None if !rate => {}
            other => panic!("{name}: Retry-After {other:?}"),
        }
    }
    assert_eq!(
        blocking,
        BTreeSet::from([
            "all-routes-per-ip",
            "body-rules-outside-credential-and-book-routes",
            "credential-routes-per-ip"
        ]),
        "the rules that block with a response of their own"
    );
    assert_eq!(acl["Properties"]["DefaultAction"], yaml("Allow: {}"));

    let filtered = &api(&t)["Properties"]["GatewayResponses"]["WAF_FILTERED"];
    assert_eq!(filtered["StatusCode"], 403);
    assert!(
        filtered["ResponseParameters"]["Headers"]
            .get("Retry-After")
            .is_none(),
        "a managed rule's block does not lift"
    );
    let template = string(
        &filtered["ResponseTemplates"]["application/json"],
        "template",
    );
    let body: serde_json::Value =
        serde_json::from_str(&template.replace("$context.requestId", "id-1")).expect("JSON");
    assert_eq!(body["error"]["code"], "request_blocked");
    assert_eq!(
        body["request_id"], "id-1",
        "our error shape, request id included"
    );
}

/// The core rule set's body rules, and the labels they put on a request.
const BODY_RULES: [(&str, &str); 5] = [
    ("SizeRestrictions_BODY", "SizeRestrictions_Body"),
    ("CrossSiteScripting_BODY", "CrossSiteScripting_Body"),
    ("GenericLFI_BODY", "GenericLFI_Body"),
    ("GenericRFI_BODY", "GenericRFI_Body"),
    ("EC2MetaDataSSRF_BODY", "EC2MetaDataSSRF_Body"),
];

/// A password holding `<script>` or `../`, and a 12 KB book, pass the firewall on the credential
/// and book routes; the same bodies are blocked on every other route (the admin routes, the
/// session list's). Evaluated offline: the
/// core rule set only counts its body rules (read from the overrides), so what it matches is a
/// label, and the template's own rules are evaluated on that label and the route.
#[test]
fn the_body_rules_count_on_the_credential_and_book_routes_and_block_elsewhere() {
    let t = template();
    let (_, rules) = web_acl(&t);
    let common = &rules["common"];
    let statement = &common["Statement"]["ManagedRuleGroupStatement"];
    assert_eq!(statement["Name"], "AWSManagedRulesCommonRuleSet");
    let overrides: BTreeMap<&str, &Value> = statement["RuleActionOverrides"]
        .as_sequence()
        .expect("RuleActionOverrides")
        .iter()
        .map(|o| (string(&o["Name"], "Name"), &o["ActionToUse"]))
        .collect();
    assert_eq!(
        overrides.keys().copied().collect::<BTreeSet<_>>(),
        BODY_RULES.iter().map(|(rule, _)| *rule).collect(),
        "exactly the body rules, and nothing else of the group, are overridden"
    );
    for action in overrides.values() {
        assert_eq!(**action, yaml("Count: {}"));
    }
    assert_eq!(common["OverrideAction"], yaml("None: {}"));

    let outside = &rules["body-rules-outside-credential-and-book-routes"];
    assert!(
        outside["Priority"].as_u64() > common["Priority"].as_u64(),
        "a label is seen only by the rules after the one that adds it"
    );
    let stage = string(&t["Parameters"]["StageName"]["Default"], "StageName");
    let label = |short: &str| format!("awswaf:managed:aws:core-rule-set:{short}");
    // The bodies: what each would be labelled with by the core rule set.
    let password = ["CrossSiteScripting_Body", "GenericLFI_Body"].map(label);
    let big_book = [label("SizeRestrictions_Body")];
    let every = BODY_RULES.map(|(_, short)| label(short));
    for route in routes(&t) {
        if route.method == "GET" {
            continue;
        }
        let path = format!("/{stage}{}", route.path.replace("{id}", "b-1"));
        let path = path
            .replace("{username}", "alice")
            .replace("{group}", "editors");
        let passes = takes_credentials(&route) || route.path.starts_with("/books");
        for labels in [&password[..], &big_book[..], &every[..]] {
            let blocked = waf_matches_labelled(&outside["Statement"], &route.method, &path, labels);
            assert_eq!(blocked, !passes, "{route} with {labels:?}");
        }
        assert!(
            !waf_matches_labelled(&outside["Statement"], &route.method, &path, &[]),
            "{route}: no label, no block"
        );
    }
    for unserved in [
        "/Prod/wp-login.php",
        "/Prod/books/a/b",
        "/Prod/login/../admin",
    ] {
        assert!(
            waf_matches_labelled(&outside["Statement"], "POST", unserved, &every),
            "{unserved}"
        );
    }
}

/// The strict per-IP limit covers every route that takes a password, a code or a refresh token
/// or sends mail, which are exactly the unauthenticated POST routes, and nothing else.
#[test]
fn the_strict_per_ip_limit_covers_exactly_the_credential_and_mail_routes() {
    let t = template();
    let (_, rules) = web_acl(&t);
    let strict = &rules["credential-routes-per-ip"]["Statement"]["RateBasedStatement"];
    assert_eq!(strict["AggregateKeyType"], "IP");
    assert_eq!(strict["Limit"], yaml("!Ref CredentialRouteLimit"));
    let loose = &rules["all-routes-per-ip"]["Statement"]["RateBasedStatement"];
    assert_eq!(loose["Limit"], yaml("!Ref RouteLimit"));
    assert!(loose.get("ScopeDownStatement").is_none(), "all routes");
    let params = &t["Parameters"];
    assert!(
        params["CredentialRouteLimit"]["Default"].as_u64()
            < params["RouteLimit"]["Default"].as_u64()
    );

    // The rule as the firewall evaluates it, over every route the template serves: the public
    // POST routes (credentials, codes, mail), and the signed-in routes that send mail.
    let scope = &strict["ScopeDownStatement"];
    let stage = string(&t["Parameters"]["StageName"]["Default"], "StageName");
    for route in routes(&t) {
        let counted = takes_credentials(&route);
        let path = route.path.replace("{id}", "me");
        for seen in [
            path.clone(),
            format!("/{stage}{path}"),
            format!("/{stage}{path}/"),
        ] {
            assert_eq!(
                waf_matches(scope, &route.method, &seen),
                counted,
                "{route} as {seen}"
            );
        }
    }
    assert!(
        !waf_matches(scope, "POST", "/Prod/books/login-guide"),
        "only whole segments"
    );
    assert!(
        !waf_matches(scope, "GET", "/Prod/me"),
        "reading the profile sends nothing"
    );
}

/// The routes that take a password, a code, a refresh token or a passkey's credential, or send
/// mail: every public POST route, and these signed-in ones.
fn takes_credentials(route: &Route) -> bool {
    const SIGNED_IN: [(&str, &str); 11] = [
        ("PATCH", "/me"),
        ("DELETE", "/me"),
        ("POST", "/me/verify_email/resend"),
        ("POST", "/me/verify_email"),
        ("POST", "/change_password"),
        ("POST", "/logout"),
        ("POST", "/mfa/totp/setup"),
        ("POST", "/mfa/totp/verify"),
        ("POST", "/mfa/totp/disable"),
        ("POST", "/passkeys/register/start"),
        ("POST", "/passkeys/register/finish"),
    ];
    (route.method == "POST" && route.access == Access::Public)
        || SIGNED_IN.contains(&(route.method.as_str(), route.path.as_str()))
}

/// Whether a WAF statement (Or, And, Not, a regex on the path, an exact method) matches a request,
/// with its text transformations (URL decoding, lower case) applied.
fn waf_matches(statement: &Value, method: &str, path: &str) -> bool {
    waf_matches_labelled(statement, method, path, &[])
}

/// [`waf_matches`] for a request that earlier rules gave `labels`.
fn waf_matches_labelled(statement: &Value, method: &str, path: &str, labels: &[String]) -> bool {
    let transformed = |rule: &Value, text: &str| {
        let lower = rule["TextTransformations"]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|t| t["Type"] == "LOWERCASE");
        if lower {
            text.to_lowercase()
        } else {
            text.to_owned()
        }
    };
    let field = |rule: &Value| {
        let to_match = &rule["FieldToMatch"];
        if to_match.get("UriPath").is_some() {
            path
        } else if to_match.get("Method").is_some() {
            method
        } else {
            panic!("a field the test does not read: {to_match:?}")
        }
    };
    if let Some(any) = statement["OrStatement"]["Statements"].as_sequence() {
        return any
            .iter()
            .any(|s| waf_matches_labelled(s, method, path, labels));
    }
    if let Some(all) = statement["AndStatement"]["Statements"].as_sequence() {
        return all
            .iter()
            .all(|s| waf_matches_labelled(s, method, path, labels));
    }
    let not = &statement["NotStatement"]["Statement"];
    if not.is_mapping() {
        return !waf_matches_labelled(not, method, path, labels);
    }
    let label = &statement["LabelMatchStatement"];
    if label.is_mapping() {
        assert_eq!(label["Scope"], "LABEL", "{label:?}");
        let key = string(&label["Key"], "Key");
        return labels.iter().any(|l| l == key);
    }
    let regex = &statement["RegexMatchStatement"];
    if regex.is_mapping() {
        let pattern = regex::Regex::new(string(&regex["RegexString"], "RegexString")).unwrap();
        return pattern.is_match(&transformed(regex, field(regex)));
    }
    let bytes = &statement["ByteMatchStatement"];
    let (seen, wanted) = (
        transformed(bytes, field(bytes)),
        string(&bytes["SearchString"], "SearchString"),
    );
    match string(&bytes["PositionalConstraint"], "PositionalConstraint") {
        "EXACTLY" => seen == wanted,
        "ENDS_WITH" => seen.ends_with(wanted),
        "STARTS_WITH" => seen.starts_with(wanted),
        other => panic!("a constraint the test does not read: {other}"),
    }
}

#[test]
fn access_logs_are_on_and_name_caller_route_outcome_and_the_layer_that_failed() {
    let t = template();
    let props = &api(&t)["Properties"];
    let setting = &props["AccessLogSetting"];
    assert_eq!(setting["DestinationArn"], yaml("!GetAtt ApiAccessLogs.Arn"));
    let format = string(&setting["Format"], "Format");
    let line: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(format).expect("each line is JSON");
    for (field, variable) in [
        ("requestId", "$context.requestId"),
        ("ip", "$context.identity.sourceIp"),
        ("sub", "$context.authorizer.claims.sub"),
        ("resource", "$context.resourcePath"),
        ("status", "$context.status"),
        ("latencyMs", "$context.responseLatency"),
        ("authorizerError", "$context.authorizer.error"),
        ("wafError", "$context.waf.error"),
        ("integrationError", "$context.integration.error"),
    ] {
        assert_eq!(line[field], variable, "{field}");
    }
    for value in line.values() {
        let value = value.as_str().unwrap();
        for secret in ["header", "body", "authorization", "token"] {
            assert!(!value.to_lowercase().contains(secret), "{value}");
        }
    }
    let logs = &t["Resources"]["ApiAccessLogs"];
    assert_eq!(
        logs["Properties"]["RetentionInDays"],
        yaml("!Ref LogRetentionDays")
    );
    assert!(logs.get("Condition").is_none(), "always written");
    // API Gateway writes them with the account's role: created unless the account has one.
    assert_eq!(t["Parameters"]["ApiGatewayLogsRole"]["Default"], "create");
    assert_eq!(
        t["Resources"]["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"],
        yaml("!GetAtt ApiGatewayCloudWatchRole.Arn")
    );
}

#[test]
fn alarms_watch_the_api_every_function_the_tables_cognito_ses_and_the_firewall_and_tell_one_topic()
{
    let t = template();
    let resources = mapping(&t["Resources"], "Resources");
    let alarms: BTreeMap<&str, &Value> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, r)| (string(id, "id"), r))
        .collect();
    let mut watched = BTreeSet::new();
    for (id, alarm) in &alarms {
        let props = &alarm["Properties"];
        assert_eq!(props["AlarmActions"], yaml("[!Ref AlarmTopic]"), "{id}");
        let mut metrics = vec![props];
        if let Some(queries) = props["Metrics"].as_sequence() {
            // The one expression adds up exactly the alarm's metrics, each named by its id.
            let ids: BTreeSet<&str> = queries
                .iter()
                .filter(|q| q.get("MetricStat").is_some())
                .map(|q| string(&q["Id"], "Id"))
                .collect();
            let expression = queries
                .iter()
                .find_map(|q| q.get("Expression"))
                .map(|e| string(e, "Expression"))
                .expect("a metric-math alarm has an expression");
            // SUM([FILL(m1, 0), ...]): a metric with no datapoint (an idle function) counts
            // as 0, where a plain sum would have none and leave the alarm blind.
            let inner = expression
                .strip_prefix("SUM([")
                .and_then(|e| e.strip_suffix("])"))
                .unwrap_or_else(|| panic!("{id}: {expression} is not SUM([FILL(…, 0), …])"));
            let summed: BTreeSet<&str> = inner
                .split(", FILL(")
                .map(|term| {
                    let term = term.strip_prefix("FILL(").unwrap_or(term);
                    term.strip_suffix(", 0)")
                        .unwrap_or_else(|| panic!("{id}: {term} is not filled with 0"))
                })
                .collect();
            assert_eq!(summed, ids, "{id}: {expression}");
            metrics.extend(
                queries
                    .iter()
                    .filter_map(|q| q.get("MetricStat").map(|m| &m["Metric"])),
            );
        }
        for m in metrics {
            let (Some(namespace), Some(name)) = (m["Namespace"].as_str(), m["MetricName"].as_str())
            else {
                continue;
            };
            let dimension = m["Dimensions"][0]["Value"].clone();
            watched.insert((
                namespace.to_owned(),
                name.to_owned(),
                format!("{dimension:?}"),
            ));
        }
    }
    let has = |namespace: &str, name: &str, value: &str| {
        watched.contains(&(
            namespace.to_owned(),
            name.to_owned(),
            format!("{:?}", yaml(value)),
        ))
    };
    assert!(has(
        "AWS/ApiGateway",
        "5XXError",
        r#"!Sub "${AWS::StackName}-api""#
    ));
    assert_eq!(
        api(&t)["Properties"]["Name"],
        yaml(r#"!Sub "${AWS::StackName}-api""#)
    );
    for (id, _) in functions(&t) {
        for metric in ["Errors", "Throttles"] {
            assert!(
                has("AWS/Lambda", metric, &format!("!Ref {id}")),
                "{id}'s {metric}"
            );
        }
    }
    // Every table a request reads or writes on its way, the sessions table above all (every
    // protected request reads it, and is refused when it cannot).
    for table in [
        "BooksTable",
        "SessionsTable",
        "RecoveryCodesTable",
        "AuditTable",
    ] {
        for metric in ["ReadThrottleEvents", "WriteThrottleEvents"] {
            assert!(
                has("AWS/DynamoDB", metric, &format!("!Ref {table}")),
                "{table}'s {metric}"
            );
        }
    }
    let pool = r#"!If [CreateUserPool, !Ref UserPool, !Select [1, !Split ["/", !Ref ExistingUserPoolArn]]]"#;
    for metric in [
        "SignUpThrottles",
        "SignInThrottles",
        "TokenRefreshThrottles",
    ] {
        assert!(has("AWS/Cognito", metric, pool), "Cognito's {metric}");
    }
    assert!(
        has("AWS/Cognito", "SignUpSuccesses", pool),
        "sign-ups an hour"
    );
    assert_eq!(
        alarms["SignUpsAlarm"]["Properties"]["Threshold"],
        yaml("!Ref SignUpAlarmPerHour")
    );
    assert_eq!(alarms["SignUpsAlarm"]["Properties"]["Period"], 3600);
    assert_eq!(alarms["SignUpsAlarm"]["Properties"]["Statistic"], "Sum");
    assert!(has(
        "AWS/ApiGateway",
        "Latency",
        r#"!Sub "${AWS::StackName}-api""#
    ));
    assert_eq!(
        alarms["ApiLatencyAlarm"]["Properties"]["Threshold"],
        yaml("!Ref LatencyAlarmMs")
    );
    for (alarm, metric) in [
        ("SesBounceRateAlarm", "Reputation.BounceRate"),
        ("SesComplaintRateAlarm", "Reputation.ComplaintRate"),
    ] {
        let a = alarms[alarm];
        assert_eq!(a["Condition"], "SendMailWithSes", "{alarm}");
        assert_eq!(a["Properties"]["MetricName"], metric, "{alarm}");
    }
    assert!(has(
        "AWS/WAFV2",
        "BlockedRequests",
        r#"!Sub "${AWS::StackName}-api""#
    ));
    assert_eq!(
        web_acl(&t).0["Properties"]["Name"],
        yaml(r#"!Sub "${AWS::StackName}-api""#)
    );
    let subscription = &t["Resources"]["AlarmSubscription"];
    assert_eq!(subscription["Condition"], "HasAlarmEmail");
    // Without a subscriber, the deploy says so among its outputs.
    let nobody = &t["Outputs"]["AlarmsReachNobody"];
    assert_eq!(nobody["Condition"], "NoAlarmEmail");
    assert!(nobody["Value"].as_str().unwrap().starts_with("WARNING"));
    assert_eq!(
        t["Conditions"]["NoAlarmEmail"],
        yaml(r#"!Equals [!Ref AlarmEmail, ""]"#)
    );
    assert_eq!(
        subscription["Properties"]["Endpoint"],
        yaml("!Ref AlarmEmail")
    );
}

#[test]
fn mail_goes_through_ses_when_an_identity_is_given_and_cognitos_sender_otherwise() {
    let t = template();
    let config = untagged(&t["Resources"]["UserPool"]["Properties"]["EmailConfiguration"]);
    assert_eq!(config[0], "SendMailWithSes");
    assert_eq!(config[1]["EmailSendingAccount"], "DEVELOPER");
    assert_eq!(config[1]["SourceArn"], yaml("!Ref MailSourceArn"));
    assert_eq!(
        config[1]["From"],
        yaml("!If [HasMailFrom, !Ref MailFrom, !Ref AWS::NoValue]")
    );
    assert_eq!(
        config[1]["ReplyToEmailAddress"],
        yaml("!If [HasMailReplyTo, !Ref MailReplyTo, !Ref AWS::NoValue]")
    );
    assert_eq!(config[2]["EmailSendingAccount"], "COGNITO_DEFAULT");
    let pattern = string(
        &t["Parameters"]["MailSourceArn"]["AllowedPattern"],
        "pattern",
    );
    let pattern = regex::Regex::new(pattern).unwrap();
    assert!(pattern.is_match(""));
    assert!(pattern.is_match("arn:aws:ses:eu-west-1:123456789012:identity/example.com"));
    assert!(!pattern.is_match("arn:aws:s3:::bucket"));
}

/// Every function deploys through its `live` alias, shifted by CodeDeploy as DeploymentType
/// says and sent back on the error, 5XX and latency alarms (the transformed template's check,
/// `make lint-template`, holds that the API, the stream and the rules invoke the alias).
#[test]
fn every_function_shifts_traffic_to_a_new_build_gradually_and_rolls_back_on_the_alarms() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["AutoPublishAlias"], "live");
    let preference = &globals["DeploymentPreference"];
    assert_eq!(preference["Type"], yaml("!Ref DeploymentType"));
    assert_eq!(
        preference["Alarms"],
        yaml("[!Ref FunctionErrorsAlarm, !Ref Api5xxAlarm, !Ref ApiLatencyAlarm]")
    );
    for alarm in ["FunctionErrorsAlarm", "Api5xxAlarm", "ApiLatencyAlarm"] {
        let resource = &t["Resources"][alarm];
        assert_eq!(resource["Type"], "AWS::CloudWatch::Alarm", "{alarm}");
        assert!(resource.get("Condition").is_none(), "{alarm} always exists");
    }
    let kind = &t["Parameters"]["DeploymentType"];
    assert!(
        string(&kind["Default"], "Default").starts_with("Canary"),
        "a canary unless a stack says otherwise"
    );
    let allowed = kind["AllowedValues"].as_sequence().unwrap();
    assert!(allowed.iter().any(|v| v == "AllAtOnce"));
    for (id, function) in functions(&t) {
        let props = &function["Properties"];
        for key in ["AutoPublishAlias", "DeploymentPreference"] {
            assert!(props.get(key).is_none(), "{id} overrides the global {key}");
        }
    }
}

/// Sign-ups beyond the per-IP limits: AWS WAF's account creation fraud prevention on
/// POST /register behind SignUpProtection (off by default: the frontend must load AWS WAF's
/// JavaScript integration for it), and the accounts nobody confirmed deleted by the hourly
/// sweeper.
#[test]
fn sign_ups_are_guarded_by_fraud_prevention_on_demand_and_unconfirmed_accounts_are_swept() {
    let t = template();
    let acl = &t["Resources"]["WebAcl"]["Properties"]["Rules"];
    let guarded = acl
        .as_sequence()
        .unwrap()
        .iter()
        .find_map(|r| match r {
            Value::Tagged(tagged) if tagged.tag == "!If" => Some(&tagged.value),
            _ => None,
        })
        .expect("a rule behind a condition");
    assert_eq!(guarded[0], "ProtectSignUps");
    assert_eq!(guarded[2], yaml("!Ref AWS::NoValue"));
    // Asked for without the firewall, the deploy refuses, rather than leave sign-ups unguarded.
    let rule = &t["Rules"]["SignUpProtectionNeedsFirewall"];
    assert_eq!(
        rule["RuleCondition"],
        yaml("!Equals [!Ref SignUpProtection, ACFP]")
    );
    assert_eq!(
        rule["Assertions"][0]["Assert"],
        yaml(r#"!Equals [!Ref Firewall, "true"]"#)
    );
    let statement = &guarded[1]["Statement"]["ManagedRuleGroupStatement"];
    assert_eq!(statement["Name"], "AWSManagedRulesACFPRuleSet");
    let config = &statement["ManagedRuleGroupConfigs"][0]["AWSManagedRulesACFPRuleSet"];
    assert_eq!(
        config["CreationPath"],
        yaml(r#"!Sub "/${StageName}/register""#)
    );
    let inspected = &config["RequestInspection"];
    assert_eq!(inspected["PayloadType"], "JSON");
    assert_eq!(inspected["PasswordField"]["Identifier"], "/password");
    assert!(
        waf_matches(&statement["ScopeDownStatement"], "POST", "/prod/register"),
        "the rule sees /register"
    );
    assert!(!waf_matches(
        &statement["ScopeDownStatement"],
        "POST",
        "/prod/login"
    ));
    assert_eq!(t["Parameters"]["SignUpProtection"]["Default"], "OFF");
    assert_eq!(
        t["Conditions"]["ProtectSignUps"],
        yaml("!And [!Condition UseFirewall, !Equals [!Ref SignUpProtection, ACFP]]")
    );

    let sweeper = function_by_binary(&t, "sweeper");
    let vars = &sweeper["Properties"]["Environment"]["Variables"];
    assert_eq!(
        vars["UNCONFIRMED_MAX_AGE_HOURS"],
        yaml("!Ref UnconfirmedAccountMaxAgeHours")
    );
    assert!(t["Parameters"]["UnconfirmedAccountMaxAgeHours"]["MinValue"].as_u64() >= Some(1));
    let schedule = &sweeper["Properties"]["Events"]["Sweep"];
    assert_eq!(schedule["Type"], "Schedule");
    assert_eq!(schedule["Properties"]["Schedule"], "rate(1 hour)");
    // A run makes at most SWEEP_MAX_DELETIONS at 5 a second, within its time-out.
    let most: u64 = string(&vars["SWEEP_MAX_DELETIONS"], "max").parse().unwrap();
    let timeout = sweeper["Properties"]["Timeout"].as_u64().unwrap();
    assert!(most / 5 < timeout, "{most} deletions in {timeout} s");
    for id in ["SweeperFunction", "BackupFunction"] {
        let function = &t["Resources"][id]["Properties"];
        assert_eq!(
            function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"],
            yaml("!GetAtt ScheduledDeadLetterQueue.Arn"),
            "{id}"
        );
    }
}

/// The user export goes to a bucket that keeps it (versioned, retained), hides it (private,
/// encrypted, TLS only) and lets it go after UserExportRetentionDays.
#[test]
fn user_exports_go_to_a_private_versioned_encrypted_bucket_kept_for_their_retention() {
    let t = template();
    let bucket = &t["Resources"]["UserExportBucket"];
    assert_eq!(bucket["DeletionPolicy"], "Retain");
    assert_eq!(bucket["UpdateReplacePolicy"], "Retain");
    let props = &bucket["Properties"];
    assert_eq!(props["VersioningConfiguration"]["Status"], "Enabled");
    assert_eq!(
        props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
            ["SSEAlgorithm"],
        "AES256"
    );
    for block in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(
            props["PublicAccessBlockConfiguration"][block], true,
            "{block}"
        );
    }
    let rules = props["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap();
    let expiry = rules
        .iter()
        .find(|r| r["Prefix"] == "exports/")
        .expect("the exports expire");
    assert_eq!(
        expiry["ExpirationInDays"],
        yaml("!Ref UserExportRetentionDays")
    );
    assert!(expiry["NoncurrentVersionExpiration"]["NoncurrentDays"].is_u64());
    let policy = &t["Resources"]["UserExportBucketPolicy"]["Properties"]["PolicyDocument"];
    let deny = &policy["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
    let backup = &function_by_binary(&t, "backup")["Properties"];
    assert_eq!(
        backup["Environment"]["Variables"]["USER_EXPORT_BUCKET"],
        yaml("!Ref UserExportBucket")
    );
    assert_eq!(
        backup["Events"]["Export"]["Properties"]["Schedule"],
        yaml("!Ref UserExportSchedule")
    );
    assert_eq!(
        t["Outputs"]["UserExportBucketName"]["Value"],
        yaml("!Ref UserExportBucket")
    );
}
