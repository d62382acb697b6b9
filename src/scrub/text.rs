//! [`ServerText`]: a server's text handed to the caller as it came, printed
//! through the scrubber.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use super::{printable, Scrubber, WITHHELD};
use crate::error::MAX_MESSAGE_CHARS;

/// Text a server sent, handed to you as it came, that prints scrubbed.
///
/// [`as_str`](Self::as_str) (and `Deref` to `str`) give the text exactly as
/// the server sent it: it is your data. `Debug` and `Display` show it with
/// control characters as spaces and cut at
/// [`MAX_MESSAGE_CHARS`](crate::MAX_MESSAGE_CHARS) characters, or, when it
/// echoes a secret the flow knew (in any of the encodings the scrubber
/// recognises, see [the crate's Security section](crate#security)), as
/// [`WITHHELD`].
///
/// ```
/// use tokendance::{itc::Reply, ServerText};
/// let answer = http::Response::new(br#"{"code":"success","msg":"Done\nnext line"}"#.to_vec());
/// let reply = Reply::from_response(&answer)?;
/// let msg: &ServerText = reply.msg.as_ref().unwrap();
/// assert_eq!(msg.as_str(), "Done\nnext line");       // raw
/// assert_eq!(msg.to_string(), "Done next line");       // printable
/// # Ok::<(), tokendance::Error>(())
/// ```
#[derive(Clone, Eq)]
pub struct ServerText {
    text: String,
    withheld: bool,
}

impl ServerText {
    /// `text`, to be printed withheld if it echoes a secret `scrubber` knows.
    pub(crate) fn checked(text: impl Into<String>, scrubber: &Scrubber) -> Self {
        let text = text.into();
        let withheld = scrubber.echoes(&text);
        ServerText { text, withheld }
    }

    /// The text exactly as the server sent it.
    ///
    /// # Security warning
    /// It may echo a secret (see [`echoes_secret`](Self::echoes_secret)): do
    /// not log it as it is.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text exactly as the server sent it, moved out.
    pub fn into_string(self) -> String {
        self.text
    }

    /// Whether the text echoes a secret the flow knew, so that it prints
    /// as [`WITHHELD`].
    pub fn echoes_secret(&self) -> bool {
        self.withheld
    }
}

/// Text of your own, as a `ServerText` (to compare with, or to build a
/// value in a test): it prints as it is.
impl From<String> for ServerText {
    fn from(text: String) -> Self {
        ServerText {
            text,
            withheld: false,
        }
    }
}

impl From<&str> for ServerText {
    fn from(text: &str) -> Self {
        ServerText::from(text.to_owned())
    }
}

impl Deref for ServerText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for ServerText {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl PartialEq for ServerText {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl PartialEq<str> for ServerText {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for ServerText {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl Hash for ServerText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl fmt::Debug for ServerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.withheld {
            f.write_str(WITHHELD)
        } else {
            fmt::Debug::fmt(&printable(&self.text, MAX_MESSAGE_CHARS), f)
        }
    }
}

impl fmt::Display for ServerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.withheld {
            f.write_str(WITHHELD)
        } else {
            f.write_str(&printable(&self.text, MAX_MESSAGE_CHARS))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber() -> Scrubber {
        Scrubber::new(["s3cr3t:Key~1"])
    }

    #[test]
    fn server_text_prints_scrubbed_and_hands_out_raw() {
        let echo = ServerText::checked("echo czNjcjN0OktleX4x", &scrubber());
        assert!(echo.echoes_secret());
        assert_eq!(format!("{echo:?}"), WITHHELD);
        assert_eq!(echo.to_string(), WITHHELD);
        assert_eq!(echo.as_str(), "echo czNjcjN0OktleX4x");
        let plain = ServerText::checked("line\none", &scrubber());
        assert_eq!(format!("{plain:?}"), "\"line one\"");
        assert_eq!(plain, "line\none");
    }

    /// Raw access works alike on a withheld echo and on text of one's own.
    #[test]
    fn server_text_moves_out_and_compares_as_its_raw_text() {
        let echo = ServerText::checked("echo czNjcjN0OktleX4x", &scrubber());
        let raw: &str = echo.as_ref();
        assert_eq!(raw, "echo czNjcjN0OktleX4x");
        assert_eq!(echo.clone().into_string(), "echo czNjcjN0OktleX4x");
        let own = ServerText::from("echo czNjcjN0OktleX4x");
        assert!(!own.echoes_secret());
        assert_eq!(own, echo, "equal by text, withheld or not");
        assert_eq!(own.to_string(), "echo czNjcjN0OktleX4x");
    }
}
