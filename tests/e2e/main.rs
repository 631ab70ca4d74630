//! The end-to-end tests, linked into one binary: the local API over a real moto server, as a
//! curl user or a browser would use it, and the wiring of `template.yaml`. Only the log test
//! (`tests/logs.rs`) has a binary of its own, because it installs the global log subscriber.

mod account;
mod activity;
mod admin;
mod asvs;
mod auth_flow;
mod browser;
mod catalogue;
mod challenges;
mod concurrency;
mod corpus;
mod events;
mod faults;
mod firewall;
mod gateway;
mod hostile_account;
mod hostile_mfa;
mod local_cognito;
mod local_cognito_admin;
mod local_cognito_mfa;
mod local_cognito_sessions;
mod mfa;
mod openapi;
mod operator;
mod passkeys;
mod passwordless;
mod restore;
mod security;
mod self_service;
mod sessions;
mod sweeper;
mod template;
