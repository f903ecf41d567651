//! The runtime endpoints' engine: `validate-key`, activations and heartbeats, the calls
//! every customer's app makes, decided and written in batches.
//!
//! One task (the writer) takes the requests waiting at the moment and handles them in one
//! `BEGIN IMMEDIATE` transaction: it reads what decides each answer, writes what each
//! changes (use counts, machines, heartbeats, activity, audit events, webhook deliveries:
//! many requests' rows to a statement), commits, and only then answers every request of
//! the batch (group commit). An answer is never sent before its writes are committed, and
//! a failed batch is retried request by request, so one bad request fails alone.
//!
//! - **Exact limits.** Inside the transaction the writer holds SQLite's write lock, for
//!   this process and any other on the file: `uses = uses + n … RETURNING` hands the
//!   batch's validations of a license consecutive counts, and a machine is inserted only
//!   while its license has a free slot, so `maxUses` and `maxMachines` hold however many
//!   requests race.
//! - **What is kept in memory.** A license's status, expiry, policy and entitlements (by
//!   key and by id), each tenant's webhook subscriptions and signing key. Migration 0014
//!   keeps a generation number that every write to those records moves (triggers, in the
//!   writing transaction, whatever process or tool writes). Each batch reads it first
//!   inside its transaction and forgets everything when it moved, so a suspension, a
//!   policy edit or an entitlement change committed before a request is seen by that
//!   request. Counts, machines and heartbeats are never kept: they are read in the batch.
//! - **Off the answer's path.** Webhooks are queued in the same transaction (so an event
//!   is never lost nor sent for a request that failed) and delivered by the delivery task;
//!   tokens are signed by the requests' own tasks after the commit, on every core.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicI64, Ordering},
        Arc, Mutex, OnceLock,
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use licentric_core::{
    evaluate,
    wire::{LicenseSummary, Machine, Platform, Policy},
    AccountSigningKey, Clock, FingerprintCheck, LicenseFacts, ValidationCode,
};
use serde_json::{json, Value};
use sqlx::{pool::PoolConnection, Sqlite};
use tokio::sync::{mpsc, oneshot, Notify};
use uuid::Uuid;

use super::{
    audit::{self, Actor},
    machines,
};
use crate::{
    db::{
        self,
        licenses::{KeyOwner, LicenseRecord},
        machines::MachineRecord,
        runtime::{Activity, Audit, Conn, Delivery},
    },
    events,
    secret::ServerSecret,
    signing,
    tenant::Tenant,
    ApiError,
};

/// Requests handled in one transaction at most.
const MAX_BATCH: usize = 512;
/// Requests waiting for the writer before new ones wait to be queued.
const QUEUE: usize = 4096;
/// Licenses kept in memory before the memory is emptied and refilled.
const MAX_CACHED: usize = 100_000;

/// The 401 of a license key whose license is gone.
const INVALID_LICENSE_KEY: &str =
    "Invalid license key. Check it for typos; test keys do not exist in live, and vice versa.";

/// What a license's runtime answers are decided from, as of one generation.
#[derive(Debug)]
pub struct LicenseView {
    /// The license (its `uses` and `machines_count` as loaded: read the batch's instead).
    pub record: LicenseRecord,
    /// Its policy.
    pub policy: Policy,
    /// Its entitlement codes (the policy's and its own), sorted.
    pub entitlements: Vec<String>,
}

impl LicenseView {
    fn tenant(&self) -> Tenant {
        self.record.tenant()
    }
}

/// A validation, decided and committed.
#[derive(Debug)]
pub struct Validated {
    /// The license.
    pub license: Arc<LicenseView>,
    /// The machine the fingerprint names, if it is activated.
    pub machine: Option<MachineRecord>,
    /// The outcome.
    pub code: ValidationCode,
    /// When it was decided.
    pub now: DateTime<Utc>,
    /// The generation it was decided at (for the signing key's freshness).
    pub generation: i64,
}

/// An activation (or the machine already activated), committed.
#[derive(Debug)]
pub struct Activated {
    /// The license.
    pub license: Arc<LicenseView>,
    /// The machine.
    pub machine: MachineRecord,
    /// Whether it was activated just now.
    pub created: bool,
    /// Whether the license validates as `VALID` for this machine now (a token is due).
    pub valid: bool,
    /// When it was decided.
    pub now: DateTime<Utc>,
    /// The generation it was decided at.
    pub generation: i64,
}

/// An activation asked for.
#[derive(Debug, Clone)]
pub struct Activation {
    /// The tenant of the caller.
    pub tenant: Tenant,
    /// Who asks (a license key's actor means the key is the license's own).
    pub actor: Actor,
    /// The license.
    pub license_id: String,
    /// The fingerprint, trimmed.
    pub fingerprint: String,
    /// The machine's name.
    pub name: Option<String>,
    /// Its platform.
    pub platform: Option<Platform>,
}

#[derive(Debug)]
enum Ask {
    Validate {
        key: String,
        fingerprint: Option<String>,
        entitlements: Vec<String>,
        actor: Actor,
    },
    Activate(Activation),
    Heartbeat {
        tenant: Tenant,
        actor: Actor,
        machine_id: String,
        own_license: Option<String>,
    },
}

#[derive(Debug)]
enum Answer {
    Validated(Option<Validated>),
    Activated(Activated),
    Heartbeat(Machine),
}

struct Job {
    ask: Ask,
    reply: oneshot::Sender<Result<Answer, ApiError>>,
}

/// What the writer task needs; it holds no sender of its own queue, so it ends when the
/// server's state is dropped.
struct Inner {
    db: db::Db,
    clock: Arc<dyn Clock>,
    deliveries: Arc<Notify>,
    /// The generation the writer saw last.
    generation: AtomicI64,
    /// Each tenant's active signing key, with the generation it is known good for.
    signing_keys: Mutex<HashMap<Tenant, (i64, Arc<AccountSigningKey>)>>,
    /// Whose license each recently used license key is, with the generation it was read
    /// at: what `Authorization: License …` establishes.
    owners: Mutex<HashMap<String, (i64, KeyOwner)>>,
    /// Whether a checkpoint of the write-ahead log is running, and when the last ended.
    checkpointing: AtomicBool,
    last_checkpoint: Mutex<Instant>,
    /// The write-ahead log's length in frames (pages) at the last checkpoint.
    wal_frames: AtomicI64,
    /// From which length the writer restarts the write-ahead log.
    wal_limit: WalLimit,
}

/// How often the write-ahead log is copied into the database file while batches run.
/// Each checkpoint's `fsync` flushes what was written since the last; every 100 ms
/// rather than every second, it holds the writer's own appends for less (validate-key's
/// p99 23 -> 10 ms, docs/benchmarks.md).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// How long SQLite's write-ahead log may grow under a steady stream of writes before the
/// writer restarts it ([`restart_long_wal`]); SQLite also cuts the file back to this size
/// when it restarts it. 64 MiB by default: a restart holds the writer for about two
/// `fsync`s (55 ms on the benchmark machine), a longer log for longer (100 ms at
/// 256 MiB, 300-500 ms at 1 GiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalLimit {
    /// The length in bytes.
    pub bytes: u64,
}

