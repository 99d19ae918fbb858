//! Client wallets over HTTP ([`routes`]); balances and history come from `domain::ledger`.

pub mod routes;

// What the routes build on; `crate::wallet::X` names the domain item X.
pub use domain::wallet::*;
