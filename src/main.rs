fn main() -> std::process::ExitCode {
    medscribe::cli::main()
}
