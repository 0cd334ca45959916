//! Files a subcommand writes (`chart --output`, `demo --output`): checked before the work that
//! fills them, so a wrong path fails at once, not after a minute of reading or running.
//!
//! A leaf below the subcommands that write (`chart`, `demo`) and the command line that parses
//! their flags (`cli`).

use std::path::Path;

/// Whether a file can be created (or replaced) at `path`, without leaving anything behind.
pub fn writable(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    if !existed {
        std::fs::remove_file(path)?;
    }
    Ok(())
}
