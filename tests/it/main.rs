//! Integration tests against real services started by e2e/services.sh.

mod fixtures;
