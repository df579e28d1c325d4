package dev.kmirror.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;

/**
 * The real Java Kafka clients behind a JSON-lines interface, for kmirror's
 * tests: what a Java producer wrote, a Java consumer must read back, whatever
 * kmirror did in between.
 *
 * <p>Subcommands (all take {@code --bootstrap B} and repeated {@code --prop k=v}):
 * <ul>
 *   <li>{@code produce --topic T ...}: records and transaction steps in, one
 *       {@code {"partition","offset"}} line per acked record out, in input order.
 *   <li>{@code consume --topic T ...}: one JSON line per record out.
 *   <li>{@code gen --topic T --count N --size S}: bulk load for benchmarks.
 *   <li>{@code admin}: a request/response loop, one JSON line each way.
 *   <li>{@code format-storage}: kafka.tools.StorageTool format for several
 *       nodes in one JVM.
 *   <li>{@code stores}: Java key stores (JKS, PKCS12) for the test PKI.
 *   <li>{@code probe}: can a client with these properties reach the cluster?
 *   <li>{@code warmup}: loads the classes above, to train a class-data-sharing
 *       archive.
 * </ul>
 * Input lines come from {@link Launch#nextLine()}; the parent ends the input
 * with {@code {"end":true}} (closing stdin would halt the JVM, see Launch).
 * Only JSON goes to stdout; logs and errors go to stderr. Exit code 1 on error.
 */
public final class TestClient {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    static final Base64.Encoder B64 = Base64.getEncoder();
    static final Base64.Decoder B64D = Base64.getDecoder();

    /** Our own stdout, buffered: flushed at the points the parent waits on. */
    static final PrintStream OUT = new PrintStream(
            new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
            false, StandardCharsets.UTF_8);

    private TestClient() {}

    public static void main(String[] argv) {
        // Kafka's loggers must not write to our JSON stream.
        System.setOut(System.err);
        if (argv.length == 0) {
            System.err.println("usage: TestClient produce|consume|gen|admin|format-storage|stores|probe|warmup [options]");
            System.exit(2);
        }
        int code;
        try {
            code = switch (argv[0]) {
                case "produce" -> Produce.run(argv);
                case "consume" -> Consume.run(argv);
                case "gen" -> Gen.run(argv);
                case "admin" -> Admin.run(argv);
                case "format-storage" -> FormatStorage.run(argv);
                case "stores" -> Stores.run(argv);
                case "probe" -> Probe.run(argv);
                case "warmup" -> Warmup.run(argv);
                default -> throw new IllegalArgumentException("unknown subcommand '" + argv[0] + "'");
            };
        } catch (Throwable e) {
            OUT.flush();
            System.err.println("TestClient " + argv[0] + " failed: " + e);
            e.printStackTrace();
            code = 1;
        }
        OUT.flush();
        System.err.flush();
        // Exit explicitly: client threads that failed to close must not keep
        // the JVM (and so the parent's wait) alive.
        System.exit(code);
    }

    /** An input line, or null at the end of input. */
    static JsonNode nextInput() throws Exception {
        String line;
        do {
            line = Launch.nextLine();
            if (line == null) {
                return null;
            }
        } while (line.isBlank());
        JsonNode node = MAPPER.readTree(line);
        if (node.path("end").asBoolean(false)) {
            return null;
        }
        return node;
    }

    static void emit(JsonNode node) {
        try {
            OUT.println(MAPPER.writeValueAsString(node));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Properties clientProps(Args args) {
        Properties props = new Properties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, args.required("bootstrap"));
        return props;
    }

    static byte[] bytes(JsonNode node) {
        return node == null || node.isNull() ? null : B64D.decode(node.asText());
    }

    static JsonNode b64(byte[] bytes) {
        return bytes == null ? NODES.nullNode() : NODES.textNode(B64.encodeToString(bytes));
    }

    static ObjectNode object() {
        return NODES.objectNode();
    }

    static ArrayNode array() {
        return NODES.arrayNode();
    }

    static java.util.Set<String> set(String... names) {
        return new java.util.HashSet<>(Arrays.asList(names));
    }
}
