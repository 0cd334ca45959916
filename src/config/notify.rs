//! The AUTOSCALE_NOTIFY_* settings, validated into a [`NotifyConfig`] (same one-line errors as
//! the rest of the configuration). The types are [`crate::notify`]'s.

use std::time::Duration;

use lettre::Address;
use secrecy::SecretString;
use url::Url;

use super::field::{self, *};
use super::{secure_base_url, ConfigError, Place, Raw};
use crate::http::is_loopback_host;
use crate::notify::settings::{
    redact_credentials, redact_url, EmailConfig, NotifyConfig, NotifyOn, SmsConfig, SmtpSecurity,
    WebhookConfig,
};

/// Slack's incoming webhooks (`hooks.slack.com`), or a local relay on loopback that keeps Slack's
/// path (`/services/T…/B…/…`); any other host gets the JSON object.
fn is_slack(url: &Url) -> bool {
    if url.host_str() == Some("hooks.slack.com") {
        return true;
    }
    if !is_loopback_host(url) {
        return false;
    }
    let parts: Vec<&str> = url.path().trim_matches('/').split('/').collect();
    parts.len() == 4
        && parts[0] == "services"
        && parts[1].starts_with('T')
        && parts[2].starts_with('B')
}

fn err(
    variable: &'static str,
    value: Option<String>,
    problem: impl Into<String>,
    example: &str,
) -> ConfigError {
    Place::Var(field::field(variable)).err(value.as_deref(), problem, example)
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_e164(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or("");
    (2..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The alert channels, validated.
pub fn resolve(raw: &Raw) -> Result<NotifyConfig, ConfigError> {
    let get = |var: &str| raw.get(var).map(str::to_owned);
    let mut webhooks = Vec::new();
    if let Some(text) = raw.get(NOTIFY_WEBHOOK) {
        for item in list(text) {
            let url = Url::parse(&item).map_err(|e| {
                err(
                    NOTIFY_WEBHOOK,
                    None,
                    format!("an entry is not a URL ({e}); the value is not shown because webhook URLs carry tokens"),
                    "https://hooks.slack.com/services/T000/B000/XXXX",
                )
            })?;
            let secure =
                url.scheme() == "https" || (url.scheme() == "http" && is_loopback_host(&url));
            if !secure || url.host().is_none() {
                return Err(Place::Var(field::field(NOTIFY_WEBHOOK)).err(
                    None,
                    format!(
                        "{} must be https (plain http only to loopback): the URL carries a token",
                        redact_url(&url)
                    ),
                    "https://hooks.slack.com/services/T000/B000/XXXX",
                ));
            }
            webhooks.push(WebhookConfig {
                slack: is_slack(&url),
                url,
            });
        }
    }

    let email = resolve_email(raw)?;
    let sms = resolve_sms(raw)?;

    let on = match raw.get(NOTIFY_ON).map(|s| s.trim().to_ascii_lowercase()) {
        None => NotifyOn::Trouble,
        Some(s) if s == "trouble" => NotifyOn::Trouble,
        Some(s) if s == "all" => NotifyOn::All,
        Some(_) => {
            return Err(err(
                NOTIFY_ON,
                get(NOTIFY_ON),
                "must be trouble or all",
                "trouble",
            ))
        }
    };
    let repeat = super::duration(
        raw.value(NOTIFY_REPEAT).as_ref(),
        Duration::from_secs(30 * 60),
    )?;
    Ok(NotifyConfig {
        webhooks,
        email,
        sms,
        on,
        repeat,
    })
}

fn resolve_email(raw: &Raw) -> Result<Option<EmailConfig>, ConfigError> {
    const EXAMPLE: &str = "smtp://apikey:SECRET@smtp.sendgrid.net:587";
    let (Some(text), from, to) = (
        raw.get(NOTIFY_SMTP_URL),
        raw.get(NOTIFY_EMAIL_FROM),
        raw.get(NOTIFY_EMAIL_TO),
    ) else {
        if raw.get(NOTIFY_EMAIL_FROM).is_some() || raw.get(NOTIFY_EMAIL_TO).is_some() {
            return Err(err(
                NOTIFY_SMTP_URL,
                None,
                "is not set, but AUTOSCALE_NOTIFY_EMAIL_FROM/_TO are: email needs an SMTP server",
                EXAMPLE,
            ));
        }
        return Ok(None);
    };
    let url = Url::parse(text.trim()).map_err(|e| {
        err(
            NOTIFY_SMTP_URL,
            None,
            format!("not a URL ({e}); the value is not shown because it carries a password"),
            EXAMPLE,
        )
    })?;
    let shown = redact_credentials(&url);
    let smtp_err = |problem: &str| {
        Place::Var(field::field(NOTIFY_SMTP_URL)).err(None, format!("{shown} {problem}"), EXAMPLE)
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| smtp_err("has no host"))?
        .trim_matches(['[', ']'])
        .to_owned();
    let (security, default_port) = match url.scheme() {
        "smtps" => (SmtpSecurity::Implicit, 465),
        "smtp" if is_loopback_host(&url) => (SmtpSecurity::PlainLoopback, 25),
        "smtp" => (SmtpSecurity::StartTls, 587),
        _ => {
            return Err(smtp_err(
                "has a scheme that is not smtp (STARTTLS) or smtps (implicit TLS)",
            ))
        }
    };
    let user = (!url.username().is_empty()).then(|| percent_decode(url.username()));
    let password = url
        .password()
        .map(|p| SecretString::from(percent_decode(p)));
    let from_text = from.ok_or_else(|| {
        err(
            NOTIFY_EMAIL_FROM,
            None,
            "is not set, but AUTOSCALE_NOTIFY_SMTP_URL is",
            "autoscale@example.com",
        )
    })?;
    let from_address: Address = from_text.trim().parse().map_err(|e| {
        err(
            NOTIFY_EMAIL_FROM,
            Some(from_text.to_owned()),
            format!("not an email address ({e})"),
            "autoscale@example.com",
        )
    })?;
    let to_text = to.unwrap_or("");
    let mut recipients = Vec::new();
    for item in list(to_text) {
        recipients.push(item.parse::<Address>().map_err(|e| {
            err(
                NOTIFY_EMAIL_TO,
                Some(to_text.to_owned()),
                format!("{item:?} is not an email address ({e})"),
                "oncall@example.com,cto@example.com",
            )
        })?);
    }
    if recipients.is_empty() {
        return Err(err(
            NOTIFY_EMAIL_TO,
            to.map(str::to_owned),
            "names no recipient, but AUTOSCALE_NOTIFY_SMTP_URL is set",
            "oncall@example.com,cto@example.com",
        ));
    }
    Ok(Some(EmailConfig {
        host,
        port: url.port().unwrap_or(default_port),
        security,
        user,
        password,
        from: from_address,
        to: recipients,
    }))
}

fn resolve_sms(raw: &Raw) -> Result<Option<SmsConfig>, ConfigError> {
    let needed = [
        NOTIFY_TWILIO_SID,
        NOTIFY_TWILIO_TOKEN,
        NOTIFY_SMS_FROM,
        NOTIFY_SMS_TO,
    ];
    if needed.iter().all(|v| raw.get(v).is_none()) {
        return Ok(None);
    }
    if let Some(missing) = needed
        .iter()
        .find(|v| raw.get(v).is_none_or(|s| s.trim().is_empty()))
    {
        return Err(err(
            missing,
            None,
            "is not set, but other SMS settings are: SMS needs the SID, the token, a sender and recipients",
            field::field(missing).example,
        ));
    }
    let value = |var: &str| raw.get(var).unwrap_or("").trim().to_owned();
    let sid = value(NOTIFY_TWILIO_SID);
    if !(sid.starts_with("AC") && sid.len() == 34 && sid.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(err(
            NOTIFY_TWILIO_SID,
            Some(sid),
            "not a Twilio account SID (AC followed by 32 hex digits)",
            "AC0123456789abcdef0123456789abcdef",
        ));
    }
    let token = SecretString::from(value(NOTIFY_TWILIO_TOKEN));
    let from = value(NOTIFY_SMS_FROM);
    if !is_e164(&from) {
        return Err(err(
            NOTIFY_SMS_FROM,
            Some(from),
            "not an E.164 number (+ then country code and number)",
            "+15005550006",
        ));
    }
    let to_text = raw.get(NOTIFY_SMS_TO).unwrap_or("");
    let to = list(to_text);
    if to.is_empty() || to.iter().any(|n| !is_e164(n)) {
        return Err(err(
            NOTIFY_SMS_TO,
            Some(to_text.to_owned()),
            "not a comma-separated list of E.164 numbers",
            "+14155550100,+14155550101",
        ));
    }
    let base = secure_base_url(
        &Place::Var(field::field(NOTIFY_TWILIO_URL)),
        raw.get(NOTIFY_TWILIO_URL),
        "https://api.twilio.com",
    )?;
    Ok(Some(SmsConfig {
        base,
        sid,
        token,
        from,
        to,
    }))
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_recognised_and_validated() {
        let s = Raw::from_pairs([
            (
                NOTIFY_WEBHOOK,
                "https://hooks.slack.com/services/T1/B2/xyz, http://127.0.0.1:9/hook",
            ),
            (
                NOTIFY_SMTP_URL,
                "smtp://apikey:p%40ss+word@smtp.sendgrid.net",
            ),
            (NOTIFY_EMAIL_FROM, "autoscale@example.com"),
            (NOTIFY_EMAIL_TO, "a@example.com, b@example.com"),
        ]);
        let c = resolve(&s).unwrap();
        assert_eq!(c.webhooks.len(), 2);
        assert!(c.webhooks[0].slack && !c.webhooks[1].slack);
        let e = c.email.unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.security),
            ("smtp.sendgrid.net", 587, SmtpSecurity::StartTls)
        );
        assert_eq!(
            e.password
                .as_ref()
                .map(secrecy::ExposeSecret::expose_secret),
            Some("p@ss+word")
        );
        assert_eq!(e.to.len(), 2);
        assert_eq!(c.on, NotifyOn::Trouble);
        assert_eq!(c.repeat, Duration::from_secs(1800));
    }

    #[test]
    fn bad_values_name_the_variable_and_hide_secrets() {
        let cases = [
            (
                Raw::from_pairs([(NOTIFY_WEBHOOK, "http://example.com/services/T1/B2/secret")]),
                "AUTOSCALE_NOTIFY_WEBHOOK",
            ),
            (
                Raw::from_pairs([(NOTIFY_SMTP_URL, "smtp://u:secret@mail.example.com")]),
                "AUTOSCALE_NOTIFY_EMAIL_FROM",
            ),
            (
                Raw::from_pairs([
                    (NOTIFY_SMTP_URL, "imap://u:secret@x"),
                    (NOTIFY_EMAIL_FROM, "a@b.c"),
                    (NOTIFY_EMAIL_TO, "d@e.f"),
                ]),
                "AUTOSCALE_NOTIFY_SMTP_URL",
            ),
            (
                Raw::from_pairs([(NOTIFY_EMAIL_TO, "d@e.f")]),
                "AUTOSCALE_NOTIFY_SMTP_URL",
            ),
            (
                Raw::from_pairs([(NOTIFY_TWILIO_SID, "AC0123456789abcdef0123456789abcdef")]),
                "AUTOSCALE_NOTIFY_TWILIO_TOKEN",
            ),
            (
                Raw::from_pairs([(NOTIFY_ON, "sometimes")]),
                "AUTOSCALE_NOTIFY_ON",
            ),
            (
                Raw::from_pairs([(NOTIFY_REPEAT, "0s")]),
                "AUTOSCALE_NOTIFY_REPEAT",
            ),
        ];
        for (s, variable) in cases {
            let e = resolve(&s).unwrap_err();
            assert_eq!(e.variable, variable, "{e}");
            assert!(!e.to_string().contains("secret"), "{e}");
        }
        let sms = Raw::from_pairs([
            (NOTIFY_TWILIO_SID, "AC0123456789abcdef0123456789abcdef"),
            (NOTIFY_TWILIO_TOKEN, "tok"),
            (NOTIFY_SMS_FROM, "+15005550006"),
            (NOTIFY_SMS_TO, "0044 20 7946 0000"),
        ]);
        assert_eq!(
            resolve(&sms).unwrap_err().variable,
            "AUTOSCALE_NOTIFY_SMS_TO"
        );
    }

    #[test]
    fn secrets_are_redacted_for_display() {
        let url = Url::parse("https://hooks.slack.com/services/T1/B2/secret").unwrap();
        assert_eq!(redact_url(&url), "https://hooks.slack.com/…");
        let smtp = Url::parse("smtps://user:secret@mail.example.com:465").unwrap();
        assert_eq!(
            redact_credentials(&smtp),
            "smtps://user:***@mail.example.com:465"
        );
        assert!(is_e164("+4930123456") && !is_e164("+0123") && !is_e164("4930123456"));
        // Only Slack's host (or a loopback relay) gets Slack's shape.
        let other =
            Raw::from_pairs([(NOTIFY_WEBHOOK, "https://relay.example.com/services/T1/B2/x")]);
        assert!(!resolve(&other).unwrap().webhooks[0].slack);
        let local = Raw::from_pairs([
            (NOTIFY_SMTP_URL, "smtp://127.0.0.1:2525"),
            (NOTIFY_EMAIL_FROM, "a@b.c"),
            (NOTIFY_EMAIL_TO, "d@e.f"),
        ]);
        let email = resolve(&local).unwrap().email.unwrap();
        assert_eq!(
            (email.security, email.port, email.user),
            (SmtpSecurity::PlainLoopback, 2525, None)
        );
    }
}
