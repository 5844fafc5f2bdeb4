//! Sizes and percentages as people type them: `2GiB`, `256KiB`, `5%`.

use std::fmt;
use std::str::FromStr;

/// A number of bytes, parsed from `123`, `64KiB`, `2GiB` (binary) or `500MB` (decimal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

/// Why a size or percentage was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a {1}; {2}")]
pub struct UnitError(String, &'static str, &'static str);

const SIZE_HINT: &str = "write bytes with an optional unit: 4096, 256KiB, 2GiB, 500MB";

impl FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError(s.to_owned(), "size", SIZE_HINT);
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: u64 = digits.parse().map_err(|_| err())?;
        let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kib" | "k" => 1 << 10,
            "mib" | "m" => 1 << 20,
            "gib" | "g" => 1 << 30,
            "tib" | "t" => 1 << 40,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            _ => return Err(err()),
        };
        n.checked_mul(scale).map(ByteSize).ok_or_else(err)
    }
}

impl fmt::Display for ByteSize {
    /// The largest binary unit that divides the size exactly, else bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")];
        for (shift, name) in units {
            if self.0 >= 1 << shift && self.0.is_multiple_of(1 << shift) {
                return write!(f, "{} {name}", self.0 >> shift);
            }
        }
        write!(f, "{} B", self.0)
    }
}

/// A percentage from 0 to 100, parsed from `5%` or `5`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl FromStr for Percent {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError(s.to_owned(), "percentage", "write 0 to 100, like 5%");
        let v: f64 = s
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse()
            .map_err(|_| err())?;
        if (0.0..=100.0).contains(&v) {
            Ok(Percent(v))
        } else {
            Err(err())
        }
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} %", self.0)
    }
}

/// A duration, parsed from `10s`, `1.5s`, `250ms`, `2m` or a plain number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub std::time::Duration);

impl FromStr for Span {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError(s.to_owned(), "duration", "write 10s, 1.5s, 250ms or 2m");
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let n: f64 = number.parse().map_err(|_| err())?;
        let seconds = match unit.trim() {
            "" | "s" => n,
            "ms" => n / 1000.0,
            "m" | "min" => n * 60.0,
            _ => return Err(err()),
        };
        std::time::Duration::try_from_secs_f64(seconds)
            .map(Span)
            .map_err(|_| err())
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        let p = |s: &str| s.parse::<ByteSize>().map(|b| b.0);
        assert_eq!(p("4096"), Ok(4096));
        assert_eq!(p("256KiB"), Ok(256 << 10));
        assert_eq!(p("2GiB"), Ok(2 << 30));
        assert_eq!(p("2 gib"), Ok(2 << 30));
        assert_eq!(p("500MB"), Ok(500_000_000));
        assert!(p("2 parsecs").is_err());
        assert!(p("GiB").is_err());
        assert!(p("99999999999TiB").is_err());
        assert_eq!(ByteSize(256 << 10).to_string(), "256 KiB");
        assert_eq!(ByteSize(1 << 20).to_string(), "1 MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000 B");
    }

    #[test]
    fn durations_parse_in_seconds_milliseconds_and_minutes() {
        use std::time::Duration;
        let p = |s: &str| s.parse::<Span>().map(|d| d.0);
        assert_eq!(p("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(p("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(p("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(p("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(p("3"), Ok(Duration::from_secs(3)));
        assert!(p("soon").is_err());
        assert!(p("5h").is_err());
    }

    #[test]
    fn percentages_parse_with_or_without_the_sign() {
        assert_eq!("5%".parse::<Percent>(), Ok(Percent(5.0)));
        assert_eq!("12.5".parse::<Percent>(), Ok(Percent(12.5)));
        assert!("101%".parse::<Percent>().is_err());
        assert!("lots".parse::<Percent>().is_err());
    }
}
