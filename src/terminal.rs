//! What reaches a terminal: every line a subcommand prints (its text output, its errors, notes
//! and warnings) goes through [`printable`], so that a control character from a log line, a
//! TOML file or a setting (an ESC that would recolour or rewrite the screen, a carriage return
//! that would hide what came before) is shown escaped (`\u{1b}`), never acted on.
//!
//! The daemon's logfmt lines escape their values themselves ([`crate::logfmt::quote`]); JSON
//! output is escaped by serde. Use [`crate::say!`], [`crate::say_raw!`] and [`crate::say_err!`]
//! instead of `println!`, `print!` and `eprintln!`.
//!
//! Pure but for the three write functions.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;

/// Whether `c` must not reach a terminal as is: C0 controls but newline and tab, DEL, C1
/// controls, and the line and paragraph separators and bidirectional overrides, which make
/// text read differently from what it is.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character (see [`is_unsafe`]) written as `\u{..}`; newlines and
/// tabs stay.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes `text` (made printable) to standard output, and a newline when `line`. A closed
/// output (`| head`) is not an error worth a panic: the write is dropped.
pub fn out(text: &str, line: bool) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(printable(text).as_bytes());
    if line {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
}

/// Writes `text` (made printable) and a newline to standard error.
pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(printable(text).as_bytes());
    let _ = stderr.write_all(b"\n");
}

/// `println!` for a subcommand's output, control characters escaped (see [`printable`]).
#[macro_export]
macro_rules! say {
    () => { $crate::terminal::out("", true) };
    ($($arg:tt)*) => { $crate::terminal::out(&format!($($arg)*), true) };
}

/// `print!` for a subcommand's output, control characters escaped (see [`printable`]).
#[macro_export]
macro_rules! say_raw {
    ($($arg:tt)*) => { $crate::terminal::out(&format!($($arg)*), false) };
}

/// `eprintln!` for errors, notes and warnings, control characters escaped (see [`printable`]).
#[macro_export]
macro_rules! say_err {
    ($($arg:tt)*) => { $crate::terminal::err(&format!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_text_kept() {
        assert!(matches!(
            printable("shop/web: 3 dynos\n\tok"),
            Cow::Borrowed(_)
        ));
        assert_eq!(printable("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(printable("x\ry"), "x\\u{d}y");
        assert_eq!(printable("\u{7f}\u{9b}"), "\\u{7f}\\u{9b}");
        assert_eq!(printable("a\u{202e}b\u{2028}"), "a\\u{202e}b\\u{2028}");
        assert_eq!(printable("é ü ✓"), "é ü ✓");
    }
}
