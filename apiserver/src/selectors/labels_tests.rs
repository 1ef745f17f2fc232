//! Tests of the label selector parser, matching and error texts.
use super::*;
use serde_json::json;

const U: &str = "unable to parse requirement: ";
const NAME_RE: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_RE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const DNS_RE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const EMPTY_IN: &str = "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty";

fn map(v: Value) -> Map<String, Value> {
    if let Value::Object(m) = v { m } else { Map::new() }
}

#[test]
fn parse_round_trips_to_canonical_form() {
    let cases = [
        ("", ""),
        ("   ", ""),
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x= ,z= ", "x=,z="),
        ("!x", "!x"),
        ("x>1,z<5", "x>1,z<5"),
        ("z=c,x=a", "x=a,z=c"),
        ("a==b", "a==b"),
        ("  a  in  ( c , b ,b ) ", "a in (b,c)"),
        ("a notin (x)", "a notin (x)"),
        ("a in ()", "a in ()"),
        ("a in (,b)", "a in (,b)"),
        ("a in (b,)", "a in (,b)"),
        ("a in (b,,c)", "a in (,b,c)"),
        ("x in (in,notin)", "x in (in,notin)"),
        ("notin=in", "notin=in"),
        ("example.com/app=web,\tk\n", "example.com/app=web,k"),
        ("x=a,x!=b", "x=a,x!=b"),
        ("!a,b", "!a,b"),
    ];
    for (input, want) in cases {
        let sel = Selector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(sel.to_string(), want, "input {input:?}");
        assert_eq!(input.parse::<Selector>().ok(), Some(sel));
    }
}

