package dev.kmirror.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * {@code produce --bootstrap B --topic T [--compression C] [--transactional-id X]
 * [--linger-ms N] [--batch-size N] [--acks A] [--prop k=v]...}
 *
 * <p>Input lines: {@code {"topic":str|null,"partition":int|null,"key":b64|null,
 * "value":b64|null,"headers":[["k",b64|null],...],"timestamp":long|null}} (a
 * record's own {@code topic} overrides {@code --topic}, so that one producer
 * can fill many topics), or a step
 * {@code {"txn":"begin|commit|abort"}}, {@code {"flush":true}}. Output: one
 * {@code {"partition":p,"offset":o}} per record, in input order. An abort
 * flushes first so that aborted records still report their offsets.
 */
final class Produce {
    private Produce() {}

    static int run(String[] argv) throws Exception {
        Args args = new Args(argv, 1,
                TestClient.set("bootstrap", "topic", "compression", "transactional-id",
                        "linger-ms", "batch-size", "acks", "prop"),
                TestClient.set());
        String topic = args.required("topic");
        Properties props = TestClient.clientProps(args);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, args.get("compression", "none"));
        props.put(ProducerConfig.ACKS_CONFIG, args.get("acks", "all"));
        props.put(ProducerConfig.LINGER_MS_CONFIG, args.get("linger-ms", "0"));
        if (args.get("batch-size", null) != null) {
            props.put(ProducerConfig.BATCH_SIZE_CONFIG, args.get("batch-size", null));
        }
        String transactionalId = args.get("transactional-id", null);
        if (transactionalId != null) {
            props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        args.applyProps(props);

        Deque<Future<RecordMetadata>> pending = new ArrayDeque<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            if (transactionalId != null) {
                producer.initTransactions();
            }
            JsonNode line;
            while ((line = TestClient.nextInput()) != null) {
                if (line.has("txn")) {
                    String step = line.get("txn").asText();
                    switch (step) {
                        case "begin" -> producer.beginTransaction();
                        case "commit" -> {
                            producer.commitTransaction();
                            drain(pending, true);
                        }
                        case "abort" -> {
                            producer.flush();
                            drain(pending, true);
                            producer.abortTransaction();
                        }
                        default -> throw new IllegalArgumentException("unknown txn step '" + step + "'");
                    }
                } else if (line.has("flush")) {
                    producer.flush();
                    drain(pending, true);
                } else {
                    pending.add(producer.send(record(topic, line)));
                    drain(pending, false);
                }
            }
            producer.flush();
            drain(pending, true);
        }
        return 0;
    }

    private static ProducerRecord<byte[], byte[]> record(String defaultTopic, JsonNode line) {
        JsonNode own = line.get("topic");
        String topic = own == null || own.isNull() ? defaultTopic : own.asText();
        JsonNode partition = line.get("partition");
        JsonNode timestamp = line.get("timestamp");
        List<Header> headers = new ArrayList<>();
        JsonNode hs = line.get("headers");
        if (hs != null && !hs.isNull()) {
            for (JsonNode h : hs) {
                headers.add(new RecordHeader(h.get(0).asText(), TestClient.bytes(h.get(1))));
            }
        }
        return new ProducerRecord<>(topic,
                partition == null || partition.isNull() ? null : partition.asInt(),
                timestamp == null || timestamp.isNull() ? null : timestamp.asLong(),
                TestClient.bytes(line.get("key")),
                TestClient.bytes(line.get("value")),
                headers);
    }

    /** Prints acks in input order: all of them, or just those already done. */
    private static void drain(Deque<Future<RecordMetadata>> pending, boolean all) throws Exception {
        boolean printed = false;
        while (!pending.isEmpty() && (all || pending.peekFirst().isDone())) {
            RecordMetadata md = pending.pollFirst().get();
            ObjectNode ack = TestClient.object();
            ack.put("partition", md.partition());
            ack.put("offset", md.offset());
            TestClient.emit(ack);
            printed = true;
        }
        if (printed && all) {
            TestClient.OUT.flush();
        }
    }
}
