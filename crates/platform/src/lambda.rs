//! The Lambda entry point every function's `main.rs` uses, and the local API too: the raw
//! API Gateway event is checked before lambda_http converts it, then the handler runs.
//!
//! Why: lambda_http's conversion decodes an `isBase64Encoded` body with `expect`, so a body
//! that is not valid base64 panics before any handler code runs. API Gateway itself only ever
//! sends valid base64, but a direct invocation (or a hostile test corpus) can send anything, and
//! in release builds (`panic = "abort"`) a panic kills the whole execution environment and
//! answers a bare 502. Here such a body becomes our 400 `invalid_encoding`, with CORS, through
//! the one request boundary. This is a check, not a `catch_unwind`: it works with
//! `panic = "abort"` and leaves real bugs to fail loudly.

use std::convert::Infallible;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Request, Service, service_fn};
use serde::Serialize;

use crate::sdk::SdkSettings;
use crate::{Api, ApiError, ConfigError, Env};

/// Sets up the log subscriber as Lambda wants it (JSON when `AWS_LAMBDA_LOG_FORMAT=json`).
pub fn init_tracing() {
    lambda_http::tracing::init_default_subscriber();
}

/// A function's `main`: the log subscriber, the process environment and the SDK config read
/// once, the function composed by its `app` (the same composition the local API, the tests and
/// the bench build), then [`run`].
pub async fn start<S: Sync + 'static>(
    app: impl AsyncFnOnce(&Env, &aws_config::SdkConfig) -> Result<Api<S>, ConfigError>,
) -> Result<(), crate::Error> {
    run(&composed(app).await?).await
}

/// What every `main` does first: the log subscriber, the process environment and the SDK config
/// read once, then the function composed by its `app`.
async fn composed<S>(
    app: impl AsyncFnOnce(&Env, &aws_config::SdkConfig) -> Result<S, ConfigError>,
) -> Result<S, ConfigError> {
    init_tracing();
    let env = Env::process();
    let sdk = crate::sdk::load(&SdkSettings::from_env(&env)).await;
    app(&env, &sdk).await
}

/// The `main` of a function that consumes events rather than requests (a stream's records):
/// the log subscriber, the environment and the SDK config read once, the state composed by
/// `app`, then each invocation's payload through `handle`, whose answer goes back to the
/// runtime as it is.
pub async fn start_consumer<S, E, R>(
    app: impl AsyncFnOnce(&Env, &aws_config::SdkConfig) -> Result<S, ConfigError>,
    handle: for<'a> fn(&'a S, E) -> crate::BoxFuture<'a, R>,
) -> Result<(), crate::Error>
where
    S: Sync,
    E: serde::de::DeserializeOwned + Send + 'static,
    R: Serialize + Send,
{
    let state = &composed(app).await?;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| async move {
        Ok::<R, Infallible>(handle(state, event.payload).await)
    }))
    .await
}

/// The `main` of a function invoked asynchronously (an EventBridge rule's target): as
/// [`start_consumer`], but an event that `handle` could not act on fails the invocation, so
/// that Lambda tries it again and then hands it to the function's on-failure destination (its
/// dead-letter queue). The failure is logged here, once, with its cause.
pub async fn start_async_consumer<S, E, R>(
    app: impl AsyncFnOnce(&Env, &aws_config::SdkConfig) -> Result<S, ConfigError>,
    handle: for<'a> fn(&'a S, E) -> crate::BoxFuture<'a, Result<R, ApiError>>,
) -> Result<(), crate::Error>
where
    S: Sync,
    E: serde::de::DeserializeOwned + Send + 'static,
    R: Serialize + Send,
{
    let state = &composed(app).await?;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| async move {
        handle(state, event.payload).await.map_err(|err| {
            tracing::error!(
                error = err.code(),
                cause = err.cause().map(tracing::field::display),
                "the event could not be acted on: Lambda tries it again"
            );
            crate::Error::from(format!("{}: the event is tried again", err.code()))
        })
    }))
    .await
}

/// Runs `api` as a Lambda function: each event through [`invoke`], its answer handed to the
/// runtime as lambda_http produces it.
pub async fn run<S: Sync + 'static>(api: &Api<S>) -> Result<(), crate::Error> {
    lambda_http::lambda_runtime::run(service_fn(|event| invoke(api, event))).await
}

/// One invocation: the event's body is checked, the event converted by lambda_http's own
/// `Adapter`, and the request served by [`Api::serve`]. The answer is the REST proxy response
/// lambda_http builds, which Lambda serialises as it is. It never fails: every outcome is a
/// response.
pub async fn invoke<S: Sync + 'static>(
    api: &Api<S>,
    event: LambdaEvent<LambdaRequest>,
) -> Result<impl Serialize + Send + use<S>, Infallible> {
    let LambdaEvent {
        mut payload,
        context,
    } = event;
    let refused = check_authorization(&payload).or_else(|| check_body(&mut payload));
    let mut adapter = Adapter::from(service_fn(move |req: Request| {
        let refused = refused.clone();
        async move {
            Ok::<_, Infallible>(match refused {
                Some(err) => api.refuse(&req, err),
                None => api.serve(req).await,
            })
        }
    }));
    adapter.call(LambdaEvent::new(payload, context)).await
}

