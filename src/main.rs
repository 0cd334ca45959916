fn main() -> std::process::ExitCode {
    autoscale::cli::main()
}
