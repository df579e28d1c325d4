package dev.kmirror.testbed;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code format-storage --cluster-id ID --config F [--config F]...
 * (--standalone | --initial-controllers S)}
 *
 * <p>Runs {@code kafka.tools.StorageTool format} for each node's config in one
 * JVM: formatting three nodes costs one JVM start instead of three.
 */
final class FormatStorage {
    private FormatStorage() {}

    static int run(String[] argv) {
        Args args = new Args(argv, 1,
                TestClient.set("cluster-id", "config", "initial-controllers"),
                TestClient.set("standalone"));
        String clusterId = args.required("cluster-id");
        List<String> configs = args.all("config");
        if (configs.isEmpty()) {
            throw new IllegalArgumentException("missing required option --config");
        }
        for (String config : configs) {
            List<String> tool = new ArrayList<>(List.of("format", "--config", config, "--cluster-id", clusterId));
            if (args.flag("standalone")) {
                tool.add("--standalone");
            }
            String initialControllers = args.get("initial-controllers", null);
            if (initialControllers != null) {
                tool.add("--initial-controllers");
                tool.add(initialControllers);
            }
            int code = kafka.tools.StorageTool.execute(tool.toArray(new String[0]), System.err);
            if (code != 0) {
                throw new IllegalStateException("StorageTool format of " + config + " exited " + code);
            }
        }
        return 0;
    }
}
