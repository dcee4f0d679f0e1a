-- wsc-bot's state: one schema for SQLite and PostgreSQL (portable SQL only). Times are
-- milliseconds since the Unix epoch; Discord and WSC ids are 64-bit integers.

-- At most one cancel or stop per job at a time, across replicas; a claim expires.
CREATE TABLE claims (
    instance BIGINT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Interactions already received (replays, and both gateway replicas receiving one event).
CREATE TABLE seen_interactions (
    id BIGINT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);
CREATE INDEX seen_interactions_seen_at ON seen_interactions (seen_at);

-- The watcher: its baseline is taken once in the life of the database, per channel.
CREATE TABLE watch_baselines (
    channel BIGINT PRIMARY KEY,
    taken_at BIGINT NOT NULL
);

-- Per job: the stage last announced and the job's message, so a restart edits it.
CREATE TABLE watch_jobs (
    channel BIGINT NOT NULL,
    instance BIGINT NOT NULL,
    stage TEXT NOT NULL,
    message_id BIGINT,
    PRIMARY KEY (channel, instance)
);

-- The audit trail, append-only; ids are made by the writer (no engine-specific sequence).
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    correlation TEXT NOT NULL,
    interaction BIGINT NOT NULL,
    actor_id BIGINT NOT NULL,
    actor_name TEXT NOT NULL,
    matched_role BIGINT,
    action TEXT NOT NULL,
    instance BIGINT NOT NULL,
    target_url TEXT,
    outcome TEXT NOT NULL,
    wsc_code TEXT,
    request_id TEXT,
    latency_ms BIGINT NOT NULL,
    reason TEXT
);
CREATE INDEX audit_events_at ON audit_events (at_ms);
CREATE INDEX audit_events_instance ON audit_events (instance, at_ms);
CREATE INDEX audit_events_correlation ON audit_events (correlation);

-- One holder at a time per name (the watcher's polling), with an expiry.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- The slash commands registered, per version of their definitions and guilds: registered once,
-- however many replicas start.
CREATE TABLE registrations (
    version TEXT PRIMARY KEY,
    registered_at BIGINT NOT NULL
);
