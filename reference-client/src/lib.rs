//! reference-client
