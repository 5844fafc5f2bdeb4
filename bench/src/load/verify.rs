//! [`Failure`]: why a response does not count, checked against what was asked for.

use http::{HeaderMap, StatusCode, header};

use super::workload::Expect;

/// Why a request does not count as a success. Each is counted on its own line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No TCP connection or HTTP handshake.
    Connect,
    /// The connection broke or the server spoke nonsense mid-request.
    Transport,
    /// No complete answer within the request timeout.
    Timeout,
    /// Another status than expected.
    Status {
        /// What was expected.
        expected: u16,
        /// What came.
        got: u16,
    },
    /// `Content-Length` differs from the bytes asked for.
    ContentLength,
    /// `Content-Range` is missing or names other bytes.
    ContentRange,
    /// The body has another length than expected.
    BodyLength,
}

impl Failure {
    /// A short name for the report.
    pub fn kind(&self) -> String {
        match self {
            Failure::Connect => "connect".into(),
            Failure::Transport => "transport".into(),
            Failure::Timeout => "timeout".into(),
            Failure::Status { expected, got } => format!("status {got} (expected {expected})"),
            Failure::ContentLength => "wrong Content-Length".into(),
            Failure::ContentRange => "wrong Content-Range".into(),
            Failure::BodyLength => "wrong body length".into(),
        }
    }
}

/// Checks a response head against what was asked for.
pub fn check_head(expect: &Expect, status: StatusCode, headers: &HeaderMap) -> Result<(), Failure> {
    let wanted = match expect {
        Expect::Status(s) | Expect::Bytes { status: s, .. } => *s,
    };
    if status.as_u16() != wanted {
        return Err(Failure::Status {
            expected: wanted,
            got: status.as_u16(),
        });
    }
    let Expect::Bytes {
        len, content_range, ..
    } = expect
    else {
        return Ok(());
    };
    // HTTP/2 servers may leave Content-Length out; the body count still checks the length.
    if let Some(value) = headers.get(header::CONTENT_LENGTH) {
        let sent = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok());
        if sent != Some(*len) {
            return Err(Failure::ContentLength);
        }
    }
    match content_range {
        None => Ok(()),
        Some(want) => {
            let got = headers
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range);
            if got == Some(*want) {
                Ok(())
            } else {
                Err(Failure::ContentRange)
            }
        }
    }
}

/// Checks the number of body bytes received.
pub fn check_body(expect: &Expect, received: u64) -> Result<(), Failure> {
    match expect {
        Expect::Bytes { len, .. } if *len != received => Err(Failure::BodyLength),
        _ => Ok(()),
    }
}

/// `bytes START-END/TOTAL` as `(start, end, total)`.
pub fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    Some((
        start.trim().parse().ok()?,
        end.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_static(v)))
            .collect()
    }

    const RANGE: Expect = Expect::Bytes {
        status: 206,
        len: 10,
        content_range: Some((10, 19, 100)),
    };

    #[test]
    fn a_correct_partial_answer_passes() {
        let h = headers(&[
            (header::CONTENT_LENGTH, "10"),
            (header::CONTENT_RANGE, "bytes 10-19/100"),
        ]);
        assert_eq!(check_head(&RANGE, StatusCode::PARTIAL_CONTENT, &h), Ok(()));
        assert_eq!(check_body(&RANGE, 10), Ok(()));
    }

    #[test]
    fn each_wrong_part_is_its_own_failure() {
        let good_range = (header::CONTENT_RANGE, "bytes 10-19/100");
        let h = headers(&[(header::CONTENT_LENGTH, "100")]);
        assert_eq!(
            check_head(&RANGE, StatusCode::OK, &h),
            Err(Failure::Status {
                expected: 206,
                got: 200
            })
        );
        let h = headers(&[(header::CONTENT_LENGTH, "11"), good_range.clone()]);
        assert_eq!(
            check_head(&RANGE, StatusCode::PARTIAL_CONTENT, &h),
            Err(Failure::ContentLength)
        );
        for bad in [
            "bytes 0-9/100",
            "bytes 10-19/101",
            "bytes */100",
            "10-19/100",
        ] {
            let h = headers(&[(header::CONTENT_RANGE, bad)]);
            assert_eq!(
                check_head(&RANGE, StatusCode::PARTIAL_CONTENT, &h),
                Err(Failure::ContentRange),
                "{bad}"
            );
        }
        let h = headers(&[]);
        assert_eq!(
            check_head(&RANGE, StatusCode::PARTIAL_CONTENT, &h),
            Err(Failure::ContentRange)
        );
        assert_eq!(check_body(&RANGE, 9), Err(Failure::BodyLength));
        assert_eq!(check_body(&Expect::Status(200), 12345), Ok(()));
        assert_eq!(
            Failure::Status {
                expected: 206,
                got: 416
            }
            .kind(),
            "status 416 (expected 206)"
        );
    }
}
