//! Custom resources: the CustomResourceDefinition strategy (`definitions.rs`), the controller
//! that serves each established definition's versions (`controller.rs`), the strategy of the
//! custom objects themselves (`custom.rs`: schema defaulting, pruning and validation from
//! `schema/`), their `kubectl get` columns (`printer.rs`) and conversion webhooks
//! (`conversion.rs`).

pub mod controller;
pub mod conversion;
pub mod custom;
pub mod definitions;
pub mod names;
pub mod printer;
pub mod schema;