impl Default for WalLimit {
    fn default() -> Self {
        Self { bytes: 64 << 20 }
    }
}

impl WalLimit {
    /// The length in frames of 4 KiB pages (the server's page size), as checkpoints count.
    fn frames(self) -> i64 {
        i64::try_from(self.bytes / 4096).unwrap_or(i64::MAX)
    }

    /// The length for `PRAGMA journal_size_limit`.
    fn sqlite_bytes(self) -> i64 {
        i64::try_from(self.bytes).unwrap_or(i64::MAX)
    }
}

/// Copies the write-ahead log into the database file on a connection of its own, at most
/// every [`CHECKPOINT_EVERY`]. The writer's connection does not checkpoint itself: a
/// checkpoint (and its `fsync`) inside a batch's commit would hold every request of the
/// batch, and the batches behind it, for its duration. `PASSIVE` never blocks a writer,
/// but it never restarts the log either: [`restart_long_wal`] does.
fn checkpoint_soon(inner: &Arc<Inner>) {
    let due = inner
        .last_checkpoint
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .elapsed()
        >= CHECKPOINT_EVERY;
    // PostgreSQL checkpoints by itself.
    let Ok(pool) = inner.db.sqlite() else {
        return;
    };
    if !due || inner.checkpointing.swap(true, Ordering::AcqRel) {
        return;
    }
    let pool = pool.clone();
    let inner = inner.clone();
    tokio::spawn(async move {
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await
        {
            Ok((_, frames, _)) => inner.wal_frames.store(frames, Ordering::Release),
            Err(error) => tracing::warn!(%error, "cannot checkpoint the write-ahead log"),
        }
        *inner
            .last_checkpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Instant::now();
        inner.checkpointing.store(false, Ordering::Release);
    });
}

/// Restarts a long write-ahead log, between two batches, on the writer's own connection.
///
/// SQLite writes a log from its start again only when a write begins with every frame
/// already copied into the database and no reader in the log; under a steady stream of
/// batches the checkpoints beside them never catch up, and the log grew until the stream
/// paused: 1.4 GB in an 8 s benchmark, 1.7 GB in a minute of 2,000 validations a second
/// (a debug build): a disk filled by a busy day. Once the last checkpoint found the log
/// longer than the [`WalLimit`], the writer copies the frames written since with
/// `RESTART`, so the next batch writes the log from its start and SQLite cuts the file
/// back to the limit. It never waits: with no busy timeout, a reader or another writer in
/// the way makes it a plain checkpoint, tried again after the next checkpoint's report.
async fn restart_long_wal(inner: &Inner, connection: &mut Option<PoolConnection<Sqlite>>) {
    let Some(held) = connection.as_mut() else {
        return;
    };
    if inner.wal_frames.load(Ordering::Acquire) < inner.wal_limit.frames()
        || inner.checkpointing.swap(true, Ordering::AcqRel)
    {
        return;
    }
    inner.wal_frames.store(0, Ordering::Release);
    let restarted = async {
        // The connection's own busy timeout, given back as it was after the restart.
        let (timeout,): (i64,) = sqlx::query_as("PRAGMA busy_timeout")
            .fetch_one(&mut **held)
            .await?;
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut **held)
            .await?;
        let (busy, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(RESTART)")
            .fetch_one(&mut **held)
            .await?;
        sqlx::query(&format!("PRAGMA busy_timeout = {timeout}"))
            .execute(&mut **held)
            .await?;
        Ok::<_, sqlx::Error>((busy, frames))
    }
    .await;
    match restarted {
        Ok((0, frames)) => tracing::debug!(frames, "restarted the write-ahead log"),
        Ok((_, frames)) => {
            tracing::debug!(frames, "the write-ahead log is in use; restarting it later")
        }
        Err(error) => {
            tracing::warn!(%error, "cannot restart the write-ahead log");
            // Its busy timeout may be left at 0: neither used nor given back like that.
            if let Some(mut held) = connection.take() {
                held.close_on_drop();
            }
        }
    }
    *inner
        .last_checkpoint
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Instant::now();
    inner.checkpointing.store(false, Ordering::Release);
}

/// The runtime engine of one server process. Cheap to share.
pub struct Runtime {
    inner: Arc<Inner>,
    jobs: OnceLock<mpsc::Sender<Job>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("generation", &self.inner.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// An engine writing to `db`; its writer starts with the first request.
    pub fn new(
        db: db::Db,
        clock: Arc<dyn Clock>,
        deliveries: Arc<Notify>,
        wal_limit: WalLimit,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                deliveries,
                generation: AtomicI64::new(0),
                signing_keys: Mutex::new(HashMap::new()),
                owners: Mutex::new(HashMap::new()),
                checkpointing: AtomicBool::new(false),
                last_checkpoint: Mutex::new(Instant::now()),
                wal_frames: AtomicI64::new(0),
                wal_limit,
            }),
            jobs: OnceLock::new(),
        }
    }

    async fn submit(&self, ask: Ask) -> Result<Answer, ApiError> {
        let jobs = self.jobs.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            tokio::spawn(write_batches(self.inner.clone(), receiver));
            sender
        });
        let (reply, answer) = oneshot::channel();
        let stopped = || ApiError::Internal(anyhow::anyhow!("the runtime writer has stopped"));
        jobs.send(Job { ask, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Validates the license with this (normalised) key: counts a use, records the
    /// outcome. `None` when no license has the key.
    pub async fn validate(
        &self,
        key: String,
        fingerprint: Option<String>,
        entitlements: Vec<String>,
        actor: Actor,
    ) -> Result<Option<Validated>, ApiError> {
        let ask = Ask::Validate {
            key,
            fingerprint,
            entitlements,
            actor,
        };
        match self.submit(ask).await? {
            Answer::Validated(validated) => Ok(validated),
            _ => Err(unexpected()),
        }
    }

    /// Activates a machine, or finds it activated already.
    pub async fn activate(&self, activation: Activation) -> Result<Activated, ApiError> {
        match self.submit(Ask::Activate(activation)).await? {
            Answer::Activated(activated) => Ok(activated),
            _ => Err(unexpected()),
        }
    }

    /// Records a heartbeat of the tenant's machine (of `own_license` for a license key).
    pub async fn heartbeat(
        &self,
        tenant: Tenant,
        actor: Actor,
        machine_id: String,
        own_license: Option<String>,
    ) -> Result<Machine, ApiError> {
        let ask = Ask::Heartbeat {
            tenant,
            actor,
            machine_id,
            own_license,
        };
        match self.submit(ask).await? {
            Answer::Heartbeat(machine) => Ok(machine),
            _ => Err(unexpected()),
        }
    }

    /// Whose license this (normalised) license key is, `None` when none has it. Kept in
    /// memory while the generation stays; a license deleted since is caught by the batch
    /// that handles the request (401 there, as here).
    pub async fn owner(&self, key: &str) -> Result<Option<KeyOwner>, ApiError> {
        let generation = self.inner.generation.load(Ordering::Acquire);
        let cached = self
            .inner
            .owners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .filter(|(known, _)| *known == generation)
            .map(|(_, owner)| owner.clone());
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(owner) = db::licenses::find_owner_by_key(&self.inner.db, key).await? else {
            return Ok(None);
        };
        let mut owners = self.inner.owners.lock().unwrap_or_else(|p| p.into_inner());
        if owners.len() >= MAX_CACHED {
            owners.clear();
        }
        owners.insert(key.to_owned(), (generation, owner.clone()));
        Ok(Some(owner))
    }

    /// The tenant's active signing key, as of `generation` or later: kept in memory and
    /// read again when a write to the signing keys has moved the generation since.
    pub async fn signing_key(
        &self,
        secret: &ServerSecret,
        tenant: &Tenant,
        generation: i64,
        now: DateTime<Utc>,
    ) -> Result<Arc<AccountSigningKey>, ApiError> {
        let cached = self
            .inner
            .signing_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .filter(|(known, _)| *known >= generation)
            .map(|(_, key)| key.clone());
        if let Some(key) = cached {
            return Ok(key);
        }
        // Read after the batch of `generation` committed: at least as new as it.
        let key = Arc::new(signing::active_key(&self.inner.db, secret, tenant, now).await?);
        self.inner
            .signing_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.clone(), (generation, key.clone()));
        Ok(key)
    }
}

