//! The garbage collector's picture of the cluster (upstream's GraphBuilder): every object with
//! its owners and dependents, by uid, fed by metadata watches of every resource. Applying a
//! change returns the work it causes; the graph itself never calls the apiserver.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

/// Enough to name an object to the apiserver.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub api_version: String,
    pub kind: String,
    /// The dependent's namespace for owners named by reference (owners are either in the same
    /// namespace or cluster-scoped).
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
}

/// What a change in the graph asks the workers to do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Work {
    /// Decide whether the object must go (its owners are gone or being deleted), or, for an
    /// owner deleting in the foreground, whether its blocking dependents are gone.
    AttemptToDelete(String),
    /// Take the owner's references out of its dependents, then its `orphan` finalizer.
    Orphan(String),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub identity: Identity,
    pub owners: Vec<OwnerReference>,
    pub dependents: HashSet<String>,
    pub being_deleted: bool,
    /// Carries the `foregroundDeletion` finalizer while being deleted.
    pub deleting_dependents: bool,
    pub orphan: bool,
    /// Only known as someone's owner: its existence is still to be checked.
    pub virtual_: bool,
}

/// One object as a watch shows it.
pub struct Observed {
    pub identity: Identity,
    pub owners: Vec<OwnerReference>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
}

impl Graph {
    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The uids of the real objects of one kind (to find what a relist no longer has).
    pub fn uids_of(&self, api_version: &str, kind: &str) -> Vec<String> {
        let same = |n: &&Node| !n.virtual_ && n.identity.api_version == api_version && n.identity.kind == kind;
        self.nodes.values().filter(same).map(|n| n.identity.uid.clone()).collect()
    }

    /// An object was added or changed.
    pub fn upsert(&mut self, seen: Observed) -> Vec<Work> {
        let mut work = Vec::new();
        let uid = seen.identity.uid.clone();
        let deleting_dependents = seen.deleting && seen.finalizers.iter().any(|f| f == FOREGROUND);
        let orphan = seen.deleting && seen.finalizers.iter().any(|f| f == ORPHAN);
        let (old_owners, was_virtual, was_deleting_dependents) = match self.nodes.get(&uid) {
            Some(n) => (n.owners.clone(), n.virtual_, n.deleting_dependents),
            None => (Vec::new(), false, false),
        };
        let node = self.nodes.entry(uid.clone()).or_insert_with(|| Node {
            identity: seen.identity.clone(),
            owners: Vec::new(),
            dependents: HashSet::new(),
            being_deleted: false,
            deleting_dependents: false,
            orphan: false,
            virtual_: false,
        });
        node.identity = seen.identity.clone();
        node.owners = seen.owners.clone();
        node.being_deleted = seen.deleting;
        node.deleting_dependents = deleting_dependents;
        node.orphan = orphan;
        node.virtual_ = false;
        let dependents: Vec<String> = node.dependents.iter().cloned().collect();
        // Owner links that went, and new ones (possibly to owners not seen yet).
        for gone in old_owners.iter().filter(|o| !seen.owners.iter().any(|n| n.uid == o.uid)) {
            if let Some(owner) = self.nodes.get_mut(&gone.uid) {
                owner.dependents.remove(&uid);
                if owner.deleting_dependents {
                    work.push(Work::AttemptToDelete(gone.uid.clone()));
                }
            }
        }
        let mut check_self = false;
        for owner in &seen.owners {
            match self.nodes.get_mut(&owner.uid) {
                Some(o) => {
                    o.dependents.insert(uid.clone());
                    if o.virtual_ || o.being_deleted {
                        check_self = true;
                    }
                }
                None => {
                    let identity = Identity {
                        api_version: owner.api_version.clone(),
                        kind: owner.kind.clone(),
                        namespace: seen.identity.namespace.clone(),
                        name: owner.name.clone(),
                        uid: owner.uid.clone(),
                    };
                    self.nodes.insert(
                        owner.uid.clone(),
                        Node {
                            identity,
                            owners: Vec::new(),
                            dependents: HashSet::from([uid.clone()]),
                            being_deleted: false,
                            deleting_dependents: false,
                            orphan: false,
                            virtual_: true,
                        },
                    );
                    work.push(Work::AttemptToDelete(owner.uid.clone()));
                }
            }
        }
        if check_self {
            work.push(Work::AttemptToDelete(uid.clone()));
        }
        if was_virtual {
            // Someone's owner turned out to exist: its dependents may have been judged early.
            work.extend(dependents.iter().cloned().map(Work::AttemptToDelete));
        }
        if deleting_dependents && !was_deleting_dependents {
            work.push(Work::AttemptToDelete(uid.clone()));
            work.extend(dependents.into_iter().map(Work::AttemptToDelete));
        }
        if orphan {
            work.push(Work::Orphan(uid));
        }
        work
    }

