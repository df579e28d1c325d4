package dev.kmirror.testbed;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Runs any Java main class (broker, StorageTool, MirrorMaker, TestClient) under
 * a stdin watchdog, so that no JVM outlives the process that started it.
 *
 * <p>The Rust test bed keeps the write end of every child's stdin pipe. Whatever
 * way the test process ends (normal exit, panic, timeout, SIGKILL), the kernel
 * closes that pipe; the watchdog thread then sees EOF and halts the JVM at once,
 * without shutdown hooks that could hang on a dead cluster.
 *
 * <p>Because the watchdog owns System.in, programs that want input lines (only
 * {@link TestClient} here) take them from {@link #nextLine()}.
 *
 * <p>Usage: {@code java -cp ... dev.kmirror.testbed.Launch <main class> [args...]}
 */
public final class Launch {
    private static volatile BlockingQueue<String> input;

    private Launch() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: Launch <main class> [args...]");
            System.exit(2);
        }
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        input = lines;
        Thread watchdog = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(
                    new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // A read error means the parent is gone just as EOF does.
            }
            Runtime.getRuntime().halt(0);
        }, "kmirror-stdin-watchdog");
        // Daemon, so that a main that returns still lets the JVM exit normally.
        watchdog.setDaemon(true);
        watchdog.start();

        Method main = Class.forName(args[0]).getMethod("main", String[].class);
        try {
            main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (InvocationTargetException e) {
            // Exit at once: a failed main may leave non-daemon threads behind.
            e.getCause().printStackTrace();
            System.err.flush();
            System.exit(1);
        }
    }

    /**
     * The next line the parent wrote to stdin, blocking until one arrives. When
     * the program runs without Launch (by hand), reads System.in directly and
     * returns null at EOF.
     */
    public static String nextLine() throws IOException, InterruptedException {
        BlockingQueue<String> lines = input;
        if (lines != null) {
            return lines.take();
        }
        return Direct.READER.readLine();
    }

    private static final class Direct {
        static final BufferedReader READER =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    }
}