/// The id of a row a batch inserts (a machine, a webhook delivery): a UUID whose first
/// bits are the time (version 7), so a batch's new rows go to the end of their id index,
/// a page or two, where random ids (version 4) wrote one page of the index each, and the
/// write-ahead log a page per row (measured: `docs/benchmarks.md`, issue 13). Still 74
/// random bits after the time, which tells nothing the record does not show anyway.
fn new_id() -> String {
    Uuid::now_v7().to_string()
}

fn unexpected() -> ApiError {
    ApiError::Internal(anyhow::anyhow!(
        "the runtime writer answered another kind of request"
    ))
}

/// The writer's memory, valid for one generation.
#[derive(Default)]
struct Cache {
    generation: i64,
    by_key: HashMap<String, Arc<LicenseView>>,
    by_id: HashMap<String, Arc<LicenseView>>,
    subscribers: HashMap<(Tenant, &'static str), Arc<[String]>>,
}

impl Cache {
    fn reset(&mut self, generation: i64) {
        self.generation = generation;
        self.by_key.clear();
        self.by_id.clear();
        self.subscribers.clear();
    }

    fn keep(&mut self, view: LicenseView) -> Arc<LicenseView> {
        if self.by_key.len() >= MAX_CACHED {
            let generation = self.generation;
            self.reset(generation);
        }
        let view = Arc::new(view);
        self.by_key.insert(view.record.key.clone(), view.clone());
        self.by_id.insert(view.record.id.clone(), view.clone());
        view
    }

    async fn view_of(
        &mut self,
        conn: &mut Conn<'_>,
        record: LicenseRecord,
    ) -> db::Result<Option<Arc<LicenseView>>> {
        let tenant = record.tenant();
        let Some(policy) = db::runtime::policy(&mut *conn, &tenant, &record.policy_id).await?
        else {
            return Ok(None);
        };
        let entitlements =
            db::runtime::entitlement_codes(&mut *conn, &tenant, &record.id, &record.policy_id)
                .await?;
        Ok(Some(self.keep(LicenseView {
            record,
            policy,
            entitlements,
        })))
    }

    async fn by_key(
        &mut self,
        conn: &mut Conn<'_>,
        key: &str,
    ) -> db::Result<Option<Arc<LicenseView>>> {
        if let Some(view) = self.by_key.get(key) {
            return Ok(Some(view.clone()));
        }
        match db::runtime::license_by_key(&mut *conn, key).await? {
            Some(record) => self.view_of(conn, record).await,
            None => Ok(None),
        }
    }

    async fn by_id(
        &mut self,
        conn: &mut Conn<'_>,
        tenant: &Tenant,
        id: &str,
    ) -> db::Result<Option<Arc<LicenseView>>> {
        if let Some(view) = self.by_id.get(id) {
            return Ok(db::runtime::same_tenant(&view.record, tenant).then(|| view.clone()));
        }
        match db::runtime::license_by_id(&mut *conn, tenant, id).await? {
            Some(record) => self.view_of(conn, record).await,
            None => Ok(None),
        }
    }

    /// Whether any endpoint of the tenant subscribes to `event`.
    async fn announced(
        &mut self,
        conn: &mut Conn<'_>,
        tenant: &Tenant,
        event: &'static str,
    ) -> db::Result<bool> {
        Ok(!self.subscribers(conn, tenant, event).await?.is_empty())
    }

    async fn subscribers(
        &mut self,
        conn: &mut Conn<'_>,
        tenant: &Tenant,
        event: &'static str,
    ) -> db::Result<Arc<[String]>> {
        let key = (tenant.clone(), event);
        if let Some(ids) = self.subscribers.get(&key) {
            return Ok(ids.clone());
        }
        let ids: Arc<[String]> = db::runtime::subscribers(&mut *conn, tenant, event)
            .await?
            .into();
        self.subscribers.insert(key, ids.clone());
        Ok(ids)
    }
}

/// The rows a batch writes besides its own statements, written together at its end.
#[derive(Default)]
struct Effects {
    activity: Vec<Activity>,
    audit: Vec<Audit>,
    events: Vec<(Tenant, &'static str, Value)>,
}

impl Effects {
    fn activity(
        &mut self,
        license: &LicenseRecord,
        kind: &'static str,
        code: Option<ValidationCode>,
    ) {
        self.activity.push(Activity {
            tenant: license.tenant(),
            kind,
            code,
            product_id: license.product_id.clone(),
            license_id: license.id.clone(),
        });
    }

