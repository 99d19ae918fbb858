//! Admin work: review practitioner applications, suspend and reactivate accounts, read the
//! audit log and the dead-letter jobs. Every change here is audited.

pub mod oversight;
pub mod overview;
pub mod routes;
