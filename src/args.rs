//! Flags that several subcommands share (`--price` for plan, suggest and replay; `--target` for
//! chart, suggest and replay): each is parsed here once, with one range and one error line.

use crate::config::{is_app_name, is_process_name};

/// The largest price per dyno-hour: far above any dyno in any currency, and finite.
pub const MAX_PRICE: f64 = 1e6;

/// A bad flag: one line naming the flag, the value and an example (exit 2), in the same shape
/// as a bad variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}={value:?}: {problem}; example: {example}")]
pub struct UsageError {
    pub flag: String,
    pub value: String,
    pub problem: String,
    pub example: String,
}

impl UsageError {
    pub fn new(flag: &str, value: &str, problem: impl Into<String>, example: &str) -> Self {
        UsageError {
            flag: flag.to_owned(),
            value: value.to_owned(),
            problem: problem.into(),
            example: example.to_owned(),
        }
    }
}

/// `--price`: money per dyno-hour, 0 to [`MAX_PRICE`].
pub fn price(text: &str) -> Result<f64, UsageError> {
    match text.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && (0.0..=MAX_PRICE).contains(&p) => Ok(p),
        _ => Err(UsageError::new(
            "--price",
            text,
            format!("not a price per dyno-hour (a number from 0 to {MAX_PRICE})"),
            "--price 0.0347",
        )),
    }
}

/// `--target APP/PROCESS` (PROCESS defaults to web), named as the configuration names them.
pub fn target(text: &str) -> Result<(String, String), UsageError> {
    let (app, process) = text.trim().split_once('/').unwrap_or((text.trim(), "web"));
    if is_app_name(app) && is_process_name(process) {
        Ok((app.to_owned(), process.to_owned()))
    } else {
        Err(UsageError::new(
            "--target",
            text,
            "not APP/PROCESS (an app name, then a process type; /web if left out)",
            "--target shop/web",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_is_a_finite_number_from_0_to_the_maximum() {
        assert_eq!(price(" 0.05 "), Ok(0.05));
        assert_eq!(price("0"), Ok(0.0));
        assert_eq!(price("1000000"), Ok(MAX_PRICE));
        for bad in ["-1", "-0.01", "NaN", "inf", "lots", "", "1000000.5", "1e7"] {
            let e = price(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--price={bad:?}: ")), "{e}");
            assert!(e.ends_with("; example: --price 0.0347"), "{e}");
        }
    }

    #[test]
    fn a_target_is_an_app_and_a_process_type_web_by_default() {
        assert_eq!(target("shop"), Ok(("shop".into(), "web".into())));
        assert_eq!(
            target(" shop-2/worker_high "),
            Ok(("shop-2".into(), "worker_high".into()))
        );
        let long = "a".repeat(100);
        assert_eq!(target(&long), Ok((long.clone(), "web".into())));
        let too_long = "a".repeat(101);
        for bad in [
            "",
            "/web",
            "shop/",
            "---/web",
            "a b/web",
            "shop/w\u{e9}b",
            "shop_1/web",
            "shop/web/2",
            "shop/we.b",
            too_long.as_str(),
        ] {
            let e = target(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--target={bad:?}: ")), "{e}");
            assert!(e.ends_with("; example: --target shop/web"), "{e}");
        }
    }
}