    fn audit(
        &mut self,
        tenant: &Tenant,
        actor: &Actor,
        action: &'static str,
        (resource_type, resource_id): (&'static str, &str),
        changes: Option<Value>,
    ) {
        self.audit.push(Audit {
            tenant: tenant.clone(),
            actor_type: actor.kind.as_str(),
            actor_id: actor.id.clone(),
            actor_name: actor.name.clone(),
            action,
            resource_type,
            resource_id: resource_id.to_owned(),
            client_address: actor.client_address.map(|a| a.to_string()),
            request_id: actor.request_id.clone(),
            changes: changes.map(|c| c.to_string()),
        });
    }
}

/// The writer: takes what is waiting, up to [`MAX_BATCH`], and handles it as one batch.
async fn write_batches(inner: Arc<Inner>, mut jobs: mpsc::Receiver<Job>) {
    let mut cache = Cache::default();
    // The writer keeps its connection from batch to batch while requests keep coming
    // (taking one from the pool each time costs a round trip to test it); it gives it
    // back when idle and after a failure.
    let mut connection = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (asks, replies): (Vec<Ask>, Vec<_>) =
            batch.drain(..).map(|job| (job.ask, job.reply)).unzip();
        handle(&inner, &mut cache, &mut connection, asks, replies).await;
        restart_long_wal(&inner, &mut connection).await;
        checkpoint_soon(&inner);
        // Idle, or a pool of one (an in-memory database): the connection goes back.
        if jobs.is_empty()
            || inner
                .db
                .sqlite()
                .map_or(true, |pool| pool.options().get_max_connections() <= 1)
        {
            if let Some(mut held) = connection.take() {
                // Back to SQLite's default for the pool's other users.
                if sqlx::query("PRAGMA wal_autocheckpoint = 1000")
                    .execute(&mut *held)
                    .await
                    .is_err()
                {
                    held.close_on_drop();
                }
            }
        }
    }
}

type Reply = oneshot::Sender<Result<Answer, ApiError>>;

/// Handles a batch; when its transaction fails, each request again on its own, so only
/// the one that cannot be written fails. Answers after the commit, never before.
async fn handle(
    inner: &Inner,
    cache: &mut Cache,
    connection: &mut Option<PoolConnection<Sqlite>>,
    asks: Vec<Ask>,
    replies: Vec<Reply>,
) {
    let now = inner.clock.now();
    match attempt(inner, cache, connection, &asks, now).await {
        Ok((answers, queued)) => {
            if queued {
                inner.deliveries.notify_one();
            }
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        Err(error) => {
            // What was read in the rolled-back transaction is forgotten with it.
            cache.reset(0);
            // A database that cannot be reached fails every request alike: each is
            // answered 503 now. Tried one by one, each would wait the pool's timeout
            // again (the last of eight 40 s after the outage began), or be held until the
            // database is back, and the outage would never be told to anyone.
            let unreachable = matches!(
                ApiError::for_each_of(&error),
                ApiError::DatabaseUnavailable { .. }
            );
            if unreachable {
                tracing::warn!(%error, requests = asks.len(), "the database cannot be reached; answering the runtime batch 503");
            } else if asks.len() > 1 {
                tracing::warn!(%error, requests = asks.len(), "a runtime batch failed; retrying its requests one by one");
            }
            for (ask, reply) in asks.iter().zip(replies) {
                let answer = if asks.len() == 1 || unreachable {
                    Err(ApiError::for_each_of(&error))
                } else {
                    match attempt(inner, cache, connection, std::slice::from_ref(ask), now).await {
                        Ok((mut answers, queued)) => {
                            if queued {
                                inner.deliveries.notify_one();
                            }
                            answers.pop().unwrap_or_else(|| Err(unexpected()))
                        }
                        Err(error) => {
                            cache.reset(0);
                            Err(ApiError::for_each_of(&error))
                        }
                    }
                };
                let _ = reply.send(answer);
            }
        }
    }
}

type Answers = Vec<Result<Answer, ApiError>>;

/// One transaction for `asks`: the answers, and whether webhook deliveries were queued.
async fn attempt(
    inner: &Inner,
    cache: &mut Cache,
    connection: &mut Option<PoolConnection<Sqlite>>,
    asks: &[Ask],
    now: DateTime<Utc>,
) -> db::Result<(Answers, bool)> {
    let mut guard = CloseUnlessDone {
        connection,
        done: false,
    };
    let result = attempt_on(inner, cache, guard.connection, asks, now).await;
    guard.done = result.is_ok();
    result
}

/// Closes the writer's connection unless its batch ended well: after a failure, a panic
/// or a cancellation it may be mid-transaction (on SQLite a transaction sqlx does not know
/// of, begun and committed as plain SQL, so nothing else would roll it back; closing the
/// connection does), and it does not checkpoint by itself. Never given back to the pool
/// like that.
struct CloseUnlessDone<'a> {
    connection: &'a mut Option<PoolConnection<Sqlite>>,
    done: bool,
}

impl Drop for CloseUnlessDone<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Some(mut held) = self.connection.take() {
                held.close_on_drop();
            }
        }
    }
}

async fn attempt_on(
    inner: &Inner,
    cache: &mut Cache,
    connection: &mut Option<PoolConnection<Sqlite>>,
    asks: &[Ask],
    now: DateTime<Utc>,
) -> db::Result<(Answers, bool)> {
    if let db::Db::Postgres(pool) = &inner.db {
        return match attempt_pg(inner, cache, pool, asks, now).await {
            // Lost before its commit (the backend ended by an administrator, a failover,
            // a proxy cutting the connection), the batch wrote nothing: it runs again,
            // once, on another connection, rather than answering every request of it
            // 503. Lost at the commit, nobody can tell whether it was written: that
            // error is answered (running it again could count a validation twice).
            Err(PgFailure::BeforeCommit(error)) if error.is_lost_connection() => {
                tracing::warn!(%error, requests = asks.len(), "the runtime batch's PostgreSQL connection was lost before its commit; running the batch again on another");
                cache.reset(0);
                attempt_pg(inner, cache, pool, asks, now)
                    .await
                    .map_err(PgFailure::into_error)
            }
            other => other.map_err(PgFailure::into_error),
        };
    }
    let held = match connection {
        Some(held) => held,
        None => {
            let mut fresh = inner.db.sqlite()?.acquire().await?;
            // Checkpoints run beside the batches (checkpoint_soon), not in their commits;
            // the log goes back to the limit when the writer restarts it
            // (restart_long_wal).
            let limit = format!(
                "PRAGMA journal_size_limit = {}",
                inner.wal_limit.sqlite_bytes()
            );
            let mut set = sqlx::query("PRAGMA wal_autocheckpoint = 0")
                .execute(&mut *fresh)
                .await
                .map(drop);
            if set.is_ok() {
                set = sqlx::query(&limit).execute(&mut *fresh).await.map(drop);
            }
            if let Err(error) = set {
                // Half set up: never given back to the pool like that.
                fresh.close_on_drop();
                return Err(error.into());
            }
            connection.insert(fresh)
        }
    };
    // SQLite: the transaction's start and the generation's read are one round trip to
    // sqlx's SQLite thread, and its rows and COMMIT another (db::runtime::begin_sqlite,
    // commit_sqlite). sqlx does not know of this transaction: when anything fails, the
    // caller (attempt) closes the connection, which rolls it back.
    let generation = db::runtime::begin_sqlite(held).await?;
    let (answers, writes) =
        batch(inner, cache, &mut Conn::Sqlite(held), asks, now, generation).await?;
    db::runtime::commit_sqlite(
        held,
        &writes.activity,
        &writes.audit,
        &writes.deliveries,
        now,
    )
    .await?;
    Ok((answers, !writes.deliveries.is_empty()))
}

/// How a batch on PostgreSQL failed.
enum PgFailure {
    /// On its connection, before the commit was sent: nothing was written.
    BeforeCommit(db::Error),
    /// No connection to be had, or at the commit (written or not, nobody can tell).
    Other(db::Error),
}

