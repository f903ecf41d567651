//! The baseline of `scripts/bench-server` and `scripts/bench-runtime`: bare axum handlers
//! on the same runtime (tokio multi-threaded) and the same axum build as the server, so a
//! route's cost can be read as a ratio to what HTTP alone costs on this machine in the
//! same run. `GET /` answers a plain "hello"; `POST /json` reads a small JSON body and
//! answers a small JSON object, the runtime endpoints' shape without their work.
//!
//! ```sh
//! cargo run --release -p licentric-server --example bare_axum -- 127.0.0.1:8788
//! ```

use axum::{
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    // Scripts read this line to learn the port, as they do for the server's.
    println!("bare axum listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/", get(|| async { "hello" })).route(
        "/json",
        post(|Json(body): Json<Value>| async move {
            Json(json!({ "valid": true, "code": "VALID", "key": body.get("key") }))
        }),
    );
    axum::serve(listener, app).await?;
    Ok(())
}
