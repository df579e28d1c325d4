//! ACL calls: `DescribeAcls` and `CreateAcls`, with Kafka's ACL vocabulary
//! (resource and pattern types, operations, permissions) as typed enums.
//!
//! Versions are negotiated per broker (see [`crate::versions`]): the codec
//! speaks v1 to v3 of both APIs (v2 and up are flexible), Kafka 3.9 serves
//! v0 to v3 and Kafka 4.x v1 to v3, so v3 is used with both. Every version
//! kmirror may pick carries the pattern type (v1 added it).
//!
//! A cluster without an authorizer answers SECURITY_DISABLED, a principal
//! without DESCRIBE (for `DescribeAcls`) or ALTER (for `CreateAcls`) on the
//! CLUSTER resource CLUSTER_AUTHORIZATION_FAILED; both come back as
//! [`ClientError::Broker`], to be told apart with
//! [`ClientError::broker_error`].
//!
//! ```no_run
//! # async fn demo() -> kmirror_client::Result<()> {
//! use kmirror_client::acls::{AclFilter, PatternType, ResourceType};
//! use kmirror_client::{ClientConfig, KafkaClient};
//!
//! let admin = KafkaClient::connect(ClientConfig::new("127.0.0.1:9092")).await?.admin();
//! let filter = AclFilter {
//!     resource_type: ResourceType::Topic,
//!     pattern_type: PatternType::Literal,
//!     ..AclFilter::any()
//! };
//! for binding in admin.describe_acls(&filter).await? {
//!     println!("{binding}");
//! }
//! # Ok(()) }
//! ```

use std::fmt;

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::{ApiKey, CreateAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;

use crate::admin::Admin;
use crate::error::{check_code, ClientError, Result};

/// Defines a Kafka ACL enum with its wire codes and a catch-all for codes a
/// newer broker may send.
macro_rules! acl_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A code this version of kmirror does not know.
            Other(i8),
        }

        impl $name {
            pub fn code(self) -> i8 {
                match self {
                    $($name::$variant => $code,)*
                    $name::Other(code) => code,
                }
            }

            pub fn from_code(code: i8) -> Self {
                match code {
                    $($code => $name::$variant,)*
                    other => $name::Other(other),
                }
            }
        }
    };
}

acl_enum!(
    /// The kind of resource an ACL protects.
    ResourceType {
        Unknown = 0,
        Any = 1,
        Topic = 2,
        Group = 3,
        Cluster = 4,
        TransactionalId = 5,
        DelegationToken = 6,
        User = 7,
    }
);

acl_enum!(
    /// How an ACL's resource name matches resources.
    PatternType {
        Unknown = 0,
        /// Filters only: any pattern type.
        Any = 1,
        /// Filters only: every ACL that would apply to the named resource.
        Match = 2,
        Literal = 3,
        Prefixed = 4,
    }
);

acl_enum!(
    /// What an ACL allows or denies.
    AclOperation {
        Unknown = 0,
        Any = 1,
        All = 2,
        Read = 3,
        Write = 4,
        Create = 5,
        Delete = 6,
        Alter = 7,
        Describe = 8,
        ClusterAction = 9,
        DescribeConfigs = 10,
        AlterConfigs = 11,
        IdempotentWrite = 12,
        CreateTokens = 13,
        DescribeTokens = 14,
        TwoPhaseCommit = 15,
    }
);

acl_enum!(
    /// Whether an ACL allows or denies.
    AclPermission {
        Unknown = 0,
        Any = 1,
        Deny = 2,
        Allow = 3,
    }
);

/// One ACL: who may (not) do what on which resources.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    /// "kafka-cluster" for the cluster resource.
    pub resource_name: String,
    pub pattern_type: PatternType,
    /// "User:alice", "User:*".
    pub principal: String,
    /// "*" for any host.
    pub host: String,
    pub operation: AclOperation,
    pub permission: AclPermission,
}

impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ACL {:?} {:?} for {} from {} on {:?} {:?} {:?}",
            self.permission,
            self.operation,
            self.principal,
            self.host,
            self.resource_type,
            self.pattern_type,
            self.resource_name
        )
    }
}

