//! The AUTOSCALE_NOTIFY_* settings and their validation (same one-line errors as the rest).

use std::time::Duration;

use clap::Args;
use lettre::Address;
use url::Url;

use crate::config::{is_loopback_host, secure_base_url, ConfigError};

/// Raw alert settings; see README "Alerts". No Debug: they hold secrets as plain strings.
#[derive(Args, Clone, Default)]
pub struct NotifySettings {
    /// Webhook URL(s), comma-separated; Slack URLs get Slack's shape (never printed).
    #[arg(
        long,
        env = "AUTOSCALE_NOTIFY_WEBHOOK",
        hide_env_values = true,
        global = true
    )]
    pub notify_webhook: Option<String>,
    /// smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (password never printed).
    #[arg(
        long,
        env = "AUTOSCALE_NOTIFY_SMTP_URL",
        hide_env_values = true,
        global = true
    )]
    pub notify_smtp_url: Option<String>,
    /// Sender address of alert emails.
    #[arg(long, env = "AUTOSCALE_NOTIFY_EMAIL_FROM", global = true)]
    pub notify_email_from: Option<String>,
    /// Recipients of alert emails, comma-separated.
    #[arg(long, env = "AUTOSCALE_NOTIFY_EMAIL_TO", global = true)]
    pub notify_email_to: Option<String>,
    /// Twilio account SID.
    #[arg(long, env = "AUTOSCALE_NOTIFY_TWILIO_SID", global = true)]
    pub notify_twilio_sid: Option<String>,
    /// Twilio auth token (never printed).
    #[arg(
        long,
        env = "AUTOSCALE_NOTIFY_TWILIO_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub notify_twilio_token: Option<String>,
    /// SMS sender number, E.164.
    #[arg(long, env = "AUTOSCALE_NOTIFY_SMS_FROM", global = true)]
    pub notify_sms_from: Option<String>,
    /// SMS recipients, comma-separated, E.164.
    #[arg(long, env = "AUTOSCALE_NOTIFY_SMS_TO", global = true)]
    pub notify_sms_to: Option<String>,
    /// Twilio API base URL [default: https://api.twilio.com].
    #[arg(long, env = "AUTOSCALE_NOTIFY_TWILIO_URL", global = true)]
    pub notify_twilio_url: Option<String>,
    /// `trouble` or `all` (every scale too) [default: trouble].
    #[arg(long, env = "AUTOSCALE_NOTIFY_ON", global = true)]
    pub notify_on: Option<String>,
    /// The same condition is sent again at most this often [default: 30m].
    #[arg(long, env = "AUTOSCALE_NOTIFY_REPEAT", global = true)]
    pub notify_repeat: Option<String>,
}

pub const VARIABLES: &[&str] = &[
    "AUTOSCALE_NOTIFY_WEBHOOK",
    "AUTOSCALE_NOTIFY_SMTP_URL",
    "AUTOSCALE_NOTIFY_EMAIL_FROM",
    "AUTOSCALE_NOTIFY_EMAIL_TO",
    "AUTOSCALE_NOTIFY_TWILIO_SID",
    "AUTOSCALE_NOTIFY_TWILIO_TOKEN",
    "AUTOSCALE_NOTIFY_SMS_FROM",
    "AUTOSCALE_NOTIFY_SMS_TO",
    "AUTOSCALE_NOTIFY_TWILIO_URL",
    "AUTOSCALE_NOTIFY_ON",
    "AUTOSCALE_NOTIFY_REPEAT",
];

/// Which events are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyOn {
    /// Scale-outs, still unhealthy at max, recovery, failed scales, a risky start.
    Trouble,
    /// All of that and every scale.
    All,
}

/// A webhook target. The URL carries a token: it is shown only as [`redact_url`] gives it.
#[derive(Clone)]
pub struct WebhookConfig {
    pub url: Url,
    pub slack: bool,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redact_url(&self.url))
            .field("slack", &self.slack)
            .finish()
    }
}

