//! jobs: coalescing of the engine's background jobs (sync, connect, probe, apply). Each kind of
//! job runs at most once at a time; a request while one runs either waits as the single pending
//! run (sync, reconnect) or is refused (apply, probe). Modelled on gitui's `AsyncSingleJob`.

/// One kind of background job: idle, running, or running with one more run wanted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum SingleJob {
    #[default]
    Idle,
    Running,
    /// Running, and asked again meanwhile: one more run follows, however often it was asked.
    RunningWithPending,
}

impl SingleJob {
    /// Asks for a run that must not be lost. True: start it now. False: one is running and
    /// this request is remembered (at most one pending, so pressing `s` five times syncs at
    /// most twice).
    pub(super) fn request(&mut self) -> bool {
        match self {
            SingleJob::Idle => {
                *self = SingleJob::Running;
                true
            }
            SingleJob::Running | SingleJob::RunningWithPending => {
                *self = SingleJob::RunningWithPending;
                false
            }
        }
    }

    /// Asks for a run only if none is running. True: start it now; false: refused, nothing
    /// is remembered.
    pub(super) fn try_start(&mut self) -> bool {
        if *self == SingleJob::Idle {
            *self = SingleJob::Running;
            true
        } else {
            false
        }
    }

    /// The running job finished. True: a run was pending and must start now (the job stays
    /// running); false: the job is idle.
    pub(super) fn finish(&mut self) -> bool {
        let again = *self == SingleJob::RunningWithPending;
        *self = if again {
            SingleJob::Running
        } else {
            SingleJob::Idle
        };
        again
    }

    pub(super) fn is_running(self) -> bool {
        self != SingleJob::Idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_while_running_coalesce_into_one_more_run() {
        let mut sync = SingleJob::default();
        assert!(sync.request(), "an idle job starts at once");
        assert!(sync.is_running());
        for _ in 0..4 {
            assert!(!sync.request(), "a running job does not start twice");
        }
        assert!(
            sync.finish(),
            "the requests meanwhile become exactly one more run"
        );
        assert!(sync.is_running());
        assert!(!sync.finish(), "and no third");
        assert!(!sync.is_running());
        assert!(
            sync.request(),
            "idle again: the next request starts at once"
        );
    }

    #[test]
    fn try_start_refuses_while_running_and_remembers_nothing() {
        let mut apply = SingleJob::default();
        assert!(apply.try_start());
        assert!(
            !apply.try_start(),
            "a second apply is refused while one runs"
        );
        assert!(!apply.finish(), "a refused start is not a pending run");
        assert!(!apply.is_running());
        assert!(apply.try_start());
    }

    #[test]
    fn a_request_after_a_refused_start_is_still_pending() {
        let mut connect = SingleJob::default();
        assert!(connect.try_start());
        assert!(!connect.try_start());
        assert!(!connect.request());
        assert!(
            connect.finish(),
            "the request (a refresh) runs after the current connect"
        );
        assert!(!connect.finish());
    }
}
