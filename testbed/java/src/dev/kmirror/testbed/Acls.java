package dev.kmirror.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The admin ops on ACLs ({@code create-acls}, {@code list-acls},
 * {@code delete-acls}). A binding in JSON:
 * {@code {"resourceType":"TOPIC","name":"t","patternType":"LITERAL",
 * "principal":"User:u","host":"*","operation":"READ","permission":"ALLOW"}},
 * with Kafka's enum names. In a filter every field may be missing or null:
 * it then matches anything (pattern type ANY).
 */
final class Acls {
    private static final long TIMEOUT_MS = 30_000;

    private Acls() {}

    static JsonNode create(Admin admin, JsonNode acls) throws Exception {
        List<AclBinding> bindings = new ArrayList<>();
        for (JsonNode acl : acls) {
            bindings.add(new AclBinding(
                    new ResourcePattern(ResourceType.valueOf(acl.get("resourceType").asText()),
                            acl.get("name").asText(),
                            PatternType.valueOf(acl.path("patternType").asText("LITERAL"))),
                    new AccessControlEntry(acl.get("principal").asText(), acl.path("host").asText("*"),
                            AclOperation.valueOf(acl.get("operation").asText()),
                            AclPermissionType.valueOf(acl.path("permission").asText("ALLOW")))));
        }
        admin.createAcls(bindings).all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        return TestClient.NODES.nullNode();
    }

    static JsonNode list(Admin admin, JsonNode filter) throws Exception {
        return json(admin.describeAcls(filter(filter)).values().get(TIMEOUT_MS, TimeUnit.MILLISECONDS));
    }

    static JsonNode delete(Admin admin, JsonNode filter) throws Exception {
        return json(admin.deleteAcls(List.of(filter(filter))).all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS));
    }

    private static AclBindingFilter filter(JsonNode f) {
        return new AclBindingFilter(
                new ResourcePatternFilter(
                        ResourceType.valueOf(text(f, "resourceType", "ANY")),
                        text(f, "name", null),
                        PatternType.valueOf(text(f, "patternType", "ANY"))),
                new AccessControlEntryFilter(text(f, "principal", null), text(f, "host", null),
                        AclOperation.valueOf(text(f, "operation", "ANY")),
                        AclPermissionType.valueOf(text(f, "permission", "ANY"))));
    }

    private static String text(JsonNode node, String field, String fallback) {
        JsonNode value = node == null ? null : node.get(field);
        return value == null || value.isNull() ? fallback : value.asText();
    }

    private static JsonNode json(Collection<AclBinding> bindings) {
        ArrayNode result = TestClient.array();
        for (AclBinding b : bindings) {
            ObjectNode acl = TestClient.object();
            acl.put("resourceType", b.pattern().resourceType().name());
            acl.put("name", b.pattern().name());
            acl.put("patternType", b.pattern().patternType().name());
            acl.put("principal", b.entry().principal());
            acl.put("host", b.entry().host());
            acl.put("operation", b.entry().operation().name());
            acl.put("permission", b.entry().permissionType().name());
            result.add(acl);
        }
        ObjectNode answer = TestClient.object();
        answer.set("acls", result);
        return answer;
    }
}
