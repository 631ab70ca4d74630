#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), platform::Error> {
    platform::lambda::start_async_consumer(backup::app, backup::handle).await
}