/// How SMTP is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// smtp:// to a remote host: STARTTLS is required.
    StartTls,
    /// smtps://: TLS from the first byte.
    Implicit,
    /// smtp:// to loopback: plain (local relays, tests).
    PlainLoopback,
}

#[derive(Clone)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: Address,
    pub to: Vec<Address>,
}

#[derive(Clone)]
pub struct SmsConfig {
    pub base: Url,
    pub sid: String,
    pub token: String,
    pub from: String,
    pub to: Vec<String>,
}

impl std::fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "(redacted)"))
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("base", &self.base.as_str())
            .field("sid", &self.sid)
            .field("token", &"(redacted)")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

/// The validated alert configuration.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub webhooks: Vec<WebhookConfig>,
    pub email: Option<EmailConfig>,
    pub sms: Option<SmsConfig>,
    pub on: NotifyOn,
    pub repeat: Duration,
}

impl NotifyConfig {
    pub fn is_empty(&self) -> bool {
        self.webhooks.is_empty() && self.email.is_none() && self.sms.is_none()
    }
}

/// `scheme://host[:port]/…`: enough to recognise a URL, never its token.
pub fn redact_url(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = if url.path().len() > 1 { "/…" } else { "" };
    format!("{}://{host}{port}{path}", url.scheme())
}

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
    flag: &'static str,
    value: Option<String>,
    problem: impl Into<String>,
    example: &str,
) -> ConfigError {
    ConfigError {
        variable,
        flag,
        value,
        problem: problem.into(),
        example: example.into(),
    }
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

impl NotifySettings {
    pub fn resolve(&self) -> Result<NotifyConfig, ConfigError> {
        let mut webhooks = Vec::new();
        if let Some(text) = &self.notify_webhook {
            for item in list(text) {
                let url = Url::parse(&item).map_err(|e| {
                    err(
                        "AUTOSCALE_NOTIFY_WEBHOOK",
                        "notify-webhook",
                        None,
                        format!("an entry is not a URL ({e}); the value is not shown because webhook URLs carry tokens"),
                        "AUTOSCALE_NOTIFY_WEBHOOK=https://hooks.slack.com/services/T000/B000/XXXX",
                    )
                })?;
                let secure =
                    url.scheme() == "https" || (url.scheme() == "http" && is_loopback_host(&url));
                if !secure || url.host().is_none() {
                    return Err(err(
                        "AUTOSCALE_NOTIFY_WEBHOOK",
                        "notify-webhook",
                        Some(redact_url(&url)),
                        "must be https (plain http only to loopback): the URL carries a token",
                        "AUTOSCALE_NOTIFY_WEBHOOK=https://hooks.slack.com/services/T000/B000/XXXX",
                    ));
                }
                webhooks.push(WebhookConfig {
                    slack: is_slack(&url),
                    url,
                });
            }
        }

        let email = self.resolve_email()?;
        let sms = self.resolve_sms()?;

        let on = match self
            .notify_on
            .as_deref()
            .map(|s| s.trim().to_ascii_lowercase())
        {
            None => NotifyOn::Trouble,
            Some(s) if s == "trouble" => NotifyOn::Trouble,
            Some(s) if s == "all" => NotifyOn::All,
            Some(_) => {
                return Err(err(
                    "AUTOSCALE_NOTIFY_ON",
                    "notify-on",
                    self.notify_on.clone(),
                    "must be trouble or all",
                    "AUTOSCALE_NOTIFY_ON=trouble",
                ))
            }
        };
        let repeat = match self.notify_repeat.as_deref() {
            None => Duration::from_secs(30 * 60),
            Some(t) => match humantime::parse_duration(t.trim()) {
                Ok(d) if !d.is_zero() => d,
                _ => {
                    return Err(err(
                        "AUTOSCALE_NOTIFY_REPEAT",
                        "notify-repeat",
                        Some(t.to_owned()),
                        "not a duration above zero",
                        "AUTOSCALE_NOTIFY_REPEAT=30m",
                    ))
                }
            },
        };
        Ok(NotifyConfig {
            webhooks,
            email,
            sms,
            on,
            repeat,
        })
    }

    fn resolve_email(&self) -> Result<Option<EmailConfig>, ConfigError> {
        const EXAMPLE: &str =
            "AUTOSCALE_NOTIFY_SMTP_URL=smtp://apikey:SECRET@smtp.sendgrid.net:587";
        let (Some(text), from, to) = (
            self.notify_smtp_url.as_deref(),
            &self.notify_email_from,
            &self.notify_email_to,
        ) else {
            if self.notify_email_from.is_some() || self.notify_email_to.is_some() {
                return Err(err(
                    "AUTOSCALE_NOTIFY_SMTP_URL",
                    "notify-smtp-url",
                    None,
                    "is not set, but AUTOSCALE_NOTIFY_EMAIL_FROM/_TO are: email needs an SMTP server",
                    EXAMPLE,
                ));
            }
            return Ok(None);
        };
        let url = Url::parse(text.trim()).map_err(|e| {
            err(
                "AUTOSCALE_NOTIFY_SMTP_URL",
                "notify-smtp-url",
                None,
                format!("not a URL ({e}); the value is not shown because it carries a password"),
                EXAMPLE,
            )
        })?;
        let shown = Some(redact_credentials(&url));
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                err(
                    "AUTOSCALE_NOTIFY_SMTP_URL",
                    "notify-smtp-url",
                    shown.clone(),
                    "has no host",
                    EXAMPLE,
                )
            })?
            .trim_matches(['[', ']'])
            .to_owned();
        let (security, default_port) = match url.scheme() {
            "smtps" => (SmtpSecurity::Implicit, 465),
            "smtp" if is_loopback_host(&url) => (SmtpSecurity::PlainLoopback, 25),
            "smtp" => (SmtpSecurity::StartTls, 587),
            _ => {
                return Err(err(
                    "AUTOSCALE_NOTIFY_SMTP_URL",
                    "notify-smtp-url",
                    shown,
                    "scheme must be smtp (STARTTLS) or smtps (implicit TLS)",
                    EXAMPLE,
                ))
            }
        };
        let decode = |s: &str| percent_decode(s);
        let user = (!url.username().is_empty()).then(|| decode(url.username()));
        let password = url.password().map(decode);
        let from_text = from.as_deref().ok_or_else(|| {
            err(
                "AUTOSCALE_NOTIFY_EMAIL_FROM",
                "notify-email-from",
                None,
                "is not set, but AUTOSCALE_NOTIFY_SMTP_URL is",
                "AUTOSCALE_NOTIFY_EMAIL_FROM=autoscale@example.com",
            )
        })?;
        let from_address: Address = from_text.trim().parse().map_err(|e| {
            err(
                "AUTOSCALE_NOTIFY_EMAIL_FROM",
                "notify-email-from",
                Some(from_text.to_owned()),
                format!("not an email address ({e})"),
                "AUTOSCALE_NOTIFY_EMAIL_FROM=autoscale@example.com",
            )
        })?;
        let to_text = to.as_deref().unwrap_or("");
        let mut recipients = Vec::new();
        for item in list(to_text) {
            recipients.push(item.parse::<Address>().map_err(|e| {
                err(
                    "AUTOSCALE_NOTIFY_EMAIL_TO",
                    "notify-email-to",
                    Some(to_text.to_owned()),
                    format!("{item:?} is not an email address ({e})"),
                    "AUTOSCALE_NOTIFY_EMAIL_TO=oncall@example.com,cto@example.com",
                )
            })?);
        }
        if recipients.is_empty() {
            return Err(err(
                "AUTOSCALE_NOTIFY_EMAIL_TO",
                "notify-email-to",
                to.clone(),
                "names no recipient, but AUTOSCALE_NOTIFY_SMTP_URL is set",
                "AUTOSCALE_NOTIFY_EMAIL_TO=oncall@example.com,cto@example.com",
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

    fn resolve_sms(&self) -> Result<Option<SmsConfig>, ConfigError> {
        let fields = [
            ("AUTOSCALE_NOTIFY_TWILIO_SID", &self.notify_twilio_sid),
            ("AUTOSCALE_NOTIFY_TWILIO_TOKEN", &self.notify_twilio_token),
            ("AUTOSCALE_NOTIFY_SMS_FROM", &self.notify_sms_from),
            ("AUTOSCALE_NOTIFY_SMS_TO", &self.notify_sms_to),
        ];
        if fields.iter().all(|(_, v)| v.is_none()) {
            return Ok(None);
        }
        if let Some((name, _)) = fields
            .iter()
            .find(|(_, v)| v.as_deref().is_none_or(|s| s.trim().is_empty()))
        {
            let (flag, example) = match *name {
                "AUTOSCALE_NOTIFY_TWILIO_SID" => (
                    "notify-twilio-sid",
                    "AUTOSCALE_NOTIFY_TWILIO_SID=AC0123456789abcdef0123456789abcdef",
                ),
                "AUTOSCALE_NOTIFY_TWILIO_TOKEN" => (
                    "notify-twilio-token",
                    "AUTOSCALE_NOTIFY_TWILIO_TOKEN=(your auth token)",
                ),
                "AUTOSCALE_NOTIFY_SMS_FROM" => {
                    ("notify-sms-from", "AUTOSCALE_NOTIFY_SMS_FROM=+15005550006")
                }
                _ => (
                    "notify-sms-to",
                    "AUTOSCALE_NOTIFY_SMS_TO=+14155550100,+14155550101",
                ),
            };
            return Err(err(name, flag, None, "is not set, but other SMS settings are: SMS needs the SID, the token, a sender and recipients", example));
        }
        let sid = self
            .notify_twilio_sid
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_owned();
        if !(sid.starts_with("AC")
            && sid.len() == 34
            && sid.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(err(
                "AUTOSCALE_NOTIFY_TWILIO_SID",
                "notify-twilio-sid",
                Some(sid),
                "not a Twilio account SID (AC followed by 32 hex digits)",
                "AUTOSCALE_NOTIFY_TWILIO_SID=AC0123456789abcdef0123456789abcdef",
            ));
        }
        let token = self
            .notify_twilio_token
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_owned();
        let from = self
            .notify_sms_from
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_owned();
        if !is_e164(&from) {
            return Err(err(
                "AUTOSCALE_NOTIFY_SMS_FROM",
                "notify-sms-from",
                Some(from),
                "not an E.164 number (+ then country code and number)",
                "AUTOSCALE_NOTIFY_SMS_FROM=+15005550006",
            ));
        }
        let to_text = self.notify_sms_to.as_deref().unwrap_or("");
        let to = list(to_text);
        if to.is_empty() || to.iter().any(|n| !is_e164(n)) {
            return Err(err(
                "AUTOSCALE_NOTIFY_SMS_TO",
                "notify-sms-to",
                Some(to_text.to_owned()),
                "not a comma-separated list of E.164 numbers",
                "AUTOSCALE_NOTIFY_SMS_TO=+14155550100,+14155550101",
            ));
        }
        let base = secure_base_url(
            "AUTOSCALE_NOTIFY_TWILIO_URL",
            "notify-twilio-url",
            self.notify_twilio_url.as_deref(),
            "https://api.twilio.com",
            "AUTOSCALE_NOTIFY_TWILIO_URL=https://api.twilio.com",
        )?;
        Ok(Some(SmsConfig {
            base,
            sid,
            token,
            from,
            to,
        }))
    }
}

/// The SMTP URL with its password replaced, for messages.
pub fn redact_credentials(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
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
        let s = NotifySettings {
            notify_webhook: Some(
                "https://hooks.slack.com/services/T1/B2/xyz, http://127.0.0.1:9/hook".into(),
            ),
            notify_smtp_url: Some("smtp://apikey:p%40ss+word@smtp.sendgrid.net".into()),
            notify_email_from: Some("autoscale@example.com".into()),
            notify_email_to: Some("a@example.com, b@example.com".into()),
            ..NotifySettings::default()
        };
        let c = s.resolve().unwrap();
        assert_eq!(c.webhooks.len(), 2);
        assert!(c.webhooks[0].slack && !c.webhooks[1].slack);
        let e = c.email.unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.security),
            ("smtp.sendgrid.net", 587, SmtpSecurity::StartTls)
        );
        assert_eq!(e.password.as_deref(), Some("p@ss+word"));
        assert_eq!(e.to.len(), 2);
        assert_eq!(c.on, NotifyOn::Trouble);
        assert_eq!(c.repeat, Duration::from_secs(1800));
    }

    #[test]
    fn bad_values_name_the_variable_and_hide_secrets() {
        let cases = [
            (
                NotifySettings {
                    notify_webhook: Some("http://example.com/services/T1/B2/secret".into()),
                    ..Default::default()
                },
                "AUTOSCALE_NOTIFY_WEBHOOK",
            ),
            (
                NotifySettings {
                    notify_smtp_url: Some("smtp://u:secret@mail.example.com".into()),
                    ..Default::default()
                },
                "AUTOSCALE_NOTIFY_EMAIL_FROM",
            ),
            (
                NotifySettings {
                    notify_smtp_url: Some("imap://u:secret@x".into()),
                    notify_email_from: Some("a@b.c".into()),
                    notify_email_to: Some("d@e.f".into()),
                    ..Default::default()
                },
                "AUTOSCALE_NOTIFY_SMTP_URL",
            ),
            (
                NotifySettings {
                    notify_email_to: Some("d@e.f".into()),
                    ..Default::default()
                },
                "AUTOSCALE_NOTIFY_SMTP_URL",
            ),
            (
                NotifySettings {
                    notify_twilio_sid: Some("AC0123456789abcdef0123456789abcdef".into()),
                    ..Default::default()
                },
                "AUTOSCALE_NOTIFY_TWILIO_TOKEN",
            ),
            (
                NotifySettings {
                    notify_on: Some("sometimes".into()),
                    ..Default::default()
                },
                "AUTOSCALE_NOTIFY_ON",
            ),
            (
                NotifySettings {
                    notify_repeat: Some("0s".into()),
                    ..Default::default()
                },
                "AUTOSCALE_NOTIFY_REPEAT",
            ),
        ];
        for (s, variable) in cases {
            let e = s.resolve().unwrap_err();
            assert_eq!(e.variable, variable, "{e}");
            assert!(!e.to_string().contains("secret"), "{e}");
        }
        let sms = NotifySettings {
            notify_twilio_sid: Some("AC0123456789abcdef0123456789abcdef".into()),
            notify_twilio_token: Some("tok".into()),
            notify_sms_from: Some("+15005550006".into()),
            notify_sms_to: Some("0044 20 7946 0000".into()),
            ..Default::default()
        };
        assert_eq!(
            sms.resolve().unwrap_err().variable,
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
        let other = NotifySettings {
            notify_webhook: Some("https://relay.example.com/services/T1/B2/x".into()),
            ..Default::default()
        };
        assert!(!other.resolve().unwrap().webhooks[0].slack);
        let local = NotifySettings {
            notify_smtp_url: Some("smtp://127.0.0.1:2525".into()),
            notify_email_from: Some("a@b.c".into()),
            notify_email_to: Some("d@e.f".into()),
            ..Default::default()
        };
        let email = local.resolve().unwrap().email.unwrap();
        assert_eq!(
            (email.security, email.port, email.user),
            (SmtpSecurity::PlainLoopback, 2525, None)
        );
    }
}
