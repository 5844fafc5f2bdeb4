//! What the manifest parser reports: [`FieldError`]s that refuse a manifest and
//! [`ManifestWarning`]s that do not.

use std::fmt;

/// One problem with one field of a manifest, named by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Where the problem is, as a JSON path (`fileSelectors[2].file`); empty for the whole
    /// document (not JSON, too large, not an object).
    pub path: String,
    /// What is wrong, in words a user can act on.
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "manifest: {}", self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

/// Every problem found in a manifest, in document order. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestErrors(pub(crate) Vec<FieldError>);

impl ManifestErrors {
    /// The problems, in the order the parser met them.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// Whether one of the problems is at exactly `path`.
    pub fn has(&self, path: &str) -> bool {
        self.0.iter().any(|e| e.path == path)
    }
}

impl fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} problem{} in the manifest:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// Something in a manifest that Packyard accepts but ignores, such as a field it does not
/// know. Manifests written for the platform's packaging tool must work unchanged, so these
/// never refuse a manifest; tools show them to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestWarning {
    /// Where, as a JSON path.
    pub path: String,
    /// What was ignored and why.
    pub message: String,
}

impl fmt::Display for ManifestWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
