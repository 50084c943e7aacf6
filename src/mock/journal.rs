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

    /// Adds `item`, and hands back the item it displaces (or `item` itself
    /// when the capacity is 0), so that the caller can drop it after letting
    /// go of any lock around the ring.
    #[must_use = "the displaced item is returned to be dropped outside the lock"]
    pub(crate) fn push(&mut self, item: T) -> Option<T> {
        self.total += 1;
        if self.capacity == 0 {
            return Some(item);
        }
        let displaced = if self.items.len() == self.capacity {
            self.items.pop_front()
        } else {
            None
        };
        self.items.push_back(item);
        displaced
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
        let displaced: Vec<_> = (0..10).filter_map(|i| ring.push(i)).collect();
        assert_eq!(displaced, [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(ring.snapshot(), [7, 8, 9]);
        assert_eq!(ring.total(), 10);
    }
}
