//! The `refresh` function: renews the Orange token before it gets old and stores it in SSM.
//!
//! Read top-down: [`handler::handle`] validates the event ([`request`]), reads the stored
//! envelope, decides with `orange_token::renewal::refresh_reason`, fetches a token with
//! the credentials from Secrets Manager, and stores the new envelope.

pub mod handler;
pub mod request;
