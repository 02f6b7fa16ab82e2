//! reference-server
