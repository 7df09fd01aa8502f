//! Writing to standard output without panicking when the reader has gone away.
//!
//! Rust ignores `SIGPIPE`, so writing to a closed pipe (`tether catalog | head -1`) returns a
//! `BrokenPipe` error, which `println!` turns into a panic (exit 101). We keep `SIGPIPE` ignored
//! rather than restoring its default action: the default would also kill `tether serve` when a
//! socket or its log pipe closes, and it cannot be set without `unsafe` code, which this workspace
//! forbids. Instead every line of command output goes through [`outln!`], which answers an
//! `io::Result`; commands pass it on with `?`, and `main` ends the process quietly with success
//! when the cause of a failure is a broken pipe ([`is_broken_pipe`]), as `ripgrep` does.
//! Long-running commands print their status lines with [`say!`], which ignores a closed output:
//! a server keeps serving when nobody reads its banner.

/// Writes one line of command output to stdout; answers `std::io::Result<()>`.
macro_rules! outln {
    () => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock())
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
pub(crate) use outln;

/// Writes one status line of a long-running command to stdout, ignoring a closed output.
macro_rules! say {
    () => {{
        let _ = $crate::out::outln!();
    }};
    ($($arg:tt)*) => {{
        let _ = $crate::out::outln!($($arg)*);
    }};
}
pub(crate) use say;

/// Whether `error` was caused by writing to a pipe whose reader has gone (`… | head -1`).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
