//! The three ways an alert leaves: webhook, email (SMTP), SMS (Twilio). Each send has a timeout
//! and one retry; its result is one `event=notify` line. Secrets never reach a log line: URLs are
//! redacted and reqwest's errors are stripped of theirs.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::settings::{
    redact_url, EmailConfig, NotifyConfig, SmsConfig, SmtpSecurity, WebhookConfig,
};
use super::Notice;
use crate::event::{Event, NotifyResult};
use crate::http::{error_chain, USER_AGENT};

/// How long one attempt of one send may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per send, the first included.
const ATTEMPTS: u32 = 2;
const RETRY_DELAY: Duration = Duration::from_secs(2);
/// Twilio's limit for one message body.
const SMS_MAX_CHARS: usize = 1600;

/// One configured destination.
pub enum Channel {
    Webhook {
        config: WebhookConfig,
        http: reqwest::Client,
    },
    Email(EmailConfig),
    Sms {
        config: SmsConfig,
        http: reqwest::Client,
    },
}

fn http() -> reqwest::Client {
    crate::http::build(crate::http::builder(USER_AGENT, SEND_TIMEOUT, SEND_TIMEOUT))
}

fn http_error(e: reqwest::Error) -> String {
    error_chain(&e)
}

impl Channel {
    /// Every channel the configuration enables.
    pub fn all(config: &NotifyConfig) -> Vec<Arc<Channel>> {
        let mut channels: Vec<Arc<Channel>> = config
            .webhooks
            .iter()
            .map(|w| {
                Arc::new(Channel::Webhook {
                    config: w.clone(),
                    http: http(),
                })
            })
            .collect();
        if let Some(email) = &config.email {
            channels.push(Arc::new(Channel::Email(email.clone())));
        }
        if let Some(sms) = &config.sms {
            channels.push(Arc::new(Channel::Sms {
                config: sms.clone(),
                http: http(),
            }));
        }
        channels
    }

    pub fn name(&self) -> &'static str {
        match self {
            Channel::Webhook { .. } => "webhook",
            Channel::Email(_) => "email",
            Channel::Sms { .. } => "sms",
        }
    }

    /// Where it goes, safe to print.
    pub fn describe(&self) -> String {
        match self {
            Channel::Webhook { config, .. } => format!(
                "{}{}",
                redact_url(&config.url),
                if config.slack { " (Slack)" } else { " (JSON)" }
            ),
            Channel::Email(c) => {
                let security = match c.security {
                    SmtpSecurity::StartTls => "STARTTLS",
                    SmtpSecurity::Implicit => "TLS",
                    SmtpSecurity::PlainLoopback => "plain, loopback",
                };
                let to: Vec<String> = c.to.iter().map(ToString::to_string).collect();
                format!(
                    "{}:{} ({security}) from {} to {}",
                    c.host,
                    c.port,
                    c.from,
                    to.join(", ")
                )
            }
            Channel::Sms { config, .. } => format!(
                "Twilio {} from {} to {}",
                redact_url(&config.base),
                config.from,
                config.to.join(", ")
            ),
        }
    }

    /// Sends with a timeout and one retry; logs the result; never fails the caller.
    pub async fn send_logged(&self, notice: &Notice) -> bool {
        let mut last = String::new();
        // SMS recipients already reached are not texted again by the retry (each SMS is paid).
        let mut delivered: Vec<String> = Vec::new();
        for attempt in 1..=ATTEMPTS {
            match tokio::time::timeout(
                SEND_TIMEOUT + Duration::from_secs(1),
                self.send(notice, &mut delivered),
            )
            .await
            {
                Ok(Ok(())) => {
                    Event::Notify {
                        channel: self.name().to_owned(),
                        kind: Some(notice.kind.as_str().to_owned()),
                        result: NotifyResult::Ok,
                        attempt: Some(attempt),
                        message: None,
                    }
                    .emit(tracing::Level::INFO);
                    return true;
                }
                Ok(Err(e)) => last = e,
                Err(_) => last = format!("no answer within {}s", SEND_TIMEOUT.as_secs()),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
        Event::Notify {
            channel: self.name().to_owned(),
            kind: Some(notice.kind.as_str().to_owned()),
            result: NotifyResult::Error,
            attempt: Some(ATTEMPTS),
            message: Some(last),
        }
        .emit(tracing::Level::ERROR);
        false
    }

    async fn send(&self, notice: &Notice, delivered: &mut Vec<String>) -> Result<(), String> {
        match self {
            Channel::Webhook { config, http } => {
                let body = if config.slack {
                    serde_json::json!({ "text": format!("*{}*\n{}", notice.subject(), notice.text()) })
                } else {
                    notice.json()
                };
                let response = http
                    .post(config.url.clone())
                    .json(&body)
                    .send()
                    .await
                    .map_err(http_error)?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(format!("HTTP {}", status.as_u16()))
                }
            }
            Channel::Email(config) => send_email(config, notice).await,
            Channel::Sms { config, http } => {
                let url = format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    config.base.as_str().trim_end_matches('/'),
                    config.sid
                );
                let mut body = format!("[autoscale] {}", notice.text());
                if body.chars().count() > SMS_MAX_CHARS {
                    body = body.chars().take(SMS_MAX_CHARS - 1).collect::<String>() + "…";
                }
                let pending: Vec<&String> = config
                    .to
                    .iter()
                    .filter(|to| !delivered.contains(to))
                    .collect();
                for to in pending {
                    let response = http
                        .post(&url)
                        .basic_auth(&config.sid, Some(config.token.expose_secret()))
                        .form(&[
                            ("To", to.as_str()),
                            ("From", config.from.as_str()),
                            ("Body", body.as_str()),
                        ])
                        .send()
                        .await
                        .map_err(http_error)?;
                    let status = response.status();
                    if !status.is_success() {
                        let text = response.text().await.unwrap_or_default();
                        let message = serde_json::from_str::<serde_json::Value>(&text)
                            .ok()
                            .and_then(|v| {
                                v.get("message").and_then(|m| m.as_str()).map(str::to_owned)
                            })
                            .unwrap_or_default();
                        return Err(format!("HTTP {} for {to} {message}", status.as_u16())
                            .trim()
                            .to_owned());
                    }
                    delivered.push(to.clone());
                }
                Ok(())
            }
        }
    }
}

