package dev.kmirror.testbed;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * {@code consume --bootstrap B --topic T [--isolation read_committed|read_uncommitted]
 * [--from-beginning] [--max-records N] [--timeout-ms M] [--partitions 0,2]
 * [--group G [--commit]] [--prop k=v]...}
 *
 * <p>Without a group, assigns the topic's partitions (all, or --partitions). With
 * a group, subscribes; --commit commits exactly the records printed. Stops after
 * N records, or once M ms pass without a new record.
 */
final class Consume {
    private Consume() {}

    static int run(String[] argv) {
        Args args = new Args(argv, 1,
                TestClient.set("bootstrap", "topic", "isolation", "max-records", "timeout-ms",
                        "group", "partitions", "prop"),
                TestClient.set("from-beginning", "commit"));
        String topic = args.required("topic");
        long maxRecords = args.getLong("max-records", Long.MAX_VALUE);
        long idleTimeoutMs = args.getLong("timeout-ms", 10_000);
        String group = args.get("group", null);
        boolean commit = args.flag("commit");
        if (commit && group == null) {
            throw new IllegalArgumentException("--commit needs --group");
        }
        boolean fromBeginning = args.flag("from-beginning");

        Properties props = TestClient.clientProps(args);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, args.get("isolation", "read_uncommitted"));
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
        if (group != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        args.applyProps(props);

        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            if (group != null) {
                consumer.subscribe(List.of(topic));
            } else {
                List<TopicPartition> assignment = partitions(consumer, topic, args.get("partitions", null));
                consumer.assign(assignment);
                if (fromBeginning) {
                    consumer.seekToBeginning(assignment);
                } else {
                    consumer.seekToEnd(assignment);
                }
            }

            long count = 0;
            long deadline = System.currentTimeMillis() + idleTimeoutMs;
            while (count < maxRecords) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    break;
                }
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(Math.min(left, 200)));
                if (records.isEmpty()) {
                    continue;
                }
                Map<TopicPartition, OffsetAndMetadata> printed = new HashMap<>();
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    if (count >= maxRecords) {
                        break;
                    }
                    TestClient.emit(json(record));
                    count++;
                    printed.put(new TopicPartition(record.topic(), record.partition()),
                            new OffsetAndMetadata(record.offset() + 1));
                }
                if (commit) {
                    consumer.commitSync(printed);
                }
                deadline = System.currentTimeMillis() + idleTimeoutMs;
            }
        }
        return 0;
    }

    private static List<TopicPartition> partitions(KafkaConsumer<byte[], byte[]> consumer,
                                                   String topic, String only) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) {
            throw new IllegalStateException("topic '" + topic + "' not found");
        }
        Set<Integer> wanted = null;
        if (only != null) {
            wanted = new HashSet<>();
            for (String p : only.split(",")) {
                wanted.add(Integer.parseInt(p.trim()));
            }
        }
        List<TopicPartition> result = new ArrayList<>();
        for (PartitionInfo info : infos) {
            if (wanted == null || wanted.contains(info.partition())) {
                result.add(new TopicPartition(topic, info.partition()));
            }
        }
        result.sort((a, b) -> Integer.compare(a.partition(), b.partition()));
        return result;
    }

    private static ObjectNode json(ConsumerRecord<byte[], byte[]> record) {
        ObjectNode node = TestClient.object();
        node.put("partition", record.partition());
        node.put("offset", record.offset());
        node.set("key", TestClient.b64(record.key()));
        node.set("value", TestClient.b64(record.value()));
        ArrayNode headers = TestClient.array();
        for (Header header : record.headers()) {
            ArrayNode pair = TestClient.array();
            pair.add(header.key());
            pair.add(TestClient.b64(header.value()));
            headers.add(pair);
        }
        node.set("headers", headers);
        node.put("timestamp", record.timestamp());
        node.put("timestampType", record.timestampType().toString());
        return node;
    }
}
