//! Faults a test can cause on a running [`ControlPlane`]: etcd compaction (expired
//! resourceVersions), a frozen, stopped, killed or restarted kube-apiserver.

use std::time::Duration;

use super::{ControlPlane, Identity};
use crate::{Error, crds, etcd};

impl ControlPlane {
    /// Compact etcd at its current revision and return that revision. Reads
    /// and watches that reach etcd at an older resourceVersion then fail with
    /// 410 Gone (`Expired`).
    ///
    /// With the watch cache ([`Options::watch_cache`](super::Options::watch_cache), the default) the API
    /// server serves watches from its own event window and keeps doing so for
    /// recent resourceVersions; it answers 410 for resourceVersions older
    /// than its window, which after a [`restart_apiserver`](Self::restart_apiserver)
    /// starts at the restart. To make "resume from an old resourceVersion"
    /// fail with 410 for watches, either start with `watch_cache: false` and
    /// call `compact`, or call `compact` and then `restart_apiserver`.
    pub async fn compact(&self) -> Result<i64, Error> {
        let revision = etcd::current_revision(self.etcd_port).await?;
        etcd::compact(self.etcd_port, revision).await?;
        Ok(revision)
    }

    /// Compact etcd past every resourceVersion any client holds, with kube-apiserver
    /// stopped (call between [`kill_apiserver`](Self::kill_apiserver) and
    /// [`start_apiserver`](Self::start_apiserver)): writes to a key outside `/registry`
    /// move etcd's revision on, then [`compact`](Self::compact) drops the history before it.
    /// A watch resumed after the start then always gets 410 Gone and must re-list, whatever
    /// bookmark it saw last. Returns the compacted revision.
    pub async fn expire_resource_versions(&self) -> Result<i64, Error> {
        if self.apiserver.is_some() {
            return Err(Error::State(
                "expire_resource_versions needs kube-apiserver stopped: it could send a bookmark past the compaction".into(),
            ));
        }
        for n in 0..2 {
            etcd::put(self.etcd_port, "/testenv/revision-bump", &n.to_string()).await?;
        }
        self.compact().await
    }

    /// Freeze kube-apiserver with SIGSTOP: its port still accepts TCP connections (the
    /// kernel does that) and open connections stay up, but nothing is answered — what a
    /// dropped VPN or a hung load balancer looks like to a client.
    /// [`thaw_apiserver`](Self::thaw_apiserver) resumes it. Dropping the plane while frozen still kills it.
    pub fn freeze_apiserver(&self) -> Result<(), Error> {
        self.signal_apiserver(libc::SIGSTOP, "freeze")
    }

    /// Resume a kube-apiserver frozen with [`freeze_apiserver`](Self::freeze_apiserver)
    /// (SIGCONT); it answers what queued up meanwhile.
    pub fn thaw_apiserver(&self) -> Result<(), Error> {
        self.signal_apiserver(libc::SIGCONT, "thaw")
    }

    fn signal_apiserver(&self, signal: libc::c_int, what: &str) -> Result<(), Error> {
        let proc = self.apiserver.as_ref().ok_or_else(|| {
            Error::State(format!("cannot {what} kube-apiserver: it is not running"))
        })?;
        // SAFETY: plain kill(2) on our own, not yet reaped, child.
        if unsafe { libc::kill(proc.pid() as libc::pid_t, signal) } != 0 {
            return Err(Error::io(format!("{what} kube-apiserver"))(
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Stop kube-apiserver (SIGTERM, then SIGKILL after 5 s) and reap it.
    /// etcd keeps running; clients get connection errors until
    /// [`start_apiserver`](Self::start_apiserver).
    pub async fn stop_apiserver(&mut self) {
        if let Some(mut proc) = self.apiserver.take() {
            proc.terminate(Duration::from_secs(5)).await;
        }
    }

    /// Kill kube-apiserver with SIGKILL, like a crash: open connections are
    /// reset instead of closed. Start it again with
    /// [`start_apiserver`](Self::start_apiserver).
    pub fn kill_apiserver(&mut self) {
        if let Some(mut proc) = self.apiserver.take() {
            proc.kill();
        }
    }

    /// Start kube-apiserver again on the same port with the same etcd,
    /// certificates and tokens, and wait until it and the CRDs are served.
    pub async fn start_apiserver(&mut self) -> Result<(), Error> {
        if self.apiserver.is_some() {
            return Err(Error::State("kube-apiserver is already running".into()));
        }
        self.start_apiserver_process().await?;
        let client = self.client(Identity::Admin);
        crds::wait_served(&client, &self.crds, self.ready_timeout).await
    }

    /// [`stop_apiserver`](Self::stop_apiserver) then
    /// [`start_apiserver`](Self::start_apiserver).
    pub async fn restart_apiserver(&mut self) -> Result<(), Error> {
        self.stop_apiserver().await;
        self.start_apiserver().await
    }
}