/// Invokes `api` with an API Gateway REST event given as JSON, as the Lambda service would, and
/// returns the proxy response as JSON: for tests and the fuzz target.
pub async fn invoke_json<S: Sync + 'static>(
    api: &Api<S>,
    event: &[u8],
) -> Result<serde_json::Value, serde_json::Error> {
    let payload: LambdaRequest = serde_json::from_slice(event)?;
    let Ok(response) = invoke(api, LambdaEvent::new(payload, Context::default())).await;
    serde_json::to_value(response)
}

/// Refuses a request with more than one `Authorization` value. API Gateway's authorizer checks
/// one of them, and lambda_http keeps the last one (its single-value `headers` replace the
/// multi-value ones): a function that passed that token on to Cognito would act on a token
/// nobody checked. One `Authorization` per request is all HTTP allows anyway.
fn check_authorization(event: &LambdaRequest) -> Option<ApiError> {
    #[allow(irrefutable_let_patterns)]
    let LambdaRequest::ApiGatewayV1(event) = event else {
        return None;
    };
    let values = event
        .multi_value_headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .count();
    (values > 1).then_some(ApiError::Unauthorized)
}

/// Refuses a body marked base64 that does not decode, and empties it so that lambda_http's
/// conversion cannot panic on it.
fn check_body(event: &mut LambdaRequest) -> Option<ApiError> {
    #[allow(irrefutable_let_patterns)]
    let LambdaRequest::ApiGatewayV1(event) = event else {
        return None;
    };
    let body = event.body.as_deref()?;
    if !event.is_base64_encoded || STANDARD.decode(body).is_ok() {
        return None;
    }
    event.body = None;
    event.is_base64_encoded = false;
    Some(ApiError::InvalidBase64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cors, Reply, route};
    use serde_json::{Value, json};

    fn event(body: Value, base64: bool) -> Vec<u8> {
        event_with(body, base64, json!({"content-type": ["application/json"]}))
    }

    fn event_with(body: Value, base64: bool, multi_value_headers: Value) -> Vec<u8> {
        let headers: serde_json::Map<String, Value> = multi_value_headers
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_array().unwrap().last().unwrap().clone()))
            .collect();
        json!({
            "resource": "/echo", "path": "/echo", "httpMethod": "POST",
            "headers": headers, "multiValueHeaders": multi_value_headers,
            "requestContext": {"resourcePath": "/echo", "httpMethod": "POST", "requestId": "req-9",
                "stage": "Prod", "accountId": "1", "apiId": "a", "identity": {}},
            "body": body, "isBase64Encoded": base64,
        })
        .to_string()
        .into_bytes()
    }

    /// A handler that answers the body's length, so a test sees what reached it.
    async fn echo(_: &(), req: &Request) -> Result<Reply, ApiError> {
        Reply::ok(&req.body().len())
    }

    static ROUTES: &[crate::Route<()>] = &[route!(POST "/echo" => echo)];

    async fn call(body: Value, base64: bool) -> Value {
        let api = Api::new(Cors::default(), (), ROUTES);
        invoke_json(&api, &event(body, base64)).await.unwrap()
    }

    #[tokio::test]
    async fn a_body_marked_base64_that_is_not_base64_is_400_invalid_encoding_not_a_panic() {
        for bad in [
            "%%%",
            "eyJh!",
            "not base64 at all",
            "QQ",
            "{\"username\":\"a\"}",
        ] {
            let res = call(json!(bad), true).await;
            assert_eq!(res["statusCode"], 400, "{bad}");
            let body: Value = serde_json::from_str(res["body"].as_str().unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "invalid_encoding");
            assert_eq!(body["request_id"], "req-9");
            let acao = &res["multiValueHeaders"]["access-control-allow-origin"];
            assert_eq!(acao, &json!(["*"]), "{res}");
        }
    }

    #[tokio::test]
    async fn more_than_one_authorization_value_is_401_before_any_handler_runs() {
        let api = Api::new(Cors::default(), (), ROUTES);
        for (name, values) in [
            (
                "Authorization",
                json!(["Bearer checked", "Bearer unchecked"]),
            ),
            ("authorization", json!(["Bearer a", "Bearer a"])),
        ] {
            let headers = json!({ "content-type": ["application/json"], name: values });
            let res = invoke_json(&api, &event_with(json!("{}"), false, headers))
                .await
                .unwrap();
            assert_eq!(res["statusCode"], 401, "{res}");
            let body: Value = serde_json::from_str(res["body"].as_str().unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
            assert_eq!(
                res["multiValueHeaders"]["access-control-allow-origin"],
                json!(["*"])
            );
        }
        let one = json!({ "content-type": ["application/json"], "Authorization": ["Bearer a"] });
        let res = invoke_json(&api, &event_with(json!("{}"), false, one))
            .await
            .unwrap();
        assert_eq!(res["statusCode"], 200, "{res}");
    }

    #[tokio::test]
    async fn valid_base64_and_plain_bodies_reach_the_handler_decoded() {
        let res = call(json!(STANDARD.encode(b"{\"a\":1}")), true).await;
        assert_eq!(res["statusCode"], 200);
        assert_eq!(res["body"], "7");
        let res = call(json!("%%%"), false).await;
        assert_eq!(res["body"], "3");
        let res = call(Value::Null, true).await;
        assert_eq!(res["body"], "0");
    }
}
