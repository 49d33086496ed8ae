//! sanitize: the one rule for text that reaches the operator's terminal from the headless CLI.
//! Whatever hhdash prints comes partly from others — Git file names and documents, drift values,
//! server error texts — and a terminal obeys control characters in it: `ESC[2J` clears the
//! screen, OSC 0 sets the window title, OSC 52 writes the clipboard (tmux passes it on). So every
//! human-readable line goes through [`terminal`], which shows C0 controls (except newline and
//! tab), DEL and C1 controls visibly escaped (`\x1b`, `\x7f`, `\u{9b}`), and every JSON line
//! through [`json`], which keeps it exact JSON with the same characters `\u`-escaped. The
//! macros `outln!`, `out!` and `errln!` are `println!`, `print!` and `eprintln!` with
//! [`terminal`] applied; the CLI modules import them under std's names. All of them write
//! through the [`console`], which a server redirects to the client it runs a command for. The dashboard needs
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
    let text = json(&serde_json::to_string_pretty(value)?).into_owned();
    console::write(console::Stream::Stdout, text + "\n");
    Ok(())
}

/// Prints a value as one line of compact JSON on stdout (for streams), terminal-safe.
pub fn print_json_line(value: &serde_json::Value) {
    console::write(
        console::Stream::Stdout,
        json(&value.to_string()).into_owned() + "\n",
    );
}

/// The one console every CLI line goes through: the process's stdout and stderr, or, while a
/// server runs a command for a client (`capture`), that client. The capture is per thread, so
/// the server runs each client's command on a thread of its own (async commands on a
/// current-thread runtime, which polls them on that thread).
pub mod console {
    use std::cell::RefCell;
    use std::io::{BufRead, IsTerminal, Write};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Stream {
        Stdout,
        Stderr,
    }

    /// What a captured command emits, in order.
    #[derive(Debug)]
    pub enum Emitted {
        /// Text exactly as printed (already through the sanitizer).
        Output(Stream, String),
        /// A question for the operator; the answer (`None`: none could be had) goes back on
        /// the sender.
        Prompt(String, std::sync::mpsc::Sender<Option<String>>),
    }

    /// Where a captured command's console goes.
    pub struct Capture {
        pub emitted: tokio::sync::mpsc::UnboundedSender<Emitted>,
        /// Whether the client's standard input is a terminal: a prompt is asked only there.
        pub stdin_terminal: bool,
    }

    thread_local! {
        static CAPTURE: RefCell<Option<Capture>> = const { RefCell::new(None) };
    }

    /// Runs `f` with this thread's console going to `capture`.
    pub fn capture<R>(capture: Capture, f: impl FnOnce() -> R) -> R {
        struct Release;
        impl Drop for Release {
            fn drop(&mut self) {
                CAPTURE.with(|c| c.borrow_mut().take());
            }
        }
        CAPTURE.with(|c| *c.borrow_mut() = Some(capture));
        let _release = Release;
        f()
    }

    /// Writes `text` (newlines included) to the stream. Not captured, it is `print!` /
    /// `eprint!` (which panic when the stream is closed, as they always did here).
    pub fn write(stream: Stream, text: String) {
        let text = match CAPTURE.with(|c| match &*c.borrow() {
            // A client gone takes its output with it; the command goes on.
            Some(capture) => {
                let _ = capture.emitted.send(Emitted::Output(stream, text));
                None
            }
            None => Some(text),
        }) {
            Some(text) => text,
            None => return,
        };
        match stream {
            Stream::Stdout => ::std::print!("{text}"),
            Stream::Stderr => ::std::eprint!("{text}"),
        }
    }

    /// Asks the operator `question` (through the sanitizer) and reads one line. `None` when no
    /// answer can be had: standard input is no terminal, it ended, or the client is gone.
    pub fn prompt(question: &str) -> std::io::Result<Option<String>> {
        let question = super::terminal(question);
        let asked = CAPTURE.with(|c| {
            c.borrow().as_ref().map(|capture| {
                if !capture.stdin_terminal {
                    return None;
                }
                let (answer, answered) = std::sync::mpsc::channel();
                capture
                    .emitted
                    .send(Emitted::Prompt(question.to_string(), answer))
                    .ok()?;
                Some(answered)
            })
        });
        match asked {
            Some(None) => Ok(None),
            Some(Some(answered)) => Ok(answered.recv().ok().flatten()),
            None => {
                if !std::io::stdin().is_terminal() {
                    return Ok(None);
                }
                ::std::print!("{question}");
                std::io::stdout().flush()?;
                let mut answer = String::new();
                if std::io::stdin().lock().read_line(&mut answer)? == 0 {
                    return Ok(None);
                }
                Ok(Some(answer))
            }
        }
    }
}

