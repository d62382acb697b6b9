//! One token for a whole fleet: processes that share a key (a CRPT
//! `omsConnection`, an ITC account, a GAM client) share one token record in
//! a store, and renew it once for all of them.
//!
//! CRPT keeps one live token per connection and revokes the previous one on
//! every sign-in, so workers that sign in on their own revoke each other's
//! tokens; Keycloak refresh-token rotation locks out a second process that
//! refreshes the same refresh token. A [`FleetKeeper`] per process, all on
//! one [`Record`] in a store, makes the fleet renew once:
//!
//! * the keeper is sans-IO: it asks for store operations
//!   ([`FleetAction::Store`]: read, or compare-and-set on the record's
//!   version) as flows ask for HTTP requests, and takes their answers;
//! * the store only needs an atomic compare-and-set on one key.
//!   [`MemoryStore`] is one in memory (for one process, and the reference
//!   every adapter must match);
//! * the record's JSON is documented in [`record`](self::Record) with a
//!   format version, so a process in another language can join.
//!
//! What the protocol guarantees, and what it assumes:
//!
//! * **One renewal at a time.** A lease is taken by compare-and-set and
//!   lasts [`renewal_timeout`](crate::Pacing::renewal_timeout) on the
//!   holder's clock; others treat it as live until its end plus
//!   [`skew`](FleetSettings::skew) on theirs. While any two clocks differ
//!   by at most `skew`, no two leases overlap in real time.
//! * **Fencing.** The holder confirms its lease in the store, with
//!   [`fence_margin`](FleetSettings::fence_margin) left, right before the
//!   request that issues a token. A holder paused between that check and
//!   the request itself is not fenced (no store can stop a request already
//!   decided); keep the fence margin above your longest pause there.
//! * **Never over a newer record.** Every write names the version it read;
//!   a holder paused past its lease finds the version moved and publishes
//!   nothing.
//! * **Crashes.** A holder that dies is replaced when its lease ends (plus
//!   skew); its record is left as it was.
//!
//! ## The record
//!
//! A [`Record`]'s JSON form (format 1) is the contract between processes,
//! whatever language they are written in:
//!
//! ```json
//! {
//!   "format": 1,
//!   "key": "crpt:suz:conn-1",
//!   "version": 7,
//!   "token": {
//!     "access_token": "…",
//!     "obtained_at_ms": 1700000000000,
//!     "expires_at_ms": 1700036000000,
//!     "refresh_token": null,
//!     "refresh_expires_at_ms": null,
//!     "published_version": 5
//!   },
//!   "rejected_version": null,
//!   "lease": { "holder": "pod-a/4711", "until_ms": 1700000300000, "version": 7 },
//!   "failures": 0,
//!   "backoff_until_ms": null
//! }
//! ```
//!
//! * `version` goes up by one with every write; a write names the version it
//!   read and fails if the record moved on. Newer is decided by version,
//!   never by the clocks in the record.
//! * `token` is the live token, `published_version` the version that
//!   published it; `rejected_version` equal to it means the API refused it
//!   (a 401) and nobody may use it again.
//! * `lease` is the right to renew: its `holder`, the instant it ends on the
//!   holder's clock, and the version that took it. Others treat it as live
//!   until `until_ms` plus their skew margin.
//! * `failures` and `backoff_until_ms`: renewals that failed in a row, and
//!   the instant (on the failing holder's clock) before which nobody starts
//!   another.
//!
//! Times are Unix milliseconds. Unknown fields are refused, and so is any
//! other `format`: a process that does not understand a record must not
//! overwrite it.

#[cfg(feature = "fake")]
pub mod conformance;
mod keeper;
mod record;
mod source;
mod store;

pub use keeper::{Fence, FleetAction, FleetKeeper, FleetSettings, FleetTicket};
pub use record::{Lease, Record, RecordError, SharedToken, MAX_NAME_BYTES, MAX_RECORD_BYTES, RECORD_FORMAT};
pub use source::FleetSource;
pub use store::{MemoryStore, StoreAnswer, StoreError, StoreOp, StoreOpKind};
