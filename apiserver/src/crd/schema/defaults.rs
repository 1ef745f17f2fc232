//! Defaulting (apiextensions' structural defaulting): a property's `default` fills it in when the
//! property is missing, or `null` without being nullable, in an object that exists; `null` items
//! of arrays and values of maps take their schema's default the same way. Defaults are pruned
//! against their own schema first, as the server prunes them when it loads the CRD.

use serde_json::Value;

use super::{Additional, default_of, items, nullable, properties, prune};

pub(super) fn apply(x: &mut Value, s: &Value) {
    match x {
        Value::Object(m) => {
            for (k, prop) in properties(s).into_iter().flatten() {
                let Some(d) = default_of(prop) else { continue };
                let missing = m.get(k).is_none_or(|v| v.is_null() && !nullable(prop));
                if missing {
                    m.insert(k.clone(), pruned(d, prop));
                }
            }
            let addl = Additional::of(s);
            for (k, v) in m.iter_mut() {
                if let Some(prop) = properties(s).and_then(|p| p.get(k)) {
                    apply(v, prop);
                } else if let Some(a) = addl.schema() {
                    fill_null(v, a);
                    apply(v, a);
                }
            }
        }
        Value::Array(a) => {
            if let Some(item) = items(s) {
                for v in a.iter_mut() {
                    fill_null(v, item);
                    apply(v, item);
                }
            }
        }
        _ => {}
    }
}

/// A non-nullable `null` takes the schema's default (and stays null without one).
fn fill_null(v: &mut Value, s: &Value) {
    if v.is_null()
        && !nullable(s)
        && let Some(d) = default_of(s)
    {
        *v = pruned(d, s);
    }
}

fn pruned(d: &Value, s: &Value) -> Value {
    let mut v = d.clone();
    prune::prune_value(&mut v, s);
    v
}
