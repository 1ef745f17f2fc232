//! Table-driven defaulting tests, after upstream's `defaults_test.go` files.

#[allow(dead_code)]
#[macro_use]
mod common;
mod control_plane;
mod core_v1_objects;
mod core_v1_pod;
mod other_groups;
mod workloads;
