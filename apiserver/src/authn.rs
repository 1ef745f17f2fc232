//! Authentication: who is calling. A verified client certificate (CN = user, O = groups), or a
//! bearer token from the static token file (upstream `--token-auth-file` CSV format).
//! Anonymous callers reach only the health and version endpoints.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// An authenticated user, as upstream's `user.Info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    fn new(name: String, uid: String, mut groups: Vec<String>) -> Self {
        // Every authenticated request is also in system:authenticated, as upstream adds.
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        Self { name, uid, groups }
    }

    /// The user a verified client certificate names (DER).
    pub fn from_certificate(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let subject = cert.subject();
        let name = subject.iter_common_name().next()?.as_str().ok()?.to_string();
        let groups = subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_string)).collect();
        Some(Self::new(name, String::new(), groups))
    }
}

/// Static bearer tokens: `token,user,uid,"group1,group2"` per line.
#[derive(Default)]
pub struct TokenFile {
    tokens: HashMap<String, UserInfo>,
}

impl TokenFile {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in token file {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self> {
        let mut tokens = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields = split_csv(line);
            if fields.len() < 3 {
                bail!("line {}: want at least token,user,uid", n + 1);
            }
            let groups = fields
                .get(3)
                .map(|g| g.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect())
                .unwrap_or_default();
            tokens.insert(fields[0].clone(), UserInfo::new(fields[1].clone(), fields[2].clone(), groups));
        }
        Ok(Self { tokens })
    }

    pub fn authenticate(&self, token: &str) -> Option<UserInfo> {
        self.tokens.get(token).cloned()
    }
}

/// Splits one CSV line: fields separated by commas, a field may be double-quoted (with `""`
/// for a quote inside).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_lines_give_users_and_groups() {
        let file = TokenFile::parse(
            "# comment\nt1,alice,1001,\"devs,ops\"\nt2,bob,1002\n\nt3,\"carol, the admin\",1003,system:masters\n",
        )
        .unwrap();
        let alice = file.authenticate("t1").unwrap();
        assert_eq!(alice.name, "alice");
        assert_eq!(alice.uid, "1001");
        assert_eq!(alice.groups, ["devs", "ops", "system:authenticated"]);
        assert_eq!(file.authenticate("t2").unwrap().groups, ["system:authenticated"]);
        assert_eq!(file.authenticate("t3").unwrap().name, "carol, the admin");
        assert_eq!(file.authenticate("nope"), None);
        assert!(TokenFile::parse("onlytoken\n").is_err());
    }
}
