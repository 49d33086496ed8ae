//! A real terminal for end-to-end tests: a tmux server of the test's own (its own `-L` socket,
//! no user config), one detached session running a command, driven by keys and read back by
//! capturing the pane. Killed on drop, so it never touches the user's sessions.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::command::run_with_deadline;

/// The most one tmux command (send-keys, capture-pane, …) may take; a hang fails the test.
pub const TMUX_DEADLINE: Duration = Duration::from_secs(20);

/// The session every [`Tmux`] runs its command in; `-t` targets it.
const SESSION: &str = "test";

/// One tmux server of our own, with one session running the command given to [`Tmux::start`].
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A tmux server named after `name` (and this process) with a detached `width`×`height`
    /// session running `command` (through the shell) with `env` (`NAME=value`) set.
    pub fn start(name: &str, (width, height): (u16, u16), env: &[String], command: &str) -> Tmux {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let tmux = Tmux {
            socket: format!(
                "hhdash-{name}-{}-{}",
                std::process::id(),
                STARTED.fetch_add(1, Ordering::Relaxed)
            ),
        };
        let (width, height) = (width.to_string(), height.to_string());
        let mut args = vec!["-f", "/dev/null", "new-session", "-d", "-s", SESSION];
        args.extend(["-x", &width, "-y", &height]);
        for variable in env {
            args.extend(["-e", variable]);
        }
        args.push(command);
        tmux.run(&args);
        // OSC 52 from the application becomes a tmux paste buffer (`show-buffer`), as an
        // operator's tmux passes it on to their clipboard.
        tmux.run(&["set-option", "-g", "set-clipboard", "on"]);
        tmux
    }

    /// Runs `tmux -L <socket> args…` within [`TMUX_DEADLINE`]; fails the test with tmux's
    /// stderr on error. Target the session with [`Tmux::target`].
    pub fn run(&self, args: &[&str]) -> String {
        let out = run_with_deadline(
            Command::new("tmux").args(["-L", &self.socket]).args(args),
            TMUX_DEADLINE,
        );
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What `-t` takes to address the session's pane.
    pub fn target(&self) -> &'static str {
        SESSION
    }

    /// Sends each key, 150 ms apart. Never `Escape`: use [`Tmux::escape`].
    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            assert_ne!(
                *key, "Escape",
                "use Tmux::escape, which waits until it was read"
            );
            self.run(&["send-keys", "-t", SESSION, key]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Sends `Escape` and waits until the screen shows it was read (`read`), so the next key
    /// cannot merge with it into Alt-key.
    pub fn escape(&self, what: &str, read: impl Fn(&str) -> bool) {
        self.run(&["send-keys", "-t", SESSION, "Escape"]);
        self.wait(10, what, read);
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", SESSION])
    }

    /// The screen plus up to 1000 lines of scrollback (what was printed before a full-screen
    /// application took over, and after it left).
    pub fn screen_and_scrollback(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", SESSION, "-S", "-1000"])
    }

    /// The screen with its styles as SGR escape sequences (`capture-pane -e`).
    pub fn styled_screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-e", "-t", SESSION])
    }

    pub fn alternate_screen_on(&self) -> bool {
        self.run(&["display-message", "-p", "-t", SESSION, "#{alternate_on}"])
            .trim()
            == "1"
    }

    /// The process id of the pane's shell.
    pub fn pane_pid(&self) -> u32 {
        self.run(&["list-panes", "-t", SESSION, "-F", "#{pane_pid}"])
            .trim()
            .parse()
            .expect("tmux prints the pane's pid")
    }

    /// Waits up to `secs` until the visible screen satisfies `want`; on timeout fails showing
    /// the screen.
    pub fn wait(&self, secs: u64, what: &str, want: impl Fn(&str) -> bool) -> String {
        self.wait_on(Tmux::screen, secs, what, want)
    }

    /// [`Tmux::wait`] on the screen and its scrollback.
    pub fn wait_with_scrollback(
        &self,
        secs: u64,
        what: &str,
        want: impl Fn(&str) -> bool,
    ) -> String {
        self.wait_on(Tmux::screen_and_scrollback, secs, what, want)
    }

    fn wait_on(
        &self,
        capture: fn(&Tmux) -> String,
        secs: u64,
        what: &str,
        want: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = capture(self);
            if want(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {secs}s; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Not `run`: a failure here must not panic while a test's panic unwinds.
        if let Ok(mut child) = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .spawn()
        {
            let deadline = Instant::now() + TMUX_DEADLINE;
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
