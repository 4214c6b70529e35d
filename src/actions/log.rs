//! [`JobLog`]: the capped sink an action writes its log lines into.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

/// The longest one log line may be, in bytes; longer lines are cut and end in `…`.
pub const LOG_LINE_CAP: usize = 4 * 1024;
/// How many lines one job may log before the rest is dropped.
pub const LOG_MAX_LINES: usize = 10_000;
/// How many bytes one job may log before the rest is dropped.
pub const LOG_MAX_BYTES: usize = 1024 * 1024;

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The program's standard output, or an HTTP response body.
    Stdout,
    /// The program's standard error.
    Stderr,
    /// warden's own account of what it did.
    Info,
}

impl Stream {
    /// The lowercase name stored with the line.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::Info => "info",
        }
    }
}

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Where the line came from.
    pub stream: Stream,
    /// The text, without its line break, at most [`LOG_LINE_CAP`] bytes plus `…`.
    pub text: String,
}

/// A job's log sink: cheap to clone; lines go to an unbounded channel the runner drains into
/// the database. The channel is unbounded so that a slow database never stalls a program's
/// output pipe; the caps below bound it instead. Each line is capped at [`LOG_LINE_CAP`] bytes;
/// after [`LOG_MAX_LINES`] lines or [`LOG_MAX_BYTES`] bytes for the job, one final
/// `[log truncated: …]` line is sent and the rest are dropped and counted.
#[derive(Debug, Clone)]
pub struct JobLog {
    tx: mpsc::UnboundedSender<LogLine>,
    counters: Arc<Mutex<Counters>>,
}

#[derive(Debug, Default)]
struct Counters {
    lines: usize,
    bytes: usize,
    dropped: u64,
}

impl JobLog {
    /// A new log and the receiver the runner drains.
    pub fn channel() -> (JobLog, mpsc::UnboundedReceiver<LogLine>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let log = JobLog {
            tx,
            counters: Arc::default(),
        };
        (log, rx)
    }

    /// Logs warden's own account of what it did.
    pub fn info(&self, text: impl Into<String>) {
        self.push(Stream::Info, text.into());
    }

    /// Logs a line of standard output (or of an HTTP response body).
    pub fn stdout(&self, text: impl Into<String>) {
        self.push(Stream::Stdout, text.into());
    }

    /// Logs a line of standard error.
    pub fn stderr(&self, text: impl Into<String>) {
        self.push(Stream::Stderr, text.into());
    }

    /// Logs a line from `stream`.
    pub fn line(&self, stream: Stream, text: impl Into<String>) {
        self.push(stream, text.into());
    }

    /// How many lines were dropped after the log reached its limit.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        // A panic while holding this lock leaves plain counters behind, which stay usable.
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, stream: Stream, text: String) {
        let text = cap_line(text);
        // The lock is held while sending so that the truncation notice is the last line the
        // receiver sees, however many clones log at once.
        let mut counters = self.lock();
        if counters.dropped > 0 {
            counters.dropped += 1;
            return;
        }
        if counters.lines + 1 > LOG_MAX_LINES || counters.bytes + text.len() > LOG_MAX_BYTES {
            counters.dropped = 1;
            let notice = format!(
                "[log truncated: a job log keeps at most {LOG_MAX_LINES} lines and {} KiB; later lines are dropped]",
                LOG_MAX_BYTES / 1024
            );
            // A closed receiver means the runner stopped listening; there is nobody to tell.
            let _ = self.tx.send(LogLine {
                stream: Stream::Info,
                text: notice,
            });
            return;
        }
        counters.lines += 1;
        counters.bytes += text.len();
        let _ = self.tx.send(LogLine { stream, text });
    }
}

/// Cuts a line to [`LOG_LINE_CAP`] bytes at a character boundary and marks the cut with `…`.
fn cap_line(mut text: String) -> String {
    if text.len() <= LOG_LINE_CAP {
        return text;
    }
    let mut end = LOG_LINE_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}
