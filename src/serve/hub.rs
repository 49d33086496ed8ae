//! serve::hub: the one reader of the engines' events in a server. It keeps a mirror of each
//! fabric (what a `Snapshot` holds, updated by every event) and hands every event to each
//! subscriber through that subscriber's own bounded queue, never waiting on one: a subscriber
//! whose queue is full stops receiving, and once it has drained its queue it gets a fresh
//! snapshot of its fabrics instead of the backlog it missed. So a slow terminal never slows
//! an engine or another client, and memory stays bounded however far a client falls behind.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::engine::{EngineEvent, JobKind, JobPhase, ResourceRow};
use crate::health::SwitchHealth;
use crate::kinds::ObjectKey;
use crate::status::FabricStatus;
use crate::store::LogEntry;

/// Events a subscriber may fall behind by before it is resynchronised: several watch-storm
/// bursts (each one `Rows` event), far more than a terminal that keeps up ever holds.
pub const SUBSCRIBER_QUEUE: usize = 1024;
/// Log lines a late subscriber's snapshot carries per fabric (as many as the engine's own
/// start-up snapshot reads from the store).
const MIRRORED_LOG: usize = 500;
/// How often a lagging subscriber is checked for having drained its queue when no event comes.
const LAG_CHECK: Duration = Duration::from_millis(50);

/// What a subscriber receives.
#[derive(Debug)]
pub enum Delivery {
    Event(Arc<EngineEvent>),
    /// Events were dropped because the subscriber fell behind; a `Snapshot` of each of its
    /// fabrics follows.
    Resync,
}

/// A fabric as the hub last saw it: enough to make a `Snapshot` for a late subscriber.
#[derive(Default)]
struct Mirror {
    loaded: bool,
    status: FabricStatus,
    rows: BTreeMap<ObjectKey, ResourceRow>,
    log: VecDeque<LogEntry>,
    switches: Vec<SwitchHealth>,
    /// Jobs running now, with their last phase (a late dashboard shows their progress).
    jobs: Vec<(JobKind, JobPhase)>,
}

impl Mirror {
    fn fold(&mut self, event: &EngineEvent) {
        match event {
            EngineEvent::Snapshot {
                status,
                rows,
                events,
                switches,
                ..
            } => {
                self.loaded = true;
                self.status = status.clone();
                self.rows = rows.iter().map(|r| (r.key.clone(), r.clone())).collect();
                self.log = events.iter().cloned().collect();
                self.trim_log();
                self.switches = switches.clone();
            }
            EngineEvent::Status { status, .. } => self.status = status.clone(),
            EngineEvent::Rows {
                upserts, removed, ..
            } => {
                for key in removed {
                    self.rows.remove(key);
                }
                for row in upserts {
                    self.rows.insert(row.key.clone(), row.clone());
                }
            }
            EngineEvent::Log { entry, .. } => {
                self.log.push_back(entry.clone());
                self.trim_log();
            }
            EngineEvent::Job { job, phase, .. } => {
                self.jobs.retain(|(kind, _)| kind != job);
                if matches!(phase, JobPhase::Started { .. } | JobPhase::Progress { .. }) {
                    self.jobs.push((*job, phase.clone()));
                }
            }
            EngineEvent::Health { switches, .. } => self.switches = switches.clone(),
            // Answers to one asker's request: nothing a late subscriber needs.
            EngineEvent::Synced { .. }
            | EngineEvent::Explained { .. }
            | EngineEvent::History { .. } => {}
        }
    }

    fn trim_log(&mut self) {
        while self.log.len() > MIRRORED_LOG {
            self.log.pop_front();
        }
    }

    /// The events that bring a new subscriber to where the others are.
    fn snapshot(&self, fabric: &str) -> Vec<EngineEvent> {
        if !self.loaded {
            // The engine's own snapshot is still to come, and goes to everyone.
            return Vec::new();
        }
        let mut events = vec![EngineEvent::Snapshot {
            fabric: fabric.to_string(),
            status: self.status.clone(),
            rows: self.rows.values().cloned().collect(),
            events: self.log.iter().cloned().collect(),
            switches: self.switches.clone(),
        }];
        events.extend(self.jobs.iter().map(|(job, phase)| EngineEvent::Job {
            fabric: fabric.to_string(),
            job: *job,
            phase: phase.clone(),
        }));
        events
    }
}

struct Subscriber {
    queue: mpsc::Sender<Delivery>,
    /// None: every fabric.
    fabrics: Option<Vec<String>>,
    lagged: bool,
}

