-- The review server's store: accounts, dictations and their immutable
-- revisions, flags, signatures, the transcription queue and the audit chain.
-- Times are RFC 3339 UTC text unless named *_unix.

CREATE TABLE offices (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'office', 'transcriptionist', 'qa', 'physician')),
    office_id     INTEGER REFERENCES offices (id),
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash     TEXT PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    csrf           TEXT NOT NULL,
    created_unix   INTEGER NOT NULL,
    last_seen_unix INTEGER NOT NULL
);

CREATE TABLE dictations (
    id               INTEGER PRIMARY KEY,
    office_id        INTEGER NOT NULL REFERENCES offices (id),
    uploaded_by      INTEGER NOT NULL REFERENCES users (id),
    physician_id     INTEGER NOT NULL REFERENCES users (id),
    patient_name     TEXT NOT NULL,
    mrn              TEXT NOT NULL,
    dob              TEXT NOT NULL,
    work_type        TEXT NOT NULL,
    priority         TEXT NOT NULL CHECK (priority IN ('stat', 'routine')),
    state            TEXT NOT NULL,
    audio_file       TEXT NOT NULL,
    audio_sha256     TEXT NOT NULL,
    audio_bytes      INTEGER NOT NULL,
    content_type     TEXT NOT NULL,
    duration_s       REAL NOT NULL,
    current_revision INTEGER REFERENCES revisions (id),
    reject_reason    TEXT,
    created_at       TEXT NOT NULL,
    due_at           TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX dictations_worklist ON dictations (office_id, state);

-- Every save is a new row; rows never change or go away.
CREATE TABLE revisions (
    id            INTEGER PRIMARY KEY,
    dictation_id  INTEGER NOT NULL REFERENCES dictations (id),
    parent_id     INTEGER REFERENCES revisions (id),
    author_id     INTEGER REFERENCES users (id), -- NULL: the recogniser
    kind          TEXT NOT NULL CHECK (kind IN ('draft', 'edit', 'correction', 'addendum')),
    document      TEXT NOT NULL,                 -- canonical transcript JSON
    sha256        TEXT NOT NULL,                 -- of `document`
    created_at    TEXT NOT NULL
);
CREATE INDEX revisions_dictation ON revisions (dictation_id);
CREATE TRIGGER revisions_no_update BEFORE UPDATE ON revisions
BEGIN SELECT RAISE(ABORT, 'revisions are immutable'); END;
CREATE TRIGGER revisions_no_delete BEFORE DELETE ON revisions
BEGIN SELECT RAISE(ABORT, 'revisions are kept'); END;

CREATE TABLE signatures (
    id           INTEGER PRIMARY KEY,
    dictation_id INTEGER NOT NULL REFERENCES dictations (id),
    revision_id  INTEGER NOT NULL UNIQUE REFERENCES revisions (id),
    signer_id    INTEGER NOT NULL REFERENCES users (id),
    signed_at    TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    version      INTEGER NOT NULL
);
CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures
BEGIN SELECT RAISE(ABORT, 'signatures are immutable'); END;
CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
BEGIN SELECT RAISE(ABORT, 'signatures are kept'); END;

CREATE TABLE flags (
    id           INTEGER PRIMARY KEY,
    dictation_id INTEGER NOT NULL REFERENCES dictations (id),
    kind         TEXT NOT NULL CHECK (kind IN ('blank', 'inaudible', 'question')),
    time_s       REAL NOT NULL,
    note         TEXT NOT NULL,
    created_by   INTEGER NOT NULL REFERENCES users (id),
    created_at   TEXT NOT NULL,
    resolved_by  INTEGER REFERENCES users (id),
    resolved_at  TEXT,
    resolution   TEXT
);
CREATE INDEX flags_dictation ON flags (dictation_id);

-- The transcription queue. A job left `running` by a crash is queued again at
-- start-up; completion is recorded once, in the same transaction as the draft.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    dictation_id INTEGER NOT NULL REFERENCES dictations (id),
    rank         INTEGER NOT NULL, -- 0 STAT, 1 routine
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT
);
CREATE INDEX jobs_queue ON jobs (state, rank, id);

-- Append-only; each entry's hash covers the previous entry's hash.
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    user_id      INTEGER,
    username     TEXT NOT NULL,
    action       TEXT NOT NULL,
    dictation_id INTEGER,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
