#!/usr/bin/env python3
"""Counts the WAL frames one commit of warden's durable record writes, per schema variant.

Run from the repository's root: `python3 docs/perf/wal_frames.py`. It builds warden's SQLite
schema (migrations/sqlite/0001_foundation.sql) in a temporary directory, stores 200,000
records, then commits 3,000 more in batches of 1, 9 and 25 with the writer thread's statements
(claim the replay key, insert the audit event, move the tenant's head) and reports the log's
frames per commit and per record. docs/PERFORMANCE.md, "Seventh sitting", has the results.
"""
import hashlib
import json
import os
import sqlite3
import tempfile

SCHEMA = open("migrations/sqlite/0001_foundation.sql").read()
PAGE_FRAME = 4096 + 24  # a 4 KiB page and its frame header
WAL_HEADER = 32


def schema(variant):
    s = SCHEMA
    if "noauto" in variant:
        s = s.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER PRIMARY KEY")
    if "norowid" in variant:
        s = s.replace("    expires_at INTEGER NOT NULL\n);", "    expires_at INTEGER NOT NULL\n) WITHOUT ROWID;", 1)
    return s


def run(directory, variant, batch, stored=200_000, measured=3_000):
    path = os.path.join(directory, f"{variant}-{batch}.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(schema(variant))
    state = {"seq": 0, "prev": "0" * 64}

    def record(i):
        if "seqkey" in variant:
            key = "slack-sig:%012d" % i  # keys in insertion order: an experiment only
        else:
            key = "slack-sig:" + hashlib.sha256(str(i).encode()).hexdigest()
        db.execute(
            "INSERT INTO replay_keys (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (key, 1_700_000_000 + i),
        )
        state["seq"] += 1
        digest = hashlib.sha256((state["prev"] + str(i)).encode()).hexdigest()
        details = json.dumps({"command": "/ops help", "args": "", "user": "U0ALICE", "channel": "C0OPS"})
        db.execute(
            "INSERT INTO audit_events (tenant, seq, at, actor, kind, target, channel, request_id, "
            "details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("acme", state["seq"], "2026-12-03T00:00:00.000000Z", "slack:U0ALICE", "command.invoked",
             "/ops help", "slack:C0OPS", f"req-{i}", details, state["prev"], digest),
        )
        state["prev"] = digest

    def move_head():
        db.execute(
            "INSERT INTO audit_heads (tenant, seq, hash) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            ("acme", state["seq"], state["prev"]),
        )

    db.execute("BEGIN")
    for i in range(stored):
        record(i)
    move_head()
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    i = stored
    commits = measured // batch
    for _ in range(commits):
        db.execute("BEGIN IMMEDIATE")
        for _ in range(batch):
            record(i)
            i += 1
        move_head()
        db.execute("COMMIT")
    frames = (os.path.getsize(path + "-wal") - WAL_HEADER) / PAGE_FRAME
    db.close()
    print(f"{variant:16} batch {batch:2}: {frames / commits:6.2f} frames per commit, "
          f"{frames / (commits * batch):5.2f} per record")


with tempfile.TemporaryDirectory() as directory:
    for variant in ["warden", "noauto", "norowid", "noauto+norowid", "seqkey"]:
        for batch in [1, 9, 25]:
            run(directory, variant, batch)
