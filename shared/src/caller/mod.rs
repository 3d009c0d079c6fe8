//! Caller library (in progress).