    /// An object is gone (or an owner was found not to exist): its dependents are looked at,
    /// and an owner waiting for it in the foreground is told.
    pub fn remove(&mut self, uid: &str) -> Vec<Work> {
        let Some(node) = self.nodes.remove(uid) else { return Vec::new() };
        let mut work: Vec<Work> = node.dependents.iter().cloned().map(Work::AttemptToDelete).collect();
        for owner in &node.owners {
            if let Some(o) = self.nodes.get_mut(&owner.uid) {
                o.dependents.remove(uid);
                if o.deleting_dependents {
                    work.push(Work::AttemptToDelete(owner.uid.clone()));
                }
                if o.virtual_ && o.dependents.is_empty() {
                    self.nodes.remove(&owner.uid);
                }
            }
        }
        // Dependents keep their references; keep a virtual stand-in so a reappearing owner
        // (same uid) is noticed, while the workers judge them.
        if !node.dependents.is_empty() {
            self.nodes
                .insert(uid.to_string(), Node { virtual_: true, owners: Vec::new(), being_deleted: true, ..node });
        }
        work
    }

    /// Forgets a virtual owner confirmed absent, leaving its dependents to be judged.
    pub fn forget_absent(&mut self, uid: &str) -> Vec<Work> {
        match self.nodes.get(uid) {
            Some(n) if n.virtual_ => {
                let dependents: Vec<String> = n.dependents.iter().cloned().collect();
                dependents.into_iter().map(Work::AttemptToDelete).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The dependents of `uid` whose reference to it blocks its deletion.
    pub fn blocking_dependents(&self, uid: &str) -> Vec<&Node> {
        let Some(node) = self.nodes.get(uid) else { return Vec::new() };
        node.dependents
            .iter()
            .filter_map(|d| self.nodes.get(d))
            .filter(|d| !d.virtual_)
            .filter(|d| d.owners.iter().any(|o| o.uid == uid && o.block_owner_deletion == Some(true)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(kind: &str, name: &str) -> Identity {
        Identity {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: Some("ns".into()),
            name: name.into(),
            uid: format!("{name}-uid"),
        }
    }

    fn owner(name: &str, block: bool) -> OwnerReference {
        OwnerReference {
            api_version: "v1".into(),
            kind: "ReplicationController".into(),
            name: name.into(),
            uid: format!("{name}-uid"),
            block_owner_deletion: Some(block),
            controller: Some(true),
        }
    }

    fn seen(kind: &str, name: &str, owners: Vec<OwnerReference>, finalizers: &[&str]) -> Observed {
        Observed {
            identity: id(kind, name),
            owners,
            deleting: !finalizers.is_empty(),
            finalizers: finalizers.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn an_unseen_owner_is_checked_then_its_dependents_judged() {
        let mut g = Graph::default();
        let work = g.upsert(seen("Pod", "p", vec![owner("rc", true)], &[]));
        assert_eq!(work, [Work::AttemptToDelete("rc-uid".into())]);
        assert!(g.get("rc-uid").is_some_and(|n| n.virtual_));
        assert_eq!(g.forget_absent("rc-uid"), [Work::AttemptToDelete("p-uid".into())]);
        // The owner shows up after all: its dependents are looked at again.
        let work = g.upsert(seen("ReplicationController", "rc", vec![], &[]));
        assert_eq!(work, [Work::AttemptToDelete("p-uid".into())]);
    }

    #[test]
    fn deleting_an_owner_puts_its_dependents_to_work() {
        let mut g = Graph::default();
        g.upsert(seen("ReplicationController", "rc", vec![], &[]));
        g.upsert(seen("Pod", "p", vec![owner("rc", true)], &[]));
        assert_eq!(g.remove("rc-uid"), [Work::AttemptToDelete("p-uid".into())]);
        // Foreground: the owner waits for blocking dependents and hears when they go.
        g.upsert(seen("ReplicationController", "rc2", vec![], &[]));
        g.upsert(seen("Pod", "q", vec![owner("rc2", true)], &[]));
        let work = g.upsert(seen("ReplicationController", "rc2", vec![], &[FOREGROUND]));
        assert_eq!(work, [Work::AttemptToDelete("rc2-uid".into()), Work::AttemptToDelete("q-uid".into())]);
        assert_eq!(g.blocking_dependents("rc2-uid").len(), 1);
        assert_eq!(g.remove("q-uid"), [Work::AttemptToDelete("rc2-uid".into())]);
        assert!(g.blocking_dependents("rc2-uid").is_empty());
        // Orphan: asked for once the finalizer is seen.
        g.upsert(seen("ReplicationController", "rc3", vec![], &[ORPHAN]));
        assert_eq!(g.upsert(seen("ReplicationController", "rc3", vec![], &[ORPHAN])), [Work::Orphan("rc3-uid".into())]);
    }
}
