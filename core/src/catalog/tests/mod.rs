//! Tests of the catalog, one file per rule of SPEC §3 plus the cross-cutting ones.

mod fixture;

mod atomicity;
mod edges;
mod leases;
mod log_format;
mod r11_version_numbers;
mod r12_immutability;
mod r13_four_eyes;
mod r14_who_manages_whom;
mod r1_internal_beta;
mod r2_external_review;
mod r3_external_testing;
mod r4_build_first;
mod r5_approval_notifies;
mod r6_app_store;
mod r7_archive;
mod r8_roles;
mod r9_quota;
mod rollouts;
mod serde_round_trip;
mod serving_changes;
mod tester_tokens;
mod upload_files;
mod users_and_keys;
mod version_expiry;
mod webhooks;
