package dev.kmirror.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;

/**
 * {@code admin --bootstrap B [--prop k=v]...}: a request/response loop over one
 * Admin client, so that a test pays the JVM start once per cluster rather than
 * once per topic operation.
 *
 * <p>Each input line is {@code {"op":..., ...}}; each answer one line,
 * {@code {"ok":true,"result":...}} or {@code {"ok":false,"error":...,"errorClass":...}}.
 */
final class Admin {
    private static final long TIMEOUT_MS = 30_000;

    private final org.apache.kafka.clients.admin.Admin admin;

    private Admin(org.apache.kafka.clients.admin.Admin admin) {
        this.admin = admin;
    }

    static int run(String[] argv) throws Exception {
        Args args = new Args(argv, 1, TestClient.set("bootstrap", "prop"), TestClient.set());
        Properties props = TestClient.clientProps(args);
        // Short request timeouts: the Rust side polls, and a dead broker must
        // not hold one answer for the default 30 s.
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "50");
        props.put(AdminClientConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "500");
        // Started before the brokers listen: notice them soon after they do.
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "50");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
        args.applyProps(props);
        try (org.apache.kafka.clients.admin.Admin client = org.apache.kafka.clients.admin.Admin.create(props)) {
            Admin server = new Admin(client);
            JsonNode request;
            while ((request = TestClient.nextInput()) != null) {
                ObjectNode response = TestClient.object();
                try {
                    response.set("result", server.handle(request));
                    response.put("ok", true);
                } catch (Exception e) {
                    Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
                    response.put("ok", false);
                    response.put("error", String.valueOf(cause.getMessage()));
                    response.put("errorClass", cause.getClass().getSimpleName());
                }
                TestClient.emit(response);
                TestClient.OUT.flush();
            }
        }
        return 0;
    }

    private JsonNode handle(JsonNode request) throws Exception {
        String op = request.path("op").asText();
        return switch (op) {
            case "describe-cluster" -> describeCluster();
            case "broker-ready" -> brokerReady(request.get("id").asInt());
            case "create-topic" -> createTopic(request);
            case "delete-topic" -> deleteTopic(request.get("topic").asText());
            case "list" -> list(request.path("internal").asBoolean(false));
            case "describe" -> describe(request.get("topic").asText());
            case "configs" -> configs(request.get("topic").asText());
            case "alter-config" -> alterConfig(request);
            case "create-partitions" -> createPartitions(request);
            case "offsets" -> offsets(request);
            case "list-groups" -> listGroups();
            case "group-offsets" -> groupOffsets(request.get("group").asText());
            case "alter-group-offsets" -> alterGroupOffsets(request);
            case "create-acls" -> Acls.create(admin, request.path("acls"));
            case "list-acls" -> Acls.list(admin, request.path("filter"));
            case "delete-acls" -> Acls.delete(admin, request.path("filter"));
            default -> throw new IllegalArgumentException("unknown admin op '" + op + "'");
        };
    }

    private JsonNode describeCluster() throws Exception {
        DescribeClusterResult cluster = admin.describeCluster();
        ObjectNode result = TestClient.object();
        result.put("clusterId", cluster.clusterId().get(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        Node controller = cluster.controller().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        if (controller == null || controller.isEmpty()) {
            result.putNull("controller");
        } else {
            result.put("controller", controller.id());
        }
        result.set("nodes", nodeIds(cluster.nodes().get(TIMEOUT_MS, TimeUnit.MILLISECONDS)));
        return result;
    }

    /**
     * Whether broker {@code id} is registered (unfenced) and answers a request
     * addressed to it: describing a broker's configs goes to that very broker,
     * so a stale registration of a killed broker does not count as ready.
     */
    private JsonNode brokerReady(int id) {
        ObjectNode result = TestClient.object();
        try {
            Collection<Node> nodes = admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
            if (nodes.stream().noneMatch(n -> n.id() == id)) {
                result.put("ready", false);
                result.put("reason", "broker " + id + " not among live brokers " + nodeIds(nodes));
                return result;
            }
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(id));
            admin.describeConfigs(List.of(broker), new DescribeConfigsOptions().timeoutMs(3000))
                    .all().get(5, TimeUnit.SECONDS);
            result.put("ready", true);
        } catch (Exception e) {
            result.put("ready", false);
            result.put("reason", String.valueOf(e.getCause() != null ? e.getCause() : e));
        }
        return result;
    }

    private JsonNode createTopic(JsonNode request) throws Exception {
        String topic = request.get("topic").asText();
        NewTopic newTopic = new NewTopic(topic,
                request.has("partitions") ? Optional.of(request.get("partitions").asInt()) : Optional.empty(),
                request.has("rf") ? Optional.of((short) request.get("rf").asInt()) : Optional.empty());
        Map<String, String> configs = new HashMap<>();
        request.path("configs").properties().forEach(e -> configs.put(e.getKey(), e.getValue().asText()));
        newTopic.configs(configs);
        admin.createTopics(List.of(newTopic)).all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        // Wait until every partition has a leader, so the caller can produce
        // at once without clients retrying through UNKNOWN_TOPIC_OR_PARTITION.
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (true) {
            try {
                TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames()
                        .get(TIMEOUT_MS, TimeUnit.MILLISECONDS).get(topic);
                if (d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())) {
                    return describe(d);
                }
            } catch (ExecutionException e) {
                // Not yet visible on the broker that answered; retry.
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("topic '" + topic + "' created but its partitions have no leader after "
                        + TIMEOUT_MS + " ms");
            }
            Thread.sleep(50);
        }
    }

    private JsonNode deleteTopic(String topic) throws Exception {
        admin.deleteTopics(List.of(topic)).all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (admin.listTopics().names().get(TIMEOUT_MS, TimeUnit.MILLISECONDS).contains(topic)) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("topic '" + topic + "' still listed " + TIMEOUT_MS + " ms after deletion");
            }
            Thread.sleep(50);
        }
        return TestClient.NODES.nullNode();
    }

    private JsonNode list(boolean internal) throws Exception {
        ArrayNode topics = TestClient.array();
        new TreeSet<>(admin.listTopics(new ListTopicsOptions().listInternal(internal)).names()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS)).forEach(topics::add);
        ObjectNode result = TestClient.object();
        result.set("topics", topics);
        return result;
    }

    private JsonNode describe(String topic) throws Exception {
        return describe(admin.describeTopics(List.of(topic)).allTopicNames()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS).get(topic));
    }

    private static JsonNode describe(TopicDescription d) {
        ObjectNode result = TestClient.object();
        result.put("topic", d.name());
        result.put("topicId", d.topicId().toString());
        result.put("internal", d.isInternal());
        ArrayNode partitions = TestClient.array();
        for (TopicPartitionInfo p : d.partitions()) {
            ObjectNode partition = TestClient.object();
            partition.put("partition", p.partition());
            if (p.leader() == null || p.leader().isEmpty()) {
                partition.putNull("leader");
            } else {
                partition.put("leader", p.leader().id());
            }
            partition.set("replicas", nodeIds(p.replicas()));
            partition.set("isr", nodeIds(p.isr()));
            partitions.add(partition);
        }
        result.set("partitions", partitions);
        return result;
    }

    private JsonNode configs(String topic) throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config config = admin.describeConfigs(List.of(resource)).all()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS).get(resource);
        Map<String, String> values = new TreeMap<>();
        Map<String, String> overrides = new TreeMap<>();
        for (ConfigEntry entry : config.entries()) {
            if (entry.value() == null) {
                continue;
            }
            values.put(entry.name(), entry.value());
            if (entry.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG) {
                overrides.put(entry.name(), entry.value());
            }
        }
        ObjectNode result = TestClient.object();
        result.set("values", TestClient.MAPPER.valueToTree(values));
        result.set("overrides", TestClient.MAPPER.valueToTree(overrides));
        return result;
    }

    private JsonNode alterConfig(JsonNode request) throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, request.get("topic").asText());
        List<AlterConfigOp> ops = new ArrayList<>();
        request.path("set").properties().forEach(e -> ops.add(
                new AlterConfigOp(new ConfigEntry(e.getKey(), e.getValue().asText()), AlterConfigOp.OpType.SET)));
        for (JsonNode name : request.path("delete")) {
            ops.add(new AlterConfigOp(new ConfigEntry(name.asText(), null), AlterConfigOp.OpType.DELETE));
        }
        admin.incrementalAlterConfigs(Map.of(resource, ops)).all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        return TestClient.NODES.nullNode();
    }

    private JsonNode createPartitions(JsonNode request) throws Exception {
        admin.createPartitions(Map.of(request.get("topic").asText(),
                NewPartitions.increaseTo(request.get("count").asInt())))
                .all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        return TestClient.NODES.nullNode();
    }

    private JsonNode offsets(JsonNode request) throws Exception {
        String topic = request.get("topic").asText();
        String spec = request.path("spec").asText("latest");
        OffsetSpec offsetSpec = switch (spec) {
            case "latest" -> OffsetSpec.latest();
            case "earliest" -> OffsetSpec.earliest();
            default -> throw new IllegalArgumentException("unknown offset spec '" + spec + "'");
        };
        IsolationLevel isolation = "read_committed".equals(request.path("isolation").asText())
                ? IsolationLevel.READ_COMMITTED
                : IsolationLevel.READ_UNCOMMITTED;
        int partitions = admin.describeTopics(List.of(topic)).allTopicNames()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS).get(topic).partitions().size();
        Map<TopicPartition, OffsetSpec> query = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            query.put(new TopicPartition(topic, p), offsetSpec);
        }
        var answer = admin.listOffsets(query, new ListOffsetsOptions(isolation)).all()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        ArrayNode offsets = TestClient.array();
        for (int p = 0; p < partitions; p++) {
            offsets.add(answer.get(new TopicPartition(topic, p)).offset());
        }
        ObjectNode result = TestClient.object();
        result.set("offsets", offsets);
        return result;
    }

    private JsonNode listGroups() throws Exception {
        ArrayNode groups = TestClient.array();
        TreeSet<String> ids = new TreeSet<>();
        // Admin.listGroups (every group type) is Kafka 4.0+, and 3.9 has only
        // listConsumerGroups, which later versions deprecate: call whichever
        // exists, by reflection, so these helpers compile against both.
        Object listing;
        try {
            listing = admin.getClass().getMethod("listGroups").invoke(admin);
        } catch (NoSuchMethodException e) {
            listing = admin.getClass().getMethod("listConsumerGroups").invoke(admin);
        }
        KafkaFuture<?> all = (KafkaFuture<?>) listing.getClass().getMethod("all").invoke(listing);
        for (Object g : (Collection<?>) all.get(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            ids.add((String) g.getClass().getMethod("groupId").invoke(g));
        }
        ids.forEach(groups::add);
        ObjectNode result = TestClient.object();
        result.set("groups", groups);
        return result;
    }

    private JsonNode groupOffsets(String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        ArrayNode offsets = TestClient.array();
        committed.entrySet().stream()
                .filter(e -> e.getValue() != null)
                .sorted((a, b) -> a.getKey().toString().compareTo(b.getKey().toString()))
                .forEach(e -> {
                    ObjectNode o = TestClient.object();
                    o.put("topic", e.getKey().topic());
                    o.put("partition", e.getKey().partition());
                    o.put("offset", e.getValue().offset());
                    offsets.add(o);
                });
        ObjectNode result = TestClient.object();
        result.set("offsets", offsets);
        return result;
    }

    private JsonNode alterGroupOffsets(JsonNode request) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (JsonNode o : request.path("offsets")) {
            offsets.put(new TopicPartition(o.get("topic").asText(), o.get("partition").asInt()),
                    new OffsetAndMetadata(o.get("offset").asLong()));
        }
        admin.alterConsumerGroupOffsets(request.get("group").asText(), offsets).all()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        return TestClient.NODES.nullNode();
    }

    private static ArrayNode nodeIds(Collection<Node> nodes) {
        ArrayNode ids = TestClient.array();
        nodes.stream().map(Node::id).sorted().forEach(ids::add);
        return ids;
    }
}
