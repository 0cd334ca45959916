//! The alert settings: what the channels are and how they are shown (secrets redacted).
//! They are read and validated from AUTOSCALE_NOTIFY_* by [`crate::config::notify`].

use std::time::Duration;

use lettre::Address;
use secrecy::SecretString;
use url::Url;

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
    pub password: Option<SecretString>,
    pub from: Address,
    pub to: Vec<Address>,
}

#[derive(Clone)]
pub struct SmsConfig {
    pub base: Url,
    pub sid: String,
    pub token: SecretString,
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

/// The SMTP URL with its password replaced, for messages.
pub fn redact_credentials(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}
