package dev.kmirror.testbed;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.mirror.RemoteClusterUtils;

/**
 * {@code Translate <bootstrap of the cluster the group moves to> <alias of the cluster it
 * comes from> <group>}: prints MM2's own translation ({@link RemoteClusterUtils#translateOffsets})
 * as one {@code topic partition offset} line per partition, sorted, so tests can compare
 * kmirror's answer with MM2's.
 */
public final class Translate {
    private Translate() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            throw new IllegalArgumentException("usage: Translate <bootstrap> <remote alias> <group>");
        }
        Map<String, Object> props = new HashMap<>();
        props.put("bootstrap.servers", args[0]);
        Map<TopicPartition, OffsetAndMetadata> translated =
                RemoteClusterUtils.translateOffsets(props, args[1], args[2], Duration.ofSeconds(30));
        TreeMap<String, Long> sorted = new TreeMap<>();
        translated.forEach((tp, om) -> sorted.put(tp.topic() + " " + tp.partition(), om.offset()));
        sorted.forEach((tp, offset) -> System.out.println(tp + " " + offset));
    }
}
