//! `licentric-server`: see `licentric-server --help`.

use clap::Parser;

/// mimalloc instead of glibc's malloc: the request path allocates and frees many small
/// blocks across threads (hyper's buffers, futures, JSON), where glibc's arenas spent a
/// measurable share of the runtime endpoints' CPU (docs/benchmarks.md, issue 13's third
/// session). Only the server binary; the library leaves the choice to whoever embeds it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = licentric_server::cli::Cli::parse();
    match licentric_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
