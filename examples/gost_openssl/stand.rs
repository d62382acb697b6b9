//! The stand that the example and `tests/gost.rs` both sign against: the
//! crate's fakes behind the `openssl cms -verify` gateway, served on
//! 127.0.0.1 on a virtual clock, and the driving of a flow over it with the
//! GOST signer.
//!
//! Both wrote this setup out, line for line; it lives here so that the
//! test checks the very stand the example shows. What each adds of its own
//! (the test records every exchange, the example prints rows) comes in
//! through `watch` and the `sign` closure.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokendance::drive::{self, DriveError};
use tokendance::fake::Fakes;
use tokendance::{transport, Flow, SignJob, Signature, Timestamp};

use crate::gateway::CmsGateway;
use crate::signer::GostError;
use crate::support::{LoopbackServer, VirtualClock};

/// 2026-01-01T00:00:00Z: where the virtual clock starts.
pub const START: Timestamp = Timestamp::from_unix_secs(1_767_225_600);

/// What a flow driven over the stand ends with.
pub type Driven<T> = Result<T, DriveError<transport::ureq::Error, GostError>>;

/// Told of every exchange, after the gateway answered it.
pub type Watch = dyn Fn(&http::Request<Vec<u8>>, &http::Response<Vec<u8>>) + Send + Sync;

/// The gateway-fronted fakes on loopback, their clock, and an agent to reach them.
pub struct Stand {
    pub gateway: Arc<Mutex<CmsGateway>>,
    pub clock: VirtualClock,
    pub agent: ureq::Agent,
    pub server: LoopbackServer,
}

impl Stand {
    /// Starts the stand: signatures are checked with the engine config
    /// `conf` against the certificate `ca`.
    pub fn start(conf: &Path, ca: &Path, watch: Box<Watch>) -> Result<Self, GostError> {
        let gateway = Arc::new(Mutex::new(CmsGateway::new(Fakes::new(), conf, ca)?));
        let clock = VirtualClock::starting_at(START);
        let server = {
            let (gateway, clock) = (Arc::clone(&gateway), clock.clone());
            LoopbackServer::start(Arc::new(move |request: http::Request<Vec<u8>>| {
                let response = gateway
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .handle(clock.now(), &request);
                watch(&request, &response);
                response
            }))
            .map_err(|e| GostError(format!("no loopback server: {e}")))?
        };
        Ok(Stand {
            gateway,
            clock,
            agent: transport::ureq::agent(Duration::from_secs(30)),
            server,
        })
    }

    /// Drives `flow` over HTTP to the stand, on its clock, signing with
    /// `sign` (which also keeps whatever its caller wants to see of a job).
    pub fn drive<F: Flow>(
        &self,
        flow: F,
        sign: impl FnMut(&SignJob) -> Result<Signature, GostError>,
    ) -> Driven<F::Output> {
        drive::drive(
            flow,
            || self.clock.now(),
            transport::ureq::send(&self.agent),
            sign,
            |until| self.clock.advance_to(until),
        )
    }
}