impl Subscriber {
    fn wants(&self, fabric: &str) -> bool {
        self.fabrics
            .as_ref()
            .is_none_or(|names| names.iter().any(|name| name == fabric))
    }
}

enum Control {
    Subscribe {
        fabrics: Option<Vec<String>>,
        capacity: usize,
        reply: oneshot::Sender<mpsc::Receiver<Delivery>>,
    },
}

/// The way into a running hub.
#[derive(Clone)]
pub struct HubHandle {
    control: mpsc::UnboundedSender<Control>,
}

impl HubHandle {
    /// A new subscriber to these fabrics (every fabric when `None`): it first receives a
    /// snapshot of each fabric already loaded, then every event as it comes. `None` when the
    /// hub has stopped.
    pub async fn subscribe(
        &self,
        fabrics: Option<Vec<String>>,
        capacity: usize,
    ) -> Option<mpsc::Receiver<Delivery>> {
        let (reply, answer) = oneshot::channel();
        self.control
            .send(Control::Subscribe {
                fabrics,
                capacity,
                reply,
            })
            .ok()?;
        answer.await.ok()
    }
}

/// Starts the hub on the current runtime: it reads `events` until every engine (every sender)
/// is gone.
pub fn spawn(events: mpsc::Receiver<EngineEvent>) -> HubHandle {
    let (control, control_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(events, control_rx));
    HubHandle { control }
}

async fn run(
    mut events: mpsc::Receiver<EngineEvent>,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let mut mirrors: HashMap<String, Mirror> = HashMap::new();
    let mut subscribers: Vec<Subscriber> = Vec::new();
    let mut lag_check = tokio::time::interval(LAG_CHECK);
    lag_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                let fabric = event.fabric().to_string();
                mirrors.entry(fabric.clone()).or_default().fold(&event);
                let event = Arc::new(event);
                for subscriber in subscribers.iter_mut().filter(|s| !s.lagged && s.wants(&fabric)) {
                    if let Err(mpsc::error::TrySendError::Full(_)) =
                        subscriber.queue.try_send(Delivery::Event(event.clone()))
                    {
                        subscriber.lagged = true;
                    }
                }
            }
            Some(request) = control.recv() => match request {
                Control::Subscribe { fabrics, capacity, reply } => {
                    let (queue, receiver) = mpsc::channel(capacity.max(2));
                    let mut subscriber = Subscriber { queue, fabrics, lagged: false };
                    catch_up(&mut subscriber, &mirrors, false);
                    if reply.send(receiver).is_ok() {
                        subscribers.push(subscriber);
                    }
                }
            },
            _ = lag_check.tick() => {}
        }
        subscribers.retain(|s| !s.queue.is_closed());
        for subscriber in subscribers.iter_mut().filter(|s| s.lagged) {
            // Drained: everything it was sent has been taken, so the snapshot fits.
            if subscriber.queue.capacity() == subscriber.queue.max_capacity() {
                catch_up(subscriber, &mirrors, true);
            }
        }
    }
}

/// Sends a subscriber the snapshot of each of its fabrics (after a `Resync` marker when it
/// fell behind). A snapshot that does not fit leaves it lagged, to be tried again.
fn catch_up(subscriber: &mut Subscriber, mirrors: &HashMap<String, Mirror>, resync: bool) {
    let mut names: Vec<&String> = mirrors
        .keys()
        .filter(|name| subscriber.wants(name))
        .collect();
    names.sort();
    let events: Vec<EngineEvent> = names
        .into_iter()
        .flat_map(|name| mirrors[name].snapshot(name))
        .collect();
    if subscriber.queue.capacity() < events.len() + usize::from(resync) {
        subscriber.lagged = true;
        return;
    }
    if resync {
        let _ = subscriber.queue.try_send(Delivery::Resync);
    }
    for event in events {
        let _ = subscriber.queue.try_send(Delivery::Event(Arc::new(event)));
    }
    subscriber.lagged = false;
}

/// An in-process subscriber's deliveries as the plain event stream the dashboard folds: a
/// `Resync` needs nothing of it, since the snapshots that follow replace each fabric whole.
pub fn events_of(mut deliveries: mpsc::Receiver<Delivery>) -> mpsc::Receiver<EngineEvent> {
    let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
    tokio::spawn(async move {
        while let Some(delivery) = deliveries.recv().await {
            if let Delivery::Event(event) = delivery {
                let event = Arc::try_unwrap(event).unwrap_or_else(|shared| (*shared).clone());
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        }
    });
    rx
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
