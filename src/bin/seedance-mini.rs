//! The `seedance-mini` command line; everything lives in `seedance_mini::cli`.

fn main() -> std::process::ExitCode {
    seedance_mini::cli::main()
}