impl PgFailure {
    fn into_error(self) -> db::Error {
        match self {
            Self::BeforeCommit(error) | Self::Other(error) => error,
        }
    }
}

/// One batch on PostgreSQL: a transaction from the pool; its tenant settings move with
/// the batch's requests (db::runtime::Conn), and the license rows it counts are locked
/// until the commit.
async fn attempt_pg(
    inner: &Inner,
    cache: &mut Cache,
    pool: &sqlx::PgPool,
    asks: &[Ask],
    now: DateTime<Utc>,
) -> Result<(Answers, bool), PgFailure> {
    let mut tx = pool
        .begin()
        .await
        .map_err(|error| PgFailure::Other(error.into()))?;
    let (answers, writes) = async {
        let mut conn = Conn::Postgres {
            conn: &mut tx,
            tenant: None,
        };
        let generation = db::runtime::generation(&mut conn).await?;
        let (answers, writes) = batch(inner, cache, &mut conn, asks, now, generation).await?;
        db::runtime::insert_activity(&mut conn, &writes.activity, now).await?;
        db::runtime::insert_audit(&mut conn, &writes.audit, now).await?;
        db::runtime::queue_deliveries(&mut conn, &writes.deliveries, now).await?;
        Ok((answers, writes))
    }
    .await
    .map_err(PgFailure::BeforeCommit)?;
    tx.commit()
        .await
        .map_err(|error| PgFailure::Other(error.into()))?;
    Ok((answers, !writes.deliveries.is_empty()))
}

/// The rows a batch writes at its end, with its commit.
struct Writes {
    activity: Vec<Activity>,
    audit: Vec<Audit>,
    deliveries: Vec<Delivery>,
}

