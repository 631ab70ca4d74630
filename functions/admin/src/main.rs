#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), platform::Error> {
    platform::lambda::start(admin::app).await
}
