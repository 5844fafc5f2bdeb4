//! [`Progress`]: how a build reports the bytes it has packed.

/// Receives a build's progress. Every method has an empty default, so an implementation
/// picks what it shows; [`NoProgress`] shows nothing.
pub trait Progress {
    /// Called once, after the files are selected and before any is read, with the total
    /// size of their contents.
    fn start(&mut self, _total_bytes: u64) {}

    /// Called as file contents are packed, with the bytes packed since the last call.
    fn advance(&mut self, _bytes: u64) {}

    /// Called once when the archive is complete and in place.
    fn finish(&mut self) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

impl<P: Progress + ?Sized> Progress for &mut P {
    fn start(&mut self, total_bytes: u64) {
        (**self).start(total_bytes);
    }

    fn advance(&mut self, bytes: u64) {
        (**self).advance(bytes);
    }

    fn finish(&mut self) {
        (**self).finish();
    }
}
