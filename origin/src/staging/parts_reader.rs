//! [`PartsReader`]: an upload file's stored parts, read in order as one stream.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use packyard_chunk_store::object::Bucket;

/// Where one part is.
#[derive(Debug)]
pub enum Source {
    /// A file on the origin's disk.
    File(PathBuf),
    /// An object of the staging bucket.
    Object(Arc<Bucket>, String),
}

#[derive(Debug)]
enum Open {
    File(File),
    Object(Cursor<Bytes>),
}

/// Reads the parts one after the other, as if they were one file. Opens (or fetches) each
/// only when the previous one is exhausted, so one part is open at a time.
#[derive(Debug)]
pub struct PartsReader {
    paths: std::vec::IntoIter<Source>,
    current: Option<Open>,
}

impl PartsReader {
    /// A reader over `parts`, in the order given.
    pub fn new(parts: Vec<Source>) -> Self {
        Self {
            paths: parts.into_iter(),
            current: None,
        }
    }
}

impl Source {
    fn open(self) -> io::Result<Open> {
        match self {
            Self::File(path) => File::open(&path)
                .map(Open::File)
                .map_err(|e| io::Error::new(e.kind(), format!("opening {}: {e}", path.display()))),
            Self::Object(bucket, key) => match bucket.get(&key) {
                Ok(Some(bytes)) => Ok(Open::Object(Cursor::new(bytes))),
                Ok(None) => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("part {key} is not in the {}", bucket.name()),
                )),
                Err(e) => Err(io::Error::other(e)),
            },
        }
    }
}

impl Read for Open {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::File(f) => f.read(buf),
            Self::Object(c) => c.read(buf),
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
                Some(source) => self.current = Some(source.open()?),
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
                Source::File(p)
            })
            .collect();
        let mut out = Vec::new();
        PartsReader::new(paths).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcdefg");
    }
}
