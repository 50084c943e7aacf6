//! A bounded record of requests and webhook deliveries: a ring buffer, so a
//! mock under load keeps its memory flat.

use std::collections::VecDeque;

use serde::Serialize;

/// A fixed-size ring buffer: pushing past the capacity drops the oldest.
#[derive(Debug)]
pub(crate) struct Ring<T> {
    items: VecDeque<T>,
    capacity: usize,
    total: u64,
}

impl<T: Clone> Ring<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            items: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        self.total += 1;
        if self.capacity == 0 {
            return;
        }
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    pub(crate) fn snapshot(&self) -> Vec<T> {
        self.items.iter().cloned().collect()
    }

    /// How many were ever pushed.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Forgets every item, and the count of those ever pushed.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.total = 0;
    }

    /// The newest item that matches.
    pub(crate) fn find_mut(&mut self, matches: impl Fn(&T) -> bool) -> Option<&mut T> {
        self.items.iter_mut().rev().find(|item| matches(item))
    }
}

/// One received request, as the admin API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JournalEntry {
    /// Milliseconds since the unix epoch.
    pub at_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The operation it matched, if any.
    pub operation: Option<&'static str>,
    /// The status answered (0 for a dropped connection).
    pub status: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_and_counts_all() {
        let mut ring = Ring::new(3);
        for i in 0..10 {
            ring.push(i);
        }
        assert_eq!(ring.snapshot(), [7, 8, 9]);
        assert_eq!(ring.total(), 10);
    }
}
