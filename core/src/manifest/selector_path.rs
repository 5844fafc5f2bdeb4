//! [`SelectorPath`]: a path inside the source root, as a file selector names it.

use std::fmt;

/// A relative path inside the source root, with `/` separators, checked and normalized:
/// no absolute path, no `..`, no backslash, no NUL; `.` and empty components are dropped,
/// so `./Textures/` and `Textures` are the same selector. The root itself has no
/// components and is written `.`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SelectorPath(String);

/// Why a string is not a [`SelectorPath`]. The messages complete a sentence that starts with
/// the field's JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorPathError {
    /// The string is empty.
    #[error("is empty; name a path relative to the source root")]
    Empty,
    /// The string holds a NUL character.
    #[error("contains a NUL character at byte {0}; file names cannot hold NUL")]
    Nul(usize),
    /// The string holds a backslash.
    #[error(
        "contains '\\' at byte {0}; separate directories with '/' (a backslash is not a \
         separator here)"
    )]
    Backslash(usize),
    /// The string is an absolute path (`/…` or a drive letter such as `C:`).
    #[error("{0:?} is an absolute path; paths are relative to the source root")]
    Absolute(String),
    /// The string has a `..` component.
    #[error("{0:?} has a '..' component; paths must stay inside the source root")]
    ParentDir(String),
}

impl SelectorPath {
    /// Checks and normalizes `s`.
    pub fn parse(s: &str) -> Result<Self, SelectorPathError> {
        if s.is_empty() {
            return Err(SelectorPathError::Empty);
        }
        if let Some(at) = s.find('\0') {
            return Err(SelectorPathError::Nul(at));
        }
        if let Some(at) = s.find('\\') {
            return Err(SelectorPathError::Backslash(at));
        }
        let drive = |c: &str| {
            let b = c.as_bytes();
            b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
        };
        if s.starts_with('/') || drive(s) {
            return Err(SelectorPathError::Absolute(s.to_owned()));
        }
        let parts: Vec<&str> = s
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        // `./C:/x` normalizes to `C:/x`: a drive letter after the dots is absolute too, or
        // the canonical form would not parse (and on Windows would leave the root).
        if parts.first().is_some_and(|c| drive(c)) {
            return Err(SelectorPathError::Absolute(s.to_owned()));
        }
        if parts.contains(&"..") {
            return Err(SelectorPathError::ParentDir(s.to_owned()));
        }
        Ok(Self(parts.join("/")))
    }

    /// Whether this names the source root itself (`.`).
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The normalized components, `/`-separated; empty for the root.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components, in order; none for the root.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }
}

impl fmt::Display for SelectorPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_root() { "." } else { &self.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_dots_and_empty_components() {
        let p = SelectorPath::parse("./Textures//HD/").unwrap();
        assert_eq!(p.as_str(), "Textures/HD");
        assert_eq!(p.components().collect::<Vec<_>>(), ["Textures", "HD"]);
        assert!(SelectorPath::parse(".").unwrap().is_root());
        assert_eq!(SelectorPath::parse("./").unwrap().to_string(), ".");
        assert_eq!(SelectorPath::parse("a..b/.c").unwrap().as_str(), "a..b/.c");
    }

    #[test]
    fn refuses_each_escape_from_the_root() {
        use SelectorPathError::*;
        assert_eq!(SelectorPath::parse(""), Err(Empty));
        assert_eq!(SelectorPath::parse("a\0b"), Err(Nul(1)));
        assert_eq!(SelectorPath::parse("a\\b"), Err(Backslash(1)));
        assert!(matches!(
            SelectorPath::parse("/etc/passwd"),
            Err(Absolute(_))
        ));
        assert!(matches!(SelectorPath::parse("C:/x"), Err(Absolute(_))));
        // Found by fuzzing: the drive letter after a `.` component is still absolute.
        assert!(matches!(SelectorPath::parse("./C:/x"), Err(Absolute(_))));
        assert!(matches!(SelectorPath::parse(".//./d:x"), Err(Absolute(_))));
        assert!(matches!(SelectorPath::parse("../x"), Err(ParentDir(_))));
        assert!(matches!(
            SelectorPath::parse("a/../../x"),
            Err(ParentDir(_))
        ));
        assert!(matches!(SelectorPath::parse("a/.."), Err(ParentDir(_))));
    }
}
