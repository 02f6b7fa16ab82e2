//! p2pchat-bench
