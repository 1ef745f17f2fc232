//! Name conflicts between definitions of one group (upstream's naming controller): a definition
//! whose singular name, short names, kind or list kind another definition has already been
//! given is not served; its NamesAccepted condition says why.

use serde_json::Value;

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(v: &'a Value, pointer: &str) -> Vec<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The first conflict of `crd`'s requested names with the accepted names of `others`, as
/// (reason, message).
pub fn conflict(crd: &Value, others: &[Value]) -> Option<(&'static str, String)> {
    let group = text(crd, "/spec/group");
    let name = crate::object::name(crd);
    let in_use = |n: &str| format!("{n:?} is already in use");
    for other in others.iter().filter(|o| text(o, "/spec/group") == group && crate::object::name(o) != name) {
        let accepted = |k: &str| text(other, &format!("/status/acceptedNames/{k}"));
        if accepted("plural").is_empty() {
            continue;
        }
        let taken = [accepted("plural"), accepted("singular")];
        let singular = text(crd, "/spec/names/singular");
        if !singular.is_empty() && taken.contains(&singular) {
            return Some(("SingularConflict", in_use(singular)));
        }
        let other_short = list(other, "/status/acceptedNames/shortNames");
        if let Some(short) =
            list(crd, "/spec/names/shortNames").into_iter().find(|s| other_short.contains(s) || taken.contains(s))
        {
            return Some(("ShortNamesConflict", in_use(short)));
        }
        let kind = text(crd, "/spec/names/kind");
        if kind == accepted("kind") {
            return Some(("KindConflict", in_use(kind)));
        }
        let list_kind = text(crd, "/spec/names/listKind");
        if !list_kind.is_empty() && list_kind == accepted("listKind") {
            return Some(("ListKindConflict", in_use(list_kind)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd(name: &str, plural: &str, kind: &str, short: &[&str], accepted: bool) -> Value {
        let names = json!({"plural": plural, "singular": plural.trim_end_matches('s'), "kind": kind,
            "listKind": format!("{kind}List"), "shortNames": short});
        let status = if accepted { json!({"acceptedNames": names}) } else { json!({}) };
        json!({"metadata": {"name": name}, "spec": {"group": "example.com", "names": names}, "status": status})
    }

    #[test]
    fn names_in_use_by_an_accepted_definition_conflict() {
        let widgets = crd("widgets.example.com", "widgets", "Widget", &["wg"], true);
        let gadgets = crd("gadgets.example.com", "gadgets", "Gadget", &["wg"], false);
        assert_eq!(
            conflict(&gadgets, std::slice::from_ref(&widgets)),
            Some(("ShortNamesConflict", "\"wg\" is already in use".into()))
        );
        let twin = crd("twins.example.com", "twins", "Widget", &[], false);
        assert_eq!(conflict(&twin, std::slice::from_ref(&widgets)).map(|c| c.0), Some("KindConflict"));
        let fine = crd("gizmos.example.com", "gizmos", "Gizmo", &["gz"], false);
        assert_eq!(conflict(&fine, std::slice::from_ref(&widgets)), None);
        assert_eq!(conflict(&widgets, &[gadgets]), None, "a definition without accepted names takes nothing");
    }
}
