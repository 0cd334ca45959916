//! Heroku's dyno sizes and their list prices: which names a schedule entry may give
//! (`07:00=3:performance-m`), which sizes run at most one dyno per process type, and what a
//! dyno-hour of each costs (for `plan`, `suggest`, `replay` and `chart`; `--price` overrides).
//!
//! This module is **pure**: a built-in table, no I/O.
//!
//! The prices are Heroku's list prices per dyno and month (the Heroku CLI's own table,
//! `heroku ps:type`), and a dyno-hour costs a month's price / 720, as the CLI computes it.
//! Eco dynos are a flat $5 a month for a pool of hours shared by every Eco dyno: an Eco
//! dyno-hour costs nothing more, so it is priced 0.
//!
//! Names match case-insensitively, as Heroku's do (its formation answers `Standard-1X`).
//! The retired `free` and `hobby` are not accepted: Heroku refuses to scale to them since
//! November 2022 (`hobby` became `basic`), so naming one on a schedule is a mistake worth
//! catching at start.

use std::fmt;

/// Hours in a month of Heroku's billing (its CLI's `cost/hour` = monthly / 720).
pub const HOURS_PER_MONTH: f64 = 720.0;

/// Which Heroku generation a size belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// The Common Runtime and Private Spaces (Eco … Performance-2XL, Private-*, Shield-*).
    Cedar,
    /// The Kubernetes-based generation (`dyno-2c-4gb`).
    Fir,
}

/// One size of the table.
#[derive(Debug, PartialEq, Eq)]
struct Spec {
    /// Lower-case name, as sent in a PATCH.
    name: &'static str,
    /// Heroku's list price per dyno and month, in US dollars.
    monthly: u32,
    /// At most one dyno per process type (Eco, Basic).
    single: bool,
    generation: Generation,
}

const fn cedar(name: &'static str, monthly: u32) -> Spec {
    Spec {
        name,
        monthly,
        single: false,
        generation: Generation::Cedar,
    }
}

const fn fir(name: &'static str, monthly: u32) -> Spec {
    Spec {
        name,
        monthly,
        single: false,
        generation: Generation::Fir,
    }
}

/// Every size Heroku scales to, with its list price per month.
const SIZES: &[Spec] = &[
    Spec {
        name: "eco",
        monthly: 0,
        single: true,
        generation: Generation::Cedar,
    },
    Spec {
        name: "basic",
        monthly: 7,
        single: true,
        generation: Generation::Cedar,
    },
    cedar("standard-1x", 25),
    cedar("standard-2x", 50),
    cedar("performance-m", 250),
    cedar("performance-l", 500),
    cedar("performance-l-ram", 500),
    cedar("performance-xl", 750),
    cedar("performance-2xl", 1500),
    cedar("private-s", 225),
    cedar("private-m", 450),
    cedar("private-l", 900),
    cedar("private-memory-l", 500),
    cedar("private-memory-xl", 750),
    cedar("private-memory-2xl", 1500),
    cedar("shield-s", 270),
    cedar("shield-m", 540),
    cedar("shield-l", 1080),
    cedar("shield-memory-l", 600),
    cedar("shield-memory-xl", 900),
    cedar("shield-memory-2xl", 1800),
    fir("dyno-1c-0.5gb", 25),
    fir("dyno-1c-4gb", 80),
    fir("dyno-1c-8gb", 100),
    fir("dyno-2c-1gb", 50),
    fir("dyno-2c-4gb", 150),
    fir("dyno-2c-8gb", 160),
    fir("dyno-2c-16gb", 250),
    fir("dyno-4c-8gb", 300),
    fir("dyno-4c-16gb", 320),
    fir("dyno-4c-32gb", 500),
    fir("dyno-8c-16gb", 600),
    fir("dyno-8c-32gb", 640),
    fir("dyno-8c-64gb", 750),
    fir("dyno-16c-32gb", 1200),
    fir("dyno-16c-64gb", 1000),
    fir("dyno-16c-128gb", 1500),
    fir("dyno-32c-64gb", 2400),
];

/// A valid entry with a size, for error messages.
pub const EXAMPLE: &str = "07:00=3:performance-m; 22:00=1:standard-1x";

/// A dyno size Heroku knows. Cheap to copy; compares by name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Size(&'static Spec);

impl fmt::Debug for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Size({})", self.0.name)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

/// A size name that is not in the table. `Display` names it and the known sizes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dyno size {name:?}{hint}; known sizes: {}", known())]
pub struct UnknownSize {
    /// The name as written.
    pub name: String,
    hint: String,
}