/// The work of one batch inside its transaction, at `generation` (read in it): the answers,
/// and the rows the caller writes before it commits.
async fn batch(
    inner: &Inner,
    cache: &mut Cache,
    conn: &mut Conn<'_>,
    asks: &[Ask],
    now: DateTime<Utc>,
    generation: i64,
) -> db::Result<(Answers, Writes)> {
    if generation != cache.generation {
        cache.reset(generation);
        inner.generation.store(generation, Ordering::Release);
    }
    let mut effects = Effects::default();
    let mut answers: Vec<Option<Result<Answer, ApiError>>> = asks.iter().map(|_| None).collect();

    // Validations first, a license's together (requests of one batch are concurrent: any
    // order of them is an order they could have arrived in).
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    for (i, ask) in asks.iter().enumerate() {
        if let Ask::Validate { key, .. } = ask {
            let g = *group_of.entry(key.as_str()).or_insert_with(|| {
                groups.push((key.as_str(), Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(i);
        }
    }
    for (key, members) in &groups {
        validate_group(
            conn,
            cache,
            asks,
            key,
            members,
            now,
            generation,
            &mut effects,
            &mut answers,
        )
        .await?;
    }
    // Then activations, a license's together where its policy culls nothing and it can
    // be used (one read of its count and of the fingerprints asked, one insert of the new
    // machines); the rest one by one.
    let mut activations: Vec<(Arc<LicenseView>, Vec<usize>)> = Vec::new();
    let mut one_by_one = Vec::new();
    let mut heartbeats = Vec::new();
    for (i, ask) in asks.iter().enumerate() {
        match ask {
            Ask::Validate { .. } => {}
            Ask::Activate(asked) => {
                match cache
                    .by_id(&mut *conn, &asked.tenant, &asked.license_id)
                    .await?
                {
                    Some(view) if batched_activation(&view, now) => {
                        match activations
                            .iter_mut()
                            .find(|(known, _)| known.record.id == view.record.id)
                        {
                            Some((_, members)) => members.push(i),
                            None => activations.push((view, vec![i])),
                        }
                    }
                    _ => one_by_one.push(i),
                }
            }
            Ask::Heartbeat { .. } => heartbeats.push(i),
        }
    }
    for (view, members) in &activations {
        let left = activate_group(
            conn,
            cache,
            asks,
            view,
            members,
            now,
            generation,
            &mut effects,
            &mut answers,
        )
        .await?;
        one_by_one.extend(left);
    }
    // Heartbeats together (their machines read with one statement, written with one);
    // those of a culling policy one by one below, after the cull.
    let left = heartbeat_group(
        conn,
        cache,
        asks,
        &heartbeats,
        now,
        &mut effects,
        &mut answers,
    )
    .await?;
    one_by_one.extend(left);
    for i in one_by_one {
        let answer = match &asks[i] {
            Ask::Validate { .. } => continue,
            Ask::Activate(activation) => {
                activate(conn, cache, activation, now, generation, &mut effects).await?
            }
            Ask::Heartbeat {
                tenant,
                actor,
                machine_id,
                own_license,
            } => {
                heartbeat(
                    conn,
                    cache,
                    tenant,
                    actor,
                    machine_id,
                    own_license.as_deref(),
                    now,
                    &mut effects,
                )
                .await?
            }
        };
        answers[i] = Some(answer);
    }

    let mut deliveries = Vec::new();
    for (tenant, event, data) in effects.events {
        let subscribers = cache.subscribers(&mut *conn, &tenant, event).await?;
        if subscribers.is_empty() {
            continue;
        }
        let (event_id, payload) = events::envelope(&tenant, event, now, data);
        let payload: Arc<str> = payload.into();
        for webhook_id in subscribers.iter() {
            deliveries.push(Delivery {
                id: new_id(),
                tenant: tenant.clone(),
                account_id: tenant.account_id.clone(),
                webhook_id: webhook_id.clone(),
                event_id: event_id.clone(),
                event,
                payload: payload.clone(),
            });
        }
    }
    let answers = answers
        .into_iter()
        .map(|answer| answer.unwrap_or_else(|| Err(unexpected())))
        .collect();
    Ok((
        answers,
        Writes {
            activity: effects.activity,
            audit: effects.audit,
            deliveries,
        },
    ))
}

/// The validations of one key: one statement counts them all, each judged by its own
/// count (the first gets the lowest), so exactly `maxUses` of them are within the limit.
#[allow(clippy::too_many_arguments)]
async fn validate_group(
    conn: &mut Conn<'_>,
    cache: &mut Cache,
    asks: &[Ask],
    key: &str,
    members: &[usize],
    now: DateTime<Utc>,
    generation: i64,
    effects: &mut Effects,
    answers: &mut [Option<Result<Answer, ApiError>>],
) -> db::Result<()> {
    let not_found = |answers: &mut [Option<Result<Answer, ApiError>>]| {
        for &i in members {
            answers[i] = Some(Ok(Answer::Validated(None)));
        }
    };
    let Some(view) = cache.by_key(&mut *conn, key).await? else {
        not_found(answers);
        return Ok(());
    };
    let first_request = members.first().and_then(|&i| match &asks[i] {
        Ask::Validate { actor, .. } => actor.request_id.clone(),
        _ => None,
    });
    cull(&mut *conn, &view, now, first_request, effects).await?;
    let n = u32::try_from(members.len()).unwrap_or(u32::MAX);
    // The count and the machines the fingerprints name, in one round trip.
    let mut wanted: Vec<&str> = members
        .iter()
        .filter_map(|&i| match &asks[i] {
            Ask::Validate {
                fingerprint: Some(fingerprint),
                ..
            } => Some(fingerprint.trim()),
            _ => None,
        })
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let (counts, found) = db::runtime::counts_and_machines(
        &mut *conn,
        &view.tenant(),
        &view.record.id,
        Some(n),
        &wanted,
    )
    .await?;
    let Some((uses_after, machines_now)) = counts else {
        not_found(answers);
        return Ok(());
    };
    let machines_seen: HashMap<&str, MachineRecord> = found
        .iter()
        .map(|m| (m.fingerprint.as_str(), m.clone()))
        .collect();
    let tenant = view.tenant();
    // The event is built only when an endpoint will receive it.
    let announce = cache
        .announced(&mut *conn, &tenant, "license.validated")
        .await?;
    let rule = machines::rule(&view.policy);
    let record = &view.record;
    for (j, &i) in members.iter().enumerate() {
        let Ask::Validate {
            fingerprint,
            entitlements,
            actor,
            ..
        } = &asks[i]
        else {
            continue;
        };
        let uses = uses_after.saturating_sub(n) + 1 + u32::try_from(j).unwrap_or(u32::MAX);
        let machine = fingerprint
            .as_deref()
            .and_then(|wanted| machines_seen.get(wanted.trim()).cloned());
        let facts = LicenseFacts {
            status: record.status,
            expires_at: record.expires_at,
            uses: u64::from(uses),
            max_uses: record.max_uses.map(u64::from),
            missing_entitlements: entitlements
                .iter()
                .filter(|wanted| !view.entitlements.contains(wanted))
                .cloned()
                .collect(),
            fingerprint: match (fingerprint, &machine) {
                (None, _) => FingerprintCheck::NotRequested,
                (Some(_), None) => FingerprintCheck::NotActivated,
                (Some(_), Some(m)) => FingerprintCheck::Activated {
                    heartbeat_overdue: m.is_dead(rule, now),
                },
            },
            machines: u64::from(machines_now),
            max_machines: record.max_machines().map(u64::from),
        };
        let code = evaluate(&facts, now);
        effects.activity(record, "validation", Some(code));
        effects.audit(
            &tenant,
            actor,
            "license.validated",
            ("license", &record.id),
            Some(json!({ "code": code, "fingerprint": fingerprint })),
        );
        if announce {
            let summary = summary(record);
            effects.events.push((
                tenant.clone(),
                "license.validated",
                json!({ "license": summary, "code": code, "fingerprint": fingerprint }),
            ));
        }
        answers[i] = Some(Ok(Answer::Validated(Some(Validated {
            license: view.clone(),
            machine,
            code,
            now,
            generation,
        }))));
    }
    Ok(())
}

/// A license as a validation's answer and its event show it.
pub fn summary(record: &LicenseRecord) -> LicenseSummary {
    LicenseSummary {
        id: record.id.clone(),
        status: record.status,
        product_id: record.product_id.clone(),
        policy_id: record.policy_id.clone(),
        expires_at: record.expires_at,
    }
}

/// Removes the license's machines that missed their heartbeat, when its policy says so
/// (the audit trail's actor is `system`, with the request's id).
async fn cull(
    conn: &mut Conn<'_>,
    view: &LicenseView,
    now: DateTime<Utc>,
    request_id: Option<String>,
    effects: &mut Effects,
) -> db::Result<u32> {
    let policy = &view.policy;
    if !(policy.cull_dead_machines && policy.require_heartbeat) {
        return Ok(0);
    }
    let rule = machines::rule(policy);
    let tenant = view.tenant();
    let system = Actor {
        request_id,
        ..Actor::system()
    };
    let mut culled = 0;
    for machine in db::runtime::machines_of(&mut *conn, &tenant, &view.record.id).await? {
        if machine.is_dead(rule, now)
            && db::runtime::delete_machine(&mut *conn, &tenant, &machine.id).await?
        {
            culled += 1;
            effects.activity(&view.record, "deactivation", None);
            let wire = machine.into_wire(rule, now);
            effects.audit(
                &tenant,
                &system,
                "machine.culled",
                ("machine", &wire.id),
                audit::snapshot(&wire),
            );
            effects
                .events
                .push((tenant.clone(), "machine.culled", json!({ "machine": wire })));
        }
    }
    Ok(culled)
}

/// Whether the license would validate as `VALID` for `machine` now (without counting).
async fn validates(
    conn: &mut Conn<'_>,
    view: &LicenseView,
    machine: &MachineRecord,
    now: DateTime<Utc>,
) -> db::Result<bool> {
    let Some((uses, machines_now)) =
        db::runtime::usage(conn, &view.tenant(), &view.record.id).await?
    else {
        return Ok(false);
    };
    Ok(valid_with(view, uses, machines_now, machine, now))
}

/// Whether the license, at `uses` and `machines_now`, validates as `VALID` for `machine`.
fn valid_with(
    view: &LicenseView,
    uses: u32,
    machines_now: u32,
    machine: &MachineRecord,
    now: DateTime<Utc>,
) -> bool {
    let record = &view.record;
    let facts = LicenseFacts {
        status: record.status,
        expires_at: record.expires_at,
        uses: u64::from(uses),
        max_uses: record.max_uses.map(u64::from),
        missing_entitlements: vec![],
        fingerprint: FingerprintCheck::Activated {
            heartbeat_overdue: machine.is_dead(machines::rule(&view.policy), now),
        },
        machines: u64::from(machines_now),
        max_machines: record.max_machines().map(u64::from),
    };
    evaluate(&facts, now).is_valid()
}

/// The 409 of a full license.
fn machine_limit_exceeded(used: u32, max: Option<u32>) -> ApiError {
    ApiError::Conflict {
        code: "machine_limit_exceeded",
        message: format!(
            "This license is already activated on {used} of {} machine(s). Deactivate one of them to free a slot, or ask the vendor for more seats.",
            max.unwrap_or_default()
        ),
        details: Some(json!({ "maxMachines": max, "machinesUsed": used })),
    }
}

/// Whether a license's activations of a batch are handled together
/// ([`activate_group`]): its policy culls nothing and it can be used. Otherwise each goes
/// through [`activate`], which culls and refuses.
fn batched_activation(view: &LicenseView, now: DateTime<Utc>) -> bool {
    !(view.policy.cull_dead_machines && view.policy.require_heartbeat)
        && machines::refuse_unusable(&view.record, now).is_ok()
}

/// The activations of one license in a batch, decided together: its machine count and the
/// machines of the fingerprints asked are read once, each activation is decided in memory
/// in turn (a fingerprint on the license answers its machine; a new one takes a free slot
/// or is refused), and the new machines are inserted with one statement. This transaction
/// holds the write lock, so nothing changes the count or the machines between the read and
/// the insert: the slots handed out are exactly the free ones, as one by one. Answers the
/// requests left to [`activate`] (a machine of a culling policy that missed its heartbeat).
#[allow(clippy::too_many_arguments)]
async fn activate_group(
    conn: &mut Conn<'_>,
    cache: &mut Cache,
    asks: &[Ask],
    view: &Arc<LicenseView>,
    members: &[usize],
    now: DateTime<Utc>,
    generation: i64,
    effects: &mut Effects,
    answers: &mut [Option<Result<Answer, ApiError>>],
) -> db::Result<Vec<usize>> {
    let record = &view.record;
    let asked = |i: usize| match &asks[i] {
        Ask::Activate(asked) => Some(asked),
        _ => None,
    };
    let fingerprints: Vec<&str> = members
        .iter()
        .filter_map(|&i| asked(i))
        .map(|a| a.fingerprint.as_str())
        .collect();
    // The counts and the machines of the fingerprints asked, in one round trip.
    let (counts, found) = db::runtime::counts_and_machines(
        &mut *conn,
        &view.tenant(),
        &record.id,
        None,
        &fingerprints,
    )
    .await?;
    let Some((uses, mut count)) = counts else {
        return Ok(members.to_vec());
    };
    let mut machines: HashMap<String, MachineRecord> = found
        .into_iter()
        .map(|m| (m.fingerprint.clone(), m))
        .collect();
    let tenant = view.tenant();
    let announce = cache
        .announced(&mut *conn, &tenant, "machine.activated")
        .await?;
    let rule = machines::rule(&view.policy);
    let max = record.max_machines();
    let mut new = Vec::new();
    let mut left = Vec::new();
    for &i in members {
        let Some(asked) = asked(i) else { continue };
        let (machine, created) = match machines.get(&asked.fingerprint) {
            Some(known) if known.is_dead(rule, now) && view.policy.cull_dead_machines => {
                left.push(i);
                continue;
            }
            Some(known) => (known.clone(), false),
            None if max.is_some_and(|max| count >= max) => {
                answers[i] = Some(Err(machine_limit_exceeded(count, max)));
                continue;
            }
            None => {
                let machine = MachineRecord {
                    id: new_id(),
                    license_id: record.id.clone(),
                    fingerprint: asked.fingerprint.clone(),
                    name: asked.name.clone(),
                    platform: asked.platform.map(|p| p.as_str().to_owned()),
                    last_heartbeat_at: None,
                    created_at: now,
                    updated_at: now,
                };
                count += 1;
                machines.insert(machine.fingerprint.clone(), machine.clone());
                new.push(machine.clone());
                effects.activity(record, "activation", None);
                let wire = machine.clone().into_wire(rule, now);
                effects.audit(
                    &tenant,
                    &asked.actor,
                    "machine.activated",
                    ("machine", &wire.id),
                    audit::snapshot(&wire),
                );
                if announce {
                    effects.events.push((
                        tenant.clone(),
                        "machine.activated",
                        json!({ "machine": wire }),
                    ));
                }
                (machine, true)
            }
        };
        let valid = valid_with(view, uses, count, &machine, now);
        answers[i] = Some(Ok(Answer::Activated(Activated {
            license: view.clone(),
            machine,
            created,
            valid,
            now,
            generation,
        })));
    }
    let inserted = db::runtime::insert_machines(&mut *conn, &tenant, &new, max).await?;
    if inserted != new.len() as u64 {
        // Cannot happen under the write lock; the batch is rolled back and its requests
        // tried one by one rather than answered from a wrong count.
        return Err(db::Error::Corrupt(format!(
            "{inserted} of the {} machines decided for license {} were inserted",
            new.len(),
            record.id
        )));
    }
    Ok(left)
}

/// One activation: the machine already on the license (200), a new one within the limit
/// (201), or why not. Two activations of one fingerprint get the one machine.
async fn activate(
    conn: &mut Conn<'_>,
    cache: &mut Cache,
    asked: &Activation,
    now: DateTime<Utc>,
    generation: i64,
    effects: &mut Effects,
) -> db::Result<Result<Answer, ApiError>> {
    let own = asked.actor.kind == audit::ActorKind::License;
    let Some(view) = cache
        .by_id(&mut *conn, &asked.tenant, &asked.license_id)
        .await?
    else {
        return Ok(Err(if own {
            ApiError::Unauthorized(INVALID_LICENSE_KEY.into())
        } else {
            ApiError::not_found("license")
        }));
    };
    let rule = machines::rule(&view.policy);
    let answer = |machine: MachineRecord, created: bool, valid: bool| {
        Ok(Ok(Answer::Activated(Activated {
            license: view.clone(),
            machine,
            created,
            valid,
            now,
            generation,
        })))
    };
    let record = &view.record;
    let new_machine = || MachineRecord {
        id: new_id(),
        license_id: record.id.clone(),
        fingerprint: asked.fingerprint.clone(),
        name: asked.name.clone(),
        platform: asked.platform.map(|p| p.as_str().to_owned()),
        last_heartbeat_at: None,
        created_at: now,
        updated_at: now,
    };
    let max = record.max_machines();
    // The common case first, in one statement: a usable license of a policy that culls
    // nothing, and a fingerprint new to it. When the insert does nothing, the fingerprint
    // is on the license already or the license is full; the path below tells which.
    let culls = view.policy.cull_dead_machines && view.policy.require_heartbeat;
    if !culls && machines::refuse_unusable(record, now).is_ok() {
        let machine = new_machine();
        if db::runtime::insert_machines(
            &mut *conn,
            &asked.tenant,
            std::slice::from_ref(&machine),
            max,
        )
        .await?
            == 1
        {
            return activated(conn, cache, asked, &view, machine, now, generation, effects).await;
        }
    }
    let existing = db::runtime::machine_by_fingerprint(
        &mut *conn,
        &asked.tenant,
        &record.id,
        &asked.fingerprint,
    )
    .await?;
    if let Some(existing) = existing {
        if !existing.is_dead(rule, now) || !view.policy.cull_dead_machines {
            let valid = validates(&mut *conn, &view, &existing, now).await?;
            return answer(existing, false, valid);
        }
    }
    if let Err(refused) = machines::refuse_unusable(record, now) {
        return Ok(Err(refused));
    }
    cull(
        &mut *conn,
        &view,
        now,
        asked.actor.request_id.clone(),
        effects,
    )
    .await?;
    let machine = new_machine();
    if db::runtime::insert_machines(
        &mut *conn,
        &asked.tenant,
        std::slice::from_ref(&machine),
        max,
    )
    .await?
        == 0
    {
        // This transaction holds the write lock, so the fingerprint found absent above is
        // still absent: the license is full.
        let used = db::runtime::usage(&mut *conn, &asked.tenant, &record.id)
            .await?
            .map_or(0, |(_, machines)| machines);
        return Ok(Err(machine_limit_exceeded(used, max)));
    }
    activated(conn, cache, asked, &view, machine, now, generation, effects).await
}

/// Records a machine just activated (activity, audit event, webhook event) and answers it.
#[allow(clippy::too_many_arguments)]
async fn activated(
    conn: &mut Conn<'_>,
    cache: &mut Cache,
    asked: &Activation,
    view: &Arc<LicenseView>,
    machine: MachineRecord,
    now: DateTime<Utc>,
    generation: i64,
    effects: &mut Effects,
) -> db::Result<Result<Answer, ApiError>> {
    let rule = machines::rule(&view.policy);
    effects.activity(&view.record, "activation", None);
    let wire = machine.clone().into_wire(rule, now);
    effects.audit(
        &asked.tenant,
        &asked.actor,
        "machine.activated",
        ("machine", &wire.id),
        audit::snapshot(&wire),
    );
    if cache
        .announced(&mut *conn, &asked.tenant, "machine.activated")
        .await?
    {
        effects.events.push((
            asked.tenant.clone(),
            "machine.activated",
            json!({ "machine": wire }),
        ));
    }
    let valid = validates(&mut *conn, view, &machine, now).await?;
    Ok(Ok(Answer::Activated(Activated {
        license: view.clone(),
        machine,
        created: true,
        valid,
        now,
        generation,
    })))
}

/// The heartbeats of a batch, together: their machines are read with one statement and
/// updated with one (per tenant on PostgreSQL), where before each heartbeat was two
/// statements, each a round trip to the database's thread. Each is judged as
/// [`heartbeat`] judges one: a license key that names no license is a 401, a machine that
/// is not the tenant's (or not the key's license's) a 404, an unusable license's
/// heartbeat refused with its state (409), and only the rest are written. A machine of a
/// culling policy is left to [`heartbeat`] (answered: the requests left), which culls
/// first. Under SQLite's write lock nothing changes between the read and the update; on
/// PostgreSQL a machine deleted by another process in between is a 404, as it would have
/// been a moment later.
async fn heartbeat_group(
    conn: &mut Conn<'_>,
    cache: &mut Cache,
    asks: &[Ask],
    members: &[usize],
    now: DateTime<Utc>,
    effects: &mut Effects,
    answers: &mut [Option<Result<Answer, ApiError>>],
) -> db::Result<Vec<usize>> {
    let mut pending: Vec<(usize, &Tenant, &str, Option<&str>)> = Vec::new();
    for &i in members {
        let Ask::Heartbeat {
            tenant,
            machine_id,
            own_license,
            ..
        } = &asks[i]
        else {
            continue;
        };
        if let Some(own) = own_license {
            if cache.by_id(&mut *conn, tenant, own).await?.is_none() {
                answers[i] = Some(Err(ApiError::Unauthorized(INVALID_LICENSE_KEY.into())));
                continue;
            }
        }
        pending.push((i, tenant, machine_id, own_license.as_deref()));
    }
    let asked: Vec<(&Tenant, &str)> = pending.iter().map(|&(_, t, id, _)| (t, id)).collect();
    let found = db::runtime::machines_by_ids(&mut *conn, &asked).await?;
    let mut left = Vec::new();
    let mut beating: Vec<(usize, &Tenant, &str, Arc<LicenseView>)> = Vec::new();
    for ((i, tenant, machine_id, own), machine) in pending.into_iter().zip(found) {
        let Some(machine) = machine else {
            answers[i] = Some(Err(ApiError::not_found("machine")));
            continue;
        };
        if own.is_some_and(|own| own != machine.license_id) {
            answers[i] = Some(Err(ApiError::not_found("machine")));
            continue;
        }
        let Some(view) = cache.by_id(&mut *conn, tenant, &machine.license_id).await? else {
            answers[i] = Some(Err(ApiError::not_found("license")));
            continue;
        };
        if let Err(refused) = machines::refuse_unusable(&view.record, now) {
            answers[i] = Some(Err(refused));
            continue;
        }
        if view.policy.cull_dead_machines && view.policy.require_heartbeat {
            left.push(i);
            continue;
        }
        beating.push((i, tenant, machine_id, view));
    }
    let asked: Vec<(&Tenant, &str)> = beating.iter().map(|&(_, t, id, _)| (t, id)).collect();
    let updated = db::runtime::heartbeats(&mut *conn, &asked, now).await?;
    for ((i, tenant, _, view), machine) in beating.into_iter().zip(updated) {
        let Some(machine) = machine else {
            answers[i] = Some(Err(ApiError::not_found("machine")));
            continue;
        };
        let wire = machine.into_wire(machines::rule(&view.policy), now);
        if cache
            .announced(&mut *conn, tenant, "machine.heartbeat")
            .await?
        {
            effects.events.push((
                tenant.clone(),
                "machine.heartbeat",
                json!({ "machine": wire }),
            ));
        }
        answers[i] = Some(Ok(Answer::Heartbeat(wire)));
    }
    Ok(left)
}

/// One heartbeat: refused (409) for a license that cannot be used; a machine of a culling
/// policy that missed its heartbeat is gone (404).
#[allow(clippy::too_many_arguments)]
async fn heartbeat(
    conn: &mut Conn<'_>,
    cache: &mut Cache,
    tenant: &Tenant,
    actor: &Actor,
    machine_id: &str,
    own_license: Option<&str>,
    now: DateTime<Utc>,
    effects: &mut Effects,
) -> db::Result<Result<Answer, ApiError>> {
    if let Some(own) = own_license {
        if cache.by_id(&mut *conn, tenant, own).await?.is_none() {
            return Ok(Err(ApiError::Unauthorized(INVALID_LICENSE_KEY.into())));
        }
    }
    let Some(machine) = db::runtime::machine(&mut *conn, tenant, machine_id).await? else {
        return Ok(Err(ApiError::not_found("machine")));
    };
    if own_license.is_some_and(|own| own != machine.license_id) {
        return Ok(Err(ApiError::not_found("machine")));
    }
    let Some(view) = cache.by_id(&mut *conn, tenant, &machine.license_id).await? else {
        return Ok(Err(ApiError::not_found("license")));
    };
    if let Err(refused) = machines::refuse_unusable(&view.record, now) {
        return Ok(Err(refused));
    }
    cull(&mut *conn, &view, now, actor.request_id.clone(), effects).await?;
    let Some(machine) = db::runtime::heartbeat(&mut *conn, tenant, machine_id, now).await? else {
        return Ok(Err(ApiError::NotFound(
            "This machine was deactivated because it missed its heartbeats. Activate it again."
                .into(),
        )));
    };
    let wire = machine.into_wire(machines::rule(&view.policy), now);
    if cache
        .announced(&mut *conn, tenant, "machine.heartbeat")
        .await?
    {
        effects.events.push((
            tenant.clone(),
            "machine.heartbeat",
            json!({ "machine": wire }),
        ));
    }
    Ok(Ok(Answer::Heartbeat(wire)))
}
