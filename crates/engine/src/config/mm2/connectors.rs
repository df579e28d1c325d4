//! The MM2 connector a Connect JSON config names.

/// Which MM2 connector a Connect JSON config was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorClass {
    /// `org.apache.kafka.connect.mirror.MirrorSourceConnector`: topics, offset syncs.
    Source,
    /// `org.apache.kafka.connect.mirror.MirrorCheckpointConnector`: checkpoints, group offsets.
    Checkpoint,
    /// `org.apache.kafka.connect.mirror.MirrorHeartbeatConnector`: heartbeats.
    Heartbeat,
}

impl ConnectorClass {
    /// The fully qualified Java class name.
    pub fn java_class_name(self) -> &'static str {
        match self {
            ConnectorClass::Source => "org.apache.kafka.connect.mirror.MirrorSourceConnector",
            ConnectorClass::Checkpoint => {
                "org.apache.kafka.connect.mirror.MirrorCheckpointConnector"
            }
            ConnectorClass::Heartbeat => "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector",
        }
    }

    /// Parses a class name as Connect accepts it: fully qualified, simple
    /// (`MirrorSourceConnector`) or alias (`MirrorSource`).
    pub fn from_class_name(name: &str) -> Option<Self> {
        let simple = name
            .strip_prefix("org.apache.kafka.connect.mirror.")
            .unwrap_or(name);
        let simple = simple.strip_suffix("Connector").unwrap_or(simple);
        match simple {
            "MirrorSource" => Some(ConnectorClass::Source),
            "MirrorCheckpoint" => Some(ConnectorClass::Checkpoint),
            "MirrorHeartbeat" => Some(ConnectorClass::Heartbeat),
            _ => None,
        }
    }
}

/// The connector a config came from, for the Connect JSON form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorInfo {
    /// `name`.
    pub name: Option<String>,
    /// `connector.class`.
    pub class: ConnectorClass,
}
