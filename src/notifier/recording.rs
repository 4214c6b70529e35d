//! An in-memory notifier for the demo console and for tests: it delivers nothing and
//! remembers everything.

use std::sync::Mutex;

use futures_util::future::BoxFuture;

use super::Notifier;
use crate::chat::{Message, MessageRef};
use crate::model::ChannelRef;

/// Records every post and update in memory and returns ids `m1`, `m2`, … for posts.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    inner: Mutex<Recorded>,
}

#[derive(Debug, Default)]
struct Recorded {
    posts: Vec<(ChannelRef, Message)>,
    updates: Vec<(MessageRef, Message)>,
    replies: Vec<Message>,
}

impl RecordingNotifier {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every post so far, in order.
    pub fn posts(&self) -> Vec<(ChannelRef, Message)> {
        self.lock().posts.clone()
    }

    /// Every update so far, in order.
    pub fn updates(&self) -> Vec<(MessageRef, Message)> {
        self.lock().updates.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        // A test that panicked while holding the lock leaves consistent data behind (each
        // change is one push), so a poisoned lock is still readable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Notifier for RecordingNotifier {
    fn post<'a>(
        &'a self,
        channel: &'a ChannelRef,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<MessageRef>> {
        Box::pin(async move {
            let mut recorded = self.lock();
            recorded.posts.push((channel.clone(), message.clone()));
            Ok(MessageRef {
                channel: channel.clone(),
                id: format!("m{}", recorded.posts.len()),
            })
        })
    }

    fn update<'a>(
        &'a self,
        at: &'a MessageRef,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.lock().updates.push((at.clone(), message.clone()));
            Ok(())
        })
    }

    fn reply<'a>(
        &'a self,
        _handle: &'a crate::chat::ReplyHandle,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.lock().replies.push(message.clone());
            Ok(())
        })
    }
}
