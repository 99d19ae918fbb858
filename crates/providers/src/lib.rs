//! Outside protocols, as their providers document them: request shapes, response parsing
//! and signatures. Nothing here touches the database or knows the server; the adapters that
//! send these requests and the sandboxes that answer them build on it.

pub mod agora;
pub mod payments;
