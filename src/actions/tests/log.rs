//! The caps of a job log.

use crate::actions::{JobLog, Stream, LOG_LINE_CAP, LOG_MAX_BYTES};

#[test]
fn long_lines_are_cut_at_a_character_boundary() {
    let (log, mut rx) = JobLog::channel();
    // 'é' is two bytes, so the cap falls in the middle of one and the cut moves back.
    log.stdout(format!("a{}", "é".repeat(LOG_LINE_CAP)));
    log.stderr("short");
    let long = rx.try_recv().unwrap();
    assert_eq!(long.stream, Stream::Stdout);
    assert!(long.text.ends_with('…'));
    assert_eq!(long.text.len(), LOG_LINE_CAP - 1 + '…'.len_utf8());
    let short = rx.try_recv().unwrap();
    assert_eq!(
        (short.stream, short.text.as_str()),
        (Stream::Stderr, "short")
    );
}

#[test]
fn the_byte_limit_is_shared_by_clones_and_announced_once() {
    let (log, mut rx) = JobLog::channel();
    let other = log.clone();
    let line = "x".repeat(LOG_LINE_CAP);
    let fitting = LOG_MAX_BYTES / LOG_LINE_CAP;
    for i in 0..fitting + 10 {
        if i % 2 == 0 {
            log.stdout(line.clone());
        } else {
            other.info(line.clone());
        }
    }
    let mut lines = Vec::new();
    while let Ok(l) = rx.try_recv() {
        lines.push(l);
    }
    assert_eq!(lines.len(), fitting + 1);
    assert!(lines[fitting].text.starts_with("[log truncated: "));
    assert_eq!(log.dropped(), 10);
    assert_eq!(other.dropped(), 10);
}

#[test]
fn a_closed_receiver_is_harmless() {
    let (log, rx) = JobLog::channel();
    drop(rx);
    log.info("nobody listens");
    assert_eq!(log.dropped(), 0);
}

/// Lines are scrubbed of the job's secrets before they are capped, and a cap that falls in the
/// middle of a secret does not leave its first half behind.
#[test]
fn lines_are_scrubbed_before_they_are_cut() {
    use crate::actions::Scrubber;
    let secret = "tok_s3cr3t42";
    let (log, mut rx) = JobLog::scrubbing(Scrubber::new([secret.to_string()]));
    log.stdout(format!("token={secret} and again {secret}"));
    let line = rx.try_recv().unwrap();
    assert_eq!(line.text, "token=[redacted] and again [redacted]");
    // A line whose secret is whole is scrubbed, and the cut then falls in the placeholder.
    let pad = "x".repeat(LOG_LINE_CAP - 6);
    log.stdout(format!("{pad}{secret}"));
    let cut = rx.try_recv().unwrap();
    assert!(
        !cut.text.contains("tok_s3"),
        "{}",
        &cut.text[cut.text.len() - 20..]
    );
    // A reader already cut this line in the middle of the secret, and the cap falls after
    // its first four characters: those are redacted too.
    let pad = "x".repeat(LOG_LINE_CAP - 4);
    log.stdout(format!("{pad}{}", &secret[..8]));
    let cut = rx.try_recv().unwrap();
    let end = &cut.text[cut.text.len() - 20..];
    assert!(!cut.text.contains("tok_"), "{end}");
    assert!(cut.text.ends_with("x[redacted]…"), "{end}");
}

/// No database text column may hold a NUL, so a program printing one logs U+FFFD instead.
#[test]
fn nul_characters_are_replaced() {
    let (log, mut rx) = JobLog::channel();
    log.stdout("before\0after\0");
    assert_eq!(rx.try_recv().unwrap().text, "before\u{fffd}after\u{fffd}");
}
