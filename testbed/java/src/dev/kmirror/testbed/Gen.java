package dev.kmirror.testbed;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * {@code gen --bootstrap B --topic T --count N --size S [--compression C]
 * [--partitions-from-topic] [--acks A] [--linger-ms N] [--batch-size N] [--prop k=v]...}
 *
 * <p>Bulk load for benchmarks: N records with keys "k&lt;i&gt;" and S-byte values
 * cut from a pool of random words, so that they compress about as well as
 * text-like payloads do (neither random nor constant). By default the key picks
 * the partition; --partitions-from-topic spreads records round-robin over the
 * topic's partitions instead. Prints {"sent","bytes","elapsedMs"}.
 */
final class Gen {
    private Gen() {}

    static int run(String[] argv) throws Exception {
        Args args = new Args(argv, 1,
                TestClient.set("bootstrap", "topic", "count", "size", "compression", "acks",
                        "linger-ms", "batch-size", "prop"),
                TestClient.set("partitions-from-topic"));
        String topic = args.required("topic");
        long count = Long.parseLong(args.required("count"));
        int size = Integer.parseInt(args.required("size"));

        Properties props = TestClient.clientProps(args);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, args.get("compression", "none"));
        props.put(ProducerConfig.ACKS_CONFIG, args.get("acks", "all"));
        props.put(ProducerConfig.LINGER_MS_CONFIG, args.get("linger-ms", "10"));
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, args.get("batch-size", "262144"));
        props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, "134217728");
        args.applyProps(props);

        byte[] pool = wordPool(Math.max(1 << 20, 2 * size + 1), new Random(42));
        Random random = new Random(7);
        AtomicLong failed = new AtomicLong();
        AtomicReference<Exception> firstError = new AtomicReference<>();
        long bytes = 0;
        long start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            int partitions = args.flag("partitions-from-topic")
                    ? producer.partitionsFor(topic).size()
                    : 0;
            for (long i = 0; i < count; i++) {
                byte[] key = ("k" + i).getBytes(StandardCharsets.UTF_8);
                int from = random.nextInt(pool.length - size);
                byte[] value = Arrays.copyOfRange(pool, from, from + size);
                Integer partition = partitions > 0 ? (int) (i % partitions) : null;
                bytes += key.length + value.length;
                producer.send(new ProducerRecord<>(topic, partition, key, value), (md, e) -> {
                    if (e != null) {
                        failed.incrementAndGet();
                        firstError.compareAndSet(null, e);
                    }
                });
            }
            producer.flush();
            producer.close(Duration.ofSeconds(30));
        }
        if (failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " of " + count + " sends failed", firstError.get());
        }
        ObjectNode report = TestClient.object();
        report.put("sent", count);
        report.put("bytes", bytes);
        report.put("elapsedMs", (System.nanoTime() - start) / 1_000_000);
        TestClient.emit(report);
        return 0;
    }

    private static byte[] wordPool(int length, Random random) {
        String[] words = new String[512];
        for (int w = 0; w < words.length; w++) {
            char[] chars = new char[3 + random.nextInt(8)];
            for (int c = 0; c < chars.length; c++) {
                chars[c] = (char) ('a' + random.nextInt(26));
            }
            words[w] = new String(chars);
        }
        StringBuilder text = new StringBuilder(length + 16);
        while (text.length() < length) {
            text.append(words[random.nextInt(words.length)]).append(random.nextInt(10) == 0 ? ",\n" : " ");
        }
        return text.substring(0, length).getBytes(StandardCharsets.UTF_8);
    }
}
