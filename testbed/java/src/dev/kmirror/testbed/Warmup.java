package dev.kmirror.testbed;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Properties;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * {@code warmup}: loads the classes the other subcommands use (clients,
 * Jackson, a storage format), without a cluster, so that the test bed can
 * record them in a class-data-sharing archive ({@code -XX:ArchiveClassesAtExit})
 * that halves the start of every later TestClient JVM.
 */
final class Warmup {
    private Warmup() {}

    static int run(String[] argv) throws Exception {
        // Port 9 (discard): nothing listens, and nothing is sent anyway.
        Properties props = new Properties();
        props.put("bootstrap.servers", "127.0.0.1:9");

        Properties producer = new Properties();
        producer.putAll(props);
        producer.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        producer.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        producer.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd");
        new KafkaProducer<byte[], byte[]>(producer).close(Duration.ZERO);

        Properties consumer = new Properties();
        consumer.putAll(props);
        consumer.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        consumer.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        new KafkaConsumer<byte[], byte[]>(consumer).close(Duration.ZERO);

        Admin.create(props).close(Duration.ZERO);

        TestClient.MAPPER.writeValueAsString(TestClient.MAPPER.readTree(
                "{\"partition\":null,\"key\":\"AA==\",\"headers\":[[\"h\",null]],\"timestamp\":1}"));

        Path dir = Files.createTempDirectory("kmirror-warmup");
        try {
            Path config = dir.resolve("server.properties");
            Files.writeString(config, String.join("\n",
                    "process.roles=broker,controller",
                    "node.id=0",
                    "controller.quorum.bootstrap.servers=127.0.0.1:7",
                    "listeners=PLAINTEXT://127.0.0.1:9,CONTROLLER://127.0.0.1:7",
                    "controller.listener.names=CONTROLLER",
                    "log.dirs=" + dir.resolve("data"),
                    ""));
            FormatStorage.run(new String[] {"format-storage", "--cluster-id", "AAAAAAAAAAAAAAAAAAAAAQ",
                    "--config", config.toString(), "--standalone"});
        } finally {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return 0;
    }
}
