-- Requests awaiting confirmation whose state does not fit a custom_id (a scan's URL and
-- options, the jobs a stop-all lists), under a short random id, with an expiry. Taken once.
CREATE TABLE pending_requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_requests_expires_at ON pending_requests (expires_at);
