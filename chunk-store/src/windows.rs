//! [`in_windows`]: the same blocking call over many items, a few at once. A bucket answers
//! each request after a network round trip, so lookups and reads of many chunks go faster
//! with several in flight; a disk store asks for a window of 1 and stays on the caller's
//! thread. Used by the bucket store itself and by origins over any store.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `f` over `items` on `window` scoped threads, each taking the next item as soon as it
/// is done with one (inline for a window of 1), and returns the results in order. A slow
/// answer holds up only its own thread, not a whole batch.
pub fn in_windows<T: Sync, R: Send>(
    items: &[T],
    window: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if window <= 1 || items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..window.min(items.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return mine;
                        };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| match w.join() {
                Ok(mine) => mine,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_order_of_the_items_whatever_the_window() {
        let items: Vec<u64> = (0..100).collect();
        for window in [1, 3, 16, 200] {
            let out = in_windows(&items, window, |n| {
                // Later items answer sooner, so threads finish out of order.
                std::thread::sleep(std::time::Duration::from_micros(100 - n));
                n * 2
            });
            assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        }
    }
}
