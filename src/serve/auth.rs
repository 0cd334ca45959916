//! The dashboard's door: HTTP Basic with one password (any user name), compared in constant
//! time, and failed attempts slowed per client. Pure: the caller passes the instant.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The password, kept only as its SHA-256: the comparison is then between two 32-byte digests,
/// in constant time, whatever the lengths typed.
#[derive(Clone)]
pub struct Password {
    digest: [u8; 32],
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub fn new(password: &str) -> Password {
        Password {
            digest: Sha256::digest(password.as_bytes()).into(),
        }
    }

    /// Whether an `Authorization` header's value carries this password (any user name).
    pub fn admits(&self, header: Option<&[u8]>) -> bool {
        let Some(given) = header.and_then(basic_password) else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(&given).into();
        bool::from(digest.ct_eq(&self.digest))
    }
}

/// Longest `Authorization` value read; a longer one is refused unread.
pub const MAX_HEADER: usize = 4096;

/// The password of `Basic base64(user:password)`: the scheme in any case, the user name ignored.
pub fn basic_password(header: &[u8]) -> Option<Vec<u8>> {
    if header.len() > MAX_HEADER {
        return None;
    }
    let text = std::str::from_utf8(header).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some(decoded[colon + 1..].to_vec())
}

/// The client a request comes from: on Heroku the last address of `X-Forwarded-For` (the one
/// the router appended; what comes before it is whatever the client sent), else the socket's
/// peer.
pub fn client(forwarded_for: Option<&[u8]>, peer: Option<IpAddr>) -> Option<IpAddr> {
    forwarded_for
        .filter(|h| h.len() <= MAX_HEADER)
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| h.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .or(peer)
}

/// The first failure waits this long; each next one twice as long, up to [`MAX_DELAY`].
pub const FIRST_DELAY: Duration = Duration::from_millis(250);
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// A client's failures are forgotten this long after its last one.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Most clients remembered; when full, the one whose last failure is oldest is forgotten.
pub const MAX_CLIENTS: usize = 10_000;

/// Failed attempts per client, to slow guessing: the answer to a failed attempt is delayed by
/// [`Throttle::fail`]'s result.
#[derive(Debug, Default)]
pub struct Throttle {
    clients: HashMap<IpAddr, (u32, Instant)>,
}

impl Throttle {
    /// Records a failure of `client` at `now`; returns how long to wait before answering.
    pub fn fail(&mut self, client: IpAddr, now: Instant) -> Duration {
        if !self.clients.contains_key(&client) && self.clients.len() >= MAX_CLIENTS {
            self.clients
                .retain(|_, (_, last)| now.saturating_duration_since(*last) < FORGET_AFTER);
            if self.clients.len() >= MAX_CLIENTS {
                if let Some(oldest) = self
                    .clients
                    .iter()
                    .min_by_key(|(_, (_, last))| *last)
                    .map(|(ip, _)| *ip)
                {
                    self.clients.remove(&oldest);
                }
            }
        }
        let entry = self.clients.entry(client).or_insert((0, now));
        if now.saturating_duration_since(entry.1) >= FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        delay(entry.0)
    }