/// The known sizes, comma-separated, the Fir family shortened to its pattern.
pub fn known() -> String {
    let cedar: Vec<&str> = SIZES
        .iter()
        .filter(|s| s.generation == Generation::Cedar)
        .map(|s| s.name)
        .collect();
    format!(
        "{}, and Fir's dyno-Nc-Mgb (dyno-1c-0.5gb … dyno-32c-64gb)",
        cedar.join(", ")
    )
}

impl Size {
    /// The size named `name`, in any case (`Standard-1X`, `standard-1x`).
    pub fn parse(name: &str) -> Result<Size, UnknownSize> {
        let name = name.trim();
        SIZES
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .map(Size)
            .ok_or_else(|| UnknownSize {
                name: name.to_owned(),
                hint: hint(name),
            })
    }

    /// The lower-case name, as sent to Heroku.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The name as Heroku's formation answers it: `Standard-1X`, `Performance-L-RAM`, `Eco`;
    /// Fir's names stay lower-case (`dyno-2c-4gb`).
    pub fn heroku_name(self) -> String {
        if self.0.generation == Generation::Fir {
            return self.0.name.to_owned();
        }
        let part = |p: &str| {
            let word = p.len() >= 3 && p.bytes().all(|b| b.is_ascii_alphabetic()) && p != "ram";
            if word {
                let mut c = p.chars();
                c.next()
                    .map(|first| first.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            } else {
                p.to_ascii_uppercase()
            }
        };
        self.0
            .name
            .split('-')
            .map(part)
            .collect::<Vec<_>>()
            .join("-")
    }

    /// Whether Heroku runs at most one dyno of this size per process type (Eco, Basic).
    pub fn single_dyno(self) -> bool {
        self.0.single
    }

    pub fn generation(self) -> Generation {
        self.0.generation
    }

    /// Heroku's list price per dyno and month, in US dollars.
    pub fn monthly(self) -> f64 {
        f64::from(self.0.monthly)
    }

    /// The list price of one dyno-hour, in US dollars (a month's price / 720).
    pub fn hourly(self) -> f64 {
        self.monthly() / HOURS_PER_MONTH
    }

    /// Whether `other` (a formation's `size`, in Heroku's spelling) is this size.
    pub fn is(self, other: &str) -> bool {
        self.0.name.eq_ignore_ascii_case(other.trim())
    }
}

/// A hint for a retired name.
fn hint(name: &str) -> String {
    let retired = if name.eq_ignore_ascii_case("hobby") {
        Some("hobby dynos are called basic since 2022")
    } else if name.eq_ignore_ascii_case("free") {
        Some("free dynos were retired in 2022; eco is the cheapest")
    } else {
        None
    };
    retired.map_or_else(String::new, |r| format!(" ({r})"))
}

/// Whether a formation's size (as Heroku answers it) runs at most one dyno per process type:
/// Eco and Basic, and the retired Free and Hobby a formation may still report.
pub fn single_dyno(size: &str) -> bool {
    Size::parse(size).map_or_else(
        |_| {
            ["free", "hobby"]
                .iter()
                .any(|s| size.trim().eq_ignore_ascii_case(s))
        },
        Size::single_dyno,
    )
}

/// The list price of a dyno-hour of the formation size `size` (Heroku's spelling), when known.
pub fn hourly(size: &str) -> Option<f64> {
    Size::parse(size).ok().map(Size::hourly)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_any_case_and_print_lower_case() {
        let s = Size::parse("Standard-1X").unwrap();
        assert_eq!(s.name(), "standard-1x");
        assert_eq!(s.to_string(), "standard-1x");
        assert_eq!(format!("{s:?}"), "Size(standard-1x)");
        assert_eq!(
            Size::parse(" performance-m ").unwrap().name(),
            "performance-m"
        );
        assert_eq!(Size::parse("DYNO-2C-4GB").unwrap().name(), "dyno-2c-4gb");
        assert!(s.is("standard-1X"));
        assert!(s.is(" STANDARD-1x "));
        assert!(!s.is("standard-2x"));
        assert_eq!(s, Size::parse("standard-1x").unwrap());
        assert_ne!(s, Size::parse("standard-2x").unwrap());
    }

    #[test]
    fn heroku_spells_cedar_names_capitalised() {
        let spelled = |name: &str| Size::parse(name).unwrap().heroku_name();
        assert_eq!(spelled("eco"), "Eco");
        assert_eq!(spelled("basic"), "Basic");
        assert_eq!(spelled("standard-1x"), "Standard-1X");
        assert_eq!(spelled("performance-m"), "Performance-M");
        assert_eq!(spelled("performance-l-ram"), "Performance-L-RAM");
        assert_eq!(spelled("performance-2xl"), "Performance-2XL");
        assert_eq!(spelled("private-memory-xl"), "Private-Memory-XL");
        assert_eq!(spelled("shield-s"), "Shield-S");
        assert_eq!(spelled("dyno-2c-4gb"), "dyno-2c-4gb");
        for spec in SIZES {
            let size = Size(spec);
            assert_eq!(Size::parse(&size.heroku_name()), Ok(size));
        }
    }

    #[test]
    fn every_size_heroku_scales_to_is_known_once() {
        assert_eq!(SIZES.len(), 38);
        for spec in SIZES {
            assert_eq!(Size::parse(spec.name).unwrap().name(), spec.name);
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert_eq!(SIZES.iter().filter(|s| s.name == spec.name).count(), 1);
        }
        for name in [
            "eco",
            "basic",
            "standard-1x",
            "standard-2x",
            "performance-m",
            "performance-l",
            "performance-l-ram",
            "performance-xl",
            "performance-2xl",
            "dyno-1c-0.5gb",
            "dyno-2c-1gb",
            "dyno-2c-4gb",
            "dyno-32c-64gb",
        ] {
            assert!(Size::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn generations() {
        assert_eq!(
            Size::parse("performance-m").unwrap().generation(),
            Generation::Cedar
        );
        assert_eq!(
            Size::parse("dyno-2c-4gb").unwrap().generation(),
            Generation::Fir
        );
    }

    #[test]
    fn list_prices() {
        let hourly = |name: &str| Size::parse(name).unwrap().hourly();
        assert_eq!(Size::parse("standard-1x").unwrap().monthly(), 25.0);
        assert_eq!(hourly("standard-1x"), 25.0 / 720.0);
        assert_eq!(hourly("eco"), 0.0);
        assert_eq!(hourly("basic"), 7.0 / 720.0);
        assert_eq!(hourly("standard-2x"), 50.0 / 720.0);
        assert_eq!(hourly("performance-m"), 250.0 / 720.0);
        assert_eq!(hourly("performance-l"), 500.0 / 720.0);
        assert_eq!(hourly("performance-l-ram"), 500.0 / 720.0);
        assert_eq!(hourly("performance-xl"), 750.0 / 720.0);
        assert_eq!(hourly("performance-2xl"), 1500.0 / 720.0);
        assert_eq!(hourly("dyno-1c-0.5gb"), 25.0 / 720.0);
        assert_eq!(hourly("dyno-2c-4gb"), 150.0 / 720.0);
        assert_eq!(hourly("dyno-16c-64gb"), 1000.0 / 720.0);
        assert_eq!(hourly("shield-l"), 1080.0 / 720.0);
        assert_eq!(super::hourly("Performance-M"), Some(250.0 / 720.0));
        assert_eq!(super::hourly("Hobby"), None);
        assert_eq!(super::hourly("X-42"), None);
    }

    #[test]
    fn eco_and_basic_run_one_dyno_per_process_type() {
        for single in ["eco", "Eco", "basic", "Basic"] {
            assert!(Size::parse(single).unwrap().single_dyno(), "{single}");
            assert!(single_dyno(single), "{single}");
        }
        for many in ["standard-1x", "performance-m", "dyno-1c-0.5gb", "private-s"] {
            assert!(!Size::parse(many).unwrap().single_dyno(), "{many}");
            assert!(!single_dyno(many), "{many}");
        }
        // A formation may still report a retired size.
        assert!(single_dyno("Free"));
        assert!(single_dyno(" hobby "));
        assert!(!single_dyno("X-42"));
    }

    #[test]
    fn an_unknown_size_names_the_known_ones() {
        let e = Size::parse("performance-q").unwrap_err();
        assert_eq!(e.name, "performance-q");
        let text = e.to_string();
        assert!(
            text.starts_with(r#"unknown dyno size "performance-q"; known sizes: eco, basic, standard-1x, standard-2x, performance-m"#),
            "{text}"
        );
        assert!(
            text.ends_with("and Fir's dyno-Nc-Mgb (dyno-1c-0.5gb … dyno-32c-64gb)"),
            "{text}"
        );
        assert!(!text.contains("dyno-2c-4gb"), "{text}");
        assert_eq!(
            Size::parse("Hobby").unwrap_err().to_string(),
            format!(
                r#"unknown dyno size "Hobby" (hobby dynos are called basic since 2022); known sizes: {}"#,
                known()
            )
        );
        assert!(Size::parse("free")
            .unwrap_err()
            .to_string()
            .contains("(free dynos were retired in 2022; eco is the cheapest)"));
        assert!(Size::parse("").is_err());
        assert!(Size::parse("dyno-3c-3gb").is_err());
    }
}
