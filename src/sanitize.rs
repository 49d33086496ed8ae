//! sanitize: the one rule for text that reaches the operator's terminal from the headless CLI.
//! Whatever hhdash prints comes partly from others — Git file names and documents, drift values,
//! server error texts — and a terminal obeys control characters in it: `ESC[2J` clears the
//! screen, OSC 0 sets the window title, OSC 52 writes the clipboard (tmux passes it on). So every
//! human-readable line goes through [`terminal`], which shows C0 controls (except newline and
//! tab), DEL and C1 controls visibly escaped (`\x1b`, `\x7f`, `\u{9b}`), and every JSON line
//! through [`json`], which keeps it exact JSON with the same characters `\u`-escaped. The
//! macros `outln!`, `out!` and `errln!` are `println!`, `print!` and `eprintln!` with
//! [`terminal`] applied; the CLI modules import them under std's names. The dashboard needs
//! none of this (ratatui drops control characters); `main` passes error reports through
//! [`terminal`] too.

use std::borrow::Cow;

/// Whether `c` is a control character a terminal could act on (newline and tab are layout).
fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// `text` with every control character except newline and tab shown as an escape: C0 and DEL
/// as `\x1b`, C1 as `\u{9b}`. A backslash stays a backslash: the escapes are for a human to
/// see what was there, not to be parsed back.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !is_unsafe(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// JSON text (as serde_json writes it) with DEL and C1 controls, which serde_json leaves raw,
/// written as `\u007f` / `\u009b` escapes: the same JSON value, but nothing a terminal acts on.
/// serde_json already escapes C0 inside strings, and outside strings JSON holds only structure
/// and whitespace, so this never changes what a parser reads.
pub fn json(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Prints a serialisable value as pretty JSON on stdout, terminal-safe (see [`json`]).
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<()> {
    ::std::println!("{}", json(&serde_json::to_string_pretty(value)?));
    Ok(())
}

/// Prints a value as one line of compact JSON on stdout (for streams), terminal-safe.
pub fn print_json_line(value: &serde_json::Value) {
    ::std::println!("{}", json(&value.to_string()));
}

// The macros name std's by full path: modules import them *as* `println`/`print`/`eprintln`
// (so that no line of theirs can skip the sanitizer), and a bare `println!` here would then
// call itself.

/// `println!` through [`terminal`].
macro_rules! outln {
    () => { ::std::println!() };
    ($($arg:tt)*) => {
        ::std::println!("{}", $crate::sanitize::terminal(&::std::format!($($arg)*)))
    };
}

/// `print!` through [`terminal`].
macro_rules! out {
    ($($arg:tt)*) => {
        ::std::print!("{}", $crate::sanitize::terminal(&::std::format!($($arg)*)))
    };
}

/// `eprintln!` through [`terminal`].
macro_rules! errln {
    ($($arg:tt)*) => {
        ::std::eprintln!("{}", $crate::sanitize::terminal(&::std::format!($($arg)*)))
    };
}

pub(crate) use {errln, out, outln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped_and_layout_is_kept() {
        assert_eq!(terminal("plain text\n\tindented"), "plain text\n\tindented");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
        assert_eq!(terminal("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(
            terminal("\x1b]0;title\x07 \x1b]52;c;cHduZWQ=\x07"),
            "\\x1b]0;title\\x07 \\x1b]52;c;cHduZWQ=\\x07"
        );
        assert_eq!(terminal("cr\rdel\x7f nul\0"), "cr\\x0ddel\\x7f nul\\x00");
        assert_eq!(terminal("csi\u{9b}31m st\u{9c}"), "csi\\u{9b}31m st\\u{9c}");
        // Printable non-ASCII stays as it is.
        assert_eq!(terminal("✓ ≠ → é \u{a0}"), "✓ ≠ → é \u{a0}");
    }

    #[test]
    fn json_stays_exact_json_without_raw_controls() {
        let value = serde_json::json!({
            "kind": "VPC\u{1b}[2J\u{1b}]52;c;eA==\u{7}",
            "c1": "\u{9b}31m\u{7f}",
            "line": "a\nb\tc\rd",
        });
        for text in [
            serde_json::to_string_pretty(&value).unwrap(),
            value.to_string(),
        ] {
            let safe = json(&text);
            assert!(!safe.chars().any(is_unsafe), "{safe}");
            let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
            assert_eq!(back, value);
        }
    }
}
