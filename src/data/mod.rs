//! Data (stub).
