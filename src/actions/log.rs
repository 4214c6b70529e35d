//! [`JobLog`]: the capped sink an action writes its log lines into.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::scrub::Scrubber;

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
/// `[log truncated: …]` line is sent and the rest are dropped and counted. Every line is
/// scrubbed of the job's secret values (see [`Scrubber`]) and of NUL characters (which no
/// database text column may hold) before it is capped and sent.
#[derive(Debug, Clone)]
pub struct JobLog {
    tx: mpsc::UnboundedSender<LogLine>,
    counters: Arc<Mutex<Counters>>,
    scrubber: Arc<Scrubber>,
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
        Self::scrubbing(Scrubber::none())
    }

    /// A new log whose lines are scrubbed of the secrets `scrubber` knows, and its receiver.
    pub fn scrubbing(scrubber: Scrubber) -> (JobLog, mpsc::UnboundedReceiver<LogLine>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let log = JobLog {
            tx,
            counters: Arc::default(),
            scrubber: Arc::new(scrubber),
        };
        (log, rx)
    }

    /// The secrets this log scrubs, for scrubbing other text of the same job (its error).
    pub fn scrubber(&self) -> &Scrubber {
        &self.scrubber
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
        let text = scrub_and_cap(&self.scrubber, text);
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

/// Replaces NUL characters (U+FFFD), scrubs a line of secrets, then cuts it to [`LOG_LINE_CAP`] bytes at a character boundary
/// and marks the cut with `…`. A line that arrived longer than the cap may already have been
/// cut by its reader, so the end of what is kept is also checked for the start of a secret.
fn scrub_and_cap(scrubber: &Scrubber, text: String) -> String {
    let arrived_long = text.len() > LOG_LINE_CAP;
    // A program may print anything, but no database text column may hold a NUL.
    let text = if text.contains('\0') {
        crate::chat::invocation::without_nul(&text)
    } else {
        text
    };
    let mut text = if scrubber.is_empty() {
        text
    } else {
        scrubber.scrub(&text)
    };
    if text.len() <= LOG_LINE_CAP {
        return if arrived_long {
            scrubber.scrub_cut_end(&text)
        } else {
            text
        };
    }
    let mut end = LOG_LINE_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    let mut text = scrubber.scrub_cut_end(&text);
    text.push('…');
    text
}