    /// A success forgets the client's failures.
    pub fn succeed(&mut self, client: IpAddr) {
        self.clients.remove(&client);
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

/// The wait after the `n`th failure in a row (n ≥ 1): 250 ms, 500 ms, 1 s, … 8 s.
pub fn delay(n: u32) -> Duration {
    let doublings = n.saturating_sub(1).min(16);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_pass: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
        .into_bytes()
    }

    #[test]
    fn the_password_is_admitted_with_any_user_name_and_nothing_else_is() {
        let p = Password::new("s3cret:with colon");
        assert!(p.admits(Some(&basic("anyone:s3cret:with colon"))));
        assert!(p.admits(Some(&basic(":s3cret:with colon"))));
        assert!(p.admits(Some(
            format!(
                "bAsIc   {}  ",
                base64::engine::general_purpose::STANDARD.encode("x:s3cret:with colon")
            )
            .as_bytes()
        )));
        assert!(!p.admits(Some(&basic("anyone:s3cret"))));
        assert!(
            !p.admits(Some(&basic("s3cret:with colon"))),
            "no colon: no password"
        );
        assert!(!p.admits(Some(&basic("anyone:s3cret:with colon!"))));
        assert!(!p.admits(None));
        assert!(!p.admits(Some(b"Bearer s3cret:with colon")));
        assert!(!p.admits(Some(b"Basic !!!not base64")));
        assert!(!p.admits(Some(b"Basic")));
        // Trailing spaces are trimmed: a header of exactly MAX_HEADER bytes is read, one more
        // byte is refused unread.
        let mut long = basic("anyone:s3cret:with colon");
        long.resize(MAX_HEADER, b' ');
        assert!(p.admits(Some(&long)), "at the cap");
        long.push(b' ');
        assert!(!p.admits(Some(&long)), "too long to read");
        assert_eq!(format!("{p:?}"), "Password(***)", "never the password");
    }

    #[test]
    fn the_client_is_the_last_forwarded_address_else_the_peer() {
        let peer: IpAddr = "10.0.0.9".parse().unwrap();
        assert_eq!(
            client(Some(b"1.2.3.4, 5.6.7.8"), Some(peer)),
            Some("5.6.7.8".parse().unwrap())
        );
        assert_eq!(
            client(Some(b"evil, 2001:db8::1 "), Some(peer)),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(client(Some(b"1.2.3.4, garbage"), Some(peer)), Some(peer));
        assert_eq!(client(None, Some(peer)), Some(peer));
        assert_eq!(client(None, None), None);
    }

    #[test]
    fn failures_double_the_wait_up_to_a_cap_and_are_forgotten() {
        assert_eq!(delay(1), Duration::from_millis(250));
        assert_eq!(delay(2), Duration::from_millis(500));
        assert_eq!(delay(3), Duration::from_secs(1));
        assert_eq!(delay(6), Duration::from_secs(8));
        assert_eq!(delay(7), MAX_DELAY);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
        assert_eq!(
            FORGET_AFTER,
            Duration::from_secs(900),
            "15 minutes, as docs/dashboard.md says"
        );

        let t0 = Instant::now();
        let a: IpAddr = "1.1.1.1".parse().unwrap();
        let b: IpAddr = "2.2.2.2".parse().unwrap();
        let mut t = Throttle::default();
        assert!(t.is_empty());
        assert_eq!(t.fail(a, t0), Duration::from_millis(250));
        assert_eq!(t.fail(a, t0), Duration::from_millis(500));
        assert_eq!(t.fail(b, t0), Duration::from_millis(250), "per client");
        t.succeed(a);
        assert_eq!(t.len(), 1);
        assert_eq!(
            t.fail(a, t0),
            Duration::from_millis(250),
            "a success forgets"
        );
        assert_eq!(
            t.fail(a, t0 + FORGET_AFTER - Duration::from_secs(1)),
            Duration::from_millis(500)
        );
        let later = t0 + FORGET_AFTER * 3;
        assert_eq!(
            t.fail(a, later),
            Duration::from_millis(250),
            "forgotten in time"
        );
    }

    #[test]
    fn the_clients_remembered_are_bounded_and_the_oldest_goes_first() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        for i in 0..MAX_CLIENTS {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(i as u32 + 1));
            t.fail(ip, t0 + Duration::from_millis(i as u64));
        }
        assert_eq!(t.len(), MAX_CLIENTS);
        let first = IpAddr::from(std::net::Ipv4Addr::from(1u32));
        let second = IpAddr::from(std::net::Ipv4Addr::from(2u32));
        let newcomer: IpAddr = "9.9.9.9".parse().unwrap();
        t.fail(newcomer, t0 + Duration::from_secs(60));
        assert_eq!(t.len(), MAX_CLIENTS);
        assert_eq!(
            t.fail(second, t0 + Duration::from_secs(61)),
            Duration::from_millis(500),
            "the second one is still remembered"
        );
        // The first was forgotten to make room: it starts over (and evicts another).
        assert_eq!(
            t.fail(first, t0 + Duration::from_secs(62)),
            Duration::from_millis(250)
        );
        // Exactly FORGET_AFTER after their failures, every client is forgotten at once.
        let mut same = Throttle::default();
        for i in 0..MAX_CLIENTS {
            same.fail(IpAddr::from(std::net::Ipv4Addr::from(i as u32 + 1)), t0);
        }
        same.fail(newcomer, t0 + FORGET_AFTER);
        assert_eq!(same.len(), 1, "expired at FORGET_AFTER, not after it");
        // After FORGET_AFTER, a newcomer clears the expired ones at once.
        let late = t0 + FORGET_AFTER + Duration::from_secs(70);
        t.fail("8.8.8.8".parse().unwrap(), late);
        assert_eq!(t.len(), 1);
        assert!(!t.is_empty());
    }
}
