//! Helpers shared by the table-driven tests.

use serde_json::Value;

/// Defaults a copy of `input` as `group/version, Kind=kind`.
pub fn defaulted(group: &str, version: &str, kind: &str, input: &Value) -> Value {
    let mut obj = input.clone();
    crate::defaults::default_object(group, version, kind, &mut obj);
    obj
}

/// One table row: a name, the object sent, the object expected after defaulting.
pub struct Case {
    pub name: &'static str,
    pub input: Value,
    pub expected: Value,
}

/// Runs every case as `group/version, Kind=kind`, comparing whole objects.
pub fn run(group: &str, version: &str, kind: &str, cases: Vec<Case>) {
    for case in cases {
        let got = defaulted(group, version, kind, &case.input);
        assert_eq!(
            got,
            case.expected,
            "{kind}: {}\n got:  {}\n want: {}",
            case.name,
            serde_json::to_string_pretty(&got).unwrap(),
            serde_json::to_string_pretty(&case.expected).unwrap()
        );
        // Defaulting is idempotent: a second pass changes nothing.
        assert_eq!(defaulted(group, version, kind, &got), got, "{kind}: {} is not idempotent", case.name);
    }
}

/// Runs cases that only check one JSON pointer of the result.
pub fn run_at(group: &str, version: &str, kind: &str, pointer: &str, cases: Vec<(&str, Value, Value)>) {
    for (name, input, want) in cases {
        let got = defaulted(group, version, kind, &input);
        assert_eq!(got.pointer(pointer).cloned().unwrap_or(Value::Null), want, "{kind}: {name} at {pointer}\n{got:#}");
    }
}

macro_rules! case {
    ($name:expr, $input:expr, $expected:expr $(,)?) => {
        $crate::defaults::tests::common::Case { name: $name, input: $input, expected: $expected }
    };
}
