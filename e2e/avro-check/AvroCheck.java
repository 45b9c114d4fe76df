// Independent Avro check with Confluent's own Java client: reads every record of every topic whose name starts
// with a prefix, from the beginning up to the end offsets taken at start, with a plain KafkaConsumer
// (ByteArrayDeserializer, assigned partitions, no consumer group), and decodes each non-null key and value with
// Confluent's KafkaAvroDeserializer against a schema registry.
//
// Output (OUT_FILE): one JSON line per record, in topic/partition/offset order,
//   {"topic","partition","offset","key_schema_id","key","value_schema_id","value"}
// where key/value are the decoded datum written in Avro's JSON encoding with the writer schema (the same encoding
// as `avro.jsonl` of ../shared/oracle: unions as {"type":value}, bytes as strings of chars U+0000-U+00FF) and a null key/value
// (tombstone) is null with a null schema id. A part that does not decode has "<part>_error" instead. The last line
// is the summary: {"summary":{"prefix","topics","partitions","records","decoded","null_keys","null_values",
// "failures","failure_reasons":{reason:count},"first_failures":[...],"schema_ids":[...]}}.
//
// Exit status: 0 when every record decoded, 1 on any failure (a part that did not decode, no topic with the
// prefix, end offsets not reached within the time limit), 2 on bad arguments.
//
// Usage: java -cp "$BUILD:$LIBS/*" AvroCheck BOOTSTRAP REGISTRY_URL TOPIC_PREFIX OUT_FILE [TIMEOUT_S]
// (TIMEOUT_S, default 120: how long it may take to reach the end offsets of all partitions; metadata and offset
// requests have 30 s each on top).

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.confluent.kafka.schemaregistry.ParsedSchema;
import io.confluent.kafka.schemaregistry.avro.AvroSchema;
import io.confluent.kafka.schemaregistry.client.CachedSchemaRegistryClient;
import io.confluent.kafka.schemaregistry.client.SchemaRegistryClient;
import io.confluent.kafka.serializers.KafkaAvroDeserializer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class AvroCheck {
    // NaN and infinities: Avro's JsonEncoder writes them as bare tokens
    static final ObjectMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    static final int MAX_LISTED_FAILURES = 20;
    static final Duration METADATA_TIMEOUT = Duration.ofSeconds(30);

    final SchemaRegistryClient registry;
    final KafkaAvroDeserializer keyDeserializer = new KafkaAvroDeserializer();
    final KafkaAvroDeserializer valueDeserializer = new KafkaAvroDeserializer();
    final Map<Integer, Schema> schemaById = new HashMap<>();

    long records;
    long decoded;
    long nullKeys;
    long nullValues;
    long failures;
    final Map<String, Long> failureReasons = new TreeMap<>();
    final ArrayNode firstFailures = JSON.createArrayNode();
    final TreeSet<Integer> schemaIds = new TreeSet<>();

    AvroCheck(String registryUrl) {
        registry = new CachedSchemaRegistryClient(registryUrl, 1000);
        Map<String, Object> conf = new HashMap<>();
        conf.put("schema.registry.url", registryUrl);
        keyDeserializer.configure(conf, true);
        valueDeserializer.configure(conf, false);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4 || args.length > 5) {
            System.err.println("usage: AvroCheck BOOTSTRAP REGISTRY_URL TOPIC_PREFIX OUT_FILE [TIMEOUT_S]");
            System.exit(2);
        }
        String bootstrap = args[0];
        String registryUrl = args[1];
        String prefix = args[2];
        Path out = Path.of(args[3]);
        long timeoutMs = args.length == 5 ? Long.parseLong(args[4]) * 1000 : 120_000;
        AvroCheck check = new AvroCheck(registryUrl);
        boolean ok = check.run(bootstrap, prefix, out, timeoutMs);
        System.exit(ok ? 0 : 1);
    }

    boolean run(String bootstrap, String prefix, Path out, long timeoutMs) throws IOException {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "avro-check");
        long deadline = System.currentTimeMillis() + timeoutMs;
        List<String> topics = new ArrayList<>();
        List<TopicPartition> partitions = new ArrayList<>();
        String stopReason = null;
        try (Writer w = Files.newBufferedWriter(out)) {
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
                Map<String, List<PartitionInfo>> all = consumer.listTopics(METADATA_TIMEOUT);
                for (Map.Entry<String, List<PartitionInfo>> e : new TreeMap<>(all).entrySet()) {
                    if (!e.getKey().startsWith(prefix)) {
                        continue;
                    }
                    topics.add(e.getKey());
                    for (PartitionInfo p : e.getValue()) {
                        partitions.add(new TopicPartition(p.topic(), p.partition()));
                    }
                }
                partitions.sort(
                        Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
                if (topics.isEmpty()) {
                    stopReason = "no topic starts with '" + prefix + "'";
                }
                else {
                    stopReason = consume(consumer, partitions, deadline, w);
                }
            }
            catch (KafkaException ex) {
                // broker unreachable, metadata or offsets not answered in time: reported like any other failure
                stopReason = ex.getClass().getSimpleName() + ": " + rootMessage(ex);
            }
            if (stopReason != null) {
                fail(null, -1, -1, "consumer", stopReason);
            }
            w.write(JSON.writeValueAsString(summary(prefix, topics, partitions.size())) + "\n");
        }
        System.err.println("avro-check: " + JSON.writeValueAsString(summary(prefix, topics, partitions.size())));
        return failures == 0;
    }

    /** Reads every assigned partition up to the end offset taken now. Returns why it stopped early, or null. */
    String consume(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions, long deadline, Writer w)
            throws IOException {
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, METADATA_TIMEOUT);
        // records are written per partition in offset order; kept until the partition is complete
        Map<TopicPartition, List<String>> lines = new TreeMap<>(
                Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
        List<TopicPartition> open = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            lines.put(tp, new ArrayList<>());
            if (consumer.position(tp) < end.get(tp)) {
                open.add(tp);
            }
        }
        String reason = null;
        while (!open.isEmpty()) {
            if (System.currentTimeMillis() > deadline) {
                StringBuilder sb = new StringBuilder("end offsets not reached in time:");
                for (TopicPartition tp : open) {
                    sb.append(' ').append(tp).append(" at ").append(consumer.position(tp)).append('/').append(end.get(tp));
                }
                reason = sb.toString();
                break;
            }
            ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(500));
            for (ConsumerRecord<byte[], byte[]> r : batch) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                if (r.offset() < end.get(tp)) {
                    lines.get(tp).add(JSON.writeValueAsString(decode(r)));
                }
            }
            open.removeIf(tp -> consumer.position(tp) >= end.get(tp));
            for (TopicPartition tp : new ArrayList<>(open)) {
                if (!consumer.assignment().contains(tp)) {
                    open.remove(tp);
                }
            }
        }
        for (List<String> ls : lines.values()) {
            for (String l : ls) {
                w.write(l);
                w.write('\n');
            }
        }
        return reason;
    }

    ObjectNode decode(ConsumerRecord<byte[], byte[]> r) {
        records++;
        ObjectNode line = JSON.createObjectNode();
        line.put("topic", r.topic());
        line.put("partition", r.partition());
        line.put("offset", r.offset());
        boolean ok = decodePart(r, "key", r.key(), keyDeserializer, line);
        ok &= decodePart(r, "value", r.value(), valueDeserializer, line);
        if (ok) {
            decoded++;
        }
        return line;
    }

    boolean decodePart(ConsumerRecord<byte[], byte[]> r, String part, byte[] bytes, KafkaAvroDeserializer des,
            ObjectNode line) {
        if (bytes == null) {
            if (part.equals("key")) {
                nullKeys++;
            }
            else {
                nullValues++;
            }
            line.putNull(part + "_schema_id");
            line.putNull(part);
            return true;
        }
        Integer id = bytes.length >= 5 && bytes[0] == 0 ? ByteBuffer.wrap(bytes, 1, 4).getInt() : null;
        if (id == null) {
            line.putNull(part + "_schema_id");
        }
        else {
            line.put(part + "_schema_id", id);
        }
        try {
            Object datum = des.deserialize(r.topic(), bytes);
            schemaIds.add(id);
            line.set(part, JSON.readTree(avroJson(writerSchema(id), datum)));
            return true;
        }
        catch (Exception ex) {
            String reason = ex.getClass().getSimpleName() + ": " + rootMessage(ex);
            line.put(part + "_error", reason);
            fail(r.topic(), r.partition(), r.offset(), part, reason);
            return false;
        }
    }

    Schema writerSchema(int id) throws Exception {
        Schema s = schemaById.get(id);
        if (s == null) {
            ParsedSchema ps = registry.getSchemaById(id);
            s = ((AvroSchema) ps).rawSchema();
            schemaById.put(id, s);
        }
        return s;
    }

    /** The datum in Avro's JSON encoding (as the oracle's avro.jsonl writes it). */
    static String avroJson(Schema schema, Object datum) throws IOException {
        if (datum instanceof byte[]) {
            // KafkaAvroDeserializer returns a top-level "bytes" schema as byte[]; GenericDatumWriter wants a ByteBuffer
            datum = ByteBuffer.wrap((byte[]) datum);
        }
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        JsonEncoder enc = EncoderFactory.get().jsonEncoder(schema, bos, false);
        new GenericDatumWriter<Object>(schema).write(datum, enc);
        enc.flush();
        return bos.toString(StandardCharsets.UTF_8);
    }

    void fail(String topic, int partition, long offset, String part, String reason) {
        failures++;
        failureReasons.merge(reason.length() > 200 ? reason.substring(0, 200) : reason, 1L, Long::sum);
        if (firstFailures.size() < MAX_LISTED_FAILURES) {
            ObjectNode f = firstFailures.addObject();
            f.put("topic", topic);
            f.put("partition", partition);
            f.put("offset", offset);
            f.put("part", part);
            f.put("error", reason);
        }
    }

    static String rootMessage(Throwable t) {
        StringBuilder sb = new StringBuilder(String.valueOf(t.getMessage()));
        for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            sb.append(" <- ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
        }
        return sb.toString();
    }

    JsonNode summary(String prefix, List<String> topics, int partitions) {
        ObjectNode s = JSON.createObjectNode();
        s.put("prefix", prefix);
        ArrayNode t = s.putArray("topics");
        topics.forEach(t::add);
        s.put("partitions", partitions);
        s.put("records", records);
        s.put("decoded", decoded);
        s.put("null_keys", nullKeys);
        s.put("null_values", nullValues);
        s.put("failures", failures);
        ObjectNode reasons = s.putObject("failure_reasons");
        failureReasons.forEach(reasons::put);
        s.set("first_failures", firstFailures);
        ArrayNode ids = s.putArray("schema_ids");
        schemaIds.forEach(ids::add);
        ObjectNode wrap = JSON.createObjectNode();
        wrap.set("summary", s);
        return wrap;
    }
}
