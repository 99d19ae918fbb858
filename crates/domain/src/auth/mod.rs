//! Who a user is to the business: their role and account status, password hashing and the
//! signed tokens (access tokens, keyed hashes). Signing in over HTTP is the server's part.

pub mod password;
pub mod token;

/// What a user account may do (the column's allowed values).
pub use store::status::UserRole as Role;

/// Whether a user account can sign in (the column's allowed values).
pub use store::status::UserStatus as AccountStatus;
