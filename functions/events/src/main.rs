#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), platform::Error> {
    platform::lambda::start_consumer(events::app, events::handle).await
}
