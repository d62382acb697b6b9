//! A redis store for [`tokendance::fleet`]: carries out a
//! [`FleetKeeper`](tokendance::fleet::FleetKeeper)'s store operations.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
