// Workload (d) on Apache Flink (DataStream API, local execution, streaming mode): keyed state
// with many keys, the equivalent of Spark's mapWithState — a keyed ValueState<Long> on the
// heap state backend, updated record by record, each record emitting its key's change. The
// input is that of bench/spark/StateBench.java: first the initial state (keys 0..K-1 with
// value 0, like Spark's initial-state RDD), then `batches` batches where batch b holds records
// i in [b*U, (b+1)*U) with key (i * 2654435761) mod K and value 1. One source task emits all
// of it, in order, as fast as it can; no checkpoints.
//
// A sink task (parallelism 1) knows how many records each batch has and notes when the last
// change of a batch arrives. Per-batch time = completion of batch b minus completion of batch
// b-1; the RESULT line gives the median over batches 1..batches-1 (the initial load and the
// first update batch are left out, as on the other engines). After each update batch it
// prints "STATE <batch> <keys with state> <sum of the state>", cumulated from the changes the
// state operator reported (the cross-check with Spark's and Sluice's lines).
//
// Usage: FlinkStateBench <keys> <updates-per-batch> <batches> <threads>

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

public class FlinkStateBench {
  static final long JVM_START =
      java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
  /** Filled by the sink task (local execution: same JVM), read after the job. */
  static volatile long[] completedNs;
  static volatile long[] newKeys;
  static volatile long[] sums;
  static volatile long firstBatchMs = -1;

  /** mapWithState's equivalent: the record's value added to its key's state. Emits
   *  (batch, 1 if the key had no state before, change of the state's value). */
  static final class Update
      extends KeyedProcessFunction<Long, Tuple3<Integer, Long, Long>, Tuple3<Integer, Long, Long>> {
    private transient ValueState<Long> state;

    @Override
    public void open(OpenContext c) {
      state = getRuntimeContext().getState(new ValueStateDescriptor<>("n", Types.LONG));
    }

    @Override
    public void processElement(Tuple3<Integer, Long, Long> r, Context c,
        Collector<Tuple3<Integer, Long, Long>> out) throws Exception {
      Long old = state.value();
      long n = (old == null ? 0L : old) + r.f2;
      state.update(n);
      out.collect(Tuple3.of(r.f0, old == null ? 1L : 0L, r.f2));
    }
  }

  /** Counts the changes of every batch and notes when a batch is complete. Batch -1 (index 0
   *  here) is the initial state. */
  static final class Completion extends ProcessFunction<Tuple3<Integer, Long, Long>, String> {
    private final long keys, updates;
    private final int batches;
    private long[] seen, added, sum, done;

    Completion(long keys, long updates, int batches) {
      this.keys = keys;
      this.updates = updates;
      this.batches = batches;
    }

    @Override
    public void open(OpenContext c) {
      seen = new long[batches + 1];
      added = new long[batches + 1];
      sum = new long[batches + 1];
      done = new long[batches + 1];
    }

    @Override
    public void processElement(Tuple3<Integer, Long, Long> r, Context c, Collector<String> out) {
      int b = r.f0 + 1;
      added[b] += r.f1;
      sum[b] += r.f2;
      if (++seen[b] == (b == 0 ? keys : updates)) {
        done[b] = System.nanoTime();
        if (b == 1) firstBatchMs = System.currentTimeMillis() - JVM_START;
        if (b == batches) {
          newKeys = added.clone();
          sums = sum.clone();
          completedNs = done.clone();
        }
      }
    }
  }

  public static void main(String[] args) throws Exception {
    final long keys = Long.parseLong(args[0]);
    final long updates = Long.parseLong(args[1]);
    final int batches = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);

    Configuration conf = new Configuration();
    conf.setString("state.backend.type", "hashmap");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    env.setParallelism(threads);
    env.fromSource(new NumberSequenceSource(0, keys + batches * updates - 1),
            WatermarkStrategy.noWatermarks(), "initial state, then batches")
        .setParallelism(1)
        .map(j -> j < keys
            ? Tuple3.of(-1, j, 0L)
            : Tuple3.of((int) ((j - keys) / updates), ((j - keys) * 2654435761L) % keys, 1L))
        .returns(Types.TUPLE(Types.INT, Types.LONG, Types.LONG))
        .setParallelism(1)
        .keyBy(t -> t.f1)
        .process(new Update())
        .returns(Types.TUPLE(Types.INT, Types.LONG, Types.LONG))
        .process(new Completion(keys, updates, batches))
        .setParallelism(1)
        .sinkTo(new DiscardingSink<>())
        .setParallelism(1);
    env.execute("FlinkStateBench");

    long[] done = completedNs;
    if (done == null) {
      System.out.println("RESULT engine=flink mode=map median_batch_ms=-1 first_batch_ms=-1");
      return;
    }
    long keysWithState = newKeys[0], total = sums[0];
    for (int b = 1; b <= batches; b++) {
      keysWithState += newKeys[b];
      total += sums[b];
      System.out.println("STATE " + (b - 1) + " " + keysWithState + " " + total);
    }
    // Intervals between consecutive update batches' completions, from the second on.
    List<Long> d = new ArrayList<>();
    for (int b = 2; b <= batches; b++) d.add((done[b] - done[b - 1]) / 1_000_000);
    Collections.sort(d);
    System.out.println("RESULT engine=flink mode=map median_batch_ms="
        + (d.isEmpty() ? -1 : d.get(d.size() / 2))
        + " first_batch_ms=" + firstBatchMs);
  }
}
