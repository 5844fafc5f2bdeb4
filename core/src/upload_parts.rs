//! [`PartLayout`]: how an upload file is cut into parts. One rule for both sides: the admin
//! API's `uploadOperations` list these parts, and the origin takes and checks exactly these.

use std::collections::BTreeMap;

/// The parts of one upload file: numbered from 1, every one `part_bytes` long but the last,
/// which holds the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartLayout {
    /// The file's declared size.
    pub file_size: u64,
    /// Bytes of every part but the last; at least 1.
    pub part_bytes: u64,
}

impl PartLayout {
    /// The layout of a file of `file_size` bytes cut into parts of `part_bytes` (0 is read
    /// as 1, as the admin API reads it).
    pub fn new(file_size: u64, part_bytes: u64) -> Self {
        Self {
            file_size,
            part_bytes: part_bytes.max(1),
        }
    }

    /// How many parts the file has.
    pub fn count(&self) -> u64 {
        self.file_size.div_ceil(self.part_bytes)
    }

    /// The length part `number` must have; `None` if the file has no such part.
    pub fn expected_len(&self, number: u64) -> Option<u64> {
        if number == 0 || number > self.count() {
            return None;
        }
        let offset = (number - 1) * self.part_bytes;
        Some(self.part_bytes.min(self.file_size - offset))
    }

    /// Every part in order: its number, where it starts in the file and its length.
    pub fn parts(&self) -> impl Iterator<Item = Part> + '_ {
        (1..=self.count()).map(|number| {
            let offset = (number - 1) * self.part_bytes;
            Part {
                number,
                offset,
                len: self.part_bytes.min(self.file_size - offset),
            }
        })
    }

    /// The part numbers `present` (part number → stored length) lacks, in order. A stored
    /// part of the wrong length counts as missing.
    pub fn missing(&self, present: &BTreeMap<u64, u64>) -> Vec<u64> {
        (1..=self.count())
            .filter(|n| present.get(n).copied() != self.expected_len(*n))
            .collect()
    }
}

/// One part of an upload file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// Its number, from 1.
    pub number: u64,
    /// Where it starts in the file.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_file_and_only_the_last_is_shorter() {
        let l = PartLayout::new(10, 4);
        assert_eq!(l.count(), 3);
        let lens: Vec<_> = (0..=4).map(|n| l.expected_len(n)).collect();
        assert_eq!(lens, [None, Some(4), Some(4), Some(2), None]);
        assert_eq!(PartLayout::new(8, 4).expected_len(2), Some(4));
        assert_eq!(PartLayout::new(0, 4).count(), 0);
        let spans: Vec<(u64, u64, u64)> = l.parts().map(|p| (p.number, p.offset, p.len)).collect();
        assert_eq!(spans, [(1, 0, 4), (2, 4, 4), (3, 8, 2)]);
        assert!(PartLayout::new(0, 4).parts().next().is_none());
        assert_eq!(PartLayout::new(5, 0).count(), 5, "0 is read as 1");
    }

    #[test]
    fn missing_lists_absent_and_wrong_length_parts() {
        let l = PartLayout::new(10, 4);
        let present = BTreeMap::from([(1, 4), (3, 1)]);
        assert_eq!(l.missing(&present), [2, 3]);
        let present = BTreeMap::from([(1, 4), (2, 4), (3, 2)]);
        assert!(l.missing(&present).is_empty());
    }
}
