// Workload (b) on Apache Flink (DataStream API, local execution, streaming mode): word count
// over a socket fed at a fixed rate, measuring end-to-end latency — the same feeder and lines
// as bench/spark/SocketLatency.java and Sluice's `sluice-bench latency`. A feeder thread serves
// lines "<send time µs> a b c d e f g h w<i>" on 127.0.0.1 at `rate` lines per second; the job
// reads them with socketTextStream, counts words per tumbling processing-time window of the
// interval, and for every line records the time from sending to the emission of its window's
// result (the result of the window and key that counted its last word, w<i>). The network
// buffers' flush timeout is half the interval (at most Flink's default of 100 ms), as the
// micro-batch engines' block interval is half the batch interval. After one second of warm-up
// (from the feeder's connection) it measures for `seconds` seconds and prints one line:
//
//   LATENCY interval_ms=.. lines=.. p50_ms=.. p99_ms=.. lag_p99_ms=.. keeps_up=yes|no
//
// Flink has no batches, hence no scheduling delay. Its counterpart is the output lag: how long
// after a window's end its results are emitted (the latest key of the window). "Keeps up": the
// mean output lag of the last quarter of the windows is at most one interval above that of the
// first quarter (it does not grow), its p99 is at most one interval, and no write of the feeder
// to the socket blocked for more than one interval (the job took the lines as they were
// offered: unlike the micro-batch engines' receivers, Flink's source stops reading the socket
// when the job falls behind, and the lines' send times are taken before they are written).
//
// Usage: FlinkSocketLatency <interval-ms> <rate> <seconds> <threads>

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingProcessingTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

public class FlinkSocketLatency {
  /** Shared with the job's tasks (local execution: the same JVM). */
  static final AtomicBoolean MEASURING = new AtomicBoolean(false);
  static final List<Double> LATENCIES = Collections.synchronizedList(new ArrayList<>());
  /** Output lag (ms) by window end (ms): the latest emission of the window's results. */
  static final Map<Long, Double> LAGS = Collections.synchronizedMap(new TreeMap<>());

  static long nowMicros() {
    return System.currentTimeMillis() * 1000L + (System.nanoTime() / 1000L) % 1000L;
  }

  static double pct(List<Double> v, double p) {
    if (v.isEmpty()) return Double.NaN;
    List<Double> s = new ArrayList<>(v);
    Collections.sort(s);
    return s.get((int) Math.round((s.size() - 1) * p));
  }

  /** A word's count in a window, and the send times of the lines whose last word it is. */
  public static final class Acc {
    public long count;
    public long[] sent = new long[16];
    public int lines;
  }

  static final class Count implements AggregateFunction<Tuple3<String, Long, Long>, Acc, Acc> {
    @Override public Acc createAccumulator() { return new Acc(); }
    @Override public Acc add(Tuple3<String, Long, Long> t, Acc a) {
      a.count += t.f1;
      if (t.f2 >= 0) {
        if (a.lines == a.sent.length) a.sent = java.util.Arrays.copyOf(a.sent, a.lines * 2);
        a.sent[a.lines++] = t.f2;
      }
      return a;
    }
    @Override public Acc getResult(Acc a) { return a; }
    @Override public Acc merge(Acc a, Acc b) {
      for (int i = 0; i < b.lines; i++) add(Tuple3.of("", 0L, b.sent[i]), a);
      a.count += b.count;
      return a;
    }
  }

  /** Emits a word's count and records the latency of its lines and the window's output lag. */
  static final class Emit extends ProcessWindowFunction<Acc, Long, String, TimeWindow> {
    @Override
    public void process(String word, Context c, Iterable<Acc> accs, Collector<Long> out) {
      Acc a = accs.iterator().next();
      out.collect(a.count);
      long done = nowMicros();
      if (MEASURING.get()) {
        List<Double> l = new ArrayList<>(a.lines);
        for (int i = 0; i < a.lines; i++) l.add((done - a.sent[i]) / 1000.0);
        LATENCIES.addAll(l);
        LAGS.merge(c.window().getEnd(), done / 1000.0 - c.window().getEnd(), Math::max);
      }
    }
  }

