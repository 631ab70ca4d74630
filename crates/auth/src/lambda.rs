//! The Lambda entry point every function's `main.rs` uses, and the local API too: the raw
//! API Gateway event is checked before lambda_http converts it, then the handler runs.
//!
//! Why: lambda_http's conversion decodes an `isBase64Encoded` body with `expect`, so a body
//! that is not valid base64 panics before any handler code runs. API Gateway itself only ever
//! sends valid base64, but a direct invocation (or a hostile test corpus) can send anything, and
//! in release builds (`panic = "abort"`) a panic kills the whole execution environment and
//! answers a bare 502. Here such a body becomes our 400 `invalid_encoding`, with CORS, through
//! the one response builder. This is a check, not a `catch_unwind`: it works with
//! `panic = "abort"` and leaves real bugs to fail loudly.

use std::future::Future;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::aws_lambda_events::apigw::ApiGatewayProxyResponse;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Body, Context, LambdaEvent, Request, Response, Service, service_fn};

use crate::{ApiError, Cors, Error, RequestMeta, respond};

/// Runs `handler` as a Lambda function, as `lambda_http::run` would, with the event checked
/// first (see the module docs).
pub async fn run<F, Fut>(cors: &Cors, handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut + Sync,
    Fut: Future<Output = Result<Response<Body>, Error>> + Send,
{
    let handler = &handler;
    lambda_http::lambda_runtime::run(service_fn(|event: LambdaEvent<LambdaRequest>| {
        invoke(cors, handler, event)
    }))
    .await
}

/// One invocation: the event's body is checked, converted by lambda_http's own `Adapter`
/// and handed to `handler`; the answer comes back as the REST proxy response Lambda returns
/// (lambda_http's own response type is not public, hence the conversion).
pub async fn invoke<F, Fut>(
    cors: &Cors,
    handler: F,
    event: LambdaEvent<LambdaRequest>,
) -> Result<ApiGatewayProxyResponse, Error>
where
    F: Fn(Request) -> Fut + Sync,
    Fut: Future<Output = Result<Response<Body>, Error>> + Send,
{
    let LambdaEvent {
        mut payload,
        context,
    } = event;
    let refused = check_body(&mut payload);
    let handler = &handler;
    let mut adapter = Adapter::from(service_fn(move |req: Request| {
        let refused = refused.clone();
        async move {
            match refused {
                Some(err) => Ok(respond(cors, &RequestMeta::of(&req), Err(err))),
                None => handler(req).await,
            }
        }
    }));
    let response = adapter.call(LambdaEvent::new(payload, context)).await?;
    Ok(serde_json::from_value(serde_json::to_value(response)?)?)
}

/// Invokes `handler` with an API Gateway REST event given as JSON, as the Lambda service
/// would: for tests and the fuzz target.
pub async fn invoke_json<F, Fut>(
    cors: &Cors,
    handler: F,
    event: &[u8],
) -> Result<ApiGatewayProxyResponse, Error>
where
    F: Fn(Request) -> Fut + Sync,
    Fut: Future<Output = Result<Response<Body>, Error>> + Send,
{
    let payload: LambdaRequest = serde_json::from_slice(event)?;
    invoke(cors, handler, LambdaEvent::new(payload, Context::default())).await
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
    use serde_json::{Value, json};

    fn event(body: Value, base64: bool) -> Vec<u8> {
        json!({
            "resource": "/echo", "path": "/echo", "httpMethod": "POST",
            "headers": {"content-type": "application/json"},
            "requestContext": {"resourcePath": "/echo", "httpMethod": "POST", "requestId": "req-9",
                "stage": "Prod", "accountId": "1", "apiId": "a", "identity": {}},
            "body": body, "isBase64Encoded": base64,
        })
        .to_string()
        .into_bytes()
    }

    /// A handler that answers the body's length, so a test sees what reached it.
    async fn echo(req: Request) -> Result<Response<Body>, Error> {
        Ok(Cors::default().json(http::StatusCode::OK, &req.body().len()))
    }

    async fn call(body: Value, base64: bool) -> Value {
        let res = invoke_json(&Cors::default(), echo, &event(body, base64))
            .await
            .unwrap();
        serde_json::to_value(res).unwrap()
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
