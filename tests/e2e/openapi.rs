//! openapi.yaml stays true to template.yaml: the same paths and methods, the security scheme on
//! exactly the protected routes, our error shape on every failure; and the local API serves it.

use std::collections::BTreeSet;

use integration_tests::{serve_gateway, template, workspace_root};
use local_api::template::RouteAuth;
use serde_yaml::Value;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn spec() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("openapi.yaml")).unwrap();
    serde_yaml::from_str(&text).expect("openapi.yaml is YAML")
}

/// Every operation: (METHOD, path, operation).
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, op) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if METHODS.contains(&method) {
                ops.push((
                    method.to_uppercase(),
                    path.as_str().unwrap().to_owned(),
                    op.clone(),
                ));
            }
        }
    }
    ops
}

#[test]
fn openapi_paths_and_methods_equal_the_routes_of_template_yaml() {
    let documented: BTreeSet<(String, String)> = operations(&spec())
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let routed: BTreeSet<(String, String)> = template()
        .routes
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(documented, routed);
}

#[test]
fn the_security_scheme_is_on_exactly_the_protected_routes() {
    let spec = spec();
    assert_eq!(
        spec["components"]["securitySchemes"]["CognitoIdToken"]["name"],
        "Authorization"
    );
    for route in &template().routes {
        let op = &spec["paths"][route.path.as_str()][route.method.to_lowercase().as_str()];
        let security = op["security"].as_sequence().expect("security is explicit");
        let protected = route.auth != RouteAuth::Public;
        assert_eq!(
            !security.is_empty(),
            protected,
            "{} {}",
            route.method,
            route.path
        );
        let responses = op["responses"].as_mapping().unwrap();
        if protected {
            let refused = &responses[&Value::from("401")]["$ref"];
            assert_eq!(refused, "#/components/responses/AuthorizerRefused");
        }
    }
}

#[test]
fn every_failure_of_every_operation_is_documented_as_json_with_cors() {
    let spec = spec();
    let shared = &spec["components"]["responses"];
    for (method, path, op) in operations(&spec) {
        let responses = op["responses"].as_mapping().unwrap();
        for status in ["429", "500", "502", "503", "504"] {
            assert!(
                responses.contains_key(Value::from(status)),
                "{method} {path} lacks {status}"
            );
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(
                    responses.contains_key(Value::from(status)),
                    "{method} {path} lacks {status}"
                );
            }
        }
        for (status, response) in responses {
            let status = status.as_str().unwrap();
            let response = match response["$ref"].as_str() {
                Some(r) => &shared[r.rsplit('/').next().unwrap()],
                None => response,
            };
            let headers = response["headers"].as_mapping();
            assert!(
                headers.is_some_and(|h| h.contains_key(Value::from("Access-Control-Allow-Origin"))),
                "{method} {path} {status}: no CORS header"
            );
            if status.starts_with('2') && status != "204" || !status.starts_with('2') {
                assert!(
                    response["content"]["application/json"]["schema"].is_mapping(),
                    "{method} {path} {status}: no JSON schema"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_local_api_serves_openapi_yaml_as_it_is_with_cors_and_no_function_behind_it() {
    let config = integration_tests::local_config(&[
        ("COGNITO_USER_POOL_ID", "us-east-1_None"),
        ("COGNITO_CLIENT_ID", "client"),
        ("BOOKS_TABLE", "books"),
        ("SESSIONS_TABLE", "sessions"),
        ("RECOVERY_CODES_TABLE", "recovery-codes"),
        // The recovery codes' key, given as it is: these runs have no Secrets Manager to read it from.
        (
            "RECOVERY_CODE_PEPPER",
            "a-test-pepper-of-at-least-thirty-two-bytes",
        ),
        ("LIMITS_TABLE", "limits"),
        ("AUDIT_TABLE", "audit"),
        ("PREWARM_CONNECTIONS", "false"),
    ]);
    // Nothing is called: a closed loopback port, should anything try.
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let (base, _stop) = serve_gateway(local_api::gateway(&config, &sdk).await.unwrap()).await;
    for path in ["/openapi.yaml", "/Prod/openapi.yaml"] {
        let res = reqwest::Client::new()
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(res.headers()["content-type"], "application/yaml");
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        let served = res.text().await.unwrap();
        let on_disk = std::fs::read_to_string(workspace_root().join("openapi.yaml")).unwrap();
        assert_eq!(served, on_disk);
    }
    // Only GET: it is no route, so anything else is API Gateway's unknown-route answer.
    let res = reqwest::Client::new()
        .post(format!("{base}/openapi.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
}
