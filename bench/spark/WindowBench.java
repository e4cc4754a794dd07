// Workload (c) on Apache Spark Streaming: reduceByKeyAndWindow with an inverse function,
// window 10 s, slide 2 s, over 1 s batches. Batch b holds records i in [b*U, (b+1)*U) with
// key (i * 2654435761) mod K and value 1. Prints "WINDOW <n> <keys> <sum>" for every window
// (the cross-check; keys counted with a non-zero value) and a RESULT line with the median
// processing time of the batches that computed a window, the summed processing time of all the
// batches (processing_ms; per 1 s of input: / batches) and the time from JVM start to the first
// completed batch.
//
// Usage: WindowBench <keys> <records-per-batch> <batches> <threads> <checkpoint-dir>

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import scala.Tuple2;

public class WindowBench {
  public static void main(String[] args) throws Exception {
    long keys = Long.parseLong(args[0]);
    long perBatch = Long.parseLong(args[1]);
    int batches = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    JavaStreamingContext ssc = SparkSetup.context("WindowBench", threads, Durations.seconds(1));
    ssc.checkpoint(args[4]);
    Queue<JavaRDD<Long>> queue = SparkSetup.indexBatches(ssc, batches, perBatch, threads);
    final long K = keys;
    JavaPairDStream<Long, Long> windows = ssc.queueStream(queue, true)
        .mapToPair(i -> new Tuple2<>((i * 2654435761L) % K, 1L))
        .reduceByKeyAndWindow((a, b) -> a + b, (a, b) -> a - b,
            Durations.seconds(10), Durations.seconds(2));
    ConcurrentLinkedQueue<String> results = new ConcurrentLinkedQueue<>();
    AtomicLong index = new AtomicLong();
    ConcurrentLinkedQueue<Long> windowTimes = new ConcurrentLinkedQueue<>();
    windows.foreachRDD((rdd, time) -> {
      windowTimes.add(time.milliseconds());
      long[] r = rdd.map(t -> new long[] {t._2() != 0 ? 1L : 0L, t._2()})
          .fold(new long[] {0L, 0L}, (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
      results.add("WINDOW " + index.getAndIncrement() + " " + r[0] + " " + r[1]);
    });
    java.util.Map<Long, Long> delays = new java.util.concurrent.ConcurrentHashMap<>();
    AtomicLong completed = new AtomicLong();
    long jvmStart = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
    AtomicLong firstBatchMs = new AtomicLong(-1);
    ssc.addStreamingListener(new StreamingListener() {
      @Override
      public void onBatchCompleted(StreamingListenerBatchCompleted e) {
        delays.put(e.batchInfo().batchTime().milliseconds(),
            (Long) e.batchInfo().processingDelay().get());
        firstBatchMs.compareAndSet(-1, System.currentTimeMillis() - jvmStart);
        completed.incrementAndGet();
      }
    });
    ssc.start();
    SparkSetup.awaitBatches(ssc, completed, batches);
    ssc.stop(true, false);
    for (String r : results) System.out.println(r);
    // The workload's batches: the first `batches` batch times (empty ones may follow).
    List<Long> times = new ArrayList<>(delays.keySet());
    Collections.sort(times);
    times = times.subList(0, Math.min(batches, times.size()));
    long last = times.isEmpty() ? 0 : times.get(times.size() - 1);
    List<Long> d = new ArrayList<>();
    for (Long t : windowTimes) if (delays.containsKey(t) && t <= last) d.add(delays.get(t));
    Collections.sort(d);
    long processing = 0;
    for (Long t : times) processing += delays.get(t);
    System.out.println("RESULT engine=spark-jvm median_window_batch_ms=" + d.get(d.size() / 2)
        + " batches=" + batches + " processing_ms=" + processing
        + " first_batch_ms=" + firstBatchMs.get());
  }
}