/// Which ACLs `describe_acls` returns; `None` matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: ResourceType,
    pub resource_name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission: AclPermission,
}

impl AclFilter {
    /// Matches every ACL.
    pub fn any() -> Self {
        AclFilter {
            resource_type: ResourceType::Any,
            resource_name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: AclPermission::Any,
        }
    }
}

impl fmt::Display for AclFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let any = |v: &Option<String>| v.clone().unwrap_or_else(|| "any".to_string());
        write!(
            f,
            "ACLs matching {:?} {:?} for {} from {} on {:?} {:?} {}",
            self.permission,
            self.operation,
            any(&self.principal),
            any(&self.host),
            self.resource_type,
            self.pattern_type,
            any(&self.resource_name)
        )
    }
}

/// What [`Admin::create_acls`] answers: each binding with its own outcome.
pub type CreatedAcls = Vec<(AclBinding, Result<()>)>;

impl Admin {
    /// The ACLs matching `filter`. A cluster without an authorizer answers
    /// SECURITY_DISABLED.
    pub async fn describe_acls(&self, filter: &AclFilter) -> Result<Vec<AclBinding>> {
        let request = DescribeAclsRequest::default()
            .with_resource_type_filter(filter.resource_type.code())
            .with_resource_name_filter(filter.resource_name.as_deref().map(str_bytes))
            .with_pattern_type_filter(filter.pattern_type.code())
            .with_principal_filter(filter.principal.as_deref().map(str_bytes))
            .with_host_filter(filter.host.as_deref().map(str_bytes))
            .with_operation(filter.operation.code())
            .with_permission_type(filter.permission.code());
        let client = self.client();
        let response = client
            .with_retries("describe acls", || async {
                let conn = client.any_connection().await?;
                conn.request(&request).await
            })
            .await?;
        check_code(
            ApiKey::DescribeAcls,
            response.error_code,
            || filter.to_string(),
            response.error_message.as_ref(),
        )?;
        Ok(response
            .resources
            .into_iter()
            .flat_map(|r| {
                let resource_type = ResourceType::from_code(r.resource_type);
                let pattern_type = PatternType::from_code(r.pattern_type);
                let resource_name = r.resource_name.to_string();
                r.acls.into_iter().map(move |a| AclBinding {
                    resource_type,
                    resource_name: resource_name.clone(),
                    pattern_type,
                    principal: a.principal.to_string(),
                    host: a.host.to_string(),
                    operation: AclOperation::from_code(a.operation),
                    permission: AclPermission::from_code(a.permission_type),
                })
            })
            .collect())
    }

    /// Creates ACLs. A cluster without an authorizer answers
    /// SECURITY_DISABLED for each.
    pub async fn create_acls(&self, acls: &[AclBinding]) -> Result<CreatedAcls> {
        if acls.is_empty() {
            return Ok(Vec::new());
        }
        let request = CreateAclsRequest::default().with_creations(
            acls.iter()
                .map(|a| {
                    AclCreation::default()
                        .with_resource_type(a.resource_type.code())
                        .with_resource_name(str_bytes(&a.resource_name))
                        .with_resource_pattern_type(a.pattern_type.code())
                        .with_principal(str_bytes(&a.principal))
                        .with_host(str_bytes(&a.host))
                        .with_operation(a.operation.code())
                        .with_permission_type(a.permission.code())
                })
                .collect(),
        );
        let client = self.client();
        let (addr, response) = client
            .with_retries("create acls", || async {
                let conn = client.any_connection().await?;
                let response = conn.request(&request).await?;
                Ok((conn.addr().to_string(), response))
            })
            .await?;
        let mut results = response.results.into_iter();
        Ok(acls
            .iter()
            .map(|acl| {
                let result = match results.next() {
                    Some(r) => check_code(
                        ApiKey::CreateAcls,
                        r.error_code,
                        || acl.to_string(),
                        r.error_message.as_ref(),
                    ),
                    None => Err(ClientError::Malformed {
                        addr: addr.clone(),
                        api: ApiKey::CreateAcls,
                        reason: format!("no result for {acl}"),
                    }),
                };
                (acl.clone(), result)
            })
            .collect())
    }
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}