async fn send_email(config: &EmailConfig, notice: &Notice) -> Result<(), String> {
    let mut builder = Message::builder()
        .from(Mailbox::new(Some("autoscale".into()), config.from.clone()))
        .subject(format!("[autoscale] {}", notice.subject()))
        .header(ContentType::TEXT_PLAIN);
    for to in &config.to {
        builder = builder.to(Mailbox::new(None, to.clone()));
    }
    let body = format!(
        "{}\n\napp: {}\nprocess: {}\nevent: {}\nreason: {}\nfrom: {}\nto: {}\nstatus: {}\nlatency_ms: {}\nat: {}\n",
        notice.text(),
        notice.app,
        notice.process,
        notice.kind.as_str(),
        notice.reason,
        notice.from.map(|n| n.to_string()).unwrap_or_default(),
        notice.to.map(|n| n.to_string()).unwrap_or_default(),
        notice.status,
        notice.latency_ms.map(|n| n.to_string()).unwrap_or_default(),
        notice.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let message = builder.body(body).map_err(|e| e.to_string())?;
    let transport = match config.security {
        SmtpSecurity::PlainLoopback => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
        }
        SmtpSecurity::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|e| e.to_string())?
        }
        SmtpSecurity::Implicit => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(|e| e.to_string())?
        }
    };
    let mut transport = transport.port(config.port).timeout(Some(SEND_TIMEOUT));
    let password = config
        .password
        .as_ref()
        .map(|p| p.expose_secret().to_owned())
        .unwrap_or_default();
    if let Some(user) = &config.user {
        transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
    }
    transport
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| redact_sent(&e.to_string(), config.user.as_deref(), &password))
}

/// A server's answer may quote what we sent (an echoing server repeats the AUTH line): every
/// form in which the password left us — plain, and base64 as AUTH PLAIN and AUTH LOGIN send it —
/// is cut from the text before it is logged.
fn redact_sent(text: &str, user: Option<&str>, password: &str) -> String {
    use base64::Engine as _;
    if password.is_empty() {
        return text.to_owned();
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let user = user.unwrap_or("");
    let mut forms = vec![
        password.to_owned(),
        b64(password),
        b64(&format!("\0{user}\0{password}")),
    ];
    // base64 of a longer text that contains the password: strip the padding so a prefix matches.
    forms.push(
        b64(&format!("\0{user}\0{password}"))
            .trim_end_matches('=')
            .to_owned(),
    );
    let mut out = text.to_owned();
    for form in forms.iter().filter(|f| f.len() >= 4) {
        out = out.replace(form.as_str(), "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_sent;

    #[test]
    fn what_was_sent_is_cut_from_a_server_s_answer() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let plain = b64("\0apikey\0SG.s3cret-pass");
        let answer = format!(
            "permanent error (535): 5.7.8 Authentication failed for AUTH PLAIN {plain} (SG.s3cret-pass, {})",
            b64("SG.s3cret-pass")
        );
        let shown = redact_sent(&answer, Some("apikey"), "SG.s3cret-pass");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains(&plain), "{shown}");
        assert!(!shown.contains(&b64("SG.s3cret-pass")), "{shown}");
        assert!(shown.contains("Authentication failed"), "{shown}");
        assert_eq!(
            redact_sent("no password here", None, ""),
            "no password here"
        );
    }
}
