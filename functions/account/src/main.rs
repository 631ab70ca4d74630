#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = account::State::from_env().await?;
    lambda_http::run(lambda_http::service_fn(|req| account::handle(&state, req))).await
}
