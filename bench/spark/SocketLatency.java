// Workload (b) on Apache Spark Streaming (DStreams, JVM): word count over a socket fed at a
// fixed rate, measuring end-to-end latency — the same job and feeder as Sluice's
// `sluice-bench latency`. A feeder thread serves lines "<send time µs> a b c d e f g h w<i>"
// on 127.0.0.1 at `rate` lines per second; the job reads them with socketTextStream (block
// interval = half the batch interval, as on the Sluice side), counts words per batch, and for
// every line records the time from sending to the end of its batch's output. After one second
// of warm-up it measures for `seconds` seconds and prints one line:
//
//   LATENCY interval_ms=.. lines=.. p50_ms=.. p99_ms=.. sched_p99_ms=.. keeps_up=yes|no
//
// "keeps up": the scheduling delay of the last quarter of the batches is at most one batch
// interval above that of the first quarter (it does not grow), and its p99 is at most one
// batch interval (no standing backlog).
//
// Usage: SocketLatency <interval-ms> <rate> <seconds> <threads>

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import scala.Tuple2;

public class SocketLatency {
  static long nowMicros() {
    return System.currentTimeMillis() * 1000L + (System.nanoTime() / 1000L) % 1000L;
  }

  static double pct(List<Double> v, double p) {
    if (v.isEmpty()) return Double.NaN;
    List<Double> s = new ArrayList<>(v);
    Collections.sort(s);
    return s.get((int) Math.round((s.size() - 1) * p));
  }

  public static void main(String[] args) throws Exception {
    long intervalMs = Long.parseLong(args[0]);
    long rate = Long.parseLong(args[1]);
    long seconds = Long.parseLong(args[2]);
    int threads = Integer.parseInt(args[3]);

    ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    AtomicBoolean stop = new AtomicBoolean(false);
    Thread feeder = new Thread(() -> {
      try (Socket conn = server.accept(); OutputStream out = conn.getOutputStream()) {
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
          out.write(buf.toString().getBytes(StandardCharsets.UTF_8));
          sent = due;
        }
      } catch (Exception e) {
        // the job stopped
      }
    });
    feeder.setDaemon(true);
    feeder.start();

    JavaStreamingContext ssc = SparkSetup.context("SocketLatency", threads,
        Durations.milliseconds(intervalMs),
        "spark.streaming.blockInterval", Math.max(intervalMs / 2, 1) + "ms");
    List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
    List<Double> sched = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean measuring = new AtomicBoolean(false);
    ssc.addStreamingListener(new StreamingListener() {
      @Override
      public void onBatchCompleted(StreamingListenerBatchCompleted e) {
        if (measuring.get() && e.batchInfo().schedulingDelay().isDefined()) {
          sched.add(((Long) e.batchInfo().schedulingDelay().get()).doubleValue());
        }
      }
    });
    ssc.socketTextStream("127.0.0.1", server.getLocalPort())
        .foreachRDD(rdd -> {
          List<Long> sent = rdd.map(l -> Long.parseLong(l.substring(0, l.indexOf(' ')))).collect();
          rdd.flatMap(l -> Arrays.asList(l.split(" ")).subList(1, 10).iterator())
              .mapToPair(w -> new Tuple2<>(w, 1L))
              .reduceByKey((a, b) -> a + b)
              .count();
          long done = nowMicros();
          if (measuring.get()) {
            for (long s : sent) latencies.add((done - s) / 1000.0);
          }
        });
    ssc.start();
    Thread.sleep(1000);
    measuring.set(true);
    Thread.sleep(seconds * 1000);
    measuring.set(false);
    List<Double> lat = new ArrayList<>(latencies);
    List<Double> sch = new ArrayList<>(sched);
    stop.set(true);
    ssc.stop(true, false);
    server.close();
    int q = Math.max(1, sch.size() / 4);
    double first = 0, last = 0;
    for (int i = 0; i < q && i < sch.size(); i++) first += sch.get(i);
    for (int i = 0; i < q && i < sch.size(); i++) last += sch.get(sch.size() - 1 - i);
    double schedP99 = pct(sch, 0.99);
    boolean keepsUp = !sch.isEmpty() && !lat.isEmpty() && last / q <= first / q + intervalMs && schedP99 <= intervalMs;
    System.out.printf("LATENCY interval_ms=%d lines=%d p50_ms=%.1f p99_ms=%.1f sched_p99_ms=%.1f keeps_up=%s%n",
        intervalMs, lat.size(), pct(lat, 0.5), pct(lat, 0.99), schedP99, keepsUp ? "yes" : "no");
  }
}
