package dev.kmirror.testbed;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code format-storage --cluster-id ID --config F [--config F]...
 * (--standalone | --initial-controllers S) [--add-scram M=[name=U,password=P]]...}
 *
 * <p>Runs {@code kafka.tools.StorageTool format} for each node's config in one
 * JVM: formatting three nodes costs one JVM start instead of three.
 */
final class FormatStorage {
    private FormatStorage() {}

    static int run(String[] argv) throws Exception {
        Args args = new Args(argv, 1,
                TestClient.set("cluster-id", "config", "initial-controllers", "add-scram"),
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
            // SCRAM credentials go into the bootstrap metadata: the only way
            // to have users before a SASL listener serves its first client.
            for (String scram : args.all("add-scram")) {
                tool.add("--add-scram");
                tool.add(scram);
            }
            int code = execute(tool.toArray(new String[0]));
            if (code != 0) {
                throw new IllegalStateException("StorageTool format of " + config + " exited " + code);
            }
        }
        return 0;
    }

    /**
     * {@code StorageTool.execute(String[], PrintStream)}, found by reflection
     * so that these helpers still compile against a Kafka whose StorageTool
     * differs; such a version fails here, with a clear message, only if it is
     * asked to format.
     */
    private static int execute(String[] args) throws Exception {
        java.lang.reflect.Method execute;
        try {
            execute = Class.forName("kafka.tools.StorageTool")
                    .getMethod("execute", String[].class, java.io.PrintStream.class);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("this Kafka's kafka.tools.StorageTool has no execute(String[], PrintStream)", e);
        }
        try {
            return (Integer) execute.invoke(null, args, System.err);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
    }
}
