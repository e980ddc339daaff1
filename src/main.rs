//! The `warden` binary: everything lives in the library; this only hands over to the CLI.

// Every request allocates and frees many small buffers across threads; mimalloc cut the
// allocator's share of CPU under load (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    warden::cli::main()
}
