//! secret::env: the one way hhdash reads the environment variables that hold secrets (a
//! fabric's `token_env`, its Git `token_env`, `HHDASH_SECRET_KEY`). A command a server runs for
//! a client must see the client's variables, not the server's: for the duration of such a run
//! the thread reads an overlay (`with_overlay`) holding exactly the variables the client sent,
//! and nothing of the process environment. Values are never logged.

use std::cell::RefCell;
use std::collections::HashMap;

use zeroize::Zeroizing;

use super::token::TokenSource;
use super::vault;
use crate::config::Config;

thread_local! {
    static OVERLAY: RefCell<Option<HashMap<String, Zeroizing<String>>>> = const { RefCell::new(None) };
}

/// The variable `name`: from the overlay while one is set on this thread, else from the
/// process environment. `None` when unset or not UTF-8.
pub fn var(name: &str) -> Option<Zeroizing<String>> {
    OVERLAY.with(|overlay| match &*overlay.borrow() {
        Some(vars) => vars.get(name).cloned(),
        None => std::env::var(name).ok().map(Zeroizing::new),
    })
}

/// Runs `f` with `vars` as this thread's whole secret environment (see the module doc).
pub fn with_overlay<R>(vars: Vec<(String, String)>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<HashMap<String, Zeroizing<String>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            OVERLAY.with(|overlay| *overlay.borrow_mut() = previous);
        }
    }
    let vars = vars
        .into_iter()
        .map(|(name, value)| (name, Zeroizing::new(value)))
        .collect();
    let _restore = Restore(OVERLAY.with(|overlay| overlay.borrow_mut().replace(vars)));
    f()
}

/// The variables `config` reads secrets from: every fabric's Kubernetes and Git `token_env`,
/// and the vault key's variable.
pub fn names(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = config
        .fabrics
        .iter()
        .flat_map(|fabric| [&fabric.kubernetes.token, &fabric.git.token])
        .filter_map(|source| match source {
            TokenSource::Env(name) => Some(name.clone()),
            _ => None,
        })
        .chain([vault::KEY_ENV.to_string()])
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The values of `names` in this process's environment (the ones set), for a server to use.
pub fn values(names: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .filter_map(|name| Some((name.clone(), std::env::var(name).ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_replaces_the_process_environment_on_its_thread_only() {
        // PATH is set in any test run; the overlay hides it, another thread still sees it.
        assert!(var("PATH").is_some());
        let seen = with_overlay(vec![("HHDASH_TEST_OVERLAY".into(), "tok".into())], || {
            let other = std::thread::spawn(|| var("PATH").is_some()).join().unwrap();
            (
                var("HHDASH_TEST_OVERLAY").map(|v| v.to_string()),
                var("PATH").is_some(),
                other,
            )
        });
        assert_eq!(seen, (Some("tok".to_string()), false, true));
        assert!(var("PATH").is_some());
        assert!(var("HHDASH_TEST_OVERLAY").is_none());
    }
}
