//! Sharding: when one clock dyno is not enough (API budget, check load), `AUTOSCALE_SHARDS` clock
//! dynos split the apps between them. Each app belongs to exactly one shard,
//! `1 + fnv1a64(app) mod SHARDS`, so every dyno computes the same split with no coordination:
//! `heroku ps:scale clock=3` with `AUTOSCALE_SHARDS=3` needs nothing else, because Heroku names
//! the dynos `clock.1`, `clock.2`, `clock.3` (the `DYNO` variable).

use super::field::{self, SHARD, SHARDS};
use super::{ConfigError, Env, Place, Raw};

/// Most shards supported: far more clock dynos than any account needs.
pub const MAX_SHARDS: u32 = 1000;

/// How many shards there are, and which one this dyno is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shards {
    pub count: u32,
    /// None when it cannot be known (several shards, no AUTOSCALE_SHARD, and DYNO is not
    /// `clock.N`, e.g. a one-off `heroku run`): fine for `check` and `plan`, refused by the daemon.
    pub this: Option<u32>,
}

/// FNV-1a, 64 bits: tiny, stable across versions and platforms (unlike std's hasher).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The shard (1-based) an app belongs to.
pub fn shard_of(app: &str, count: u32) -> u32 {
    1 + (fnv1a64(app.as_bytes()) % u64::from(count.max(1))) as u32
}

/// `clock.2` → 2.
fn dyno_number(dyno: &str) -> Option<u32> {
    dyno.trim()
        .strip_prefix("clock.")?
        .parse()
        .ok()
        .filter(|n| *n >= 1)
}

impl Shards {
    pub fn resolve(raw: &Raw, env: &Env) -> Result<Shards, ConfigError> {
        let count = match raw.value(SHARDS) {
            None => 1,
            Some(v) => match v.trimmed().parse::<u32>() {
                Ok(n) if (1..=MAX_SHARDS).contains(&n) => n,
                _ => {
                    return Err(v.err(
                        format!("must be a whole number from 1 to {MAX_SHARDS}"),
                        "3",
                    ))
                }
            },
        };
        let this = match raw.value(SHARD) {
            Some(v) => match v.trimmed().parse::<u32>() {
                Ok(n) if (1..=count).contains(&n) => Some(n),
                _ => {
                    return Err(v.err(
                        format!("must be a shard number from 1 to AUTOSCALE_SHARDS ({count})"),
                        count.min(2),
                    ))
                }
            },
            None if count == 1 => Some(1),
            None => env
                .dyno
                .as_deref()
                .and_then(dyno_number)
                .filter(|n| *n <= count),
        };
        Ok(Shards { count, this })
    }

    /// The daemon must know its shard: without one it would run no app, or every app twice.
    pub fn require_this(&self, env: &Env) -> Result<u32, ConfigError> {
        self.this.ok_or_else(|| {
            let dyno = env.dyno.as_deref().unwrap_or("");
            let problem = match dyno_number(dyno) {
                Some(n) => format!(
                    "is {}, but this dyno is {dyno}: shard {n} does not exist; raise AUTOSCALE_SHARDS to the number of clock dynos",
                    self.count
                ),
                None => format!(
                    "is {}, and this dyno's shard is unknown (DYNO={dyno:?} is not clock.N): set AUTOSCALE_SHARD",
                    self.count
                ),
            };
            Place::Var(field::field(SHARDS)).err(None, problem, self.count)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> Raw {
        Raw::from_pairs(pairs.iter().copied())
    }

    fn env(dyno: Option<&str>) -> Env {
        Env {
            heroku_app_name: None,
            dyno: dyno.map(str::to_owned),
            ..Env::default()
        }
    }

    #[test]
    fn fnv1a64_matches_the_reference_vectors() {
        // From the FNV reference (draft-eastlake-fnv): "" and "a", "foobar".
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_app_is_in_exactly_one_shard_and_the_split_is_even_enough() {
        let mut per_shard = [0u32; 3];
        for i in 0..3000 {
            let s = shard_of(&format!("app-{i}"), 3);
            assert!((1..=3).contains(&s));
            per_shard[(s - 1) as usize] += 1;
        }
        for n in per_shard {
            assert!((800..=1200).contains(&n), "{per_shard:?}");
        }
        assert_eq!(shard_of("anything", 1), 1);
        assert_eq!(shard_of("anything", 0), 1, "never divides by zero");
    }

    #[test]
    fn the_shard_comes_from_the_variable_then_the_dyno_name() {
        assert_eq!(
            Shards::resolve(&raw(&[]), &env(Some("clock.2"))).unwrap(),
            Shards {
                count: 1,
                this: Some(1)
            }
        );
        assert_eq!(
            Shards::resolve(&raw(&[(SHARDS, "3")]), &env(Some("clock.2"))).unwrap(),
            Shards {
                count: 3,
                this: Some(2)
            }
        );
        assert_eq!(
            Shards::resolve(&raw(&[(SHARDS, "3"), (SHARD, "3")]), &env(Some("clock.2")))
                .unwrap()
                .this,
            Some(3)
        );
        let unknown = Shards::resolve(&raw(&[(SHARDS, "3")]), &env(Some("run.4312"))).unwrap();
        assert_eq!(unknown.this, None);
        let e = unknown
            .require_this(&env(Some("run.4312")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("set AUTOSCALE_SHARD"), "{e}");
        let beyond = Shards::resolve(&raw(&[(SHARDS, "3")]), &env(Some("clock.5"))).unwrap();
        let e = beyond
            .require_this(&env(Some("clock.5")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("shard 5 does not exist"), "{e}");
        for (pairs, needle) in [
            (&[(SHARDS, "0")][..], "from 1 to 1000"),
            (
                &[(SHARDS, "2"), (SHARD, "3")][..],
                "from 1 to AUTOSCALE_SHARDS (2)",
            ),
            (&[(SHARD, "x")][..], "\"x\""),
        ] {
            let e = Shards::resolve(&raw(pairs), &env(None))
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e}");
        }
        assert_eq!(dyno_number("clock.0"), None);
        assert_eq!(dyno_number("web.1"), None);
    }
}
