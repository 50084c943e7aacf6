//! The `seedance-mini` command line; everything lives in `seedance_mini::cli`.

/// mimalloc instead of the system allocator: the mock server allocates a
/// few small objects per request, and glibc's malloc and free were a tenth
/// of its CPU under load (measured with `perf`, `.ci/bench-mock`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    seedance_mini::cli::main()
}
