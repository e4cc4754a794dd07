// Workload (f) on Apache Flink (DataStream API, local execution, streaming mode): a sliding
// event-time window (10 s every 2 s) counting records per key, with a bounded out-of-orderness
// of 10 s (the micro-batch engines' watermark delay), over the same records as `sluice-bench
// event-time-side` and bench/pyspark/event_time_bench.py: record i of batch b = i / R has
//   h   = mix(i) >>> 1   (mix: multiply by 0x9E3779B97F4A7C15, xor-shift 29, multiply by
//                          0xBF58476D1CE4E5B9, all wrapping)
//   key = h mod K
//   ts  = 60000 + 1000 b + (i mod R) * 1000 / R, minus (h >>> 8) mod 10000 when h mod 100 < P
// Flink has no micro-batches: the source emits the records in order of i as fast as it can,
// and its watermark follows the records (per source split) instead of the batches' ends, so
// its windows close at other moments than the micro-batch engines'; with records out of
// order by less than the delay, no record is late in any engine and every window holds the
// same records.
//
// Output: "EWINDOW <end ms> <keys> <records>" for every window, in order of its end, and a
// RESULT line: processing_ms = the job's net runtime as Flink reports it (per 1 s batch of
// input: / batches).
//
// Usage: FlinkEventTimeBench <keys> <records-per-batch> <batches> <late-percent> <threads>

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

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

public class FlinkEventTimeBench {
  /** Window lines by window end (ms), filled by the job (local execution: same JVM). */
  static final Map<Long, String> RESULTS = java.util.Collections.synchronizedMap(new TreeMap<>());
  static final long JVM_START =
      java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
  static final long START_MS = 60_000;
  static final long DELAY_MS = 10_000;

  static long hash(long i) {
    long x = i * 0x9E3779B97F4A7C15L;
    x ^= x >>> 29;
    x *= 0xBF58476D1CE4E5B9L;
    return x >>> 1;
  }

  static long eventTime(long i, long perBatch, long latePercent) {
    long h = hash(i);
    long ts = START_MS + (i / perBatch) * 1000 + (i % perBatch) * 1000 / perBatch;
    if (h % 100 < latePercent) ts -= (h >>> 8) % DELAY_MS;
    return ts;
  }

  /** (keys, records) over the per-key counts of one window. */
  static final class Totals implements AggregateFunction<Tuple2<Long, Long>, long[], long[]> {
    @Override public long[] createAccumulator() { return new long[2]; }
    @Override public long[] add(Tuple2<Long, Long> t, long[] a) {
      a[0] += 1;
      a[1] += t.f1;
      return a;
    }
    @Override public long[] getResult(long[] a) { return a; }
    @Override public long[] merge(long[] a, long[] b) { return new long[] {a[0] + b[0], a[1] + b[1]}; }
  }

  /** Records the line of a window, by its end. */
  static final class Emit extends ProcessAllWindowFunction<long[], String, TimeWindow> {
    @Override
    public void process(Context c, Iterable<long[]> totals, Collector<String> out) {
      long[] t = totals.iterator().next();
      long end = c.window().getEnd();
      String line = "EWINDOW " + end + " " + t[0] + " " + t[1];
      RESULTS.put(end, line);
      out.collect(line);
    }
  }

  public static void main(String[] args) throws Exception {
    final long keys = Long.parseLong(args[0]);
    final long perBatch = Long.parseLong(args[1]);
    final int batches = Integer.parseInt(args[2]);
    final long latePercent = Long.parseLong(args[3]);
    int threads = Integer.parseInt(args[4]);

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(threads);
    WatermarkStrategy<Long> eventTime = WatermarkStrategy
        .<Long>forBoundedOutOfOrderness(Duration.ofMillis(DELAY_MS))
        .withTimestampAssigner((i, ts) -> eventTime(i, perBatch, latePercent));
    env.fromSource(new NumberSequenceSource(0, batches * perBatch - 1), eventTime, "records")
        .map(i -> Tuple2.of(hash(i) % keys, 1L))
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
    JobExecutionResult r = env.execute("FlinkEventTimeBench");
    synchronized (RESULTS) {
      for (String l : RESULTS.values()) System.out.println(l);
    }
    System.out.println("RESULT engine=flink records_per_batch=" + perBatch + " batches=" + batches
        + " processing_ms=" + r.getNetRuntime(TimeUnit.MILLISECONDS)
        + " wall_ms=" + (System.currentTimeMillis() - JVM_START));
  }
}
