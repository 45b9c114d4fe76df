//! `GET /metrics` in the Prometheus text format, for every binary of the project.
//!
//! Each binary keeps its metrics in its own recorder (no global state) and hands a render
//! function here; the server binds the given address (127.0.0.1 in every default), runs until
//! the process ends, and answers 404 to anything but `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;

/// Serve `render()` on `GET /metrics` at `addr`; returns the bound address (port 0 picks one).
pub async fn serve(addr: SocketAddr, render: Arc<dyn Fn() -> String + Send + Sync>) -> std::io::Result<SocketAddr> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let render = render.clone();
            async move { ([("content-type", "text/plain; version=0.0.4")], render()) }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    Ok(bound)
}
