// Workload (c) on Apache Flink (DataStream API, local execution, streaming mode): a sliding
// window sum per key, window 10 s sliding every 2 s, over the same records as
// bench/spark/WindowBench.java — batch b holds records i in [b*U, (b+1)*U) with key
// (i * 2654435761) mod K and value 1. Flink has no micro-batches, so the batches become event
// time: every record of batch b carries the timestamp b * 1000 ms (monotonous watermarks per
// source split), and the source emits everything as fast as it can. The window ending at T s
// then covers batches T-10 .. T-1, exactly the batches of Spark's window at batch time T s
// (Spark's batch b has time b+1 s).
//
// Output: "WINDOW <n> <keys with a non-zero sum> <sum>" for the first batches/2 windows in
// order of their end (2, 4, ... s), the same lines as Spark and Sluice, and a RESULT line:
//   processing_ms  = the job's net runtime as Flink reports it (per 1 s of input: / batches);
//   first_batch_ms = from JVM start to the emission of the first window's result.
//
// Usage: FlinkWindowBench <keys> <records-per-batch> <batches> <threads>

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

public class FlinkWindowBench {
  /** Window results by window end (ms), filled by the job (local execution: same JVM). */
  static final Map<Long, String> RESULTS = java.util.Collections.synchronizedMap(new TreeMap<>());
  static final AtomicLong FIRST_OUTPUT_MS = new AtomicLong(-1);
  static final long JVM_START =
      java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();

  /** Sums (keys with a non-zero sum, sum) over the per-key results of one window. */
  static final class Totals implements AggregateFunction<Tuple2<Long, Long>, long[], long[]> {
    @Override public long[] createAccumulator() { return new long[2]; }
    @Override public long[] add(Tuple2<Long, Long> t, long[] a) {
      a[0] += t.f1 != 0 ? 1 : 0;
      a[1] += t.f1;
      return a;
    }
    @Override public long[] getResult(long[] a) { return a; }
    @Override public long[] merge(long[] a, long[] b) { return new long[] {a[0] + b[0], a[1] + b[1]}; }
  }

  /** Records the line of a window (by its end) and the time of the first one. */
  static final class Emit extends ProcessAllWindowFunction<long[], String, TimeWindow> {
    @Override
    public void process(Context c, Iterable<long[]> totals, Collector<String> out) {
      FIRST_OUTPUT_MS.compareAndSet(-1, System.currentTimeMillis() - JVM_START);
      long[] t = totals.iterator().next();
      long end = c.window().getEnd();
      String line = "WINDOW " + (end / 2000 - 1) + " " + t[0] + " " + t[1];
      RESULTS.put(end, line);
      out.collect(line);
    }
  }

  public static void main(String[] args) throws Exception {
    final long keys = Long.parseLong(args[0]);
    final long perBatch = Long.parseLong(args[1]);
    int batches = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(threads);
    WatermarkStrategy<Long> eventTime = WatermarkStrategy.<Long>forMonotonousTimestamps()
        .withTimestampAssigner((i, ts) -> (i / perBatch) * 1000L);
    env.fromSource(new NumberSequenceSource(0, batches * perBatch - 1), eventTime, "batches")
        .map(i -> Tuple2.of((i * 2654435761L) % keys, 1L))
        .returns(Types.TUPLE(Types.LONG, Types.LONG))
        .keyBy(t -> t.f0)
        .window(SlidingEventTimeWindows.of(Duration.ofSeconds(10), Duration.ofSeconds(2)))
        .reduce((a, b) -> Tuple2.of(a.f0, a.f1 + b.f1))
        .returns(Types.TUPLE(Types.LONG, Types.LONG))
        // Each per-key result carries its window's last millisecond as timestamp: a tumbling
        // window of the slide gathers exactly the results of one sliding window.
        .windowAll(TumblingEventTimeWindows.of(Duration.ofSeconds(2)))
        .aggregate(new Totals(), new Emit())
        .sinkTo(new DiscardingSink<>());
    JobExecutionResult r = env.execute("FlinkWindowBench");
    List<String> lines;
    synchronized (RESULTS) {
      lines = new java.util.ArrayList<>(RESULTS.values());
    }
    for (String l : lines.subList(0, Math.min(lines.size(), batches / 2))) System.out.println(l);
    System.out.println("RESULT engine=flink batches=" + batches
        + " processing_ms=" + r.getNetRuntime(TimeUnit.MILLISECONDS)
        + " first_batch_ms=" + FIRST_OUTPUT_MS.get()
        + " wall_ms=" + (System.currentTimeMillis() - JVM_START));
  }
}
