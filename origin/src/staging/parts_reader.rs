//! [`PartsReader`]: an upload file's stored parts, read in order as one stream.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

/// Reads the files of `paths` one after the other, as if they were one file. Opens each only
/// when the previous one is exhausted, so one descriptor is open at a time.
#[derive(Debug)]
pub struct PartsReader {
    paths: std::vec::IntoIter<PathBuf>,
    current: Option<File>,
}

impl PartsReader {
    /// A reader over `paths`, in the order given.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        Self {
            paths: paths.into_iter(),
            current: None,
        }
    }
}

impl Read for PartsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(file) = &mut self.current {
                let n = file.read(buf)?;
                if n > 0 {
                    return Ok(n);
                }
                self.current = None;
            }
            match self.paths.next() {
                Some(path) => {
                    let file = File::open(&path).map_err(|e| {
                        io::Error::new(e.kind(), format!("opening {}: {e}", path.display()))
                    })?;
                    self.current = Some(file);
                }
                None => return Ok(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_read_as_one_stream_in_the_order_given() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<_> = [&b"abc"[..], b"", b"defg"]
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let p = dir.path().join(i.to_string());
                std::fs::write(&p, bytes).unwrap();
                p
            })
            .collect();
        let mut out = Vec::new();
        PartsReader::new(paths).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcdefg");
    }
}
