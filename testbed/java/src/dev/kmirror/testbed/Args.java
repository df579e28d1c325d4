package dev.kmirror.testbed;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Minimal `--name value` / `--flag` parser for TestClient subcommands. Unknown
 * options are errors, so a typo on the Rust side fails loudly instead of being
 * ignored.
 */
final class Args {
    private final Map<String, List<String>> values = new HashMap<>();

    Args(String[] argv, int from, Set<String> options, Set<String> flags) {
        for (int i = from; i < argv.length; i++) {
            String arg = argv[i];
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + arg + "'");
            }
            String name = arg.substring(2);
            if (flags.contains(name)) {
                values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
            } else if (options.contains(name)) {
                if (i + 1 >= argv.length) {
                    throw new IllegalArgumentException("option --" + name + " needs a value");
                }
                values.computeIfAbsent(name, k -> new ArrayList<>()).add(argv[++i]);
            } else {
                throw new IllegalArgumentException("unknown option --" + name);
            }
        }
    }

    String required(String name) {
        String value = get(name, null);
        if (value == null) {
            throw new IllegalArgumentException("missing required option --" + name);
        }
        return value;
    }

    String get(String name, String fallback) {
        List<String> list = values.get(name);
        return list == null ? fallback : list.get(list.size() - 1);
    }

    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    long getLong(String name, long fallback) {
        String value = get(name, null);
        return value == null ? fallback : Long.parseLong(value);
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    /** Applies every `--prop key=value` on top of the given client properties. */
    void applyProps(Properties props) {
        for (String kv : all("prop")) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--prop wants key=value, got '" + kv + "'");
            }
            props.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
    }
}
