//! Pure API machinery, as upstream's `k8s.io/apimachinery`: no IO, no server, no client.
//!
//! - [`encoding`]: what upstream's Go decode/encode round trip makes of a built-in object's
//!   JSON (field order, `omitempty`, always-printed fields, the protobuf storage round trip),
//!   driven by facts generated from the 1.33 Go types (`scripts/gen-go-encoding-facts.py`);
//! - [`quantity`]: `resource.Quantity`, the one parser of quantities in the workspace.

pub mod encoding;
pub mod quantity;
