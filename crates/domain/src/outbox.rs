//! What a sandbox provider (SMS, email, push) "sent": kept in memory, oldest first, so the
//! demo and the tests can read it.

use std::sync::Mutex;

pub struct Outbox<T>(Mutex<Vec<T>>);

impl<T> Default for Outbox<T> {
    fn default() -> Self {
        Self(Mutex::new(Vec::new()))
    }
}

impl<T: Clone> Outbox<T> {
    pub fn record(&self, item: &T) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(item.clone());
    }

    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<T> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
