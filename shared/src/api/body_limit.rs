//! The largest request body each kind of route reads. The components enforce it
//! themselves, while reading, so it holds on every host: Spin passes p2 components a
//! body of any size (DESIGN.md §15), our host only adds a coarser limit of its own.

use super::Problem;

/// A request body bounded to `max_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    pub max_bytes: usize,
}

impl BodyLimit {
    /// The API's own JSON bodies (a pledge, a refund, a campaign are well under 1 KiB),
    /// the same limit the handlers check once the body is read.
    pub const API: BodyLimit = BodyLimit {
        max_bytes: super::json::MAX_JSON_BODY_BYTES,
    };
    /// Provider events: Stripe's are a few KiB, with room for large metadata.
    pub const WEBHOOK: BodyLimit = BodyLimit {
        max_bytes: 256 * 1024,
    };

    /// Refuses a declared `Content-Length` over the limit before anything is read; a
    /// value that is not a number is left to the body's actual length.
    pub fn check_declared(self, content_length: Option<&str>) -> Result<(), Problem> {
        match content_length.and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(n) if n > self.max_bytes as u64 => Err(self.exceeded()),
            _ => Ok(()),
        }
    }

    /// Refuses a body once more than the limit has arrived.
    pub fn check_read(self, bytes_so_far: usize) -> Result<(), Problem> {
        if bytes_so_far > self.max_bytes {
            Err(self.exceeded())
        } else {
            Ok(())
        }
    }

    fn exceeded(self) -> Problem {
        Problem::new(
            413,
            "payload_too_large",
            format!(
                "the request body is larger than the {} bytes this route accepts",
                self.max_bytes
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_over_the_limit_is_refused_declared_or_read() {
        let limit = BodyLimit { max_bytes: 10 };
        assert!(limit.check_declared(Some("10")).is_ok());
        assert!(limit.check_declared(None).is_ok());
        assert!(limit.check_declared(Some("not a number")).is_ok());
        let refused = limit
            .check_declared(Some("11"))
            .unwrap_err()
            .into_response();
        assert_eq!(refused.status, 413);
        let body: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(body["code"], "payload_too_large");
        assert!(limit.check_read(10).is_ok());
        assert_eq!(
            limit.check_read(11).unwrap_err().into_response().status,
            413
        );
    }
}
