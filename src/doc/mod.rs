//! Guides that are documentation only: no items, just text and examples that are compiled and
//! run as documentation tests.

pub mod keras_users;
