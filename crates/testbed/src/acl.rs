//! ACLs through the cluster's admin client, for clusters started with
//! [`SecurityOptions::authorizer`](crate::SecurityOptions::authorizer).

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::admin;
use crate::cluster::KafkaCluster;

/// One ACL, with Kafka's enum names (`resource_type` `TOPIC`, `GROUP`,
/// `CLUSTER`, `TRANSACTIONAL_ID`; `pattern_type` `LITERAL`, `PREFIXED`;
/// `operation` `READ`, `WRITE`, `CREATE`, `DESCRIBE`, `DESCRIBE_CONFIGS`,
/// `ALTER_CONFIGS`, `ALL`, ...; `permission` `ALLOW`, `DENY`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AclBinding {
    pub resource_type: String,
    pub name: String,
    pub pattern_type: String,
    pub principal: String,
    pub host: String,
    pub operation: String,
    pub permission: String,
}

impl AclBinding {
    /// `ALLOW principal operation` on the literal topic `topic`, any host.
    pub fn allow_topic(principal: &str, topic: &str, operation: &str) -> Self {
        Self::new("TOPIC", topic, principal, operation, "ALLOW")
    }

    /// `DENY principal operation` on the literal topic `topic`, any host.
    pub fn deny_topic(principal: &str, topic: &str, operation: &str) -> Self {
        Self::new("TOPIC", topic, principal, operation, "DENY")
    }

    /// A literal-pattern ACL for any host.
    pub fn new(
        resource_type: &str,
        name: &str,
        principal: &str,
        operation: &str,
        permission: &str,
    ) -> Self {
        Self {
            resource_type: resource_type.to_string(),
            name: name.to_string(),
            pattern_type: "LITERAL".to_string(),
            principal: principal.to_string(),
            host: "*".to_string(),
            operation: operation.to_string(),
            permission: permission.to_string(),
        }
    }

    /// The same ACL with another pattern type (`PREFIXED`).
    pub fn pattern(mut self, pattern_type: &str) -> Self {
        self.pattern_type = pattern_type.to_string();
        self
    }
}

/// Which ACLs to list or delete; `None` fields match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AclFilter {
    pub resource_type: Option<String>,
    pub name: Option<String>,
    /// `None` is `ANY`; `MATCH` also finds the prefixed and wildcard ACLs
    /// that apply to `name`.
    pub pattern_type: Option<String>,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Option<String>,
    pub permission: Option<String>,
}

impl AclFilter {
    /// Every ACL.
    pub fn any() -> Self {
        Self::default()
    }

    /// The ACLs on the topic `topic` (literal name, any pattern type).
    pub fn topic(topic: &str) -> Self {
        Self {
            resource_type: Some("TOPIC".to_string()),
            name: Some(topic.to_string()),
            ..Self::default()
        }
    }

    /// The ACLs of `principal` (`User:name`).
    pub fn principal(principal: &str) -> Self {
        Self {
            principal: Some(principal.to_string()),
            ..Self::default()
        }
    }
}

#[derive(Deserialize)]
struct AclList {
    acls: Vec<AclBinding>,
}

impl KafkaCluster {
    /// Creates ACLs (through the PLAINTEXT admin client, a super user).
    ///
    /// # Panics
    /// If Kafka refuses, e.g. without an authorizer
    /// (`SecurityDisabledException`).
    pub fn create_acls(&self, acls: &[AclBinding]) {
        self.admin_request(&json!({"op": "create-acls", "acls": acls}))
            .unwrap_or_else(|e| panic!("{}: {e}", self.name()));
    }

    /// The ACLs matching `filter`, sorted.
    pub fn list_acls(&self, filter: &AclFilter) -> Vec<AclBinding> {
        let result = self
            .admin_request(&json!({"op": "list-acls", "filter": filter}))
            .unwrap_or_else(|e| panic!("{}: {e}", self.name()));
        let mut acls = admin::parse::<AclList>("list-acls", result).acls;
        acls.sort();
        acls
    }

    /// Deletes the ACLs matching `filter`; returns them, sorted.
    pub fn delete_acls(&self, filter: &AclFilter) -> Vec<AclBinding> {
        let result = self
            .admin_request(&json!({"op": "delete-acls", "filter": filter}))
            .unwrap_or_else(|e| panic!("{}: {e}", self.name()));
        let mut acls = admin::parse::<AclList>("delete-acls", result).acls;
        acls.sort();
        acls
    }
}
