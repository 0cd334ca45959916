//! Server-Sent Events, as a log session's `logplex_url` may send them: the current Heroku CLI
//! opens every log stream with an EventSource (`Accept: text/event-stream`), and Fir's streams
//! answer in that framing. Each event's `data` is one log line (several `data:` fields make a
//! multi-line event: one log line each).
//!
//! Pure: the reader feeds it one line at a time (without its line ending), as it splits the
//! body; a blank line dispatches the event. What the spec (WHATWG HTML, "Server-sent events")
//! says and this keeps: `:` starts a comment; `field: value` drops one space after the colon;
//! a line without a colon is a field with an empty value; `data` appends, `id` is remembered
//! (one without NUL), `event` and `retry` are read and ignored — a log stream has one kind of
//! event, and when to reconnect is the reader's own backoff. Untrusted: an event's data is
//! capped at `max` bytes; a longer one is dropped whole and counted.

/// What one line of the stream did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sse {
    /// Nothing to hand on yet (a field, a comment, an empty event).
    Pending,
    /// An event ended: its data, one log line per `data:` field.
    Event(Vec<String>),
    /// An event ended whose data passed the cap: dropped.
    TooLong,
}

/// The decoder of one stream.
#[derive(Debug)]
pub struct SseDecoder {
    data: Vec<String>,
    size: usize,
    over: bool,
    max: usize,
    last_id: Option<String>,
}

impl SseDecoder {
    /// A decoder keeping at most `max` bytes of one event's data.
    pub fn new(max: usize) -> SseDecoder {
        SseDecoder {
            data: Vec::new(),
            size: 0,
            over: false,
            max,
            last_id: None,
        }
    }

    /// The latest event id the stream sent (what a reconnect could resume from).
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Takes one line of the body, its `\n` (and any `\r`) removed.
    pub fn line(&mut self, line: &str) -> Sse {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return Sse::Pending;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                // Once over, the size stays over: the rest of the event is dropped too.
                self.size = self.size.saturating_add(value.len() + 1);
                if self.size > self.max {
                    self.over = true;
                    self.data.clear();
                } else {
                    self.data.push(value.to_owned());
                }
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            _ => {}
        }
        Sse::Pending
    }

    fn dispatch(&mut self) -> Sse {
        let over = std::mem::take(&mut self.over);
        self.size = 0;
        let data = std::mem::take(&mut self.data);
        if over {
            Sse::TooLong
        } else if data.is_empty() {
            Sse::Pending
        } else {
            Sse::Event(data)
        }
    }
}

/// Whether a response's `Content-Type` is an event stream (parameters and case aside).
pub fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(d: &mut SseDecoder, text: &str) -> Vec<Sse> {
        text.split('\n')
            .map(|l| d.line(l))
            .filter(|s| *s != Sse::Pending)
            .collect()
    }

    fn event(lines: &[&str]) -> Sse {
        Sse::Event(lines.iter().map(|l| l.to_string()).collect())
    }

    #[test]
    fn each_event_s_data_is_a_log_line_and_a_blank_line_ends_it() {
        let mut d = SseDecoder::new(1024);
        let got = feed(
            &mut d,
            "id: 1\ndata: 2026-12-01T12:00:00Z heroku[router]: at=info\n\nid: 2\ndata:no space\n\n",
        );
        assert_eq!(
            got,
            [
                event(&["2026-12-01T12:00:00Z heroku[router]: at=info"]),
                event(&["no space"])
            ]
        );
        assert_eq!(d.last_id(), Some("2"));
    }

    #[test]
    fn a_multi_line_event_is_one_log_line_per_data_field() {
        let mut d = SseDecoder::new(1024);
        assert_eq!(
            feed(&mut d, "data: first\ndata:  second\r\ndata\n\n"),
            [event(&["first", " second", ""])]
        );
    }

    #[test]
    fn comments_other_fields_and_empty_events_hand_on_nothing() {
        let mut d = SseDecoder::new(1024);
        assert!(feed(&mut d, ": keep-alive\nevent: log\nretry: 10\n\n\n").is_empty());
        // An id with a NUL is ignored; the previous one stays.
        feed(&mut d, "id: 7\n\nid: a\0b\n\n");
        assert_eq!(d.last_id(), Some("7"));
        assert_eq!(d.line("id"), Sse::Pending);
        assert_eq!(d.last_id(), Some(""));
    }

    #[test]
    fn an_event_over_the_cap_is_dropped_whole_and_the_next_one_reads() {
        let mut d = SseDecoder::new(10);
        assert_eq!(feed(&mut d, "data: 12345\ndata: 6789\n\n"), [Sse::TooLong]);
        assert_eq!(feed(&mut d, "data: 123456789\n\n"), [event(&["123456789"])]);
        assert_eq!(feed(&mut d, "data: 1234567890\n\n"), [Sse::TooLong]);
        assert_eq!(feed(&mut d, "data: ok\n\n"), [event(&["ok"])]);
    }

    #[test]
    fn the_content_type_decides_the_framing() {
        assert!(is_event_stream("text/event-stream"));
        assert!(is_event_stream("Text/Event-Stream; charset=utf-8"));
        assert!(!is_event_stream("text/plain; charset=utf-8"));
        assert!(!is_event_stream("text/event-streams"));
        assert!(!is_event_stream(""));
    }
}
