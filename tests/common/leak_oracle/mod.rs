//! An oracle, independent of tokendance, that says whether a printed text
//! shows a secret in any form a hostile server could echo it in.
//!
//! Two halves:
//! * [`encodings`]: every way a server might echo a secret back (the attacks
//!   the suites plant), among them every form the README promises: case
//!   changes, invisible and fullwidth characters, percent (either hex case,
//!   `%uXXXX`), form, HTML-entity, backslash and quoted-printable escapes,
//!   base64 (standard and URL-safe, at every alignment, wrapped with CRLF),
//!   hex (also `73:33:63`), the letters and digits alone, a separator after
//!   every character, and compositions of three layers;
//! * [`Oracle`]: built from every secret a flow knows, it finds any of them
//!   in a printed text. It works in both directions, so that it is stronger
//!   than either alone: the printed text is normalised into several views
//!   (invisible format characters removed, fullwidth ASCII folded, HTML
//!   entities decoded, case folded; then decoded layer by layer until
//!   nothing changes: `%XX`, `%uXXXX`, backslash escapes, HTML entities,
//!   each way round for `+` as a space and for quoted-printable `=XX`;
//!   decimal byte lists read back as bytes), each view also with its white
//!   space squeezed out and as its letters and digits alone, and each view
//!   is searched for forward-encoded forms of each secret (plain, percent
//!   forms, the base64 characters that depend only on the secret at each of
//!   the three alignments inside a longer blob, also in the squeezed views
//!   (wrapped blobs), hex, also in separated pairs, byte lists, JSON and
//!   backslash escapes, and, for secrets with at least
//!   [`LETTERS_AND_DIGITS_MIN`] of them, the letters and digits alone in the
//!   letters-and-digits views).
//!
//! Nothing here calls tokendance: an oracle that shared the crate's
//! normalisation would share its blind spots.

mod encoders;
mod oracle;
mod views;

// Each suite (and the fuzz harness) uses part of these.
#[allow(unused_imports)]
pub use encoders::*;
#[allow(unused_imports)]
pub use oracle::Oracle;
#[allow(unused_imports)]
pub use views::strip_and_fold;

/// Forward forms shorter than this are not searched (they would match by
/// chance); the plain secret always is.
pub const MIN_FORM_LEN: usize = 8;

/// Secrets with at least this many letters and digits are also found as
/// their letters and digits alone, in a text's letters and digits (the
/// README's promise).
pub const LETTERS_AND_DIGITS_MIN: usize = 8;

pub const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