  public static void main(String[] args) throws Exception {
    long intervalMs = Long.parseLong(args[0]);
    long rate = Long.parseLong(args[1]);
    long seconds = Long.parseLong(args[2]);
    int threads = Integer.parseInt(args[3]);

    ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    AtomicBoolean stop = new AtomicBoolean(false);
    CountDownLatch connected = new CountDownLatch(1);
    AtomicLong feederBlockedUs = new AtomicLong();
    Thread feeder = new Thread(() -> {
      try (Socket conn = server.accept(); OutputStream out = conn.getOutputStream()) {
        connected.countDown();
        long start = System.nanoTime();
        long sent = 0;
        StringBuilder buf = new StringBuilder();
        while (!stop.get()) {
          long due = (long) ((System.nanoTime() - start) / 1e9 * rate);
          if (due <= sent) {
            Thread.sleep(0, 200_000);
            continue;
          }
          buf.setLength(0);
          for (long i = sent; i < due; i++) {
            buf.append(nowMicros()).append(" a b c d e f g h w").append(i % 100).append('\n');
          }
          long w0 = System.nanoTime();
          out.write(buf.toString().getBytes(StandardCharsets.UTF_8));
          if (MEASURING.get()) {
            feederBlockedUs.accumulateAndGet((System.nanoTime() - w0) / 1000, Math::max);
          }
          sent = due;
        }
      } catch (Exception e) {
        // the job stopped
      }
    });
    feeder.setDaemon(true);
    feeder.start();

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(threads);
    env.setBufferTimeout(Math.max(1, Math.min(100, intervalMs / 2)));
    env.socketTextStream("127.0.0.1", server.getLocalPort())
        .flatMap((String l, Collector<Tuple3<String, Long, Long>> out) -> {
          String[] w = l.split(" ");
          long sent = Long.parseLong(w[0]);
          for (int i = 1; i < w.length; i++) {
            out.collect(Tuple3.of(w[i], 1L, i == w.length - 1 ? sent : -1L));
          }
        })
        .returns(Types.TUPLE(Types.STRING, Types.LONG, Types.LONG))
        .keyBy(t -> t.f0)
        .window(TumblingProcessingTimeWindows.of(Duration.ofMillis(intervalMs)))
        .aggregate(new Count(), new Emit())
        .sinkTo(new DiscardingSink<>());
    JobClient job = env.executeAsync("FlinkSocketLatency");
    if (!connected.await(120, TimeUnit.SECONDS)) {
      System.out.printf("LATENCY interval_ms=%d lines=0 p50_ms=- p99_ms=- lag_p99_ms=- keeps_up=failed%n",
          intervalMs);
      System.exit(1);
    }
    Thread.sleep(1000);
    MEASURING.set(true);
    Thread.sleep(seconds * 1000);
    MEASURING.set(false);
    List<Double> lat;
    List<Double> lag;
    synchronized (LATENCIES) {
      lat = new ArrayList<>(LATENCIES);
    }
    synchronized (LAGS) {
      lag = new ArrayList<>(LAGS.values());
    }
    stop.set(true);
    try {
      job.cancel().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      // already finished
    }
    server.close();
    int q = Math.max(1, lag.size() / 4);
    double first = 0, last = 0;
    for (int i = 0; i < q && i < lag.size(); i++) first += lag.get(i);
    for (int i = 0; i < q && i < lag.size(); i++) last += lag.get(lag.size() - 1 - i);
    double lagP99 = pct(lag, 0.99);
    boolean keepsUp = !lag.isEmpty() && !lat.isEmpty() && last / q <= first / q + intervalMs && lagP99 <= intervalMs
        && feederBlockedUs.get() <= intervalMs * 1000;
    System.out.printf("LATENCY interval_ms=%d lines=%d p50_ms=%.1f p99_ms=%.1f lag_p99_ms=%.1f"
        + " feeder_blocked_max_ms=%.1f keeps_up=%s%n", intervalMs, lat.size(), pct(lat, 0.5),
        pct(lat, 0.99), lagP99, feederBlockedUs.get() / 1000.0, keepsUp ? "yes" : "no");
    System.exit(0);
  }
}