#[test]
fn parse_errors_match_upstream_text() {
    let int = "for 'Gt', 'Lt' operators, the value must be an integer";
    let ops = "expected: in, notin, =, ==, !=, gt, lt";
    let cases = [
        // '|' is not an operator character, so `a||y` is one (invalid) value.
        ("x=a||y=b", format!("{U}values[0][x]: Invalid value: \"a||y\": {VALUE_RE}")),
        ("x==a==b", "found '==', expected: ',' or 'end of string'".into()),
        // A NUL byte ends an identifier and is dropped, as upstream's lexer does.
        ("x=1\0junk", "found 'junk', expected: ',' or 'end of string'".into()),
        ("!x=a", "found '=', expected: ',' or 'end of string'".into()),
        ("x<a", format!("{U}values[0]: Invalid value: \"a\": {int}")),
        ("x,", "found '', expected: identifier after ','".into()),
        ("x,,y", "found ',', expected: identifier after ','".into()),
        (",x", "found ',', expected: !, identifier, or 'end of string'".into()),
        ("=a", "found '=', expected: !, identifier, or 'end of string'".into()),
        ("!", format!("{U}found '', expected: identifier")),
        ("!!x", format!("{U}found '!', expected: identifier")),
        ("x y", format!("{U}found 'y', {ops}")),
        ("a b=c", format!("{U}found 'b', {ops}")),
        ("x in a", format!("{U}found 'a' expected: '('")),
        ("x in (a", format!("{U}found '', expected: ',' or ')'")),
        ("x in (a b)", format!("{U}found 'b', expected: ',' or ')'")),
        ("x in (=)", format!("{U}found '=', expected: ',', ')' or identifier")),
        ("x in (a,=)", format!("{U}found '=', expected: ',', or identifier")),
        ("x = =", format!("{U}found '=', expected: identifier")),
        ("x<=1", format!("{U}found '=', expected: identifier")),
        ("a@b=c", format!("{U}<nil>: Invalid value: \"a@b\": {NAME_RE}")),
        ("x=a@b", format!("{U}values[0][x]: Invalid value: \"a@b\": {VALUE_RE}")),
        ("x>-1", format!("{U}values[0][x]: Invalid value: \"-1\": {VALUE_RE}")),
        ("/x", format!("{U}<nil>: Invalid value: \"/x\": prefix part must be non-empty")),
        ("x/", format!("{U}<nil>: Invalid value: \"x/\": name part must be non-empty; {NAME_RE}")),
        ("Example.com/x", format!("{U}<nil>: Invalid value: \"Example.com/x\": prefix part {DNS_RE}")),
        (
            "a/b/c",
            format!(
                "{U}<nil>: Invalid value: \"a/b/c\": a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                &NAME_RE[10..]
            ),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(Selector::parse(input), Err(SelectorError::new(want)), "input {input:?}");
    }
}

#[test]
fn length_limits() {
    let long = "a".repeat(64);
    let key_err = format!("{U}<nil>: Invalid value: \"{long}\": name part must be no more than 63 characters");
    assert_eq!(Selector::parse(&format!("{long}=x")), Err(SelectorError::new(key_err)));
    assert!(Selector::parse(&format!("{}=x", "a".repeat(63))).is_ok());
    let value_err = format!("{U}values[0][x]: Invalid value: \"{long}\": must be no more than 63 characters");
    assert_eq!(Selector::parse(&format!("x={long}")), Err(SelectorError::new(value_err)));
    assert!(label_value_errors(&"v".repeat(63)).is_empty());
    assert_eq!(dns1123_subdomain_errors(&"a".repeat(254)), vec!["must be no more than 253 characters"]);
    assert!(qualified_name_errors(&format!("{}/x", "a".repeat(253))).is_empty());
}

#[test]
fn matching_table() {
    let cases = [
        ("", json!({"x": "y"}), true),
        ("x=y,z=w", json!({"x": "y", "z": "w"}), true),
        ("x=y,z=w", json!({"x": "w", "z": "w"}), false),
        ("x!=y,z!=w", json!({"x": "z", "z": "a"}), true),
        ("x!=y,z!=w", json!({"x": "z", "z": "w"}), false),
        ("x==y", json!({"x": "y"}), true),
        ("x=z", json!({}), false),
        ("x", json!({"x": "z"}), true),
        ("x", json!({"y": "z"}), false),
        ("!x", json!({"y": "z"}), true),
        ("!x", json!({"x": "z"}), false),
        ("x>1", json!({"x": "2"}), true),
        ("x>1", json!({"x": "1"}), false),
        ("x<1", json!({"x": "-5"}), true),
        ("x<1", json!({"x": "2"}), false),
        ("x>1", json!({"x": "abc"}), false),
        ("x>1", json!({}), false),
        ("x in (a,b)", json!({"x": "b"}), true),
        ("x in (a,b)", json!({}), false),
        ("x notin (a,b)", json!({}), true),
        ("x notin (a,b)", json!({"x": "a"}), false),
        ("x in ()", json!({"x": ""}), true),
        ("x=", json!({"x": ""}), true),
        ("x=", json!({}), false),
        ("x!=", json!({}), true),
    ];
    for (sel, labels, want) in cases {
        let s = Selector::parse(sel).unwrap_or_else(|e| panic!("{sel}: {e}"));
        assert_eq!(s.matches(Some(&map(labels.clone()))), want, "{sel} vs {labels}");
    }
    assert_eq!(Selector::parse("!x").map(|s| s.matches(None)), Ok(true));
    assert_eq!(Selector::parse("x").map(|s| s.matches(None)), Ok(false));
    assert!(Selector::everything().is_empty() && Selector::everything().matches(None));
    assert!(!Selector::nothing().is_empty() && !Selector::nothing().matches(Some(&map(json!({"a": "b"})))));
    assert_eq!(Selector::nothing().to_string(), "");
}

#[test]
fn label_selector_json() {
    let all = json!({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["b", "a"]},
        {"key": "env", "operator": "NotIn", "values": ["prod"]},
        {"key": "app", "operator": "Exists"},
        {"key": "gone", "operator": "DoesNotExist", "values": []}
    ]});
    let ok = [
        (json!({}), ""),
        (json!({"matchLabels": null, "matchExpressions": []}), ""),
        (json!({"matchLabels": {"b": "2", "a": "1"}}), "a=1,b=2"),
        (all, "app=web,app,env notin (prod),!gone,tier in (a,b)"),
    ];
    for (input, want) in ok {
        let sel = from_label_selector(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert!(!sel.is_nothing());
        assert_eq!(sel.to_string(), want);
    }
    assert_eq!(from_label_selector(&Value::Null), Ok(Selector::nothing()));
    assert_eq!(from_optional_label_selector(None), Ok(Selector::nothing()));

    let expr = |e: Value| json!({ "matchExpressions": [e] });
    let bad = [
        (expr(json!({"key": "a", "operator": "In"})), EMPTY_IN.to_string()),
        (expr(json!({"key": "a", "operator": "NotIn", "values": []})), EMPTY_IN.to_string()),
        (
            expr(json!({"key": "a", "operator": "Exists", "values": ["x", "y"]})),
            "values: Invalid value: []string{\"x\", \"y\"}: values set must be empty for exists and does not exist"
                .to_string(),
        ),
        (
            expr(json!({"key": "a", "operator": "Gt", "values": ["1"]})),
            "\"Gt\" is not a valid label selector operator".into(),
        ),
        (expr(json!({"key": "a"})), "\"\" is not a valid label selector operator".into()),
        (json!({"matchLabels": {"a": "b c"}}), format!("values[0][a]: Invalid value: \"b c\": {VALUE_RE}")),
        // Several problems are aggregated in brackets, as upstream.
        (expr(json!({"key": "-a", "operator": "In"})), format!("[key: Invalid value: \"-a\": {NAME_RE}, {EMPTY_IN}]")),
    ];
    for (input, want) in bad {
        assert_eq!(from_label_selector(&input), Err(SelectorError::new(want)), "{input}");
    }
}

#[test]
fn requirement_construction() {
    assert!(Requirement::new("a", Operator::Equals, vec![]).is_err());
    assert!(Requirement::new("a", Operator::GreaterThan, vec!["1".into(), "2".into()]).is_err());
    assert!(Requirement::new("a", Operator::LessThan, vec!["7".into()]).is_ok());
    // Parses as an integer but is not a valid label value.
    assert!(Requirement::new("a", Operator::LessThan, vec!["+7".into()]).is_err());
    let mut s = Selector::parse("c=1,a=1").unwrap_or_default();
    s.add(Requirement::new("b", Operator::NotIn, vec!["y".into(), "x".into()]).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(s.to_string(), "a=1,b notin (x,y),c=1");
    assert_eq!(s.requires_exact_match("c"), Some("1"));
    assert_eq!(s.requires_exact_match("b"), None);
    assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
}
