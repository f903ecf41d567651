//! The baseline of `scripts/bench-server`: a bare axum "hello" handler on the same runtime
//! (tokio multi-threaded) and the same axum build as the server, so a route's latency can
//! be read as a ratio to what HTTP alone costs on this machine in the same run.
//!
//! ```sh
//! cargo run --release -p licentric-server --example bare_axum -- 127.0.0.1:8788
//! ```

use axum::{routing::get, Router};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    // Scripts read this line to learn the port, as they do for the server's.
    println!("bare axum listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/", get(|| async { "hello" }));
    axum::serve(listener, app).await?;
    Ok(())
}
