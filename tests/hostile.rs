//! What a hostile tester found (issue 20, "What a hostile tester found"), each as a test that
//! failed before the fix.

mod common;

use common::*;

/// A history value that is not a URL still carries a password: no command echoes it.
#[tokio::test]
async fn a_history_password_is_never_echoed_whatever_the_shape_of_the_value() {
    let w = World::new(1).await;
    for (var, value) in [
        (
            "AUTOSCALE_HISTORY",
            "host=127.0.0.1 password=pgSECRET dbname=x",
        ),
        ("AUTOSCALE_HISTORY", "pgSECRET"),
        ("AUTOSCALE_HISTORY", "postgres://u:pgSECRET@[::1/x"),
        ("DATABASE_URL", "postgres://u:pgSECRET@h.example:99999/x"),
    ] {
        let mut env = w.env_with(&[(var, value)]);
        if var == "DATABASE_URL" {
            env.retain(|(k, _)| k != "AUTOSCALE_HISTORY");
        }
        for args in [
            &[][..],
            &["check"][..],
            &["chart", "--output", "x.svg"][..],
            &["suggest"][..],
            &["replay"][..],
        ] {
            let (code, out, err) = output(args, &env).await;
            let text = format!("{out}{err}");
            assert!(!text.contains("pgSECRET"), "{args:?} {var}={value}: {text}");
            assert_eq!(code, 2, "{args:?} {var}={value}: {text}");
            assert!(text.contains(var), "{args:?}: {text}");
        }
        if var == "AUTOSCALE_HISTORY" {
            let env = w.env_with(&[]);
            let (code, out, err) = output(&["chart", "--history", value], &env).await;
            let text = format!("{out}{err}");
            assert!(!text.contains("pgSECRET"), "--history {value}: {text}");
            assert_eq!(code, 2, "{text}");
        }
    }
}
