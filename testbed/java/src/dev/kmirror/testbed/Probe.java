package dev.kmirror.testbed;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Node;

/**
 * {@code probe --bootstrap B [--topic T] [--prop k=v]...}: connects an Admin
 * client with the given (security) properties and asks for the cluster's
 * brokers, and with {@code --topic} also describes that topic (which needs
 * DESCRIBE on it when an authorizer is on). One
 * line out: {@code {"ok":true,"nodes":[ids]}}, or {@code {"ok":false,
 * "errorClass":C,"error":M}} where M joins the messages of the whole cause
 * chain (a TLS failure's reason sits a few causes deep). Exits 0 either way:
 * a refusal is the answer, not a failure of the probe.
 */
final class Probe {
    private Probe() {}

    static int run(String[] argv) {
        Args args = new Args(argv, 1, TestClient.set("bootstrap", "topic", "prop"), TestClient.set());
        Properties props = TestClient.clientProps(args);
        // Fail within seconds: a refused handshake is retried until the
        // API timeout unless it is an authentication error.
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        args.applyProps(props);
        ObjectNode answer = TestClient.object();
        try (Admin admin = Admin.create(props)) {
            ArrayNode nodes = TestClient.array();
            for (Node node : admin.describeCluster().nodes().get(20, TimeUnit.SECONDS)) {
                nodes.add(node.id());
            }
            String topic = args.get("topic", null);
            if (topic != null) {
                admin.describeTopics(java.util.List.of(topic)).allTopicNames().get(20, TimeUnit.SECONDS);
            }
            answer.put("ok", true);
            answer.set("nodes", nodes);
        } catch (Exception e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            StringBuilder chain = new StringBuilder();
            for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
                if (chain.length() > 0) {
                    chain.append(" | ");
                }
                chain.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
            }
            answer.put("ok", false);
            answer.put("errorClass", cause.getClass().getSimpleName());
            answer.put("error", chain.toString());
        }
        TestClient.emit(answer);
        return 0;
    }
}