// The macros name std's by full path: modules import them *as* `println`/`print`/`eprintln`
// (so that no line of theirs can skip the sanitizer), and a bare `println!` here would then
// call itself.

/// `println!` through [`terminal`] and the [`console`].
macro_rules! outln {
    () => { $crate::sanitize::console::write($crate::sanitize::console::Stream::Stdout, "\n".to_string()) };
    ($($arg:tt)*) => {
        $crate::sanitize::console::write(
            $crate::sanitize::console::Stream::Stdout,
            $crate::sanitize::terminal(&::std::format!($($arg)*)).into_owned() + "\n",
        )
    };
}

/// `print!` through [`terminal`] and the [`console`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::sanitize::console::write(
            $crate::sanitize::console::Stream::Stdout,
            $crate::sanitize::terminal(&::std::format!($($arg)*)).into_owned(),
        )
    };
}

/// `eprintln!` through [`terminal`] and the [`console`].
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::sanitize::console::write(
            $crate::sanitize::console::Stream::Stderr,
            $crate::sanitize::terminal(&::std::format!($($arg)*)).into_owned() + "\n",
        )
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

    #[test]
    fn a_captured_thread_prints_to_its_client_in_order_and_others_print_as_before() {
        use console::{Capture, Emitted, Stream};
        let (emitted, mut received) = tokio::sync::mpsc::unbounded_channel();
        let answers = std::thread::spawn(move || {
            console::capture(
                Capture {
                    emitted,
                    stdin_terminal: true,
                },
                || {
                    outln!("drift \x1b[2J {}", 1);
                    errln!("warning: {}", "w");
                    out!("no newline");
                    print_json(&serde_json::json!({"a": "\u{9b}"})).unwrap();
                    console::prompt("Delete? ").unwrap()
                },
            )
        });
        let mut seen = Vec::new();
        let answer = loop {
            match received
                .blocking_recv()
                .expect("the prompt comes before the end")
            {
                Emitted::Output(stream, text) => seen.push((stream, text)),
                Emitted::Prompt(question, reply) => {
                    assert_eq!(question, "Delete? ");
                    reply.send(Some("yes\n".into())).unwrap();
                    break answers.join().unwrap();
                }
            }
        };
        assert_eq!(answer.as_deref(), Some("yes\n"));
        assert_eq!(
            seen,
            [
                (Stream::Stdout, "drift \\x1b[2J 1\n".to_string()),
                (Stream::Stderr, "warning: w\n".to_string()),
                (Stream::Stdout, "no newline".to_string()),
                (Stream::Stdout, "{\n  \"a\": \"\\u009b\"\n}\n".to_string()),
            ]
        );
        // The capture ended with the closure: nothing more is sent, the channel is closed.
        assert!(received.blocking_recv().is_none());
    }

    #[test]
    fn a_prompt_without_a_terminal_or_without_a_client_is_not_answered() {
        use console::{Capture, Emitted};
        let (emitted, mut received) = tokio::sync::mpsc::unbounded_channel();
        let no_terminal = console::capture(
            Capture {
                emitted,
                stdin_terminal: false,
            },
            || console::prompt("Delete? ").unwrap(),
        );
        assert_eq!(no_terminal, None);
        assert!(received.try_recv().is_err(), "asked without a terminal");
        // The client is gone: its answer channel is dropped unanswered.
        let (emitted, received) = tokio::sync::mpsc::unbounded_channel::<Emitted>();
        let gone = std::thread::spawn(move || {
            let mut received = received;
            if let Some(Emitted::Prompt(_, reply)) = received.blocking_recv() {
                drop(reply);
            }
        });
        let answer = console::capture(
            Capture {
                emitted,
                stdin_terminal: true,
            },
            || console::prompt("Delete? ").unwrap(),
        );
        gone.join().unwrap();
        assert_eq!(answer, None);
    }
}
