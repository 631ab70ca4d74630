#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = books::State::from_env().await?;
    auth::lambda::run(&state.cors, |req| books::handle(&state, req)).await
}
