//! [`Clock`]: where a node reads the time it stamps on commands and compares with the
//! catalog's timestamps (soak times, retry schedules, leases, reservations). Every Packyard
//! node reads time through it (`packyard-net`'s, re-exported here).

pub use packyard_net::node::Clock;
