//! [`in_windows`]: the same blocking call over many items, a few at once. A bucket answers
//! each request after a network round trip, so lookups and reads of many chunks go faster
//! with several in flight; a disk store asks for a window of 1 and stays on the caller's
//! thread.

/// Runs `f` over `items`, `window` at a time on scoped threads (inline for a window of 1),
/// and returns the results in order.
pub(crate) fn in_windows<T: Sync, R: Send>(
    items: &[T],
    window: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if window <= 1 {
        return items.iter().map(&f).collect();
    }
    let mut out = Vec::with_capacity(items.len());
    for batch in items.chunks(window) {
        std::thread::scope(|scope| {
            let handles: Vec<_> = batch.iter().map(|item| scope.spawn(|| f(item))).collect();
            for handle in handles {
                match handle.join() {
                    Ok(r) => out.push(r),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
    }
    out
}
